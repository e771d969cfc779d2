"""Chapter 3's helper library: the game over groups of columns, and interventional rows."""
from itertools import combinations
from math import factorial

import numpy as np
import pytest

from imlbook.ch03_shap import grouped_game, interventional_rows


def exact_shapley(f, x, background):
    """Shapley values by the permutation formula, one coalition at a time (independent of the exercise)."""
    p = len(x)

    def v(S):
        rows = np.array(background, dtype=float).copy()
        rows[:, list(S)] = x[list(S)]
        return np.mean(f(rows))

    phi = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        for r in range(p):
            for S in combinations(others, r):
                phi[j] += factorial(r) * factorial(p - r - 1) / factorial(p) * (v(S + (j,)) - v(S))
    return phi


def max_game(X):
    return np.maximum(X[:, 0], X[:, 1]) * X[:, 2]


def test_merging_two_players_is_not_summing_their_values():
    columns = exact_shapley(max_game, np.ones(3), np.zeros((1, 3)))
    g, xp, bp = grouped_game(max_game, np.ones(3), np.zeros((1, 3)), {"a": [0, 1], "b": [2]})
    merged = exact_shapley(g, xp, bp)
    assert np.allclose(columns, [1 / 6, 1 / 6, 2 / 3]) and np.allclose(merged, [0.5, 0.5])


def test_singleton_groups_give_the_per_column_game_and_groups_stay_efficient():
    rng = np.random.default_rng(0)
    background, x = rng.normal(size=(4, 5)), rng.normal(size=5)

    def h(X):
        return X[:, 0] * X[:, 3] + np.tanh(X[:, 1] + X[:, 2]) + X[:, 4] ** 2

    g, xp, bp = grouped_game(h, x, background, {str(i): [i] for i in range(5)})
    assert np.allclose(exact_shapley(g, xp, bp), exact_shapley(h, x, background))
    g, xp, bp = grouped_game(h, x, background, {"a": [3, 0], "b": [1, 2], "c": [4]})
    assert exact_shapley(g, xp, bp).sum() == pytest.approx(h(x[None])[0] - h(background).mean())


def test_groups_must_cover_every_column_once():
    with pytest.raises(ValueError, match="exactly once"):
        grouped_game(max_game, np.ones(3), np.zeros((1, 3)), {"a": [0, 1], "b": [1, 2]})


def test_interventional_rows_mix_the_row_and_the_background():
    x, background = np.ones(6), np.zeros((3, 6))
    rows = interventional_rows(x, background, 4000, seed=1)
    assert rows.shape == (4000, 6) and set(np.unique(rows)) == {0.0, 1.0}
    assert abs(rows.mean() - 0.5) < 0.02
    assert np.array_equal(rows, interventional_rows(x, background, 4000, seed=1))
