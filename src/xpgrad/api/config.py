"""``xpgrad.config``: process-wide settings, overridable per thread or task.

Set a default for the whole process by assignment, or override it for a block
of code with ``config.override``, which is local to the current thread / async
task (a ``contextvars.ContextVar``), like ``jax.default_device`` or
``torch.no_grad``::

    xpgrad.config.memory_budget = 2 * 2**30          # 2 GiB, from now on
    with xpgrad.config.override(memory_budget=64 * 2**20):
        J = xpgrad.jacobian(f, x)                    # this block only
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

__all__ = ["DEFAULT_MEMORY_BUDGET", "Config", "config"]

#: 256 MiB: the default bound on the memory of one batched chunk of a
#: jacobian/hessian (the result itself comes on top).
DEFAULT_MEMORY_BUDGET = 256 * 2**20

_SETTINGS = ("memory_budget",)

_overrides: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "xpgrad_config_overrides", default=None
)


def _check_budget(v: Any) -> int:
    if type(v) is not int or v <= 0:
        raise ValueError(
            f"xpgrad.config: memory_budget must be a positive int (bytes), got {v!r}; "
            f"e.g. xpgrad.config.memory_budget = 512 * 2**20 for 512 MiB"
        )
    return v


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

    See Also
    --------
    jacobian : Where the budget sizes the chunks.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.config.memory_budget
    268435456
    >>> with xpgrad.config.override(memory_budget=2**20):
    ...     xpgrad.config.memory_budget
    1048576
    """

    __slots__ = ("_memory_budget",)

    def __init__(self) -> None:
        self._memory_budget = DEFAULT_MEMORY_BUDGET

    @property
    def memory_budget(self) -> int:
        o = _overrides.get()
        if o is not None and "memory_budget" in o:
            return o["memory_budget"]
        return self._memory_budget

    @memory_budget.setter
    def memory_budget(self, v: int) -> None:
        self._memory_budget = _check_budget(v)

    @contextlib.contextmanager
    def override(self, **settings: Any) -> Iterator[Config]:
        """Override settings inside a ``with`` block, for this thread/task only."""
        for k in settings:
            if k not in _SETTINGS:
                raise ValueError(
                    f"xpgrad.config.override: unknown setting {k!r}; known: {', '.join(_SETTINGS)}"
                )
        if "memory_budget" in settings:
            _check_budget(settings["memory_budget"])
        new = dict(_overrides.get() or {})
        new.update(settings)
        token = _overrides.set(new)
        try:
            yield self
        finally:
            _overrides.reset(token)

    def __repr__(self) -> str:
        return f"xpgrad.config(memory_budget={self.memory_budget})"


#: The one settings object (``xpgrad.config``).
config = Config()
