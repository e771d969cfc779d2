"""Analytic answers for the test models: what a correct implementation returns.

Used by the checks in the grader's own process. The worker that runs student
code never needs this module.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from autograder.testmodels.ch01_pdp_ice import QuadraticModel


def mean_with_fixed(model: QuadraticModel, X: np.ndarray, fixed: Dict[int, float]) -> float:
    """Mean over the rows of X of f(x) with the features in ``fixed`` set to the given values."""
    X = np.asarray(X, dtype=float)

    def m(j):  # E[x_j] with x_j possibly fixed
        return fixed[j] if j in fixed else X[:, j].mean()

    def m2(j):  # E[x_j^2]
        return fixed[j] ** 2 if j in fixed else (X[:, j] ** 2).mean()

    total = model.bias
    total += sum(model.linear[j] * m(j) for j in range(model.n_features))
    total += sum(model.square[j] * m2(j) for j in range(model.n_features))
    for i, j, c in model.pairs:
        if i == j:
            total += c * m2(i)
        elif i in fixed or j in fixed:
            total += c * m(i) * m(j)
        else:
            total += c * (X[:, i] * X[:, j]).mean()
    return float(total)

def row_with_feature(model: QuadraticModel, X: np.ndarray, feature: int, grid: Sequence[float]) -> np.ndarray:
    """``(n_rows, len(grid))``: f(x_i with x_i[feature] = v) for every row i and grid value v."""
    X = np.asarray(X, dtype=float)
    base = np.asarray(model(X), dtype=float).reshape(-1)
    grid = np.asarray(grid, dtype=float)
    k, xk = feature, X[:, feature][:, None]
    delta = model.linear[k] * (grid[None, :] - xk) + model.square[k] * (grid[None, :] ** 2 - xk ** 2)
    for i, j, c in model.pairs:
        if i == k and j == k:
            delta = delta + c * (grid[None, :] ** 2 - xk ** 2)
        elif i == k:
            delta = delta + c * (grid[None, :] - xk) * X[:, j][:, None]
        elif j == k:
            delta = delta + c * (grid[None, :] - xk) * X[:, i][:, None]
    return base[:, None] + delta
