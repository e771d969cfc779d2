"""Grids of feature values for partial dependence and ICE, and unit conversion."""
from __future__ import annotations

import numpy as np


def feature_grid(X: np.ndarray, feature: int, num: int = 20, percentiles=(0.0, 1.0)) -> np.ndarray:
    """``num`` evenly spaced values of column ``feature`` of ``X``, between two of its quantiles.

    The default spans the observed minimum to maximum. Use e.g. ``percentiles=(0.05, 0.95)``
    (scikit-learn's default) to avoid spending grid points where there is almost no data.
    The values are floats: never round or truncate a standardized grid.
    """
    X = np.asarray(X, dtype=float)
    lo, hi = np.quantile(X[:, feature], percentiles)
    return np.linspace(lo, hi, num)


def to_original_units(values, mean, std) -> np.ndarray:
    """Undo standardization: ``values * std + mean`` (for axis labels in real units)."""
    return np.asarray(values, dtype=float) * std + mean
