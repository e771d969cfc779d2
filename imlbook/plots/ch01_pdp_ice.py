"""Chapter 1's plots: partial dependence (1-D, 2-D, its non-additive part) and ICE curves.

Each function takes values, never a model, draws on ``ax`` (or a new figure) and
returns the Axes. Values are plotted in the units the caller passes: convert
standardized grids back to real units first (see :func:`imlbook.grids.to_original_units`).
``target_name`` names what the model outputs, e.g. ``"predicted price (k$)"``; ``rows``
says which rows the averages and curves are computed on, e.g. ``"the 404 training rows"``.
Legends sit outside the data, to the right of the axes.
"""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from imlbook import style

PDP_COLOUR = "tab:orange"  # the average (PDP) line; not an attribution colour
LEGEND_OUTSIDE = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _short(name: str) -> str:
    """``"RM: average rooms per dwelling"`` -> ``"RM"`` (titles name the feature, axes describe it)."""
    return name.split(":")[0].strip()


def _axes(ax, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_pdp_1d(grid: Sequence[float], pdp: Sequence[float], feature_name: str,
                target_name: str = "prediction", data_values: Optional[Sequence[float]] = None,
                rows: str = "the rows of X", ax=None):
    """Line plot of a 1-D partial dependence; ``data_values`` adds a rug of the observed feature values."""
    ax = _axes(ax)
    ax.plot(grid, pdp, color=PDP_COLOUR, lw=2, label="partial dependence")
    if data_values is not None:
        lo, hi = ax.get_ylim()
        lo = lo - 0.04 * (hi - lo)  # the rug gets its own strip below the curve
        ax.plot(np.asarray(data_values), np.full(len(data_values), lo), "|", color="k", alpha=0.3, ms=10,
                label=f"observed values ({len(data_values)})")
        ax.set_ylim(lo - 0.02 * (hi - lo), hi)
    ax.set_xlabel(feature_name)
    ax.set_ylabel(f"mean {target_name}")
    ax.set_title(f"Partial dependence on {_short(feature_name)}\n(mean over {rows})")
    ax.legend(**LEGEND_OUTSIDE)
    return ax


def plot_pdp_2d(pdp: np.ndarray, row_grid: Sequence[float], col_grid: Sequence[float],
                row_name: str, col_name: str, target_name: str = "prediction",
                points: Optional[tuple] = None, log_rows: bool = False,
                rows: str = "the rows of X", ax=None):
    """Heatmap of a 2-D partial dependence. ``pdp[i, j]`` belongs to ``row_grid[i]`` (y axis) and ``col_grid[j]`` (x axis).

    ``points=(col_values, row_values)`` draws the data as dots, so that you can see which
    parts of the surface rest on data and which are extrapolation; ``log_rows`` puts the
    y axis on a log scale (for a skewed feature such as a crime rate).
    """
    pdp = np.asarray(pdp, dtype=float)
    row_grid, col_grid = np.asarray(row_grid, dtype=float), np.asarray(col_grid, dtype=float)
    if pdp.shape != (len(row_grid), len(col_grid)):
        raise ValueError(f"pdp has shape {pdp.shape}, expected (len(row_grid), len(col_grid)) = "
                         f"({len(row_grid)}, {len(col_grid)})")
    ax = _axes(ax, figsize=(6.5, 5))
    if log_rows:
        ax.set_yscale("log")
    mesh = ax.pcolormesh(col_grid, row_grid, pdp, shading="nearest", cmap="viridis")
    contours = ax.contour(col_grid, row_grid, pdp, colors="white", linewidths=0.6, alpha=0.7)
    ax.clabel(contours, fontsize=7, fmt="%.0f")
    ax.figure.colorbar(mesh, ax=ax, label=f"mean {target_name}")
    title = f"Partial dependence on {_short(row_name)} and {_short(col_name)}\n(mean over {rows})"
    if points is not None:
        inside, total = _dots(ax, points, row_grid, col_grid)
        title += f"\ndots: the {inside} of {total} data rows inside the grid's range"
    ax.set_xlabel(col_name)
    ax.set_ylabel(row_name)
    ax.set_title(title, fontsize=10)
    return ax


def _dots(ax, points, row_grid, col_grid, colour="white"):
    """Scatter the data rows ``points=(col_values, row_values)`` that fall inside the grid's range.
    Returns (number drawn, number given)."""
    x, y = (np.asarray(v, dtype=float) for v in points)
    inside = (x >= np.min(col_grid)) & (x <= np.max(col_grid)) & (y >= np.min(row_grid)) & (y <= np.max(row_grid))
    ax.scatter(x[inside], y[inside], s=7, c=colour, edgecolors="black", linewidths=0.4, alpha=0.8)
    return int(inside.sum()), len(x)


def plot_interaction_part(part: np.ndarray, row_grid: Sequence[float], col_grid: Sequence[float],
                          row_name: str, col_name: str, unit: str = "", log_rows: bool = False,
                          points: Optional[tuple] = None, ax=None):
    """Signed heatmap of what a 2-D partial dependence adds to the sum of its row and column effects.

    ``part[i, j]`` is ``pdp[i, j] - pdp[i].mean() - pdp[:, j].mean() + pdp.mean()``: zero everywhere
    when the rows differ by a constant (no interaction). Red: the pair predicts more than the two
    effects added up; blue: less (the workbook's colour code, :mod:`imlbook.style`). ``points`` as in
    :func:`plot_pdp_2d`.
    """
    part = np.asarray(part, dtype=float)
    ax = _axes(ax, figsize=(6.5, 5))
    if log_rows:
        ax.set_yscale("log")
    mesh = ax.pcolormesh(np.asarray(col_grid), np.asarray(row_grid), part, shading="nearest",
                         cmap=style.SIGNED_CMAP, norm=style.signed_norm(part))
    ax.figure.colorbar(mesh, ax=ax, label=f"above (red) or below (blue) the additive surface{unit}")
    if points is not None:
        _dots(ax, points, row_grid, col_grid, colour="lightgrey")
    ax.set_xlabel(col_name)
    ax.set_ylabel(row_name)
    ax.set_title("What the two effects do not explain when added\n"
                 "(partial dependence − row effect − column effect)", fontsize=10)
    return ax


def plot_ice(grid: Sequence[float], curves: np.ndarray, feature_name: str, target_name: str = "prediction",
             pdp: Optional[Sequence[float]] = None, centered: bool = False, max_curves: int = 300,
             seed: int = 0, highlight: Optional[Sequence[bool]] = None, highlight_label: str = "highlighted rows",
             rows: str = "the rows of X", ax=None, pdp_label: str = "PDP (mean of all curves)"):
    """ICE curves (one thin line per row, at most ``max_curves`` drawn, said in the title) with the PDP overlaid.

    ``highlight`` (a boolean per row) draws those rows' curves in :data:`imlbook.style.DOWN`
    (use it for curves going down where the average goes up); they are always all drawn.
    """
    curves = np.asarray(curves, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if curves.ndim != 2 or curves.shape[1] != len(grid):
        raise ValueError(f"curves should have shape (n_rows, len(grid)) = (n, {len(grid)}), got {curves.shape}")
    n = len(curves)
    marked = np.zeros(n, bool) if highlight is None else np.asarray(highlight, dtype=bool)
    ax = _axes(ax)
    shown = np.arange(n)
    if n > max_curves:
        shown = np.random.default_rng(seed).choice(n, max_curves, replace=False)
    shown = np.union1d(shown, np.flatnonzero(marked))
    plain = shown[~marked[shown]]
    ax.plot(grid, curves[plain].T, color="k", alpha=0.15, lw=0.8)
    ax.plot([], [], color="k", alpha=0.4, lw=0.8, label="one row's curve")
    if marked.any():
        ax.plot(grid, curves[marked].T, color=style.DOWN, alpha=0.9, lw=1.2)
        ax.plot([], [], color=style.DOWN, lw=1.2, label=f"{highlight_label} ({marked.sum()})")
    if pdp is not None:
        ax.plot(grid, np.asarray(pdp), color=PDP_COLOUR, lw=3, ls="--", label=pdp_label)
    ax.legend(**LEGEND_OUTSIDE)
    ax.set_xlabel(feature_name)
    ax.set_ylabel(f"change in {target_name}\nsince the first grid value" if centered else target_name)
    drawn = f"{len(shown)} of {n} curves drawn" if len(shown) < n else f"all {n} curves"
    ax.set_title(("Centred ICE" if centered else "ICE") + f" curves for {_short(feature_name)}\n({rows}; {drawn})",
                 fontsize=10)
    return ax
