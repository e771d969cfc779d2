"""Plots for chapter 4 (inside the CNN): scenes, activations, filter patterns, three-panel heatmaps,
randomisation-check curves and pointing-game scores.

Every function takes values (images, maps, scores), never a model, draws on new axes and returns them.
Heatmaps are non-negative importance maps: :data:`imlbook.style.MAGNITUDE_CMAP` with a colour bar.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from imlbook import style


def plot_scenes(images, labels, masks, class_names, n: int = 6, title: str = "generated scenes"):
    """The first ``n`` scenes with their class, and the object's mask outlined."""
    n = min(n, len(images))
    fig, axes = plt.subplots(1, n, figsize=(2.0 * n, 2.4))
    for ax, img, label, mask in zip(np.atleast_1d(axes), images[:n], labels[:n], masks[:n]):
        ax.imshow(np.clip(img, 0, 1))
        ax.contour(mask, levels=[0.5], colors="white", linewidths=1.0)
        ax.set_title(f"class: {class_names[int(label)]}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{title} (first {n}; white outline = the planted object's mask)", fontsize=10)
    fig.tight_layout()
    return axes


def plot_activations(image, activations, n: int = 4, title: str = "activations"):
    """The input, then the first ``n`` feature maps of ``activations`` (h, w, channels), each with a colour bar."""
    fig, axes = plt.subplots(1, n + 1, figsize=(3.0 * (n + 1), 3.0))
    axes[0].imshow(np.clip(image, 0, 1))
    axes[0].set_title("input")
    axes[0].axis("off")
    for k, ax in enumerate(axes[1:]):
        fmap = activations[..., k]
        if not np.any(fmap):  # a dead filter: say so instead of drawing zeros mid-colour-map on a +-0.1 bar
            ax.imshow(np.zeros_like(fmap), cmap="gray", vmin=0, vmax=1)
            ax.text(0.5, 0.5, "dead:\nalways 0\non this input", ha="center", va="center", color="w",
                    transform=ax.transAxes, fontsize=10)
            ax.set_title(f"filter {k}")
            ax.axis("off")
            continue
        im = ax.imshow(fmap, cmap="viridis")
        ax.set_title(f"filter {k}")
        ax.axis("off")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(f"{title}: the first {n} of {activations.shape[-1]} filters", fontsize=10)
    fig.tight_layout()
    return axes


def plot_patterns(patterns: Sequence[np.ndarray], titles: Sequence[str], title: str = "filter patterns"):
    """Images returned by ``filter_pattern`` (uint8), side by side."""
    fig, axes = plt.subplots(1, len(patterns), figsize=(2.4 * len(patterns), 2.7))
    for ax, pattern, t in zip(np.atleast_1d(axes), patterns, titles):
        ax.imshow(pattern)
        ax.set_title(t, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return axes


def plot_heatmap(image, heatmap, method: str, title: str = "", mask: Optional[np.ndarray] = None,
                 alpha: float = 0.6):
    """The seed's three panels: the image, the heatmap (with a colour bar), the heatmap over the image.

    ``heatmap`` is non-negative; if it is smaller than the image (Grad-CAM) it is stretched over it in the
    overlay (drawn with bilinear smoothing). ``mask`` (optional) outlines the planted object.
    """
    image = np.clip(np.asarray(image, dtype=float), 0, 1)
    h, w = image.shape[:2]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    axes[0].imshow(image)
    axes[0].set_title(title or "input")
    im = axes[1].imshow(heatmap, cmap=style.MAGNITUDE_CMAP, vmin=0)
    axes[1].set_title(f"{method} ({heatmap.shape[0]} x {heatmap.shape[1]})")
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04, label="importance (normalised)")
    axes[2].imshow(image)
    im2 = axes[2].imshow(heatmap, cmap=style.MAGNITUDE_CMAP, alpha=alpha, vmin=0, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
                         interpolation="bilinear")
    axes[2].set_title(f"{method} over the input")
    fig.colorbar(im2, ax=axes[2], fraction=0.046, pad=0.04, label="importance (normalised)")
    for ax in axes:
        if mask is not None and (ax is not axes[1] or np.shape(heatmap) == np.shape(mask)):
            ax.contour(mask, levels=[0.5], colors="cyan", linewidths=1.0)
        ax.axis("off")
    if mask is not None:
        fig.text(0.5, 0.01, "cyan outline: the planted object's mask", ha="center", fontsize=9)
    fig.tight_layout()
    return axes


def plot_randomisation(curves: Dict[str, Sequence[float]], layers: Sequence[str],
                       title: str = "randomisation check"):
    """Spearman correlation with the original map as more layers (from the output down) are re-initialised."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    x = np.arange(1, len(layers) + 1)
    for name, values in curves.items():
        ax.plot(x, values, marker="o", label=name)
    ax.axhline(1.0, color=style.NEUTRAL, lw=1, ls="--")
    ax.text(x[-1], 1.0, "a map that ignores the weights", ha="right", va="bottom", fontsize=8, color=style.NEUTRAL)
    ax.axhline(0.0, color=style.NEUTRAL, lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels([f"+ {name}" for name in layers], rotation=20)
    ax.set_xlabel("layers re-initialised (cumulatively, from the output down)")
    ax.set_ylabel("Spearman correlation\nwith the trained model's map")
    ax.set_ylim(-1.05, 1.1)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return ax


def plot_pointing(scores: Dict[str, float], n: int, title: str = "pointing game"):
    """One bar per method: the fraction of ``n`` held-out scenes whose map peaks inside the object."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    names = list(scores)
    # scores of methods, not attributions: no red/blue (those mean "pushes up/down" in this workbook);
    # the baseline is hatched so it stands apart
    colours = ["white" if "baseline" in k else style.NEUTRAL for k in names]
    bars = ax.barh(names, [scores[k] for k in names], color=colours, edgecolor="k", linewidth=0.6)
    for bar, k in zip(bars, names):
        if "baseline" in k:
            bar.set_hatch("//")
    for i, k in enumerate(names):
        ax.text(scores[k] + 0.01, i, f"{scores[k]:.2f}", va="center", fontsize=9)
    ax.set_xlim(0, 1.12)
    ax.invert_yaxis()
    ax.set_xlabel(f"fraction of {n} held-out scenes\nwhose maximum lies inside the object")
    ax.set_title(title)
    fig.tight_layout()
    return ax
