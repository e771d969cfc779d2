"""The run history of chapter 6: MLflow tracking on a local store, and the run store's errors.

The store is MLflow tracking on local files: a SQLite database for runs, tags and the model
registry, and a folder for artifacts. No server runs; ``mlflow ui --backend-store-uri
sqlite:///<folder>/mlflow.db`` shows the same runs if the full ``mlflow`` package is installed.

Logging an explanation to a run and loading it back (``log_explanation`` / ``load_explanation``)
are the chapter's exercises: they live in the notebook. This module gives them the store
(:func:`use_local_store`, :func:`run_id_of`, :func:`get_run`) and the three errors they raise:
:class:`RunNotFoundError` (no such run), :class:`NoExplanationError` (the run exists but no
explanation was logged to it), :class:`CorruptExplanationError` (an artifact is missing,
unreadable or inconsistent).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Optional

EXPERIMENT = "imlbook-ch06"
DATABASE = "mlflow.db"
_EMPTY_DATABASE: Optional[bytes] = None   # a migrated, empty SQLite store, made once per process


class ExplanationStoreError(Exception):
    """Base class of the run store's errors."""


class RunNotFoundError(ExplanationStoreError, LookupError):
    """The run id names no run in the tracking store."""


class NoExplanationError(ExplanationStoreError, LookupError):
    """The run exists but has no explanation logged."""


class CorruptExplanationError(ExplanationStoreError, ValueError):
    """The run's explanation artifacts are missing, unreadable or inconsistent."""


def empty_database() -> bytes:
    """The bytes of an empty MLflow SQLite store (tables created, migrations applied). Creating
    one takes seconds (MLflow runs its migrations), so it is done once per process and copied:
    each store of :func:`use_local_store` starts from a copy, in a fraction of a second."""
    global _EMPTY_DATABASE
    if _EMPTY_DATABASE is None:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        folder = Path(tempfile.mkdtemp(prefix="mlflow-empty-"))
        try:
            store = SqlAlchemyStore(f"sqlite:///{folder / DATABASE}", (folder / "artifacts").as_uri())
            store.engine.dispose()
            _EMPTY_DATABASE = (folder / DATABASE).read_bytes()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _EMPTY_DATABASE


def use_local_store(folder) -> str:
    """Point MLflow tracking and the model registry at a SQLite store in ``folder`` (created if
    needed), with artifacts in ``folder/artifacts``, and make experiment ``imlbook-ch06`` current.
    Returns the tracking URI."""
    import os

    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")   # no progress bars in notebooks
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / DATABASE
    if not database.exists():
        database.write_bytes(empty_database())
    uri = f"sqlite:///{database}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        client.create_experiment(EXPERIMENT, artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return uri


def run_id_of(run) -> str:
    """The id of an MLflow ``Run``, ``ActiveRun`` or a run id string."""
    if isinstance(run, str):
        return run
    info = getattr(run, "info", None)
    if info is not None and getattr(info, "run_id", None):
        return info.run_id
    raise TypeError(f"run must be an MLflow run or a run id, got {type(run).__name__}")


def get_run(run_id: str, client=None):
    """The MLflow ``Run`` with this id in the current tracking store; :class:`RunNotFoundError`
    (naming the id and the store) if there is none."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = client or mlflow.MlflowClient()
    try:
        return client.get_run(run_id)
    except MlflowException as error:
        raise RunNotFoundError(f"no run with id {run_id!r} in the tracking store {client.tracking_uri}") from error
