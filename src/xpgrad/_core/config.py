"""``xpgrad.config``: process-wide settings, overridable per thread or task.

Set a default for the whole process by assignment, or override it for a block
of code with ``config.override``, which is local to the current thread / async
task (a ``contextvars.ContextVar``), like ``jax.default_device`` or
``torch.no_grad``::

    xpgrad.config.memory_budget = 2 * 2**30          # 2 GiB, from now on
    with xpgrad.config.override(memory_budget=64 * 2**20):
        J = xpgrad.jacobian(f, x)                    # this block only

It lives in the core because the engine's own switches (the one-hot basis,
the chunk rule's constants) are settings too, and the core imports nothing
above it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["DEFAULT_MEMORY_BUDGET", "Config", "config"]

#: 256 MiB: the default bound on the memory of one batched chunk of a
#: jacobian/hessian (the result itself comes on top).
DEFAULT_MEMORY_BUDGET = 256 * 2**20

_overrides: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "xpgrad_config_overrides", default=None
)


def _positive_int(name: str, example: str) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if type(v) is not int or v <= 0:
            raise ValueError(
                f"xpgrad.config: {name} must be a positive int, got {v!r}; e.g. "
                f"xpgrad.config.{name} = {example}"
            )
        return v

    return check


def _bool(name: str) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if type(v) is not bool:
            raise ValueError(f"xpgrad.config: {name} must be True or False, got {v!r}")
        return v

    return check


class _Setting:
    """One setting: its default, its check, and the override that may hide it."""

    __slots__ = ("check", "default", "name")

    def __init__(self, default: Any, check: Callable[[Any], Any]):
        self.default = default
        self.check = check
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        o = _overrides.get()
        if o is not None and self.name in o:
            return o[self.name]
        return obj._values.get(self.name, self.default)

    def __set__(self, obj: Any, v: Any) -> None:
        obj._values[self.name] = self.check(v)


class Config:
    """xpgrad's settings: ``xpgrad.config`` is the one instance.

    Attributes
    ----------
    memory_budget : int
        Bytes that one batched chunk of ``jacobian``, ``hessian``,
        ``hessian_reverse`` and ``diaghessian`` may use (default 256 MiB).
        These functions push a chunk of basis directions through the program
        at once; the chunk size is chosen so that the estimated memory of the
        chunk stays within this budget (see ``xpgrad.jacobian`` for the rule).
        A ``memory_budget=`` or ``chunk_size=`` argument to those functions
        takes precedence.
    chunk_work_factor : int
        Copies of the inputs and outputs that one basis direction is assumed
        to need while it is pushed through the program (its tangents or
        cotangents of the intermediates), in that estimate (default 8).
    cpu_chunk_bytes : int
        On a CPU, a chunk's basis is also kept to about this many bytes
        (default 4 MiB, a share of a last-level cache), so that the batched
        elementwise work runs in cache instead of streaming arrays of tens of
        MiB: 2-2.5x faster than one 32 MiB pass on the W4/W5/W6 benchmark rows.
        GPUs and an explicit ``chunk_size`` are not affected.
    cpu_chunk_min : int
        The fewest directions that rule leaves in a chunk (default 32), so that
        a wide program is not run as hundreds of tiny passes. A forward
        Jacobian of at most this many input elements on a CPU takes the output
        from its one batched pass instead of calling the function first.
    cpu_max_passes : int
        The most passes that rule may split the directions into (default 8):
        every pass streams the program's unbatched operands once more.
    onehot_basis : bool
        Whether eager Jacobians of 1-D arguments or outputs start from a
        symbolic one-hot basis (default True), so that the first matrix product
        gathers rows or columns instead of multiplying by the identity. The
        values are the same either way, infinities and NaN included; turn it
        off to compare, or to rule it out when looking for a bug.

    See Also
    --------
    jacobian : Where the budget sizes the chunks.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.config.memory_budget
    268435456
    >>> with xpgrad.config.override(memory_budget=2**20, onehot_basis=False):
    ...     xpgrad.config.memory_budget, xpgrad.config.onehot_basis
    (1048576, False)
    """

    memory_budget = _Setting(
        DEFAULT_MEMORY_BUDGET, _positive_int("memory_budget", "512 * 2**20 for 512 MiB")
    )
    chunk_work_factor = _Setting(8, _positive_int("chunk_work_factor", "8"))
    cpu_chunk_bytes = _Setting(4 * 2**20, _positive_int("cpu_chunk_bytes", "4 * 2**20"))
    cpu_chunk_min = _Setting(32, _positive_int("cpu_chunk_min", "32"))
    cpu_max_passes = _Setting(8, _positive_int("cpu_max_passes", "8"))
    onehot_basis = _Setting(True, _bool("onehot_basis"))

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict = {}

    @classmethod
    def _settings(cls) -> dict:
        return {k: v for k, v in vars(cls).items() if isinstance(v, _Setting)}

    @contextlib.contextmanager
    def override(self, **settings: Any) -> Iterator[Config]:
        """Override settings inside a ``with`` block, for this thread/task only."""
        known = self._settings()
        new = dict(_overrides.get() or {})
        for k, v in settings.items():
            if k not in known:
                raise ValueError(
                    f"xpgrad.config.override: unknown setting {k!r}; known: {', '.join(known)}"
                )
            new[k] = known[k].check(v)
        token = _overrides.set(new)
        try:
            yield self
        finally:
            _overrides.reset(token)

    def reset(self) -> None:
        """Restore every process-wide default (overrides in force stay in force)."""
        self._values.clear()

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._settings())
        return f"xpgrad.config({body})"


#: The one settings object (``xpgrad.config``).
config = Config()
