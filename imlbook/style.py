"""One visual language for every chapter.

Attributions (LIME weights, SHAP values, saliency signs, importances with a sign) use the
SHAP convention students meet elsewhere: **red pushes the prediction up** (towards the
explained class), **blue pushes it down**. Signed maps use a diverging colour map centred
at 0 (:func:`signed_norm`), always with a colour bar or a legend.

Non-negative maps (saliency magnitude, Grad-CAM) use :data:`MAGNITUDE_CMAP`.

A *feature's value* (the colour of a dot in a beeswarm or a dependence plot) is not an attribution:
it uses the sequential :data:`FEATURE_VALUE_CMAP` (dark = low, yellow = high), never red/blue, and a
nominal category (no order) gets one distinct colour per category (:func:`category_cmap`).
"""
from __future__ import annotations

import numpy as np

#: Pushes the prediction up / towards the explained class (shap's red).
UP = "#ff0051"
#: Pushes the prediction down / away from the explained class (shap's blue).
DOWN = "#008bfb"
#: Neutral elements: averages, baselines, the data's own distribution.
NEUTRAL = "#7f7f7f"
#: Diverging map for signed attributions: blue (negative) - white (0) - red (positive).
SIGNED_CMAP = "RdBu_r"
#: Map for non-negative importance maps (saliency magnitude, Grad-CAM).
MAGNITUDE_CMAP = "inferno"

#: Sequential map for a feature's value (low to high), distinct from the attribution colours.
FEATURE_VALUE_CMAP = "viridis"
#: Distinct colours for the categories of a nominal feature (no order between them).
CATEGORY_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#9c755f", "#76b7b2", "#bab0ac",
                    "#e15759", "#ff9da7", "#17becf", "#bcbd22")

UP_LABEL = "pushes the prediction up"
DOWN_LABEL = "pushes the prediction down"


def signed_colours(values) -> list:
    """One colour per value: :data:`UP` for positive (and zero), :data:`DOWN` for negative."""
    return [UP if v >= 0 else DOWN for v in np.ravel(np.asarray(values, dtype=float))]


def category_cmap(n: int):
    """A ListedColormap of ``n`` distinct category colours (cycled past 12): category k has colour k."""
    from matplotlib.colors import ListedColormap

    return ListedColormap([CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)] for k in range(max(int(n), 1))])


def signed_norm(values):
    """A matplotlib norm centred at 0 and symmetric, so 0 is white whatever the values' signs."""
    from matplotlib.colors import Normalize

    limit = float(np.nanmax(np.abs(np.asarray(values, dtype=float)))) if np.size(values) else 1.0
    limit = limit if limit > 0 else 1.0
    return Normalize(vmin=-limit, vmax=limit)


def signed_legend(ax, up: str = UP_LABEL, down: str = DOWN_LABEL, **kwargs):
    """Add the red/blue legend to ``ax`` (outside the data, top right by default)."""
    from matplotlib.patches import Patch

    kwargs.setdefault("loc", "upper left")
    kwargs.setdefault("bbox_to_anchor", (1.01, 1.0))
    kwargs.setdefault("frameon", False)
    return ax.legend(handles=[Patch(color=UP, label=up), Patch(color=DOWN, label=down)], **kwargs)
