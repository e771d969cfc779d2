"""Explain predictions where the model is served: a light scoring explainer, ``score``, and the
MLflow model registry round trip.

* :class:`RowSchema` — the raw columns a model takes (numbers, or categories from a fixed list);
  it validates JSON rows and turns raw rows into a float matrix (a category becomes its index)
  and back, so shap can explain in the raw feature space (one value per raw column, not per
  one-hot column).
* :class:`KernelShapExplainer` — the full explainer: exact Kernel SHAP (every coalition is
  evaluated when there are at most :data:`EXACT_MAX_FEATURES` features) of the positive-class
  probability against a large background sample.
* :class:`ScoringExplainer` — the light one, built from a full one: the same values (exact Shapley
  values), computed batched for all rows in one model call, against a small weighted background of
  real rows (k-means medoids of the full background), hence far fewer model evaluations.
* ``score(rows, model, scoring_explainer)`` — what the service computes for a batch of raw rows —
  is the chapter's exercise: it lives in the notebook, and the service is given it
  (:func:`imlbook.ch06_deploy.service.create_app`'s ``score_fn``).
* :func:`register_model` / :func:`load_registered_model` — the model and its scoring explainer saved
  together as one artifact of a run and registered as a model version in MLflow's registry.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

EXACT_MAX_FEATURES = 12          # 2**12 coalitions per row: still exact and quick enough
BUNDLE = "bundle.joblib"
MANIFEST = "manifest.json"
ARTIFACT_DIR = "scoring_model"


@dataclass(frozen=True)
class RowSchema:
    """The raw columns of a model: ``columns`` in order, and for each categorical column the list
    of allowed values (``categories[name]``); every other column is numeric (missing = None/NaN)."""

    columns: tuple
    categories: Dict[str, tuple]

    @classmethod
    def from_frame(cls, rows: pd.DataFrame, categories: Optional[Dict[str, Sequence[str]]] = None) -> "RowSchema":
        """Schema of a DataFrame: object/string/category columns are categorical with the values
        seen (or those given in ``categories``), all others numeric."""
        categories = dict(categories or {})
        for name in rows.columns:
            if name not in categories and not pd.api.types.is_numeric_dtype(rows[name]):
                categories[name] = sorted(rows[name].dropna().astype(str).unique())
        return cls(tuple(str(c) for c in rows.columns), {k: tuple(str(v) for v in categories[k]) for k in categories})

    def to_json(self) -> dict:
        return {"columns": list(self.columns), "categories": {k: list(v) for k, v in self.categories.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "RowSchema":
        return cls(tuple(data["columns"]), {k: tuple(v) for k, v in data["categories"].items()})

    def problems(self, rows) -> List[str]:
        """What is wrong with JSON-like ``rows`` (a list of objects): empty list, not objects,
        missing or extra columns, wrong types, unknown categories. An empty list means valid."""
        if not isinstance(rows, list):
            return [f"expected a JSON list of rows (objects), got {type(rows).__name__}"]
        if not rows:
            return ["the list of rows is empty"]
        found, expected = [], set(self.columns)
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                found.append(f"row {i}: expected an object with the columns {list(self.columns)}, "
                             f"got {type(row).__name__}")
                continue
            missing = [c for c in self.columns if c not in row]
            extra = sorted(set(row) - expected)
            if missing:
                found.append(f"row {i}: missing columns {missing}")
            if extra:
                found.append(f"row {i}: unexpected columns {extra}")
            for name in self.columns:
                if name not in row or row[name] is None:
                    continue
                value = row[name]
                if name in self.categories:
                    if not isinstance(value, str):
                        found.append(f"row {i}: column {name!r} must be a string, got {type(value).__name__}")
                    elif value not in self.categories[name]:
                        found.append(f"row {i}: column {name!r} has unknown value {value!r}; "
                                     f"allowed: {list(self.categories[name])}")
                elif isinstance(value, bool) or not isinstance(value, (int, float)):
                    found.append(f"row {i}: column {name!r} must be a number, got {type(value).__name__}")
                elif not _finite_float(value):
                    found.append(f"row {i}: column {name!r} must be a finite number within float range, "
                                 f"got {str(value)[:20]}")
            if len(found) >= 10:
                return found[:10] + ["(first 10 problems shown)"]
        return found

    def frame(self, rows) -> pd.DataFrame:
        """Raw rows (a DataFrame or a list of objects) as a DataFrame with the schema's columns
        in order: numbers as float (missing = NaN), categories as object (missing = None)."""
        frame = pd.DataFrame(list(rows)) if not isinstance(rows, pd.DataFrame) else rows
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"rows lack the columns {missing}")
        out = {}
        for name in self.columns:
            if name in self.categories:
                column = frame[name].to_numpy(dtype=object)
                out[name] = np.where(pd.isna(column), None, column)
            else:
                out[name] = pd.to_numeric(frame[name], errors="raise").astype(float).to_numpy()
        return pd.DataFrame(out, columns=list(self.columns))

    def encode(self, rows) -> np.ndarray:
        """Raw rows -> float matrix (n, p): a category becomes its index in the schema's list;
        missing values (and, for categories, unknown ones) become NaN."""
        frame = self.frame(rows)
        matrix = np.empty(frame.shape, dtype=float)
        for j, name in enumerate(self.columns):
            if name in self.categories:
                index = {value: k for k, value in enumerate(self.categories[name])}
                matrix[:, j] = [index.get(value, np.nan) for value in frame[name]]
            else:
                matrix[:, j] = frame[name].to_numpy(dtype=float)
        return matrix

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        """Inverse of :meth:`encode` (NaN -> missing)."""
        matrix = np.asarray(matrix, dtype=float)
        out = {}
        for j, name in enumerate(self.columns):
            if name in self.categories:
                values = np.asarray(self.categories[name], dtype=object)
                codes = matrix[:, j]
                column = np.full(len(codes), None, dtype=object)
                known = ~np.isnan(codes)
                column[known] = values[codes[known].astype(int)]
                out[name] = column
            else:
                out[name] = matrix[:, j]
        return pd.DataFrame(out, columns=list(self.columns))


def _finite_float(value) -> bool:
    """Whether a JSON number is a finite float (a 400-digit integer overflows float())."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def positive_output(model):
    """f(raw rows) -> (n,): the probability of the last class for a classifier, else the prediction."""
    if hasattr(model, "predict_proba"):
        return lambda rows: np.asarray(model.predict_proba(rows), dtype=float)[:, -1]
    return lambda rows: np.asarray(model.predict(rows), dtype=float)


class KernelShapExplainer:
    """Kernel SHAP of ``model``'s positive-class probability in the raw feature space.

    ``background``: raw rows (DataFrame) that stand for "feature unknown". With at most
    :data:`EXACT_MAX_FEATURES` columns every coalition is evaluated, so the values are the exact
    interventional Shapley values against this background: each row's values sum to its
    prediction minus :attr:`expected_value` (the mean prediction on the background).
    Cost: 2**p x len(background) model evaluations per explained row.
    """

    method = "shap.KernelExplainer (exact, raw features)"

    def __init__(self, model, background: pd.DataFrame, schema: Optional[RowSchema] = None):
        self.model = model
        self.schema = schema or RowSchema.from_frame(background)
        self.background = self.schema.frame(background).reset_index(drop=True)
        self._shap = None

    @property
    def feature_names(self) -> List[str]:
        return list(self.schema.columns)

    def predict(self, rows) -> np.ndarray:
        """The explained output on raw rows: (n,)."""
        return positive_output(self.model)(self.schema.frame(rows))

    def _on_codes(self, matrix):
        return positive_output(self.model)(self.schema.decode(matrix))

    def _explainer(self):
        if self._shap is None:
            import shap

            self._shap = shap.KernelExplainer(self._on_codes, self.schema.encode(self.background))
        return self._shap

    @property
    def expected_value(self) -> float:
        return float(np.asarray(self._explainer().expected_value, dtype=float))

    def explain(self, rows) -> np.ndarray:
        """Local importance of each raw feature for each row: (n, p) float array, in the order of
        :attr:`feature_names`; row sums equal prediction - expected_value."""
        matrix = self.schema.encode(rows)
        p = matrix.shape[1]
        nsamples = 2 ** p if p <= EXACT_MAX_FEATURES else "auto"
        values = self._explainer().shap_values(matrix, nsamples=nsamples, l1_reg=False, silent=True)
        return np.asarray(values, dtype=float).reshape(len(matrix), p)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_shap"] = None              # rebuilt on first use; shap's object holds a closure
        return state


class ScoringExplainer(KernelShapExplainer):
    """A light explainer for the scoring service: the full explainer's values (exact Shapley values
    in the raw feature space), computed in one batched model call per chunk of rows (shap's
    KernelExplainer calls the model twice per row) against a small, weighted, fixed background. :meth:`from_explainer` clusters the full background into
    ``n_background`` groups (k-means on standardised numbers and one-hot categories, fixed seed)
    and keeps each group's medoid, a real row, weighted by the group's size: far fewer model calls
    per explained row, and the weighted background keeps the full one's spread."""

    method = "exact Shapley values (batched), raw features, weighted medoid background"

    def __init__(self, model, background: pd.DataFrame, schema: Optional[RowSchema] = None, weights=None):
        super().__init__(model, background, schema)
        weights = np.ones(len(self.background)) if weights is None else np.asarray(weights, dtype=float)
        if weights.shape != (len(self.background),) or (weights <= 0).any():
            raise ValueError(f"weights must be {len(self.background)} positive numbers, got shape {weights.shape}")
        self.weights = weights / weights.sum()

    @property
    def expected_value(self) -> float:
        """The weighted mean prediction on the background (the value of the empty coalition)."""
        return float(self.weights @ self.predict(self.background))

    def explain(self, rows, max_model_rows: int = 65536) -> np.ndarray:
        """Exact interventional Shapley values of each raw feature for each row, (n, p), in the
        order of :attr:`feature_names`: the same numbers shap's exact Kernel SHAP gives against
        this weighted background, computed for all rows at once — one model call per chunk of
        rows (each row needs 2**p x len(background) model evaluations; a chunk has at most
        ``max_model_rows`` of them). Row sums equal prediction - expected_value."""
        matrix = self.schema.encode(rows)
        n, p = matrix.shape
        if p > EXACT_MAX_FEATURES:
            raise ValueError(f"{p} features: exact Shapley values need 2**p coalitions; use at most "
                             f"{EXACT_MAX_FEATURES} or the full KernelShapExplainer")
        masks = ((np.arange(2 ** p)[:, None] >> np.arange(p)) & 1).astype(bool)      # (2**p, p), bit j = feature j
        background = self.schema.encode(self.background)                                # (B, p)
        f = positive_output(self.model)
        per_row = len(masks) * len(background)
        chunk = max(1, max_model_rows // per_row)
        values = np.empty((n, 2 ** p))
        for start in range(0, n, chunk):
            x = matrix[start:start + chunk]                                             # (c, p)
            synthetic = np.where(masks[None, :, None, :], x[:, None, None, :], background[None, None, :, :])
            output = f(self.schema.decode(synthetic.reshape(-1, p))).reshape(len(x), len(masks), len(background))
            values[start:start + chunk] = output @ self.weights                         # v(S) per row and coalition
        size = masks.sum(1)
        weight = np.array([math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) if s < p else 0.0
                           for s in range(p + 1)])[size]                                # weight of S (j not in S)
        phi = np.empty((n, p))
        for j in range(p):
            without = np.flatnonzero(~masks[:, j])
            phi[:, j] = (values[:, without | (1 << j)] - values[:, without]) @ weight[without]
        return phi

    @classmethod
    def from_explainer(cls, full: KernelShapExplainer, n_background: int = 32, seed: int = 0) -> "ScoringExplainer":
        from sklearn.cluster import KMeans

        if not 1 <= n_background <= len(full.background):
            raise ValueError(f"n_background must be between 1 and {len(full.background)}, got {n_background}")
        features = _cluster_features(full.schema, full.background)
        labels = KMeans(n_background, n_init=4, random_state=seed).fit_predict(features)
        picks, weights = [], []
        for group in range(n_background):
            members = np.flatnonzero(labels == group)
            inside = features[members]
            distances = ((inside[:, None, :] - inside[None, :, :]) ** 2).sum(-1).sum(1)
            picks.append(members[np.argmin(distances)])
            weights.append(len(members))
        return cls(full.model, full.background.iloc[picks], full.schema, weights)


def _cluster_features(schema: RowSchema, rows: pd.DataFrame) -> np.ndarray:
    """Standardised numbers (missing -> column mean) and one-hot categories (missing -> zeros)."""
    frame = schema.frame(rows)
    parts = []
    for name in schema.columns:
        if name in schema.categories:
            parts.append(np.stack([(frame[name] == value).to_numpy(dtype=float) for value in schema.categories[name]], 1))
        else:
            column = frame[name].to_numpy(dtype=float)
            column = np.where(np.isnan(column), np.nanmean(column), column)
            parts.append(((column - column.mean()) / (column.std() or 1.0))[:, None])
    return np.hstack(parts)


def register_model(model, scoring_explainer, name: str, comment: str = ""):
    """Save ``model`` and ``scoring_explainer`` together (one joblib file, so the explainer keeps
    pointing at the same model object) as artifacts of a new MLflow run in the current tracking
    store, and register them as a new version of the registered model ``name``. Returns the
    ``ModelVersion`` (``.version`` is 1 for the first)."""
    import joblib
    import mlflow
    import sklearn

    registry = mlflow.MlflowClient()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        joblib.dump({"model": model, "scoring_explainer": scoring_explainer}, folder / BUNDLE)
        manifest = {"schema": scoring_explainer.schema.to_json(), "method": scoring_explainer.method,
                    "background_rows": len(scoring_explainer.background),
                    "sklearn": sklearn.__version__, "comment": comment,
                    "sha256": hashlib.sha256((folder / BUNDLE).read_bytes()).hexdigest()}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
        with mlflow.start_run(run_name=f"register {name}") as run:
            mlflow.log_artifacts(str(folder), ARTIFACT_DIR)
            mlflow.set_tag("imlbook.comment", comment)
    from mlflow.exceptions import MlflowException

    try:
        registry.create_registered_model(name, description="model + scoring explainer (imlbook chapter 6)")
    except MlflowException as error:
        if "already exists" not in str(error).lower() and "RESOURCE_ALREADY_EXISTS" not in str(error):
            raise
    source = f"{registry.get_run(run.info.run_id).info.artifact_uri}/{ARTIFACT_DIR}"
    return registry.create_model_version(name, source=source, run_id=run.info.run_id, description=comment)


class RegistryError(LookupError):
    """The registered model or version does not exist, or its artifacts are unusable."""


def load_registered_model(name: str, version, tracking_uri: Optional[str] = None):
    """``(model, scoring_explainer)`` of version ``version`` of registered model ``name`` in the
    store at ``tracking_uri`` (default: MLflow's current tracking and registry URI). Raises :class:`RegistryError` naming what is missing or corrupt.
    The bundle is a pickle: load only from a store you trust (its SHA-256 is checked against the
    manifest written at registration)."""
    import joblib
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri, tracking_uri)
    try:
        model_version = client.get_model_version(name, str(version))
    except MlflowException as error:
        raise RegistryError(f"no version {str(version)!r} of registered model {name!r} in {client.tracking_uri}") from error
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with tempfile.TemporaryDirectory() as folder:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_version.source, dst_path=folder))
            manifest = json.loads((local / MANIFEST).read_text())
            payload = (local / BUNDLE).read_bytes()
        except (MlflowException, OSError, ValueError) as error:
            raise RegistryError(f"{name} version {version}: artifacts at {model_version.source} are missing "
                                f"or unreadable ({error})") from error
        if hashlib.sha256(payload).hexdigest() != manifest.get("sha256"):
            raise RegistryError(f"{name} version {version}: {BUNDLE} does not match the SHA-256 in its manifest")
        bundle = joblib.load(local / BUNDLE)
    return bundle["model"], bundle["scoring_explainer"]
