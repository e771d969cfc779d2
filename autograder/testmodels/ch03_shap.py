"""Test models for chapter 3 (SHAP): sums of small terms whose Shapley values are known.

A :class:`TermModel` is ``f(X) = bias + sum of terms``; each term reads one, two or three columns:

* ``("linear", (j,), w)``: ``w * x_j``
* ``("tanh", (j,), (a, s))``: ``a * tanh(s * x_j)``
* ``("step", (j,), (a, t))``: ``a * (x_j > t)``, a threshold
* ``("product", (i, j, ...), c)``: ``c * x_i * x_j * ...``, an interaction
* ``("tanh_product", (i, j), (a, s))``: ``a * tanh(s * x_i * x_j)``, a saturating interaction

They are plain, picklable objects that only predict; the Shapley values a correct implementation must
return are computed in the grader's process by :mod:`autograder.answers.ch03_shap`.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

Term = Tuple[str, Tuple[int, ...], object]
KINDS = ("linear", "tanh", "step", "product", "tanh_product")


def term_values(kind: str, cols: np.ndarray, param) -> np.ndarray:
    """One term evaluated on ``cols`` (n, len(features)): shape (n,)."""
    if kind == "linear":
        return float(param) * cols[:, 0]
    if kind == "tanh":
        a, s = param
        return a * np.tanh(s * cols[:, 0])
    if kind == "step":
        a, t = param
        return a * (cols[:, 0] > t).astype(float)
    if kind == "product":
        return float(param) * np.prod(cols, axis=1)
    if kind == "tanh_product":
        a, s = param
        return a * np.tanh(s * np.prod(cols, axis=1))
    raise ValueError(f"unknown term kind {kind!r}")


class TermModel:
    """``f(X) = bias + sum(term(X[:, features]) for term in terms)`` for ``(n, p)`` arrays.

    Returns shape ``(n,)``, or ``(n, 1)`` like a Keras model with ``column_output=True``. With
    ``max_calls`` set, calling the model more often than that (in one call of an exercise function)
    raises: the exercises must batch every coalition and background row into one call.
    """

    def __init__(self, p: int, terms: Sequence[Term], bias: float = 0.0, column_output: bool = False,
                 max_calls: Optional[int] = None):
        self.p = int(p)
        self.terms = [(str(k), tuple(int(j) for j in feats), param) for k, feats, param in terms]
        for kind, feats, _ in self.terms:
            if kind not in KINDS or not feats or max(feats) >= self.p:
                raise ValueError(f"bad term {kind!r} on features {feats} for p={self.p}")
        self.bias = float(bias)
        self.column_output = column_output
        self.max_calls = max_calls
        self.calls = 0

    def __call__(self, X) -> np.ndarray:
        self.calls += 1
        if self.max_calls is not None and self.calls > self.max_calls:
            raise RuntimeError(f"f was called {self.calls} times for one explained row: build every "
                               "coalition's rows first and call f once on all of them")
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.p:
            raise ValueError(f"f expects a 2-D array of shape (n_rows, {self.p}), got shape {X.shape}")
        out = np.full(len(X), self.bias)
        for kind, feats, param in self.terms:
            out = out + term_values(kind, X[:, list(feats)], param)
        return out[:, None] if self.column_output else out

    def plus(self, other: "TermModel") -> "TermModel":
        """The model ``self + other`` (for additivity checks)."""
        return TermModel(self.p, self.terms + other.terms, self.bias + other.bias, self.column_output)


def random_background(seed: int, m: int, p: int, correlation: float = 0.5) -> np.ndarray:
    """``(m, p)`` rows with different centres and spreads and correlated neighbouring columns,
    so that the mean of a product differs from the product of the means."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((m, p))
    z[:, 1:] = correlation * z[:, :-1] + np.sqrt(1 - correlation ** 2) * z[:, 1:]
    return rng.uniform(-1, 1, p) + rng.uniform(0.5, 1.5, p) * z


def random_row(seed: int, p: int) -> np.ndarray:
    """One row to explain, away from the background's centre."""
    return np.random.default_rng(seed).uniform(-2.0, 2.0, p)


class RankingTypes:
    """``then`` for ``global_importance``: ``(result, types)`` where ``types`` names, before any coercion,
    the container's type and, per item, the item's type and the types of its first two entries (so a check
    can hold the result to "a list of (str, float) tuples": NumPy strings or a list per pair are refused)."""

    def __call__(self, value, kwargs):
        items = list(value)[:200] if isinstance(value, (list, tuple)) else []
        described = []
        for item in items:
            inner = tuple(type(v).__name__ for v in item[:2]) if isinstance(item, (list, tuple)) else ()
            described.append((type(item).__name__,) + inner)
        return value, (type(value).__name__, tuple(described))
