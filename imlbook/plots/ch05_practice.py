"""The explanation dashboard's views as plain functions (chapter 5).

Each takes values — never a model — draws one view and returns the matplotlib Figure, so a later
chapter can put the same views into an interactive dashboard:

* :func:`plot_global_importance` — the top-k features of a global explanation;
* :func:`plot_summary` — the beeswarm of local attributions, coloured by the feature's value;
* :func:`plot_dependence` — "explanation exploration": one feature's attribution against its
  value, coloured by another feature;
* :func:`plot_local_importance` — the top-k attributions of one row.

Colours follow :mod:`imlbook.style`: red pushes the prediction up, blue pushes it down.
"""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from imlbook import style


def _top(values: np.ndarray, k: Optional[int]) -> np.ndarray:
    order = np.argsort(-np.abs(values), kind="stable")
    return order if k is None else order[:k]


def _subset_note(shown: int, total: int) -> str:
    return "" if shown >= total else f" (top {shown} of {total} features)"


def plot_global_importance(names: Sequence[str], values: Sequence[float], top_k: Optional[int] = 10,
                           value_label: str = "mean |attribution|", title: str = "Global importance",
                           rows_note: str = ""):
    """Horizontal bars of the ``top_k`` largest ``|values|``, most important on top.

    Non-negative importances are drawn in grey; signed values (a permutation importance can be
    negative) in red (positive) and blue (negative). ``rows_note`` says on which rows the values
    were computed and is appended to the title.
    """
    values = np.asarray(values, dtype=float)
    names = list(names)
    order = _top(values, top_k)
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(order) + 1.4))
    signed = bool((values < 0).any())
    colours = style.signed_colours(values[order]) if signed else [style.NEUTRAL] * len(order)
    ax.barh(np.arange(len(order))[::-1], values[order], color=colours)
    ax.set_yticks(np.arange(len(order))[::-1], [names[j] for j in order])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(value_label)
    ax.set_title(title + _subset_note(len(order), len(values)) + (f"\n{rows_note}" if rows_note else ""))
    if signed:
        style.signed_legend(ax, up="raises the score", down="lowers it")
    fig.tight_layout()
    return fig


def plot_summary(local_values: np.ndarray, feature_values: np.ndarray, names: Sequence[str],
                 top_k: Optional[int] = 10, target_name: str = "prediction", rows_note: str = "", seed: int = 0,
                 categorical: Optional[Sequence[bool]] = None):
    """Beeswarm: one dot per row and feature at its attribution, coloured by the feature's value.

    ``local_values`` and ``feature_values``: (n, p). Features are sorted by mean |attribution|, the
    ``top_k`` largest are drawn. The colour is the feature's value scaled to its rank within the
    column, on the sequential feature-value map (dark = low, yellow = high; red/blue are kept for
    attributions), so columns of any unit share one colour bar. Columns flagged in ``categorical``
    (p booleans) have no order: their dots are grey.
    """
    local_values = np.asarray(local_values, dtype=float)
    feature_values = np.asarray(feature_values, dtype=float)
    n, p = local_values.shape
    order = _top(np.abs(local_values).mean(axis=0), top_k)
    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(order) + 1.6))
    scatter = None
    nominal = np.zeros(p, bool) if categorical is None else np.asarray(categorical, dtype=bool)
    for pos, j in enumerate(order):
        y = len(order) - 1 - pos + rng.uniform(-0.3, 0.3, n)
        if nominal[j]:
            ax.scatter(local_values[:, j], y, color=style.NEUTRAL, s=9, alpha=0.8, linewidths=0)
            continue
        col = feature_values[:, j]
        ranks = np.argsort(np.argsort(col, kind="stable"), kind="stable") / max(n - 1, 1)
        scatter = ax.scatter(local_values[:, j], y, c=ranks, cmap=style.FEATURE_VALUE_CMAP, vmin=0, vmax=1, s=9,
                             alpha=0.8, linewidths=0)
    if scatter is None:  # only categorical columns shown: an empty mappable keeps the colour bar's meaning
        scatter = plt.cm.ScalarMappable(cmap=style.FEATURE_VALUE_CMAP)
    ax.set_yticks(np.arange(len(order))[::-1], [names[j] for j in order])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"attribution (effect on the {target_name})")
    bar = fig.colorbar(scatter, ax=ax, ticks=[0, 1])
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value (rank in column)")
    grey = "; grey dots: a categorical feature (no order)" if nominal[order].any() else ""
    ax.set_title("Summary of local attributions" + _subset_note(len(order), p)
                 + (f"\n{rows_note}" if rows_note else "") + grey)
    fig.tight_layout()
    return fig


def plot_dependence(feature_values: Sequence[float], attributions: Sequence[float], feature_name: str,
                    colour_values: Optional[Sequence[float]] = None, colour_name: str = "",
                    target_name: str = "prediction", rows_note: str = ""):
    """Explanation exploration: a feature's attribution (y) against its value (x), one dot per row,
    coloured by another feature's value when ``colour_values`` is given (a vertical spread of colours
    at the same x hints at an interaction)."""
    x = np.asarray(feature_values, dtype=float)
    y = np.asarray(attributions, dtype=float)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    if colour_values is None:
        ax.scatter(x, y, s=12, color=style.NEUTRAL)
    else:
        sc = ax.scatter(x, y, s=12, c=np.asarray(colour_values, dtype=float), cmap=style.FEATURE_VALUE_CMAP)
        fig.colorbar(sc, ax=ax).set_label(colour_name or "colour feature")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel(feature_name)
    ax.set_ylabel(f"attribution of {feature_name}\n(effect on the {target_name})")
    title = f"Explanation exploration: {feature_name}"
    if colour_values is not None:
        title += f", coloured by {colour_name}"
    ax.set_title(title + (f"\n{rows_note}" if rows_note else ""))
    fig.tight_layout()
    return fig


def plot_local_importance(names: Sequence[str], values: Sequence[float], top_k: Optional[int] = 10,
                          base_value: Optional[float] = None, prediction: Optional[float] = None,
                          target_name: str = "prediction", row_label: str = "one row"):
    """The ``top_k`` largest attributions of one row as signed bars (red up, blue down), most
    important on top; the title gives the base value and the prediction when known."""
    values = np.asarray(values, dtype=float)
    names = list(names)
    order = _top(values, top_k)
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(order) + 1.6))
    ax.barh(np.arange(len(order))[::-1], values[order], color=style.signed_colours(values[order]))
    ax.set_yticks(np.arange(len(order))[::-1], [names[j] for j in order])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"attribution (effect on the {target_name})")
    title = f"Local importance for {row_label}" + _subset_note(len(order), len(values))
    if base_value is not None and prediction is not None:
        title += f"\nbase value {base_value:.3f} -> {target_name} {prediction:.3f}"
    ax.set_title(title)
    style.signed_legend(ax)
    fig.tight_layout()
    return fig
