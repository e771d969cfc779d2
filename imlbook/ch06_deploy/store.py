"""Log explanations to an MLflow run and load them back: the run history of chapter 6.

The store is MLflow tracking on local files: a SQLite database for runs, tags and the model
registry, and a folder for artifacts. No server runs; ``mlflow ui --backend-store-uri
sqlite:///<folder>/mlflow.db`` shows the same runs if the full ``mlflow`` package is installed.

An explanation is two artifacts of its run, under ``explanation/``:

* ``manifest.json`` — format version, method, feature names, expected value, top_k, comment, the
  shapes of the arrays and the SHA-256 of ``values.npz``;
* ``values.npz`` — ``global_values`` (p,) and, for a local method, ``local_values`` (n, p), as
  float64 (NaN where ``top_k`` dropped a value). Loaded without pickle.

Errors say what is wrong: :class:`RunNotFoundError` (no such run), :class:`NoExplanationError` (the
run exists but no explanation was logged to it), :class:`CorruptExplanationError` (an artifact is
missing, unreadable or does not match its manifest).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from .explanation import StoredExplanation, keep_top_k

ARTIFACT_DIR = "explanation"
MANIFEST = "manifest.json"
VALUES = "values.npz"
FORMAT = "imlbook.explanation/1"
EXPERIMENT = "imlbook-ch06"


class ExplanationStoreError(Exception):
    """Base class of the run store's errors."""


class RunNotFoundError(ExplanationStoreError, LookupError):
    """The run id names no run in the tracking store."""


class NoExplanationError(ExplanationStoreError, LookupError):
    """The run exists but has no explanation logged."""


class CorruptExplanationError(ExplanationStoreError, ValueError):
    """The run's explanation artifacts are missing, unreadable or inconsistent."""


def use_local_store(folder) -> str:
    """Point MLflow tracking and the model registry at a SQLite store in ``folder`` (created if
    needed), with artifacts in ``folder/artifacts``, and make experiment ``imlbook-ch06`` current.
    Returns the tracking URI. Creating the database the first time takes a few seconds."""
    import mlflow

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        client.create_experiment(EXPERIMENT, artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return uri


def _client():
    import mlflow

    return mlflow.MlflowClient()


def _run_id(run) -> str:
    """The id of an MLflow Run, ActiveRun or a run id string."""
    if isinstance(run, str):
        return run
    info = getattr(run, "info", None)
    if info is not None and getattr(info, "run_id", None):
        return info.run_id
    raise TypeError(f"run must be an MLflow run or a run id, got {type(run).__name__}")


def _get_run(client, run_id: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException as error:
        raise RunNotFoundError(f"no run with id {run_id!r} in the tracking store {client.tracking_uri}") from error


def _jsonable_expected(value):
    if value is None:
        return None
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value.tolist()


def log_explanation(explanation, run, comment: str = "", top_k: Optional[int] = None) -> str:
    """Log ``explanation`` to ``run`` (an MLflow run or its id) with a free-text ``comment``.

    ``explanation`` is any object with ``feature_names``, ``global_values``, ``local_values`` (None
    for a global-only method), ``expected_value`` and ``method``. With ``top_k``, only the k most
    important features are stored (globally and per row). Returns the run id. A run holds one
    explanation: logging a second one raises ``ValueError`` instead of overwriting the first.
    """
    stored = keep_top_k(explanation, top_k)
    client = _client()
    run_id = _run_id(run)
    _get_run(client, run_id)
    if any(item.path == f"{ARTIFACT_DIR}/{MANIFEST}" for item in client.list_artifacts(run_id, ARTIFACT_DIR)):
        raise ValueError(f"run {run_id} already holds an explanation; log the new one to another run")
    arrays = {"global_values": stored.global_values}
    if stored.local_values is not None:
        arrays["local_values"] = stored.local_values
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    manifest = {
        "format": FORMAT,
        "method": stored.method,
        "feature_names": stored.feature_names,
        "expected_value": _jsonable_expected(stored.expected_value),
        "top_k": stored.top_k,
        "comment": str(comment),
        "shapes": {name: list(values.shape) for name, values in arrays.items()},
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder) / ARTIFACT_DIR
        folder.mkdir()
        (folder / VALUES).write_bytes(payload)
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
        client.log_artifacts(run_id, str(folder), ARTIFACT_DIR)
    client.set_tag(run_id, "imlbook.explanation.method", stored.method)
    client.set_tag(run_id, "imlbook.explanation.comment", str(comment))
    return run_id


def _download(client, run_id: str, name: str, folder: str) -> Path:
    import mlflow
    from mlflow.exceptions import MlflowException

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"{ARTIFACT_DIR}/{name}",
                                                        dst_path=folder, tracking_uri=client.tracking_uri))
    except (MlflowException, OSError) as error:
        raise CorruptExplanationError(f"run {run_id}: the explanation's {name} is missing or unreadable "
                                      f"({error})") from error


def load_explanation(run_id, top_k: Optional[int] = None) -> StoredExplanation:
    """The explanation logged to run ``run_id`` (a run or its id), keeping the ``top_k`` most
    important features (all stored ones with None). Asking for more features than were logged
    gives what was logged, with a warning. Raises :class:`RunNotFoundError`,
    :class:`NoExplanationError` or :class:`CorruptExplanationError`."""
    client = _client()
    run_id = _run_id(run_id)
    _get_run(client, run_id)
    listed = [item.path for item in client.list_artifacts(run_id, ARTIFACT_DIR)]
    if not listed:
        raise NoExplanationError(f"run {run_id} has no explanation (no '{ARTIFACT_DIR}/' artifacts); "
                                 "log one with log_explanation(explanation, run, comment)")
    with tempfile.TemporaryDirectory() as folder:
        manifest_path = _download(client, run_id, MANIFEST, folder)
        values_path = _download(client, run_id, VALUES, folder)
        try:
            manifest = json.loads(manifest_path.read_text())
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError(f"format is not {FORMAT!r}")
            names, shapes = manifest["feature_names"], manifest["shapes"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise CorruptExplanationError(f"run {run_id}: {ARTIFACT_DIR}/{MANIFEST} is corrupt ({error})") from error
        payload = values_path.read_bytes()
        if hashlib.sha256(payload).hexdigest() != manifest.get("sha256"):
            raise CorruptExplanationError(f"run {run_id}: {ARTIFACT_DIR}/{VALUES} does not match the SHA-256 "
                                          f"in its manifest (the file was changed or truncated)")
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
                values = {name: np.asarray(arrays[name], dtype=float) for name in shapes}
            for name, shape in shapes.items():
                if list(values[name].shape) != list(shape):
                    raise ValueError(f"{name} has shape {values[name].shape}, the manifest says {shape}")
            expected = manifest["expected_value"]
            stored = StoredExplanation(names, values["global_values"], values.get("local_values"),
                                       None if expected is None else (float(expected) if np.ndim(expected) == 0
                                                                      else np.asarray(expected, dtype=float)),
                                       manifest["method"], manifest["top_k"], manifest["comment"])
        except (ValueError, KeyError, TypeError, OSError) as error:
            raise CorruptExplanationError(f"run {run_id}: {ARTIFACT_DIR}/{VALUES} is corrupt ({error})") from error
    if top_k is None:
        return stored
    kept = len(stored.feature_names) if stored.top_k is None else stored.top_k
    if isinstance(top_k, (int, np.integer)) and not isinstance(top_k, bool) and top_k > kept:
        warnings.warn(f"run {run_id} stores the top {kept} features only; returning those", stacklevel=2)
        return stored
    reduced = keep_top_k(stored, top_k)
    reduced.comment = stored.comment
    return reduced
