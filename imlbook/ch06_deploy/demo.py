"""The chapter's small deployment example: raw census-like rows and a scikit-learn pipeline.

:func:`census_rows` draws a table with numeric and categorical columns and a label from a known
logistic rule (``workclass`` and ``sex`` play no part), so everything runs offline in seconds.
:func:`fit_model` trains the seed document's kind of pipeline on it: a ``ColumnTransformer``
(median imputer + scaler for numbers, one-hot for categories) and a gradient-boosted classifier.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import pandas as pd

NUMERIC = ["age", "education_num", "hours_per_week", "capital_gain"]
CATEGORICAL = {
    "workclass": ["Private", "Self-emp", "Gov"],
    "marital_status": ["Married", "Never-married", "Divorced", "Widowed"],
    "sex": ["Female", "Male"],
}
FEATURES = ["age", "workclass", "education_num", "marital_status", "sex", "capital_gain", "hours_per_week"]


def census_rows(n: int = 3000, seed: int = 0) -> Tuple[pd.DataFrame, np.ndarray]:
    """``(rows, labels)``: n raw rows with the columns :data:`FEATURES` and 0/1 labels (1 = income
    over 50K) from a logistic rule in age, education, hours, capital gain and being married.
    About 2 % of ``hours_per_week`` is missing, as in the real data."""
    rng = np.random.default_rng(seed)
    age = rng.integers(17, 80, n).astype(float)
    edu = rng.integers(1, 17, n).astype(float)
    hours = np.clip(rng.normal(40, 12, n), 1, 99).round()
    gain = np.where(rng.random(n) < 0.08, rng.exponential(8000, n).round(), 0.0)
    workclass = rng.choice(CATEGORICAL["workclass"], n, p=[0.72, 0.13, 0.15])
    marital = rng.choice(CATEGORICAL["marital_status"], n, p=[0.47, 0.33, 0.15, 0.05])
    sex = rng.choice(CATEGORICAL["sex"], n, p=[0.33, 0.67])
    logit = -9.0 + 0.04 * age + 0.35 * edu + 0.03 * hours + 0.0002 * gain + 2.0 * (marital == "Married")
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    hours[rng.random(n) < 0.02] = np.nan
    rows = pd.DataFrame({"age": age, "workclass": workclass, "education_num": edu, "marital_status": marital,
                         "sex": sex, "capital_gain": gain, "hours_per_week": hours})
    return rows[FEATURES], labels


def fit_model(rows: pd.DataFrame, labels, seed: int = 0):
    """A fitted ``Pipeline(ColumnTransformer, HistGradientBoostingClassifier)`` on raw rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline([("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())])
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                categories=[CATEGORICAL[name] for name in CATEGORICAL])
    prepare = ColumnTransformer([("num", numeric, NUMERIC), ("cat", categorical, list(CATEGORICAL))])
    model = Pipeline([("prepare", prepare),
                      ("classify", HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, random_state=seed))])
    return model.fit(rows, labels)


def deployment_example(n_rows: int = 3000, n_full_background: int = 200, n_background: int = 32, seed: int = 0):
    """Everything the chapter deploys, built in a few seconds: ``(model, full, light, test_rows)``
    — the model fitted on the first two thirds of :func:`census_rows`, the full
    :class:`~imlbook.ch06_deploy.scoring.KernelShapExplainer` on ``n_full_background`` training
    rows, the :class:`~imlbook.ch06_deploy.scoring.ScoringExplainer` built from it, and the
    remaining third as raw test rows."""
    from .scoring import KernelShapExplainer, ScoringExplainer

    rows, labels = census_rows(n_rows, seed)
    n_train = 2 * n_rows // 3
    model = fit_model(rows.iloc[:n_train], labels[:n_train], seed)
    full = KernelShapExplainer(model, rows.iloc[:n_train].sample(n_full_background, random_state=seed))
    light = ScoringExplainer.from_explainer(full, n_background, seed)
    return model, full, light, rows.iloc[n_train:].reset_index(drop=True)
