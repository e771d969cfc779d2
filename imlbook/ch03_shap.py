"""Helpers for the SHAP chapter: the Adult income table, grouped one-hot attributions, and the known
answer of the colour classifier under shap's blur masker.

Computation only; the figures are drawn by :mod:`imlbook.plots.ch03_shap`.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

# The columns the income model reads. Dropped: `fnlwgt` (the census' sampling weight: how many people a
# row stands for, not a property of the person) and `education` (the same levels as `education.num`).
ADULT_NUMERIC = ["age", "education.num", "capital.gain", "capital.loss", "hours.per.week"]
ADULT_CATEGORICAL = ["workclass", "marital.status", "occupation", "relationship", "race", "sex", "native.country"]


def drop_missing(raw: pd.DataFrame) -> Tuple[pd.DataFrame, pd.Series]:
    """Rows without any ``?`` (the file's code for "unknown"), and the boolean mask of the dropped rows."""
    missing = (raw == "?").any(axis=1)
    return raw.loc[~missing].reset_index(drop=True), missing


def adult_preprocessor():
    """Standardize the numeric columns and one-hot the categorical ones; fit it on the training split only."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer([("num", StandardScaler(), ADULT_NUMERIC),
                              ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ADULT_CATEGORICAL)],
                             verbose_feature_names_out=False)


def onehot_groups(column_names: Sequence[str], originals: Sequence[str]) -> Dict[str, List[int]]:
    """``{original column: [indices of its encoded columns]}``, e.g. ``"sex" -> [i of sex_Female, i of sex_Male]``.

    A numeric column maps to its own single index. Every encoded column belongs to exactly one group.
    """
    groups: Dict[str, List[int]] = {name: [] for name in originals}
    for i, col in enumerate(column_names):
        owner = next((o for o in sorted(originals, key=len, reverse=True) if col == o or col.startswith(o + "_")), None)
        if owner is None:
            raise ValueError(f"column {col!r} belongs to none of {list(originals)}")
        groups[owner].append(i)
    return groups


def group_values(values: np.ndarray, groups: Dict[str, List[int]]) -> np.ndarray:
    """Sum the SHAP values of each group's columns: ``(n, p_encoded) -> (n, n_groups)`` in the order of ``groups``."""
    values = np.asarray(values, dtype=float)
    return np.stack([values[..., idx].sum(axis=-1) for idx in groups.values()], axis=-1)


def grouped_game(f, x: np.ndarray, background: np.ndarray, groups: Dict[str, List[int]]):
    """The same explanation game with each *group* of columns as one player (a one-hot category, say).

    f: maps an (n, p) array to n outputs; x: the row, shape (p,); background: (m, p);
    groups: ``{name: [column indices]}`` that together hold every column exactly once.
    Returns ``(g, x_players, background_players)``: ``x_players`` has shape (G,) and is all -1,
    ``background_players`` has shape (m, G) and row b is all b. A row composed of these (each entry -1
    or a background row index, as :func:`shapley_values` composes them) stands for the encoded row whose
    group j holds x's columns when its entry is -1 and background row b's columns when it is b; ``g``
    decodes such rows and calls ``f`` once on all of them. So ``shapley_values(g, x_players,
    background_players)`` is the exact interventional Shapley value of each group as a single player:
    a group's columns always come together, from x or from one background row.
    """
    x = np.asarray(x)
    background = np.asarray(background)
    index_lists = [list(idx) for idx in groups.values()]
    covered = sorted(i for idx in index_lists for i in idx)
    if covered != list(range(x.shape[-1])):
        raise ValueError("groups must hold every column exactly once")

    def g(players):
        players = np.asarray(players)
        rows = np.empty((len(players), x.shape[-1]), dtype=background.dtype)
        for j, idx in enumerate(index_lists):
            source = np.rint(players[:, j]).astype(int)
            from_x = source < 0
            rows[:, idx] = background[np.maximum(source, 0)][:, idx]
            rows[np.ix_(from_x, idx)] = x[idx]
        return f(rows)

    m, n_groups = len(background), len(index_lists)
    return g, np.full(n_groups, -1.0), np.repeat(np.arange(m, dtype=float)[:, None], n_groups, axis=1)


def interventional_rows(x: np.ndarray, background: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` rows as interventional SHAP builds them: a random coalition of columns (each column present
    with probability 1/2) takes x's values, every other column those of a random background row.
    Shape (n, p). Used to count rows that no person could have (two marital statuses at once)."""
    rng = np.random.default_rng(seed)
    x, background = np.asarray(x), np.asarray(background)
    present = rng.random((n, x.shape[-1])) < 0.5
    return np.where(present, x, background[rng.integers(0, len(background), n)])


def per_feature_agreement(a: np.ndarray, b: np.ndarray, min_spread: float = 1e-6) -> np.ndarray:
    """Pearson correlation, column by column, of two ``(n, p)`` tables of SHAP values; NaN where a
    column is (almost) constant in either table (a feature that never varies has no correlation)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = np.full(a.shape[1], np.nan)
    for j in range(a.shape[1]):
        if a[:, j].std() > min_spread and b[:, j].std() > min_spread:
            out[j] = np.corrcoef(a[:, j], b[:, j])[0, 1]
    return out


# ---------------------------------------------------------------------------- the image's known answer
def centred_log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """``log p_k - mean_c log p_c``: for the colour classifier this is ``T * (mean colour_k - mean over
    channels)``, a linear function of the pixels."""
    logp = np.log(np.asarray(probabilities, dtype=np.float64))
    return logp - logp.mean(axis=-1, keepdims=True)


def blur_known_answer(image: np.ndarray, temperature: float, label: int, kernel: Tuple[int, int] = (128, 128)) -> np.ndarray:
    """The exact SHAP map ``(h, w)`` of the colour classifier's centred log-probability of ``label`` when
    masked pixels are replaced by the blurred image (shap's ``blur(kx, ky)`` masker).

    The score is linear in the pixels, ``T / N * sum over pixels of (x_label - mean over channels of x)``,
    so every pixel's Shapley (and Owen) value is its own term evaluated at the image minus at the
    blurred image, whatever the coalitions.
    """
    import cv2

    image = np.asarray(image, dtype=np.float64)[..., :3]
    delta = image - cv2.blur(image, kernel)
    n = image.shape[0] * image.shape[1]
    return temperature / n * (delta[..., label] - delta.mean(axis=-1))


def block_sums(a: np.ndarray, block: int) -> np.ndarray:
    """Sum an ``(h, w)`` map over ``block x block`` tiles (h and w divisible by ``block``): ``(h/b, w/b)``."""
    a = np.asarray(a, dtype=float)
    h, w = a.shape
    return a.reshape(h // block, block, w // block, block).sum(axis=(1, 3))
