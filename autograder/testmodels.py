"""Small models with known answers, used as inputs by the checks.

They are plain, picklable classes (the grader sends them to its worker
process) and they answer analytically what a correct implementation must
return, so no check needs a stored array or a reference solution.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np


class QuadraticModel:
    """``f(x) = bias + x @ linear + (x**2) @ square + sum(c * x[:, i] * x[:, j] for i, j, c in pairs)``.

    ``predict(X)`` takes an ``(n, p)`` array and returns shape ``(n,)`` or, with
    ``column_output=True``, ``(n, 1)`` like a Keras model.
    """

    def __init__(self, linear: Sequence[float], square: Sequence[float] = None,
                 pairs: Sequence[Tuple[int, int, float]] = (), bias: float = 0.0,
                 column_output: bool = False):
        self.linear = np.asarray(linear, dtype=float)
        p = self.linear.size
        self.square = np.zeros(p) if square is None else np.asarray(square, dtype=float)
        self.pairs = [(int(i), int(j), float(c)) for i, j, c in pairs]
        self.bias = float(bias)
        self.column_output = column_output

    @property
    def n_features(self) -> int:
        return self.linear.size

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"predict expects a 2-D array of shape (n_rows, {self.n_features}), got shape {X.shape}")
        out = self.bias + X @ self.linear + (X ** 2) @ self.square
        for i, j, c in self.pairs:
            out = out + c * X[:, i] * X[:, j]
        return out[:, None] if self.column_output else out

    # -- analytic answers --------------------------------------------------
    def mean_with_fixed(self, X: np.ndarray, fixed: Dict[int, float]) -> float:
        """Mean over the rows of X of f(x) with the features in ``fixed`` set to the given values."""
        X = np.asarray(X, dtype=float)

        def m(j):  # E[x_j] with x_j possibly fixed
            return fixed[j] if j in fixed else X[:, j].mean()

        def m2(j):  # E[x_j^2]
            return fixed[j] ** 2 if j in fixed else (X[:, j] ** 2).mean()

        total = self.bias
        total += sum(self.linear[j] * m(j) for j in range(self.n_features))
        total += sum(self.square[j] * m2(j) for j in range(self.n_features))
        for i, j, c in self.pairs:
            if i == j:
                total += c * m2(i)
            elif i in fixed or j in fixed:
                total += c * m(i) * m(j)
            else:
                total += c * (X[:, i] * X[:, j]).mean()
        return float(total)

    def row_with_feature(self, X: np.ndarray, feature: int, grid: Sequence[float]) -> np.ndarray:
        """``(n_rows, len(grid))``: f(x_i with x_i[feature] = v) for every row i and grid value v."""
        X = np.asarray(X, dtype=float)
        base = np.asarray(self(X), dtype=float).reshape(-1)
        grid = np.asarray(grid, dtype=float)
        k, xk = feature, X[:, feature][:, None]
        delta = self.linear[k] * (grid[None, :] - xk) + self.square[k] * (grid[None, :] ** 2 - xk ** 2)
        for i, j, c in self.pairs:
            if i == k and j == k:
                delta = delta + c * (grid[None, :] ** 2 - xk ** 2)
            elif i == k:
                delta = delta + c * (grid[None, :] - xk) * X[:, j][:, None]
            elif j == k:
                delta = delta + c * (grid[None, :] - xk) * X[:, i][:, None]
        return base[:, None] + delta


def random_table(seed: int, n_rows: int, n_features: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """A reproducible ``(n_rows, n_features)`` table with columns of different centres and spreads."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-2, 2, n_features) + shift
    spreads = rng.uniform(0.5, 3.0, n_features) * scale
    return centres + spreads * rng.standard_normal((n_rows, n_features))
