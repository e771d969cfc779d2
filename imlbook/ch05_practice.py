"""Helpers for chapter 5 (explaining models in practice) that are not exercises.

* :func:`breast_cancer_split` — the seed document's data and split.
* :func:`census_table` — raw census rows for the raw-feature section: the Adult data when it can
  be found (``imlbook.data.load_adult``), otherwise a synthetic table with the same kind of columns
  and a known rule, so the chapter runs on a machine with neither network nor data folder.
* :func:`census_preprocessor` — the seed document's ``ColumnTransformer`` (median imputer + scaler
  for numbers, constant imputer + one-hot for categories).
* :func:`explanation_values` — shap values and base values of a shap explainer on some rows, as
  plain arrays, whichever kind of explainer it is.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import pandas as pd

CENSUS_NUMERIC = ["age", "education.num", "hours.per.week", "capital.gain"]
CENSUS_CATEGORICAL = ["workclass", "marital.status", "sex"]


def breast_cancer_split(test_size: float = 0.2, random_state: int = 0):
    """scikit-learn's breast-cancer data split as in the seed document.

    Returns ``(x_train, x_test, y_train, y_test, feature_names, class_names)``: float arrays of
    shape (455, 30) and (114, 30), 0/1 labels (1 = benign), 30 names and ``["malignant", "benign"]``.
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=test_size,
                                                        random_state=random_state)
    return (x_train, x_test, y_train, y_test, [str(n) for n in data.feature_names],
            [str(n) for n in data.target_names])


def synthetic_census(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A census-like table with the columns of :data:`CENSUS_NUMERIC` and :data:`CENSUS_CATEGORICAL`
    and an ``income`` label drawn from a known logistic rule (age, education, hours, being married
    raise the odds; ``workclass`` plays no part). Some values are missing, as in the real data."""
    rng = np.random.default_rng(seed)
    age = rng.integers(17, 80, n).astype(float)
    edu = rng.integers(1, 17, n).astype(float)
    hours = np.clip(rng.normal(40, 12, n), 1, 99).round()
    gain = np.where(rng.random(n) < 0.08, rng.exponential(8000, n).round(), 0.0)
    workclass = rng.choice(["Private", "Self-emp", "Gov", "?"], n, p=[0.7, 0.12, 0.13, 0.05])
    marital = rng.choice(["Married", "Never-married", "Divorced", "Widowed"], n, p=[0.47, 0.33, 0.15, 0.05])
    sex = rng.choice(["Male", "Female"], n, p=[0.67, 0.33])
    logit = (-9.0 + 0.04 * age + 0.35 * edu + 0.03 * hours + 0.0002 * gain
             + 2.0 * (marital == "Married"))
    income = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), ">50K", "<=50K")
    frame = pd.DataFrame({"age": age, "workclass": workclass, "education.num": edu, "marital.status": marital,
                          "sex": sex, "capital.gain": gain, "hours.per.week": hours, "income": income})
    frame.loc[rng.random(n) < 0.02, "hours.per.week"] = np.nan
    return frame


def census_table(max_rows: int = 4000, seed: int = 0) -> Tuple[pd.DataFrame, str]:
    """Raw census rows and where they came from.

    Returns ``(frame, source)``: at most ``max_rows`` rows (a fixed random subset) with the columns
    of :data:`CENSUS_NUMERIC`, :data:`CENSUS_CATEGORICAL` and ``income``; ``source`` is ``"adult"``
    (UCI Adult through :func:`imlbook.data.load_adult`) or ``"synthetic"`` when Adult is not available
    (offline without the file); :func:`synthetic_census` then provides the rows.
    """
    from imlbook import data

    try:
        frame = data.load_adult()
    except (data.DataUnavailable, data.DataCorrupt):
        return synthetic_census(max_rows, seed), "synthetic"
    frame = frame[CENSUS_NUMERIC + CENSUS_CATEGORICAL + ["income"]].copy()
    frame = frame.sample(n=min(max_rows, len(frame)), random_state=seed).reset_index(drop=True)
    frame["income"] = frame["income"].astype(str).str.strip().str.rstrip(".")
    return frame, "adult"


def census_preprocessor():
    """The seed document's ``ColumnTransformer``, unfitted: numbers -> median imputer + scaler,
    categories -> constant imputer + one-hot (unknown categories ignored)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline([("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())])
    categorical = Pipeline([("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
                            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))])
    return ColumnTransformer([("num", numeric, CENSUS_NUMERIC), ("cat", categorical, CENSUS_CATEGORICAL)])


def explanation_values(explainer, rows, output: int = -1, nsamples="auto"):
    """``(values, base_values)`` of a shap explainer on ``rows``: shapes (n, p) and (n,).

    For an explainer of a model with several outputs (``predict_proba``), ``output`` picks one
    (default: the last, the positive class of a binary classifier). A kernel explainer runs
    without its progress bar, with ``nsamples`` coalitions per row (shap's "auto": 2 p + 2048).
    """
    import shap

    rows = np.asarray(rows, dtype=float)
    if isinstance(explainer, shap.KernelExplainer):
        values = np.asarray(explainer.shap_values(rows, silent=True, nsamples=nsamples), dtype=float)
        base = np.broadcast_to(np.asarray(explainer.expected_value, dtype=float), values.shape[:1] + values.shape[2:])
    else:
        result = explainer(rows)
        values, base = np.asarray(result.values, dtype=float), np.asarray(result.base_values, dtype=float)
    if values.ndim == 3:
        values = values[:, :, output]
        base = base[:, output] if base.ndim == 2 else base
    return values, np.broadcast_to(base, (len(rows),)).astype(float)
