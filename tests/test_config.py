"""xpgrad.config: the memory budget, its override, and its validation."""

from __future__ import annotations

import threading

import array_api_compat
import numpy as np
import pytest

import xpgrad
from xpgrad._core.config import DEFAULT_MEMORY_BUDGET


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
    with (
        pytest.raises(ValueError, match="unknown setting 'chunk'"),
        xpgrad.config.override(chunk=3),
    ):
        pass


_INTS = {
    "chunk_work_factor": 8,
    "cpu_chunk_bytes": 4 * 2**20,
    "cpu_chunk_min": 32,
    "cpu_max_passes": 8,
}


@pytest.mark.parametrize("name", sorted(_INTS))
def test_the_chunk_rule_constants_are_settings(name: str) -> None:
    cfg = xpgrad.config
    assert getattr(cfg, name) == _INTS[name]
    try:
        setattr(cfg, name, 3)
        assert getattr(cfg, name) == 3
        with cfg.override(**{name: 5}):
            assert getattr(cfg, name) == 5
        assert getattr(cfg, name) == 3
    finally:
        cfg.reset()
    assert getattr(cfg, name) == _INTS[name]
    for bad in (0, -2, 2.0, "8", True, None):
        with pytest.raises(ValueError, match=f"{name} must be a positive int"):
            setattr(cfg, name, bad)
        with (
            pytest.raises(ValueError, match=f"{name} must be a positive int"),
            cfg.override(**{name: bad}),
        ):
            pass
    assert getattr(cfg, name) == _INTS[name]


def test_the_chunk_rule_reads_the_settings() -> None:
    # the rule of xpgrad.jacobian's docstring, with each constant changed in turn
    from xpgrad.api._chunks import choose_chunk

    x, per = np.ones(3), 2008  # 2000 inputs + 8 outputs per direction, float64
    assert choose_chunk(2000, per, 8, None, None, "jacobian", like=x) == 4 * 2**20 // (8 * per)
    with xpgrad.config.override(cpu_chunk_bytes=2**20, cpu_max_passes=100):
        assert choose_chunk(2000, per, 8, None, None, "jacobian", like=x) == 2**20 // (8 * per)
    with xpgrad.config.override(cpu_chunk_min=300):
        assert choose_chunk(2000, per, 8, None, None, "jacobian", like=x) == 300
    with xpgrad.config.override(cpu_max_passes=2):
        assert choose_chunk(2000, per, 8, None, None, "jacobian", like=x) == 1000
    # no array to place the directions: the budget alone, with the work factor
    with xpgrad.config.override(memory_budget=2**24, chunk_work_factor=4):
        assert choose_chunk(2000, per, 8, None, None, "jacobian") == 2**24 // (4 * 8 * per)


def test_the_one_hot_basis_can_be_switched_off() -> None:
    from xpgrad._core.chunks import basis
    from xpgrad._core.onehot import OneHot

    xp = array_api_compat.array_namespace(np.ones(1))
    args = (xp, 2, 3, 5, xp.float64, (5,), None)
    assert isinstance(basis(*args, onehot=True), OneHot)
    with xpgrad.config.override(onehot_basis=False):
        e = basis(*args, onehot=True)
        assert not isinstance(e, OneHot)
        np.testing.assert_array_equal(e, np.eye(3, 5, k=2))
    for bad in (0, 1, "yes", None):
        with pytest.raises(ValueError, match="onehot_basis must be True or False"):
            xpgrad.config.onehot_basis = bad
    assert xpgrad.config.onehot_basis is True
    assert "onehot_basis=True" in repr(xpgrad.config)
