"""Plots shared by the chapters. Each function draws on ``ax`` (or a new figure) and returns the Axes.

Values are plotted in the units the caller passes: convert standardized
grids back to real units first (see :func:`imlbook.grids.to_original_units`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _axes(ax, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_pdp_1d(grid: Sequence[float], pdp: Sequence[float], feature_name: str,
                target_name: str = "prediction", data_values: Optional[Sequence[float]] = None, ax=None):
    """Line plot of a 1-D partial dependence; ``data_values`` adds a rug of the observed feature values."""
    ax = _axes(ax)
    ax.plot(grid, pdp, color="tab:orange", lw=2, label="partial dependence")
    if data_values is not None:
        lo, hi = ax.get_ylim()
        ax.plot(np.asarray(data_values), np.full(len(data_values), lo), "|", color="k", alpha=0.3, ms=10,
                label="observed values")
        ax.set_ylim(lo, hi)
    ax.set_xlabel(feature_name)
    ax.set_ylabel(f"average {target_name}")
    ax.set_title(f"Partial dependence on {feature_name}")
    ax.legend(loc="best", frameon=False)
    return ax


def plot_pdp_2d(pdp: np.ndarray, row_grid: Sequence[float], col_grid: Sequence[float],
                row_name: str, col_name: str, target_name: str = "prediction", ax=None):
    """Heatmap of a 2-D partial dependence. ``pdp[i, j]`` belongs to ``row_grid[i]`` (y axis) and ``col_grid[j]`` (x axis)."""
    pdp = np.asarray(pdp, dtype=float)
    if pdp.shape != (len(row_grid), len(col_grid)):
        raise ValueError(f"pdp has shape {pdp.shape}, expected (len(row_grid), len(col_grid)) = "
                         f"({len(row_grid)}, {len(col_grid)})")
    ax = _axes(ax, figsize=(6.5, 5))
    mesh = ax.pcolormesh(np.asarray(col_grid), np.asarray(row_grid), pdp, shading="nearest", cmap="viridis")
    contours = ax.contour(np.asarray(col_grid), np.asarray(row_grid), pdp, colors="white", linewidths=0.6, alpha=0.7)
    ax.clabel(contours, fontsize=7, fmt="%.0f")
    ax.figure.colorbar(mesh, ax=ax, label=f"average {target_name}")
    ax.set_xlabel(col_name)
    ax.set_ylabel(row_name)
    ax.set_title(f"Partial dependence on {row_name} and {col_name}")
    return ax


def plot_ice(grid: Sequence[float], curves: np.ndarray, feature_name: str, target_name: str = "prediction",
             pdp: Optional[Sequence[float]] = None, centered: bool = False, max_curves: int = 300,
             seed: int = 0, ax=None):
    """ICE curves (one thin line per row, at most ``max_curves`` drawn) with the PDP overlaid."""
    curves = np.asarray(curves, dtype=float)
    if curves.ndim != 2 or curves.shape[1] != len(grid):
        raise ValueError(f"curves should have shape (n_rows, len(grid)) = (n, {len(grid)}), got {curves.shape}")
    ax = _axes(ax)
    shown = curves
    if len(curves) > max_curves:
        shown = curves[np.random.default_rng(seed).choice(len(curves), max_curves, replace=False)]
    ax.plot(np.asarray(grid), shown.T, color="k", alpha=0.15, lw=0.8)
    if pdp is not None:
        ax.plot(np.asarray(grid), np.asarray(pdp), color="tab:orange", lw=3, ls="--", label="PDP (mean of the curves)")
        ax.legend(loc="best", frameon=False)
    ax.set_xlabel(feature_name)
    ax.set_ylabel(f"change in {target_name} since the first grid value" if centered else target_name)
    ax.set_title(("Centred ICE" if centered else "ICE") + f" curves for {feature_name}")
    return ax
