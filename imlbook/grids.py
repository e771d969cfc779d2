"""Grids of feature values for partial dependence and ICE, and unit conversion."""
from __future__ import annotations

import numpy as np


def feature_grid(X: np.ndarray, feature: int, num: int = 20, percentiles=(0.0, 1.0),
                 spacing: str = "linear") -> np.ndarray:
    """``num`` values of column ``feature`` of ``X``, between two of its quantiles.

    ``spacing="linear"`` (the default) spaces them evenly between the quantiles
    ``percentiles`` (the default spans the observed minimum to maximum).
    ``spacing="quantile"`` takes the quantiles at evenly spaced levels between
    ``percentiles`` instead, so that the grid follows the data: dense where most
    rows lie, sparse in a long tail (a skewed feature such as a crime rate).
    Use e.g. ``percentiles=(0.05, 0.95)`` (scikit-learn's default) to avoid spending
    grid points where there is almost no data. The values are floats: never round
    or truncate a standardized grid.
    """
    X = np.asarray(X, dtype=float)
    if spacing == "quantile":
        return np.quantile(X[:, feature], np.linspace(percentiles[0], percentiles[1], num))
    if spacing != "linear":
        raise ValueError(f"spacing should be 'linear' or 'quantile', got {spacing!r}")
    lo, hi = np.quantile(X[:, feature], percentiles)
    return np.linspace(lo, hi, num)


def to_original_units(values, mean, std) -> np.ndarray:
    """Undo standardization: ``values * std + mean`` (for axis labels in real units)."""
    return np.asarray(values, dtype=float) * std + mean
