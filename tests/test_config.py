"""xpgrad.config: the memory budget, its override, and its validation."""

from __future__ import annotations

import threading

import pytest

import xpgrad
from xpgrad.api.config import DEFAULT_MEMORY_BUDGET


def test_default_set_and_restore() -> None:
    assert xpgrad.config.memory_budget == DEFAULT_MEMORY_BUDGET == 256 * 2**20
    try:
        xpgrad.config.memory_budget = 2**20
        assert xpgrad.config.memory_budget == 2**20
    finally:
        xpgrad.config.memory_budget = DEFAULT_MEMORY_BUDGET


def test_override_is_scoped_and_local_to_the_thread() -> None:
    seen = []
    with xpgrad.config.override(memory_budget=1234):
        assert xpgrad.config.memory_budget == 1234
        t = threading.Thread(target=lambda: seen.append(xpgrad.config.memory_budget))
        t.start()
        t.join()
        with xpgrad.config.override(memory_budget=99):
            assert xpgrad.config.memory_budget == 99
        assert xpgrad.config.memory_budget == 1234
    assert xpgrad.config.memory_budget == DEFAULT_MEMORY_BUDGET
    assert seen == [DEFAULT_MEMORY_BUDGET]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "1GB", None, True])
def test_bad_budget(bad: object) -> None:
    with pytest.raises(ValueError, match="memory_budget must be a positive int"):
        xpgrad.config.memory_budget = bad  # type: ignore[assignment]
    with (
        pytest.raises(ValueError, match="memory_budget must be a positive int"),
        xpgrad.config.override(memory_budget=bad),
    ):
        pass
    assert xpgrad.config.memory_budget == DEFAULT_MEMORY_BUDGET


def test_unknown_setting() -> None:
    with pytest.raises(ValueError, match="unknown setting 'chunk'"), xpgrad.config.override(chunk=3):
        pass
