"""Colorings are valid by brute force, and the recovery reads the right entries."""

from __future__ import annotations

import itertools
import random

import array_api_compat.numpy as xp
import numpy as np
import pytest

from xpgrad.api.coloring import (check_coloring, column_coloring, recovery_index,
                                 row_coloring, star_coloring)


def random_pattern(rng: random.Random, m: int, n: int, p: float) -> tuple:
    cells = [(i, j) for i in range(m) for j in range(n) if rng.random() < p]
    rows = np.array([c[0] for c in cells], dtype=np.int64)
    cols = np.array([c[1] for c in cells], dtype=np.int64)
    return rows, cols


def random_symmetric(rng: random.Random, n: int, p: float) -> tuple:
    cells = {(i, i) for i in range(n)}
    for i, j in itertools.combinations(range(n), 2):
        if rng.random() < p:
            cells |= {(i, j), (j, i)}
    cells = sorted(cells)
    return (np.array([c[0] for c in cells], dtype=np.int64),
            np.array([c[1] for c in cells], dtype=np.int64))


def is_star(rows: np.ndarray, cols: np.ndarray, color: list, n: int) -> bool:
    adj = [set() for _ in range(n)]
    for r, c in zip(rows.tolist(), cols.tolist()):
        if r != c:
            adj[r].add(c)
    if any(color[v] == color[w] for v in range(n) for w in adj[v]):
        return False
    for b in range(n):  # no path a-b-c-d on two colors
        for a, c in itertools.permutations(adj[b], 2):
            for d in adj[c] - {a, b}:
                if color[a] == color[c] and color[b] == color[d]:
                    return False
    return True


def compressed(M: np.ndarray, colors: list, axis: int) -> np.ndarray:
    """``(ncolors, size)``: sums of the columns (axis 1) or rows (axis 0) of each color."""
    c = np.asarray(colors)
    seeds = (c[None, :] == np.arange(c.max() + 1)[:, None]).astype(float)
    return seeds @ M.T if axis == 1 else seeds @ M


@pytest.mark.parametrize("seed", range(40))
def test_column_and_row_colorings_recover_the_matrix(seed: int) -> None:
    rng = random.Random(seed)
    m, n = rng.randint(1, 9), rng.randint(1, 9)
    rows, cols = random_pattern(rng, m, n, rng.random())
    M = np.zeros((m, n))
    M[rows, cols] = np.random.default_rng(seed).uniform(1, 2, rows.size)
    for how, color_fn, axis, size in (("column", column_coloring, 1, m),
                                      ("row", row_coloring, 0, n)):
        colors = color_fn(xp, rows, cols, (m, n))
        assert check_coloring(xp, rows, cols, np.asarray(colors), how)
        if rows.size == 0:
            continue
        B = compressed(M, colors, axis)
        idx = recovery_index(xp, rows, cols, np.asarray(colors), max(colors) + 1, size, how)
        np.testing.assert_array_equal(B.reshape(-1)[idx], M[rows, cols])


@pytest.mark.parametrize("seed", range(60))
def test_star_coloring_is_a_star_coloring_and_recovers_h(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 12)
    rows, cols = random_symmetric(rng, n, rng.random() * 0.6)
    colors = star_coloring(xp, rows, cols, n)
    assert is_star(rows, cols, colors, n)
    H = np.zeros((n, n))
    H[rows, cols] = np.random.default_rng(seed).uniform(1, 2, rows.size)
    H = np.triu(H) + np.triu(H, 1).T
    idx = recovery_index(xp, rows, cols, np.asarray(colors), max(colors) + 1, n, "star")
    np.testing.assert_array_equal(compressed(H, colors, 1).reshape(-1)[idx], H[rows, cols])


def test_known_color_counts() -> None:
    n = 50
    i = np.arange(n)
    tri_r = np.concatenate([i, i[1:], i[:-1]])
    tri_c = np.concatenate([i, i[:-1], i[1:]])
    assert max(column_coloring(xp, tri_r, tri_c, (n, n))) + 1 == 3
    assert max(star_coloring(xp, tri_r, tri_c, n)) + 1 == 3
    # arrow: a dense first row and column; a column coloring needs n colors, a star 2
    arr_r = np.concatenate([i, np.zeros(n - 1, np.int64), i[1:]])
    arr_c = np.concatenate([i, i[1:], np.zeros(n - 1, np.int64)])
    assert max(column_coloring(xp, arr_r, arr_c, (n, n))) + 1 == n
    assert max(star_coloring(xp, arr_r, arr_c, n)) + 1 == 2
