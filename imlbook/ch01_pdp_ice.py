"""Chapter 1's helpers beyond the exercises: reading an interaction off a 2-D partial dependence.

Friedman and Popescu (2008), "Predictive learning via rule ensembles", section 8.1, define
the H statistic of two features j and k from partial dependences centred to mean 0,
evaluated at the data's own rows x_i:

    H²_jk = Σ_i [PD_jk(x_ij, x_ik) − PD_j(x_ij) − PD_k(x_ik)]² / Σ_i PD_jk(x_ij, x_ik)²

the share of the variance of the joint partial dependence that the sum of the two
one-feature partial dependences does not explain: 0 when the effects add up, 1 when the
joint effect is pure interaction.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def interaction_part(pdp: np.ndarray) -> np.ndarray:
    """``pdp[i, j] − mean of row i − mean of column j + overall mean``: what rows and columns that
    differ by a constant would not produce. Zero everywhere when there is no interaction (on this grid)."""
    pdp = np.asarray(pdp, dtype=float)
    return pdp - pdp.mean(axis=1, keepdims=True) - pdp.mean(axis=0, keepdims=True) + pdp.mean()


def friedman_h(predict: Callable, X: np.ndarray, j: int, k: int) -> float:
    """Friedman's H statistic of features ``j`` and ``k`` on the rows of ``X`` (n rows: 3 n² predictions).

    ``predict`` maps an ``(m, p)`` array to ``m`` predictions (shape ``(m,)`` or ``(m, 1)``);
    it is called three times, on ``n * n`` rows each. Returns H (the square root of H²), in [0, 1]
    for practical purposes.
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape

    def centred_pd(features):
        stacked = np.repeat(X[np.newaxis, :, :], n, axis=0)  # stacked[i] = X with row i's values of `features`
        for f in features:
            stacked[:, :, f] = X[:, f][:, np.newaxis]
        values = np.asarray(predict(stacked.reshape(-1, p)), dtype=float).reshape(n, n).mean(axis=1)
        return values - values.mean()

    joint, pd_j, pd_k = centred_pd((j, k)), centred_pd((j,)), centred_pd((k,))
    return float(np.sqrt(np.sum((joint - pd_j - pd_k) ** 2) / np.sum(joint ** 2)))
