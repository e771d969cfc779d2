"""Chapter 1's helpers beyond the exercises: Friedman's H, the interaction part of a 2-D PDP, quantile grids."""
import numpy as np
import pytest

from imlbook.ch01_pdp_ice import friedman_h, interaction_part
from imlbook.grids import feature_grid


def table(seed=0, n=60):
    X = np.random.default_rng(seed).normal(size=(n, 3))
    return X - X.mean(axis=0)  # centred columns: the 1-D PDs of a pure product are exactly 0


def test_h_is_zero_for_additive_effects_and_one_for_a_pure_product():
    X = table()
    assert friedman_h(lambda Z: Z[:, 0] ** 2 + 3 * Z[:, 1] - Z[:, 2], X, 0, 1) == pytest.approx(0, abs=1e-9)
    assert friedman_h(lambda Z: (Z[:, 0] * Z[:, 1])[:, None], X, 0, 1) == pytest.approx(1, abs=1e-9)  # (n, 1) output
    # a product plus an additive part: H² = var(product) / var(everything), by construction of the data
    X = table(1)
    h = friedman_h(lambda Z: Z[:, 0] * Z[:, 1] + 2 * Z[:, 0], X, 0, 1)
    joint = X[:, 0] * X[:, 1] + 2 * X[:, 0]
    product = X[:, 0] * X[:, 1]
    assert h ** 2 == pytest.approx(np.sum((product - product.mean()) ** 2) / np.sum((joint - joint.mean()) ** 2))


def test_h_does_not_change_the_data_and_calls_the_model_three_times():
    X, calls = table(), []
    before = X.copy()
    friedman_h(lambda Z: calls.append(len(Z)) or Z.sum(axis=1), X, 2, 0)
    assert calls == [len(X) ** 2] * 3 and np.array_equal(X, before)


def test_interaction_part_is_zero_when_rows_differ_by_a_constant():
    rows, cols = np.linspace(0, 1, 4), np.linspace(-1, 2, 5)
    additive = np.sin(rows)[:, None] + cols[None, :] ** 2
    assert np.allclose(interaction_part(additive), 0)
    product = rows[:, None] * cols[None, :]
    assert np.allclose(interaction_part(product), (rows - rows.mean())[:, None] * (cols - cols.mean())[None, :])


def test_quantile_grid_follows_the_data():
    X = np.column_stack([np.exp(np.random.default_rng(0).normal(size=1000))])
    grid = feature_grid(X, 0, num=5, percentiles=(0.05, 0.95), spacing="quantile")
    assert np.allclose(grid, np.quantile(X[:, 0], [0.05, 0.275, 0.5, 0.725, 0.95]))
    assert np.allclose(feature_grid(X, 0, num=3), np.linspace(X.min(), X.max(), 3))
    with pytest.raises(ValueError, match="spacing"):
        feature_grid(X, 0, spacing="log")
