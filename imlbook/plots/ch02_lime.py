"""Plots for the LIME chapter: explained labels of an image, superpixel weights, word weights.

Every function draws on the axes it is given (or on a new figure) and returns them.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

POSITIVE, NEGATIVE = np.array([0.1, 0.75, 0.1]), np.array([0.85, 0.1, 0.1])


def _tint(image: np.ndarray, mask: np.ndarray, strength: float = 0.45) -> np.ndarray:
    """The image with superpixels marked 1 tinted green and those marked -1 tinted red."""
    out = np.asarray(image, dtype=float)[..., :3].copy()
    for value, colour in ((1, POSITIVE), (-1, NEGATIVE)):
        sel = mask == value
        out[sel] = (1 - strength) * out[sel] + strength * colour
    return np.clip(out, 0, 1)


def plot_top_labels(image: np.ndarray, labels: Sequence[int], masks: np.ndarray, class_names: Sequence[str],
                    probabilities: Sequence[float], title: str = "input", axes=None):
    """The image, then one panel per explained label: superpixels for the label in green, against it in red.

    ``labels``/``masks`` as returned by ``explain_top_labels``; ``probabilities`` is the classifier's output
    for the image (all classes), used in the panel titles ``p(name) = ...``.
    """
    from skimage.segmentation import mark_boundaries

    k = len(labels)
    if axes is None:
        _, axes = plt.subplots(1, k + 1, figsize=(3.6 * (k + 1), 3.8))
    axes = np.atleast_1d(axes)
    axes[0].imshow(np.clip(image, 0, 1))
    axes[0].set_title(title)
    for ax, label, mask in zip(axes[1:], labels, masks):
        mask = np.asarray(mask).astype(int)
        ax.imshow(mark_boundaries(_tint(image, mask), mask != 0, color=(1, 1, 0)))
        ax.set_title(f"p({class_names[int(label)]}) = {float(probabilities[int(label)]):.3f}")
    for ax in axes:
        ax.axis("off")
    return axes


def plot_superpixel_weights(image: np.ndarray, segments: np.ndarray, weights: Sequence[float], top_k: int = 5,
                            title: str = "superpixel weights", ax=None):
    """Each superpixel coloured by its weight (blue: against, red: for), the ``top_k`` largest outlined."""
    from skimage.segmentation import mark_boundaries

    weights = np.asarray(weights, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    top = np.argsort(-weights)[:top_k]
    outline = np.isin(segments, top)
    ax.imshow(mark_boundaries(np.clip(np.asarray(image, dtype=float)[..., :3], 0, 1), outline.astype(int),
                              color=(1, 1, 0), mode="thick"))
    limit = np.abs(weights).max() or 1.0
    ax.imshow(weights[segments], cmap="coolwarm", vmin=-limit, vmax=limit, alpha=0.45)
    ax.set_title(title)
    ax.axis("off")
    return ax


def plot_word_weights(weights: Dict[str, float], other: Optional[Dict[str, float]] = None,
                      labels: Sequence[str] = ("ours", "lime"), top_k: int = 10, ax=None):
    """Horizontal bars of word weights (largest |weight| first); with ``other``, both side by side."""
    words = sorted(weights, key=lambda w: -abs(weights[w]))[:top_k][::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.35 * len(words) + 1.2))
    y = np.arange(len(words))
    h = 0.4 if other is not None else 0.8
    ax.barh(y + (h / 2 if other is not None else 0), [weights[w] for w in words], height=h, label=labels[0],
            color=["tab:green" if weights[w] > 0 else "tab:red" for w in words])
    if other is not None:
        ax.barh(y - h / 2, [other.get(w, 0.0) for w in words], height=h, label=labels[1], color="0.6")
        ax.legend(frameon=False, loc="lower right")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, words)
    ax.set_xlabel("weight towards 'positive'")
    return ax


def show_in_notebook(explanation, **kwargs):
    """``explanation.show_in_notebook(**kwargs)`` that also works with IPython 9.

    lime 0.2.0.1 imports ``display`` from ``IPython.core.display``, which IPython 9 removed; when that
    import fails we display the same HTML (``explanation.as_html(**kwargs)``) ourselves.
    """
    try:
        explanation.show_in_notebook(**kwargs)
    except ImportError:
        from IPython.display import HTML, display

        display(HTML(explanation.as_html(**kwargs)))
