"""One visual language for every chapter.

Attributions (LIME weights, SHAP values, saliency signs, importances with a sign) use the
SHAP convention students meet elsewhere: **red pushes the prediction up** (towards the
explained class), **blue pushes it down**. Signed maps use a diverging colour map centred
at 0 (:func:`signed_norm`), always with a colour bar or a legend.

Non-negative maps (saliency magnitude, Grad-CAM) use :data:`MAGNITUDE_CMAP`.
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

UP_LABEL = "pushes the prediction up"
DOWN_LABEL = "pushes the prediction down"


def signed_colours(values) -> list:
    """One colour per value: :data:`UP` for positive (and zero), :data:`DOWN` for negative."""
    return [UP if v >= 0 else DOWN for v in np.ravel(np.asarray(values, dtype=float))]


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
