"""Plots for the LIME chapter: explained labels of an image, superpixel weights, word weights.

Every function takes values (never a model), draws on the axes it is given (or on a new figure)
and returns them. All use the workbook's colour code (:mod:`imlbook.style`): red is evidence
*for* the explained class (pushes its probability up), blue evidence *against* it, with a legend
or a colour bar on every figure.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb

from imlbook import style

FOR_LABEL = "for the class (raises its probability)"
AGAINST_LABEL = "against the class (lowers it)"


def _tint(image: np.ndarray, mask: np.ndarray, strength: float = 0.5) -> np.ndarray:
    """The image with superpixels marked 1 tinted red (style.UP) and those marked -1 blue (style.DOWN)."""
    out = np.asarray(image, dtype=float)[..., :3].copy()
    for value, colour in ((1, style.UP), (-1, style.DOWN)):
        sel = mask == value
        out[sel] = (1 - strength) * out[sel] + strength * np.array(to_rgb(colour))
    return np.clip(out, 0, 1)


def plot_top_labels(image: np.ndarray, labels: Sequence[int], masks: np.ndarray, class_names: Sequence[str],
                    probabilities: Sequence[float], title: str = "input", axes=None):
    """The image, then one panel per explained label: its superpixels for the label red, against it blue.

    ``labels``/``masks`` as returned by ``explain_top_labels``; ``probabilities`` is the classifier's output
    for the image (all classes), used in the panel titles ``predicted P(name) = ...``. A legend explains
    the colours.
    """
    from skimage.segmentation import mark_boundaries

    k = len(labels)
    if axes is None:
        fig, axes = plt.subplots(1, k + 1, figsize=(3.6 * (k + 1), 4.3))
    axes = np.atleast_1d(axes)
    axes[0].imshow(np.clip(image, 0, 1))
    axes[0].set_title(title)
    for ax, label, mask in zip(axes[1:], labels, masks):
        mask = np.asarray(mask).astype(int)
        ax.imshow(mark_boundaries(_tint(image, mask), mask != 0, color=(1, 1, 0)))
        ax.set_title(f"predicted P({class_names[int(label)]}) = {float(probabilities[int(label)]):.3f}")
    for ax in axes:
        ax.axis("off")
    style.signed_legend(axes[-1], up=FOR_LABEL, down=AGAINST_LABEL, loc="upper right",
                        bbox_to_anchor=(1.0, -0.02), ncol=2)
    return axes


def plot_superpixel_weights(image: np.ndarray, segments: np.ndarray, weights: Sequence[float], top_k: int = 5,
                            title: str = "superpixel weights", ax=None, colorbar: bool = True):
    """Each superpixel coloured by its LIME weight on a grey copy of the image, the ``top_k`` largest |weight| outlined.

    The colour map is the workbook's diverging map centred at 0 (white = no effect, red = for the class,
    blue = against it), with a colour bar; the outlined superpixels are those an explanation with
    ``num_features=top_k`` keeps (ranked by absolute weight, whatever their sign).
    """
    from skimage.segmentation import find_boundaries

    weights = np.asarray(weights, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.5))
    grey = np.asarray(image, dtype=float)[..., :3].mean(axis=-1)
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
    norm = style.signed_norm(weights)
    shown = ax.imshow(weights[segments], cmap=style.SIGNED_CMAP, norm=norm, alpha=0.65)
    top = np.argsort(-np.abs(weights))[:top_k]
    edges = find_boundaries(np.where(np.isin(segments, top), segments, -1), mode="inner") & np.isin(segments, top)
    overlay = np.zeros(segments.shape + (4,))
    overlay[edges] = (0.0, 0.0, 0.0, 1.0)
    ax.imshow(overlay)
    ax.set_title(title)
    ax.axis("off")
    if colorbar:
        bar = ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label("weight (red: for, blue: against)")
    return ax


def plot_word_weights(weights: Dict[str, float], other: Optional[Dict[str, float]] = None,
                      labels: Sequence[str] = ("ours", "lime"), top_k: int = 10, ax=None,
                      title: str = "word weights towards 'positive'"):
    """Horizontal bars of word weights (largest |weight| at the top): red towards the class, blue against.

    With ``other``, its weights for the same words are drawn as grey bars beside them. Only the ``top_k``
    words with the largest |weight| in ``weights`` are drawn (the title says so when words are left out).
    """
    words = sorted(weights, key=lambda w: -abs(weights[w]))[:top_k][::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.4 * len(words) + 1.4))
    y = np.arange(len(words))
    h = 0.4 if other is not None else 0.8
    ax.barh(y + (h / 2 if other is not None else 0), [weights[w] for w in words], height=h,
            color=style.signed_colours([weights[w] for w in words]))
    handles = []
    from matplotlib.patches import Patch

    handles += [Patch(color=style.UP, label=f"{labels[0]}: towards the class"),
                Patch(color=style.DOWN, label=f"{labels[0]}: against it")]
    if other is not None:
        ax.barh(y - h / 2, [other.get(w, 0.0) for w in words], height=h, color=style.NEUTRAL)
        handles.append(Patch(color=style.NEUTRAL, label=labels[1]))
    ax.legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, words)
    ax.set_xlabel("weight (change of predicted P(positive) when the word is kept)")
    shown = f"top {len(words)} of {len(weights)} words" if len(words) < len(weights) else f"all {len(words)} words"
    ax.set_title(f"{title} ({shown})")
    return ax


def show_in_notebook(explanation, **kwargs):
    """``explanation.show_in_notebook(**kwargs)`` that also works with IPython 9.

    lime 0.2.0.1 imports ``display`` from ``IPython.core.display``, which IPython 9 removed; when that
    import fails we display the same HTML (``explanation.as_html(**kwargs)``) ourselves. Note that
    lime's HTML view uses lime's own colours (orange for the explained class), not the workbook's.
    """
    try:
        explanation.show_in_notebook(**kwargs)
    except ImportError:
        from IPython.display import HTML, display

        display(HTML(explanation.as_html(**kwargs)))
