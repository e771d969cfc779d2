"""Small models with known answers, used as inputs by the checks.

They are plain, picklable classes (the grader sends them to its worker
process) that only predict. What a correct implementation must return is
computed analytically by :mod:`autograder.answers.ch01_pdp_ice`, in the grader's process:
the objects a student's function receives carry no answers.
"""
from __future__ import annotations

from typing import Sequence, Tuple

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


def random_table(seed: int, n_rows: int, n_features: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """A reproducible ``(n_rows, n_features)`` table with columns of different centres and spreads."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-2, 2, n_features) + shift
    spreads = rng.uniform(0.5, 3.0, n_features) * scale
    return centres + spreads * rng.standard_normal((n_rows, n_features))
