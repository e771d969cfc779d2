"""What a correct chapter-5 answer returns, computed in the grader's own process.

* :func:`sklearn_permutation` — scikit-learn's own permutation importance of a test model;
* :func:`linear_shap` — exact Shapley values of a linear model against a background;
* :func:`output_owner` — which raw column each output column of a fitted ``ColumnTransformer``
  comes from, found by perturbing one raw column at a time (independent of the transformer's
  internals).
"""
from __future__ import annotations

import numpy as np


def sklearn_permutation(predict, X, y, metric, n_repeats: int, seed: int, greater_is_better: bool):
    """(mean, std) from ``sklearn.inspection.permutation_importance`` for a predict function."""
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import make_scorer

    class Wrapped(RegressorMixin, BaseEstimator):
        def __init__(self, fn=None):
            self.fn = fn

        def fit(self, X, y):
            return self

        def predict(self, X):
            return self.fn(X)

    result = permutation_importance(Wrapped(predict), X, y, n_repeats=n_repeats, random_state=seed,
                                    scoring=make_scorer(metric, greater_is_better=greater_is_better))
    return result.importances_mean, result.importances_std


def linear_shap(coef, background, rows):
    """Interventional SHAP values of ``x @ coef + b``: ``coef * (x - mean(background))``."""
    return np.asarray(coef, dtype=float) * (np.asarray(rows, dtype=float) - np.asarray(background).mean(axis=0))


def transformer_owner(variant: str, seed: int) -> np.ndarray:
    """:func:`output_owner` of ``testmodels.fitted_transformer(variant, seed)``, computed once."""
    if (variant, seed) not in _OWNERS:
        from autograder.testmodels.ch05_practice import fitted_transformer
        _OWNERS[(variant, seed)] = output_owner(*fitted_transformer(variant, seed))
    return _OWNERS[(variant, seed)].copy()


_OWNERS: dict = {}


def output_owner(column_transformer, frame) -> np.ndarray:
    """For each output column, the index (in ``frame.columns``) of the raw column it comes from.

    Every raw column is changed in turn (numbers shifted, categories rotated); the output
    columns that change belong to it. A column that changes nothing (dropped) owns none.
    """
    base = np.asarray(column_transformer.transform(frame), dtype=float)
    owner = np.full(base.shape[1], -1)
    for c, name in enumerate(frame.columns):
        changed = frame.copy()
        col = changed[name]
        if col.dtype.kind in "fi":
            changed[name] = col + 7.0
        else:
            levels = sorted(col.dropna().unique())
            changed[name] = col.map(lambda v: levels[(levels.index(v) + 1) % len(levels)] if v in levels else levels[0])
        moved = np.any(np.abs(np.asarray(column_transformer.transform(changed), dtype=float) - base) > 1e-12, axis=0)
        if np.any(owner[moved] >= 0):
            raise ValueError(f"output columns claimed by two raw columns ({name})")
        owner[moved] = c
    return owner


def raw_sums(values, owner, n_raw: int) -> np.ndarray:
    """Sum the columns of ``values`` per owner: shape (n, n_raw)."""
    values = np.asarray(values, dtype=float)
    out = np.zeros((values.shape[0], n_raw))
    for j, c in enumerate(owner):
        if c >= 0:
            out[:, c] += values[:, j]
    return out
