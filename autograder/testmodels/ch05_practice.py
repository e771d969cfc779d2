"""Inputs for chapter 5's checks: predict-only test models, and the ``then`` readers.

Test models are plain, picklable callables that only predict (they carry no answers). A
:class:`RecordingModel` also keeps, in the process where it runs, how often it was called and on
which rows, so a check can count the student's model calls.

The exercises of this chapter return objects (an ``Explanation`` instance, a shap explainer, a
fitted surrogate). The checks never receive those objects: a *reader* below — passed as
``autograder.checks.THEN`` — runs next to the student's code, calls what the contract promises
(a method, ``predict``, the explainer on some rows) and hands back plain numbers and strings.
"""
from __future__ import annotations

import copy
import functools
from typing import Optional, Sequence

import numpy as np


# ---------------------------------------------------------------------------- test models
class RecordingModel:
    """``f(x) = bias + x @ linear + (x**2) @ square`` (optionally through a sigmoid).

    ``predict(X)``: (n, p) -> (n,). Records ``calls`` and the rows it saw (``seen``, at most
    ``keep_rows`` rows are kept) in the process that calls it.
    """

    def __init__(self, linear: Sequence[float], square: Optional[Sequence[float]] = None, bias: float = 0.0,
                 sigmoid: bool = False, keep_rows: int = 20000):
        self.linear = np.asarray(linear, dtype=float)
        self.square = np.zeros_like(self.linear) if square is None else np.asarray(square, dtype=float)
        self.bias, self.sigmoid, self.keep_rows = float(bias), bool(sigmoid), int(keep_rows)
        self.calls, self.rows_seen, self.seen = 0, 0, []

    REMOTE_METHODS = ("seen_rows",)

    def seen_rows(self) -> np.ndarray:
        """``(m, p)``: the rows this model was asked about (at most ``keep_rows``)."""
        return np.vstack(self.seen) if self.seen else np.zeros((0, self.linear.size))

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.linear.size:
            raise ValueError(f"predict expects a 2-D array of shape (n_rows, {self.linear.size}), got {X.shape}")
        self.calls += 1
        self.rows_seen += len(X)
        if sum(len(s) for s in self.seen) < self.keep_rows:
            self.seen.append(X.copy())
        z = self.bias + X @ self.linear + (X ** 2) @ self.square
        return 1.0 / (1.0 + np.exp(-z)) if self.sigmoid else z


def random_table(seed: int, n_rows: int, n_features: int) -> np.ndarray:
    """A reproducible (n_rows, n_features) table; column j has its own centre and spread."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-2, 2, n_features)
    spreads = rng.uniform(0.5, 2.5, n_features)
    return centres + spreads * rng.standard_normal((n_rows, n_features))


def squared_error(y_true, y_pred) -> float:
    """Mean squared error (lower is better)."""
    return float(np.mean((np.ravel(y_true) - np.ravel(y_pred)) ** 2))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination (higher is better)."""
    y_true, y_pred = np.ravel(y_true).astype(float), np.ravel(y_pred).astype(float)
    return float(1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2))


def accuracy(y_true, y_pred) -> float:
    """Share of rows where the thresholded prediction (> 0.5) equals the 0/1 label."""
    return float(np.mean((np.ravel(y_pred) > 0.5) == (np.ravel(y_true) > 0.5)))


# ---------------------------------------------------------------------------- readers (THEN)
class CallMethod:
    """Read an instance through one of its methods: ``getattr(result, name)(**kwargs)``."""

    def __init__(self, name: str, **kwargs):
        self.name, self.kwargs = name, kwargs

    def __call__(self, result, call_kwargs):
        method = getattr(result, self.name, None)
        if not callable(method):
            raise AttributeError(f"the object has no method `{self.name}`")
        return method(**self.kwargs)


class StoredAfter(CallMethod):
    """Call a method, then return the explanation's stored ``(local_values, global_values)``
    (``None`` while the method is still the stub: nothing to judge yet)."""

    def __call__(self, result, call_kwargs):
        if super().__call__(result, call_kwargs) is None:
            return None
        return np.array(result.local_values, dtype=float), np.array(result.global_values, dtype=float)


class WithCalls:
    """The result, plus how often the test model passed as ``predict`` was called and on how many rows."""

    def __call__(self, result, call_kwargs):
        model = call_kwargs.get("predict")
        return result, float(getattr(model, "calls", -1)), float(getattr(model, "rows_seen", -1))


class ExplainRows:
    """Read ``(explainer, kind)`` from ``choose_explainer``: returns ``(kind, explainer class name,
    values (n, p), base values (n,))`` on ``rows``; ``values``/``base`` are empty with ``values=False``."""

    def __init__(self, rows, values: bool = True):
        self.rows, self.values = np.asarray(rows, dtype=float), values

    def __call__(self, result, call_kwargs):
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError("choose_explainer should return a tuple (explainer, kind)")
        explainer, kind = result
        name = type(explainer).__name__
        if not self.values:
            return kind, name, np.zeros(0), np.zeros(0)
        from imlbook.ch05_practice import explanation_values
        values, base = explanation_values(explainer, self.rows)
        return kind, name, values, base


class SurrogateProbe:
    """Read ``(surrogate, fidelity)`` from ``fit_surrogate``: returns ``(surrogate.predict(rows),
    fidelity, the final estimator's class name, rows the black box saw (m, p))``."""

    def __init__(self, rows, seen: bool = False):
        self.rows, self.seen = np.asarray(rows, dtype=float), seen

    def __call__(self, result, call_kwargs):
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError("fit_surrogate should return a tuple (surrogate, fidelity)")
        surrogate, fidelity = result
        final = surrogate.steps[-1][1] if hasattr(surrogate, "steps") else surrogate
        predictions = np.ravel(np.asarray(surrogate.predict(self.rows), dtype=float))
        seen = np.zeros((0, self.rows.shape[1]))
        model = call_kwargs.get("predict")
        if self.seen and callable(getattr(model, "seen_rows", None)):
            # the black box stays in the grader's process (autograder.remote): ask it what it saw
            seen = np.asarray(model.seen_rows(), dtype=float).reshape(-1, self.rows.shape[1])
        return predictions, fidelity, type(final).__name__, seen


# ---------------------------------------------------------------------------- real estimators
def regression_data(seed: int, n: int = 80, p: int = 4):
    """Rows and a non-linear target to fit the estimators handed to ``choose_explainer``."""
    X = random_table(seed, n, p)
    y = X[:, 0] ** 2 - 2 * X[:, 1] + np.sin(X[:, 2]) + 0.1 * np.random.default_rng(seed).standard_normal(n)
    return X, y


def fitted_estimator(kind: str, seed: int = 0, p: int = 4):
    """A small fitted scikit-learn estimator of the given kind (a real estimator: ``choose_explainer``
    decides by its type) and the data it was fitted on: a fresh copy each time (fitted once)."""
    return copy.deepcopy(_fitted_estimator(kind, seed, p))


@functools.lru_cache(maxsize=None)
def _fitted_estimator(kind: str, seed: int, p: int):
    from sklearn.ensemble import (BaggingRegressor, ExtraTreesRegressor, GradientBoostingClassifier,
                                  GradientBoostingRegressor, HistGradientBoostingRegressor, RandomForestClassifier,
                                  RandomForestRegressor)
    from sklearn.linear_model import HuberRegressor, Lasso, LinearRegression, LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.svm import SVC, SVR, LinearSVR
    from sklearn.tree import DecisionTreeRegressor

    X, y = regression_data(seed, p=p)
    labels = (y > np.median(y)).astype(int)
    makers = {
        "forest": lambda: RandomForestRegressor(n_estimators=10, max_depth=4, random_state=seed).fit(X, y),
        "forest_classifier": lambda: RandomForestClassifier(n_estimators=10, max_depth=4, random_state=seed).fit(X, labels),
        "boosting": lambda: GradientBoostingRegressor(n_estimators=20, max_depth=2, random_state=seed).fit(X, y),
        "decision_tree": lambda: DecisionTreeRegressor(max_depth=4, random_state=seed).fit(X, y),
        "linear": lambda: LinearRegression().fit(X, y),
        "ridge": lambda: Ridge(alpha=1.0).fit(X, y),
        "logistic": lambda: LogisticRegression().fit(X, labels),
        "svr": lambda: SVR(C=3.0).fit(X, y),
        "svc": lambda: SVC(probability=True, random_state=seed).fit(X, labels),
        "knn": lambda: KNeighborsRegressor(n_neighbors=5).fit(X, y),
        "bagged_knn": lambda: BaggingRegressor(KNeighborsRegressor(n_neighbors=5), n_estimators=5,
                                               random_state=seed).fit(X, y),
        "extra_trees": lambda: ExtraTreesRegressor(n_estimators=8, max_depth=4, random_state=seed).fit(X, y),
        "hist_boosting": lambda: HistGradientBoostingRegressor(max_iter=15, max_depth=3, random_state=seed).fit(X, y),
        "boosting_classifier": lambda: GradientBoostingClassifier(n_estimators=15, max_depth=2,
                                                                  random_state=seed).fit(X, labels),
        "lasso": lambda: Lasso(alpha=0.05).fit(X, y),
        "huber": lambda: HuberRegressor().fit(X, y),
        "linear_svr": lambda: LinearSVR(C=1.0, random_state=seed, max_iter=5000).fit(X, y),
        "svc_labels": lambda: SVC(random_state=seed).fit(X, labels),
    }
    return makers[kind](), X


def census_frame(seed: int, n: int = 40):
    """A small raw table: numbers, categories (with a missing value) and an id column."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "colour": rng.choice(["red", "green", "blue"], n),
        "hours": rng.normal(40, 10, n),
        "city": rng.choice(["Oslo", "Lima", "Pune", "Kyiv", "Accra"], n),
        "code": rng.integers(0, 9, n).astype(float),
        "member": rng.choice(["yes", "no"], n),
    })
    frame.loc[3, "colour"] = None
    return frame


def fitted_transformer(variant: str, seed: int = 0):
    """:func:`_fitted_transformer`, a fresh copy each time (fitted once)."""
    return copy.deepcopy(_fitted_transformer(variant, seed))


@functools.lru_cache(maxsize=None)
def _fitted_transformer(variant: str, seed: int):
    """A fitted ``ColumnTransformer`` over :func:`census_frame` and that frame.

    "basic": scaled numbers then a one-hot of colour; the rest dropped.
    "reordered": categories first (a Pipeline of imputer + one-hot over two columns), numbers
    next, remainder passed through.
    "drop_first": a one-hot that drops its first category, a dropped column, a scaler.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = census_frame(seed)
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    impute = SimpleImputer(strategy="constant", fill_value="missing")
    if variant == "basic":
        ct = ColumnTransformer([("num", StandardScaler(), ["age", "hours"]),
                                ("cat", Pipeline([("imputer", impute), ("onehot", onehot)]), ["colour"])])
        frame = frame[["age", "colour", "hours"]]
    elif variant == "reordered":
        ct = ColumnTransformer([("cat", Pipeline([("imputer", impute), ("onehot", onehot)]), ["city", "colour"]),
                                ("num", StandardScaler(), ["hours", "age"])], remainder="passthrough")
        frame = frame.drop(columns="member")  # the remainder (code) is numeric
    elif variant == "underscores":  # drop=None; names with "_" that prefix each other; categories with "_"
        frame = frame.rename(columns={"age": "age_years", "colour": "age", "hours": "hours_per_week",
                                      "city": "city_of_birth", "member": "city"})
        frame["city_of_birth"] = frame["city_of_birth"].map(lambda c: f"in_{c}_x")
        ct = ColumnTransformer([("num", StandardScaler(), ["hours_per_week", "age_years"]),
                                ("cat", Pipeline([("imputer", impute), ("onehot", onehot)]),
                                 ["city", "age", "city_of_birth"])], remainder="drop")
        frame = frame[["city_of_birth", "age_years", "code", "age", "hours_per_week", "city"]]
    elif variant == "infrequent":  # an encoder that groups infrequent categories into one column
        frame["city"] = frame["city"].where(np.arange(len(frame)) % 7 != 0, "Rare")
        ct = ColumnTransformer([("num", StandardScaler(), ["hours"]),
                                ("cat", OneHotEncoder(min_frequency=7, handle_unknown="infrequent_if_exist",
                                                      sparse_output=False), ["colour", "city"])])
        frame = frame[["city", "hours", "colour"]].fillna({"colour": "green"})
    elif variant == "indicator":  # an imputer that adds missing-value indicator columns
        frame.loc[[2, 5], "hours"] = np.nan
        frame.loc[[4], "code"] = np.nan
        ct = ColumnTransformer([("num", SimpleImputer(strategy="median", add_indicator=True), ["hours", "age", "code"]),
                                ("cat", Pipeline([("imputer", impute), ("onehot", onehot)]), ["colour"])])
        frame = frame[["code", "colour", "age", "hours"]]
    elif variant == "drop_first":
        ct = ColumnTransformer([("cat", OneHotEncoder(drop="first", sparse_output=False), ["city", "member"]),
                                ("gone", "drop", ["code"]),
                                ("num", StandardScaler(), ["age"])], remainder="drop")
        frame = frame[["age", "city", "code", "member"]]
    else:
        raise ValueError(variant)
    return ct.fit(frame), frame


# ---------------------------------------------------------------------------- types, as returned (issue 18)
def strict_type(value, _depth: int = 0) -> str:
    """The type of ``value`` as the student's code returned it, items included: ``"list[str]"``,
    ``"list[list[str]]"``, ``"ndarray[float64]"``, ``"ndarray[<U7]"``, ``"dict[str:float]"``, ``"float"``.
    (``coerce`` turns lists and arrays alike into plain data; a stated type is checked on this.)"""
    if isinstance(value, np.ndarray):
        return f"ndarray[{value.dtype.str.lstrip('<>|=') if value.dtype.kind in 'USO' else value.dtype.name}]"
    if _depth < 3 and isinstance(value, (list, tuple)):
        items = sorted({strict_type(v, _depth + 1) for v in value[:200]})
        return f"{type(value).__name__}[{'|'.join(items)}]"
    if _depth < 3 and isinstance(value, dict):
        keys = sorted({strict_type(k, _depth + 1) for k in value})
        vals = sorted({strict_type(v, _depth + 1) for v in value.values()})
        return f"dict[{'|'.join(keys)}:{'|'.join(vals)}]"
    return type(value).__name__


class TypedMethod(CallMethod):
    """:class:`CallMethod`, returning ``(strict_type(result), result)``."""

    def __call__(self, result, call_kwargs):
        out = super().__call__(result, call_kwargs)
        return None if out is None else (strict_type(out), out)


class Typed:
    """The result and :func:`strict_type` of it (and of its items when it is a tuple)."""

    def __call__(self, result, call_kwargs):
        items = tuple(strict_type(v) for v in result) if isinstance(result, tuple) else ()
        return result, strict_type(result), items


class SurrogateReport(SurrogateProbe):
    """:class:`SurrogateProbe`, plus whether the final estimator is the scikit-learn class its name says
    (not a look-alike defined in the notebook) and the type of the fidelity as returned."""

    def __call__(self, result, call_kwargs):
        predictions, fidelity, name, seen = super().__call__(result, call_kwargs)
        import sklearn.linear_model
        import sklearn.tree
        final = result[0].steps[-1][1] if hasattr(result[0], "steps") else result[0]
        real = {"DecisionTreeRegressor": sklearn.tree.DecisionTreeRegressor,
                "LinearRegression": sklearn.linear_model.LinearRegression,
                "SGDRegressor": sklearn.linear_model.SGDRegressor}.get(name)
        genuine = real is not None and type(final) is real
        return predictions, fidelity, name, seen, "yes" if genuine else "no", type(fidelity).__name__


class ExplainerReport(ExplainRows):
    """:class:`ExplainRows`, plus the explainer's module (``shap...`` for shap's own classes) and the type of
    ``kind`` as returned."""

    def __call__(self, result, call_kwargs):
        out = super().__call__(result, call_kwargs)
        return out + (type(result[0]).__module__, type(result[1]).__name__)
