"""Plots for the SHAP chapter. Each takes values (never a model) and returns its axes.

Colours follow :mod:`imlbook.style`: red pushes the prediction up, blue pushes it down.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import numpy as np

from imlbook import style


def plot_cost_growth(ps: Sequence[int], seconds: Sequence[float], title: str = "exact Shapley values: cost grows as 2^p",
                     ax=None):
    """Time of ``shapley_values`` against p (log scale), with the number of coalitions 2^p on a second axis."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    ps = np.asarray(ps)
    ax.semilogy(ps, seconds, "o-", color=style.NEUTRAL, label="measured time (s)")
    ax.set_xlabel("number of features p")
    ax.set_ylabel("seconds for one row (log scale)")
    ax.set_xticks(ps)
    twin = ax.twinx()
    twin.semilogy(ps, 2.0 ** ps, "s--", color="k", alpha=0.4, label="coalitions 2^p")
    twin.set_ylabel("coalitions 2^p (log scale)")
    ax.set_title(title)
    lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(lines, [l.get_label() for l in lines], loc="upper left", frameon=False)
    return ax


def plot_force_rows(base_value: float, values: np.ndarray, title: str, ax=None):
    """A static multi-row force plot: one column per explained row, rows sorted by prediction.

    For each row the red band spans the positive contributions (they push the prediction up to the
    black line, the prediction) and the blue band the negative ones (they push it down to it), as in
    shap's interactive force plot. The grey line is the base value (mean prediction over the background).
    """
    values = np.asarray(values, dtype=float)
    out = base_value + values.sum(axis=1)
    order = np.argsort(out)
    pos = np.clip(values, 0, None).sum(axis=1)[order]
    neg = -np.clip(values, None, 0).sum(axis=1)[order]
    y = out[order]
    x = np.arange(len(y))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    ax.fill_between(x, y - pos, y, step="mid", color=style.UP, alpha=0.75, label=style.UP_LABEL)
    ax.fill_between(x, y, y + neg, step="mid", color=style.DOWN, alpha=0.75, label=style.DOWN_LABEL)
    ax.step(x, y, where="mid", color="k", lw=1.5, label="predicted P(income > 50K)")
    ax.axhline(base_value, color=style.NEUTRAL, ls="--", lw=1, label=f"base value {base_value:.3f}")
    ax.set_xlabel(f"the {len(y)} explained rows, sorted by prediction")
    ax.set_ylabel("predicted P(income > 50K)")
    ax.set_xlim(-0.5, len(y) - 0.5)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def plot_importance_bars(per_column: Sequence[Tuple[str, float]], grouped: Sequence[Tuple[str, float]],
                         top: int = 12, suptitle: str = "", axes=None):
    """Two bar charts of mean |SHAP value|: the encoded columns (the ``top`` largest) and the grouped
    original columns. Inputs are ``global_importance`` outputs (largest first)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, pairs, what in ((axes[0], list(per_column)[:top], f"encoded columns (top {top} of {len(per_column)})"),
                            (axes[1], list(grouped), f"original columns ({len(grouped)}), one-hot summed")):
        names = [n for n, _ in pairs][::-1]
        vals = [v for _, v in pairs][::-1]
        ax.barh(names, vals, color=style.NEUTRAL)
        ax.set_xlabel("mean |SHAP value| (predicted probability)")
        ax.set_title(what)
    if suptitle:
        axes[0].figure.suptitle(suptitle)
    axes[0].figure.tight_layout()
    return axes


def plot_map_vs_known(image: np.ndarray, shap_map: np.ndarray, known_map: np.ndarray, block: int,
                      title: str, axes=None):
    """The image, shap's map and the known answer, both summed over ``block x block`` tiles, on one
    signed colour scale centred at 0 (red: pushes the score up)."""
    from imlbook.ch03_shap import block_sums

    a, b = block_sums(shap_map, block), block_sums(known_map, block)
    norm = style.signed_norm(np.concatenate([a.ravel(), b.ravel()]))
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12, 4))
    axes[0].imshow(np.clip(image, 0, 1))
    axes[0].set_title("explained image")
    for ax, m, name in ((axes[1], a, "shap Partition values"), (axes[2], b, "known answer")):
        im = ax.imshow(m, cmap=style.SIGNED_CMAP, norm=norm)
        ax.set_title(f"{name}\n(sum per {block}x{block} tile)")
    for ax in axes:
        ax.axis("off")
    axes[0].figure.colorbar(im, ax=list(axes[1:]), shrink=0.8, label="contribution to the score")
    axes[0].figure.suptitle(title)
    return axes
