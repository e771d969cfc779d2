"""Exact Shapley values of chapter 3's test models, computed in the grader's process.

A :class:`~autograder.testmodels.ch03_shap.TermModel` is a sum of terms that each read at most a few
columns. Shapley values are additive over the terms of a sum (``phi(g + h) = phi(g) + phi(h)``), and
a term's game only involves its own features (every other feature is a dummy for it), so the exact
values are the sum over terms of each term's Shapley values as a game of 1, 2 or 3 players. The value
of a coalition S is interventional: the mean over background rows b of the term with x on S and b
elsewhere. For a one-column term this is the closed form ``g(x_j) - mean_b g(b_j)``.
"""
from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np

from autograder.testmodels.ch03_shap import TermModel, term_values


def _small_game_shapley(kind, param, x_t: np.ndarray, b_t: np.ndarray) -> np.ndarray:
    """Shapley values of one term with k = len(x_t) players (k <= 3): enumerate its 2^k coalitions."""
    k = len(x_t)
    if k == 1:
        return np.array([term_values(kind, x_t[None, :], param)[0] - term_values(kind, b_t, param).mean()])

    def v(S):
        rows = b_t.copy()
        rows[:, list(S)] = x_t[list(S)]
        return term_values(kind, rows, param).mean()

    phi = np.zeros(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            w = factorial(size) * factorial(k - size - 1) / factorial(k)
            for S in combinations(others, size):
                phi[j] += w * (v(S + (j,)) - v(S))
    return phi


def exact_shapley(model: TermModel, x, background) -> np.ndarray:
    """Interventional Shapley values ``(p,)`` of ``model`` at row ``x`` against ``background`` (m, p)."""
    x = np.asarray(x, dtype=float)
    background = np.asarray(background, dtype=float)
    phi = np.zeros(model.p)
    for kind, feats, param in model.terms:
        phi[list(feats)] += _small_game_shapley(kind, param, x[list(feats)], background[:, list(feats)])
    return phi


def linear_shapley(weights, x, background) -> np.ndarray:
    """The closed form for a linear model: ``w_j * (x_j - mean of background column j)``."""
    return np.asarray(weights, dtype=float) * (np.asarray(x, dtype=float) - np.asarray(background, dtype=float).mean(axis=0))


def evaluate(model: TermModel, X) -> np.ndarray:
    """``f(X)`` of shape (n,), computed here from the terms (the model's call counter is not touched)."""
    X = np.asarray(X, dtype=float)
    out = np.full(len(X), model.bias)
    for kind, feats, param in model.terms:
        out = out + term_values(kind, X[:, list(feats)], param)
    return out


def mean_prediction(model: TermModel, background) -> float:
    """``E_b f(b)``: the base value of SHAP (mean prediction over the background rows)."""
    return float(evaluate(model, background).mean())


def prediction(model: TermModel, x) -> float:
    return float(evaluate(model, np.asarray(x, dtype=float)[None, :])[0])


# -- the values some plausible wrong methods give, so a check can name the mistake -------------
def empty_coalition_only(model: TermModel, x, background) -> np.ndarray:
    """``v({j}) - v(empty)`` for every j: contributions against the empty coalition only."""
    x, B = np.asarray(x, dtype=float), np.asarray(background, dtype=float)
    base = evaluate(model, B).mean()
    out = np.zeros(model.p)
    for j in range(model.p):
        rows = B.copy()
        rows[:, j] = x[j]
        out[j] = evaluate(model, rows).mean() - base
    return out


def mean_row_values(model: TermModel, x, background) -> np.ndarray:
    """Exact Shapley values when the background is replaced by its mean row (a single reference row)."""
    mean_row = np.asarray(background, dtype=float).mean(axis=0, keepdims=True)
    return exact_shapley(model, x, mean_row)
