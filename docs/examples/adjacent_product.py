"""``adjacent_product(x)``: products of neighbours along the last axis, one file.

``y[..., i] = x[..., i] * x[..., i + 1]``. Every field of the primitive is
declared here, beside it: the primal, both derivatives, the vmap rule, the
sparsity pattern and the samples the conformance checks use.
"""

from xpgrad import extend
from xpgrad.extend import F


def adjacent_product_impl(x):
    return x[..., :-1] * x[..., 1:]  # on backend arrays


adjacent_product = extend.primitive("adjacent_product", adjacent_product_impl)


def adjacent_product_jvp(primals, tangents):
    (x,), (t,) = primals, tangents  # product rule: t_i x_{i+1} + x_i t_{i+1}
    tangent = F.add(F.multiply(t[..., :-1], x[..., 1:]), F.multiply(x[..., :-1], t[..., 1:]))
    return adjacent_product(x), tangent


def adjacent_product_vjp(primals, needs):
    (x,) = primals

    def adjacent_product_pullback(ct):
        zero = F.zeros_like(x[..., :1])  # x_0 has no left neighbour, x_{n-1} no right one
        left = F.concat([F.multiply(ct, x[..., 1:]), zero], axis=-1)
        right = F.concat([zero, F.multiply(ct, x[..., :-1])], axis=-1)
        return (F.add(left, right),)

    return adjacent_product(x), adjacent_product_pullback


def adjacent_product_batch(args, batched):
    (x,) = args  # the batch axis is first; the rule works on the last: nothing to move
    return adjacent_product(x), True


def adjacent_product_pattern(tr, primals, pats, out):
    """Output element ``(..., i)`` depends on input elements ``(..., i)`` and ``(..., i + 1)``."""
    ids = tr.ids(tuple(primals[0].shape))  # the input's element numbers, laid out like it
    left = tr.xp.reshape(ids[..., :-1], (-1,))
    right = tr.xp.reshape(ids[..., 1:], (-1,))
    size = left.shape[0]
    return tr.union([tr.gather(pats[0], left), tr.gather(pats[0], right)], size)


def adjacent_product_samples(make):
    return [((make((5,)),), {}), ((make((2, 4)),), {}), ((make((3, 1, 2)),), {})]


extend.defrule(
    adjacent_product,
    jvp=adjacent_product_jvp,
    vjp=adjacent_product_vjp,
    batch=adjacent_product_batch,
    pattern=adjacent_product_pattern,
    samples=adjacent_product_samples,
)

