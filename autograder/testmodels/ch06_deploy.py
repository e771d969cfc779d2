"""Inputs for chapter 6's checks: explanations, MLflow runs built where the student's code runs, a
predict-only model and a scoring explainer for ``score``, and the ``then`` readers.

The run-store exercises write to and read from MLflow. A check never shares a store with anything
else: :class:`LoggedRun` and :class:`NewRun` are :class:`~autograder.checks.BuiltArgument` specs
built next to the student's code (the sandboxed worker, or the student's kernel in a self-check):
each makes a fresh local store in a temporary folder, points MLflow at it for the one call, and
puts MLflow's previous tracking URI back afterwards (:meth:`release`). ``load_explanation`` is
checked on what the student's own ``log_explanation`` wrote (the artifact format is theirs to
choose), which :class:`LoggedRun` finds in the submission's namespace.

:class:`CheckExplanation` stands in for chapter 5's ``Explanation`` in the checks: the same
constructor and attributes, no ranking methods (the checks rank what comes back themselves).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional, Sequence

import numpy as np

from autograder.checks import BuiltArgument, CheckFailed, NotAttempted


# ---------------------------------------------------------------------------- explanations
class CheckExplanation:
    """Chapter 5's ``Explanation`` constructor and attributes, nothing else."""

    def __init__(self, feature_names, global_values=None, local_values=None, expected_value=None, method=""):
        self.feature_names = [str(name) for name in feature_names]
        self.local_values = None if local_values is None else np.asarray(local_values, dtype=float)
        if global_values is None:
            if self.local_values is None:
                raise ValueError("give global_values, local_values or both")
            global_values = np.abs(self.local_values).mean(axis=0)
        self.global_values = np.asarray(global_values, dtype=float)
        if self.global_values.shape != (len(self.feature_names),):
            raise ValueError(f"{len(self.feature_names)} names but global values of shape {self.global_values.shape}")
        if self.local_values is not None and self.local_values.shape[1:] != (len(self.feature_names),):
            raise ValueError(f"local values should have shape (n, {len(self.feature_names)})")
        self.expected_value = expected_value
        self.method = method


def explanation_case(seed: int, n_rows: int = 6, n_features: int = 7, local: bool = True,
                     expected=0.1 + 1 / 3, method: str = "shap.KernelExplainer (test)", prefix: str = "feat"):
    """A reproducible explanation with distinctive names, a global tie and ties inside a row.

    Values are full-precision floats (never rounded), so an answer that rounds what it stores, even to
    6 decimals, does not get them back exactly; the default expected value 0.1 + 1/3 is no short decimal
    either. The ties are made by assignment: row 1 ties features 2 and 4 (its ranking keeps feature 2
    first, while |global value| usually ranks feature 4 above 2), and the global values tie features 0
    and 5 (both 1.5)."""
    rng = np.random.default_rng(seed)
    names = [f"{prefix}_{chr(ord('a') + j)}{seed}" for j in range(n_features)]
    values = rng.normal(size=(n_rows, n_features)) * np.linspace(1, 3, n_features)
    values[1, 2] = values[1, 4] = 0.875             # a tie inside row 1: its order keeps feature 2 first
    global_values = np.abs(values).mean(axis=0) * np.where(rng.random(n_features) < 0.3, -1, 1)
    global_values[[0, 5]] = 1.5                     # a tie in the global ranking
    return CheckExplanation(names, global_values, values if local else None, expected, method)


from imlbook.ch06_deploy.store import CorruptExplanationError as _StoreCorruptError  # noqa: E402 - light: no mlflow


class CorruptExplanationError(_StoreCorruptError):
    """The notebook's ``CorruptExplanationError``, injected for the corrupt-artifact check: its message
    starts with ``[from <the cause's class>]`` (``[from nothing]`` without ``raise ... from``), so the
    check can see ``__cause__`` in the one-line summary that comes back from the worker."""

    def __str__(self) -> str:
        cause = self.__cause__
        return f"[from {'nothing' if cause is None else type(cause).__name__}] {super().__str__()}"


# ---------------------------------------------------------------------------- MLflow runs
class _Store(BuiltArgument):
    """A fresh local MLflow store in a temporary folder, current for one call."""

    folder: Optional[str] = None
    run_id: Optional[str] = None
    _previous = None

    def _open(self):
        import mlflow

        from imlbook.ch06_deploy.store import use_local_store

        self._previous = (mlflow.get_tracking_uri() if _uri_was_set() else None,
                          mlflow.get_registry_uri() if _uri_was_set() else None, _active_experiment())
        self.folder = tempfile.mkdtemp(prefix="ch06-check-")
        use_local_store(self.folder)
        with mlflow.start_run() as run:
            pass
        self.run_id = run.info.run_id
        return mlflow

    def release(self) -> None:
        import mlflow

        if self._previous is not None:
            tracking, registry, experiment = self._previous
            mlflow.set_tracking_uri(tracking)
            mlflow.set_registry_uri(registry)
            if experiment is not None:
                try:
                    mlflow.set_experiment(experiment_id=experiment)
                except Exception:  # noqa: BLE001 - the previous experiment may be gone
                    pass
            self._previous = None
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def _uri_was_set() -> bool:
    from mlflow.tracking import _tracking_service

    return bool(getattr(_tracking_service.utils, "_tracking_uri", None)) or bool(os.environ.get("MLFLOW_TRACKING_URI"))


def _active_experiment():
    try:
        from mlflow.tracking.fluent import _active_experiment_id

        return _active_experiment_id
    except ImportError:
        return None


class NewRun(_Store):
    """A new, finished run with nothing logged to it: as a ``Run`` object (``as_id=False``) or its id."""

    def __init__(self, as_id: bool = False):
        self.as_id = as_id

    def build_for(self, fn):
        mlflow = self._open()
        return self.run_id if self.as_id else mlflow.get_run(self.run_id)


class LoggedRun(_Store):
    """The id of a run for ``load_explanation``. ``kind``: ``"logged"`` (the student's own
    ``log_explanation`` logged ``explanation`` with ``comment`` and ``log_top_k``), ``"empty"`` (a run
    without an explanation: it holds only an unrelated artifact, ``notes/readme.txt``), ``"missing"`` (an id no run has), ``"corrupt"`` (logged, then every
    artifact file of the run overwritten with bytes that are no valid file of any format)."""

    def __init__(self, explanation=None, kind: str = "logged", comment: str = "check", log_top_k=None):
        self.explanation, self.kind, self.comment, self.log_top_k = explanation, kind, comment, log_top_k

    def build_for(self, fn):
        mlflow = self._open()
        if self.kind == "empty":                    # no explanation, but not nothing: an unrelated artifact
            mlflow.MlflowClient().log_text(self.run_id, "notes about this run, no explanation", "notes/readme.txt")
            return self.run_id
        if self.kind == "missing":
            return "0123456789abcdef" * 2
        log = (getattr(fn, "__globals__", None) or {}).get("log_explanation")
        if not callable(log):
            raise CheckFailed("load_explanation is checked on what your log_explanation writes, and there is "
                              "no function log_explanation", hint="write the log_explanation exercise first")
        try:
            returned = log(self.explanation, self.run_id, self.comment, top_k=self.log_top_k)
        except Exception as failure:  # noqa: BLE001 - the student's writer failed
            raise CheckFailed(f"load_explanation is checked on what your log_explanation writes, and "
                              f"log_explanation raised {type(failure).__name__}: {str(failure)[:200]}",
                              hint="make log_explanation pass its checks first") from None
        if returned is None:
            reader = fn.__globals__.get("load_explanation", fn)
            try:
                stub = reader(self.run_id) is None
            except Exception:  # noqa: BLE001 - load_explanation is written: the writer is missing
                stub = False
            if stub:
                raise NotAttempted()
            raise CheckFailed("load_explanation is checked on what your log_explanation writes, and "
                              "log_explanation is not written yet (it returns None)",
                              hint="write the log_explanation exercise first")
        if self.kind == "corrupt":
            artifacts = os.path.join(self.folder, "artifacts")
            damaged = 0
            for folder, _, files in os.walk(artifacts):
                for name in files:
                    with open(os.path.join(folder, name), "wb") as file:
                        file.write(b"\x00\xff\xfe{not a valid file of any format")
                    damaged += 1
            if not damaged:
                raise CheckFailed("your log_explanation wrote no artifact file, so there is nothing to corrupt",
                                  hint="log the explanation as an artifact of the run (mlflow.log_dict, "
                                       "log_artifact or log_artifacts)")
        return self.run_id


# ---------------------------------------------------------------------------- readers
class ReadExplanation:
    """Read what ``load_explanation`` returned: ``(class name, is the injected class, feature names,
    global values, local values or None, expected value as an array or None, method)``."""

    def __call__(self, result, call_kwargs):
        local = getattr(result, "local_values", None)
        expected = getattr(result, "expected_value", None)
        return (type(result).__name__, "yes" if isinstance(result, CheckExplanation) else "no",
                [str(n) for n in getattr(result, "feature_names", [])] or None,
                np.array(getattr(result, "global_values", np.nan), dtype=float),
                None if local is None else np.array(local, dtype=float),
                None if expected is None else np.array(expected, dtype=float),
                str(getattr(result, "method", None)))


class LogRun(NewRun):
    """:class:`NewRun` that also remembers the submission's namespace (for :class:`AfterLog`)."""

    namespace: dict = {}

    def build_for(self, fn):
        self.namespace = getattr(fn, "__globals__", None) or {}
        return super().build_for(fn)


def _strings(value, out, depth=0):
    """Every string (dict keys too) and number inside parsed JSON, as text."""
    if depth > 20:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(str(k))
            _strings(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out, depth + 1)
    elif value is not None:
        out.append(str(value))


def artifact_text(path: str, limit: int = 2_000_000) -> str:
    """The text an artifact holds, read the way its format says (issue 18: never a grep of its bytes):
    ``.npz``/``.npy`` through NumPy (array names and every string element: NumPy stores str as UTF-32),
    ``.json`` parsed (its strings, escapes decoded), anything else decoded as UTF-8 (CSV, text, YAML)."""
    lower = path.lower()
    try:
        if lower.endswith((".npz", ".npy")):
            out = []
            opened = np.load(path, allow_pickle=False) if lower.endswith(".npz") else _single(path)
            with opened as data:
                for key in data.files:
                    out.append(str(key))
                    array = data[key]
                    if array.dtype.kind in "US":
                        out += [str(v) for v in array.ravel().tolist()]
            return "\n".join(out)
        with open(path, "rb") as file:
            raw = file.read(limit)
        text = raw.decode("utf-8", errors="replace")
        if lower.endswith(".json"):
            import json

            out = []
            _strings(json.loads(text), out)
            return "\n".join(out)
        return text
    except Exception:  # noqa: BLE001 - an unreadable artifact holds no readable text
        return ""


class _single:
    """``np.load`` of one ``.npy`` array as a one-entry ``.npz``-like mapping (a context manager)."""

    def __init__(self, path):
        self.array = np.load(path, allow_pickle=False)
        self.files = ["array"]

    def __getitem__(self, key):
        return self.array

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class AfterLog:
    """Read what ``log_explanation`` left behind, beside the student's code: ``(returned value (the
    run id, or the type's name), the test run's id, the run's artifact files (paths), the text of every
    artifact read as its format says (:func:`artifact_text`) and the run's tags and params, what the student's own ``load_explanation`` reads
    back (see :class:`ReadExplanation`; the error's text if it raised), the explanation's global and
    local values after the call)``."""

    def __init__(self, run: LogRun):
        self.run = run

    def __call__(self, result, call_kwargs):
        import mlflow
        from urllib.parse import unquote, urlparse

        info = mlflow.MlflowClient().get_run(self.run.run_id)
        root = unquote(urlparse(info.info.artifact_uri).path)
        files, text = [], []
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                files.append(os.path.relpath(path, root))
                text.append(artifact_text(path))
        text += [f"{k}={v}" for k, v in {**info.data.tags, **info.data.params}.items() if not k.startswith("mlflow.")]
        namespace = self.run.namespace
        reader = namespace.get("load_explanation")
        if callable(reader):
            missing = object()
            saved = namespace.get("Explanation", missing)
            namespace["Explanation"] = CheckExplanation      # as load_explanation's own checks give it
            try:
                loaded = reader(self.run.run_id)
                back = ("your load_explanation returned None: log_explanation is read back through it, so write both"
                        if loaded is None else ReadExplanation()(loaded, {}))
            except Exception as failure:  # noqa: BLE001 - reported, not raised: log_explanation is under test
                back = f"your load_explanation raised {type(failure).__name__}: {str(failure)[:200]}"
            finally:
                if saved is missing:
                    namespace.pop("Explanation", None)
                else:
                    namespace["Explanation"] = saved
        else:
            back = "no load_explanation"
        explanation = call_kwargs["explanation"]
        local_after = explanation.local_values
        after = (np.array(explanation.global_values, dtype=float),
                 np.array(np.nan if local_after is None else local_after, dtype=float))
        return (result if isinstance(result, str) else f"<{type(result).__name__}>", self.run.run_id,
                sorted(files) or None, "\n".join(text), back, after)


# ---------------------------------------------------------------------------- score
class ToyScoringExplainer:
    """A scoring explainer for ``score``'s checks: ``schema`` (a RowSchema), ``feature_names``,
    ``explain(rows)`` -> (n, p) floats; local value of column j = weight_j x (code_j - centre_j),
    a category's code being its index. Records its calls (``calls``, ``rows_seen``)."""

    SANDBOX_LOCAL = True

    def __init__(self, columns: Sequence[str], categories: dict, weights: Sequence[float], centres: Sequence[float]):
        from imlbook.ch06_deploy.scoring import RowSchema

        self.schema = RowSchema(tuple(columns), {k: tuple(v) for k, v in categories.items()})
        self.weights, self.centres = np.asarray(weights, dtype=float), np.asarray(centres, dtype=float)
        self.calls, self.rows_seen = 0, 0
        self.method = "toy linear attributions"

    @property
    def feature_names(self):
        return list(self.schema.columns)

    @property
    def expected_value(self) -> float:
        return 0.5

    def explain(self, rows) -> np.ndarray:
        codes = self.schema.encode(rows)
        self.calls += 1
        self.rows_seen += len(codes)
        return np.nan_to_num(self.weights * (codes - self.centres))


class ToyModel:
    """A predict-only model on raw rows (a DataFrame with the schema's columns): label 1 (or
    ``labels[1]``) when the weighted sum of codes is positive. Records its calls."""

    SANDBOX_LOCAL = True

    def __init__(self, explainer: ToyScoringExplainer, labels=None):
        self.explainer, self.labels = explainer, labels
        self.calls = 0

    def predict(self, rows):
        import pandas as pd

        if not isinstance(rows, pd.DataFrame):
            raise TypeError(f"predict expects a pandas DataFrame of raw rows, got {type(rows).__name__}")
        missing = [c for c in self.explainer.schema.columns if c not in rows.columns]
        if missing:
            raise ValueError(f"predict: the rows lack the columns {missing}")
        self.calls += 1
        positive = np.nan_to_num(self.explainer.weights * (self.explainer.schema.encode(rows) - self.explainer.centres)).sum(1) > 0
        if self.labels is None:
            return positive.astype(np.int64)
        return np.asarray(self.labels)[positive.astype(int)]

    def predict_proba(self, rows):
        p = self.predict(rows)
        p = (p == (self.labels[1] if self.labels is not None else 1)).astype(float)
        return np.column_stack([1 - p, p])


def toy_service(seed: int, labels=None):
    """``(model, scoring_explainer)`` for ``score``'s checks."""
    rng = np.random.default_rng(seed)
    columns = ["age", "plan", "hours", "region"]
    categories = {"plan": ["basic", "plus", "pro"], "region": ["north", "south"]}
    explainer = ToyScoringExplainer(columns, categories, np.round(rng.uniform(-1, 1, 4), 3) + [0.02, 0, 0, 0],
                                    [40.0, 1.0, 38.0, 0.5])
    return ToyModel(explainer, labels), explainer


def toy_rows(seed: int, n: int, shuffled_keys: bool = False):
    """n JSON-like rows for :func:`toy_service` (a missing hours value in row 1); with
    ``shuffled_keys`` each object lists its keys in another order than the schema."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        row = {"age": float(rng.integers(18, 80)), "plan": str(rng.choice(["basic", "plus", "pro"])),
               "hours": None if i == 1 else float(rng.integers(5, 70)), "region": str(rng.choice(["north", "south"]))}
        if shuffled_keys:
            row = {k: row[k] for k in ["region", "hours", "plan", "age"]}
        rows.append(row)
    return rows


class ScoreReader:
    """Read what ``score`` returned beside the student's code: ``(keys, JSON text or the error of
    json.dumps, the Python type names found in predictions / values / names, the result's three
    entries as plain data, explainer calls, model calls, rows the explainer saw)``."""

    def __call__(self, result, call_kwargs):
        import json

        if not isinstance(result, dict):
            return (f"<{type(result).__name__}>",)
        try:
            text = json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as error:
            text = f"not JSON: {type(error).__name__}: {str(error)[:150]}"
        def types(value, depth=0):
            if isinstance(value, (list, tuple)) and depth < 2:
                return sorted({t for v in value for t in types(v, depth + 1)})
            return [type(value).__name__]
        predictions = result.get("predictions")
        values = result.get("local_importance_values")
        names = result.get("feature_names")
        explainer, model = call_kwargs.get("scoring_explainer"), call_kwargs.get("model")
        def plain(value):
            try:
                return np.array(value, dtype=float)
            except (TypeError, ValueError):
                return None
        return (sorted(str(k) for k in result), text, types(predictions), types(values), types(names),
                [str(p) for p in predictions] if isinstance(predictions, (list, tuple, np.ndarray)) else None,
                plain(values), [str(n) for n in names] if isinstance(names, (list, tuple, np.ndarray)) else None,
                float(getattr(explainer, "calls", -1)), float(getattr(model, "calls", -1)),
                float(getattr(explainer, "rows_seen", -1)))


_WORDS = ["zinc", "beta", "omega", "alpha", "mu", "kappa", "delta", "sigma", "gamma", "tau", "eta", "rho", "chi",
          "psi", "nu", "pi", "xi", "iota", "phi", "theta", "upsilon", "lambda", "epsilon", "omicron"]


def tied_case(seed: int, n_features: int = 24, n_rows: int = 3, expected=0.25 + 1 / 7):
    """An explanation of more than 16 features whose |global values| take three values only (big groups of
    ties, where NumPy's default sort is not stable) and whose names are NOT in alphabetical order (sorting
    tied names by name differs from keeping the feature order). Full-precision local values, and row 1
    ties features 2 and 4."""
    rng = np.random.default_rng(seed)
    names = [f"{word}_{seed}" for word in _WORDS[:n_features]]
    global_values = rng.choice([0.5, 1.0, 2.0], size=n_features) * np.where(rng.random(n_features) < 0.4, -1, 1)
    values = rng.normal(size=(n_rows, n_features)) * np.linspace(1, 3, n_features) + 1 / 3
    values[1, 2] = values[1, 4] = 0.875
    return CheckExplanation(names, global_values, values, expected, "shap.TreeExplainer (ties)")
