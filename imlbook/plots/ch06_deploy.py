"""Chapter 6's static figure: how closely the scoring explainer follows the full explainer."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from imlbook import style


def plot_explainer_agreement(full_values: np.ndarray, scoring_values: np.ndarray, names: Sequence[str],
                             tolerance: float = 0.05, target_name: str = "predicted P(income > 50K)"):
    """Left: every local value (n rows x p features) of the scoring explainer against the full
    explainer's, one colour per feature, with the diagonal and a band of +-``tolerance``. Right: the
    largest |difference| per feature. ``full_values`` and ``scoring_values``: (n, p), in units of
    ``target_name``."""
    full_values = np.asarray(full_values, dtype=float)
    scoring_values = np.asarray(scoring_values, dtype=float)
    if full_values.shape != scoring_values.shape or full_values.shape[1] != len(names):
        raise ValueError(f"both tables must have shape (n, {len(names)}); got {full_values.shape} and "
                         f"{scoring_values.shape}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.3), gridspec_kw={"width_ratios": [1.1, 1]})
    limit = float(np.abs(np.concatenate([full_values.ravel(), scoring_values.ravel()])).max()) * 1.08 or 1.0
    line = np.array([-limit, limit])
    left.fill_between(line, line - tolerance, line + tolerance, color=style.NEUTRAL, alpha=0.15,
                      label=f"within {tolerance:g} of the full explainer")
    left.plot(line, line, color=style.NEUTRAL, lw=1, label="the same value")
    for j, name in enumerate(names):
        left.plot(full_values[:, j], scoring_values[:, j], "o", ms=5, alpha=0.85,
                  color=style.CATEGORY_COLOURS[j % len(style.CATEGORY_COLOURS)], label=name)
    left.set_xlim(-limit, limit)
    left.set_ylim(-limit, limit)
    left.set_aspect("equal")
    left.set_xlabel(f"full explainer (effect on the {target_name})")
    left.set_ylabel("scoring explainer")
    left.set_title(f"{full_values.shape[0]} rows x {len(names)} features: each dot is one local value", fontsize=10)
    left.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    worst = np.abs(scoring_values - full_values).max(axis=0)
    order = np.argsort(-worst, kind="stable")
    right.barh(np.arange(len(order))[::-1], worst[order], color=style.NEUTRAL)
    right.set_yticks(np.arange(len(order))[::-1], [names[j] for j in order])
    right.axvline(tolerance, color="k", ls="--", lw=1, label=f"tolerance {tolerance:g}")
    right.set_xlabel("largest |scoring - full| over the rows")
    right.set_title("largest difference per feature", fontsize=10)
    right.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig
