"""Hidden checks for chapter 5: the instructor's copy only, never shipped to students.

The public checks show students what is asked, on inputs they can read: each carries 0.125 points,
so that answers looked up from them earn little (issue 18). These checks carry the points: the same
properties on inputs that cannot be derived from the bundle, the rules the exercise texts state that
the public checks leave out (types as returned, ties at sizes where unstable sorts differ, errors,
model calls, seeding, augmentation), and values computed here, independently of the student's code.
A property that a do-nothing answer has (inputs unchanged, a call count, an error raised) is only
checked together with right values.
"""
import itertools

import numpy as np

from autograder.answers.ch05_practice import sklearn_permutation
from autograder.checks import CheckFailed, StudentError, check, expect, expect_close, expect_shape
from autograder.public.ch05_practice import (CE, EXP, FS, PI, RI, expect_choice, expect_names, explanation,
                                             held_out, pi_case, ranked, unpack_fs, unpack_pi, unpack_raw)
from autograder.testmodels.ch05_practice import (ExplainerReport, RecordingModel, StoredAfter, SurrogateReport,
                                                 Typed, TypedMethod, WithCalls, fitted_estimator,
                                                 fitted_transformer, r2, random_table, squared_error)

# ---------------------------------------------------------------------------
# Explanation
# ---------------------------------------------------------------------------
NAMES_ = ["radius", "texture", "area", "smoothness", "symmetry"]
# 60 names NOT in alphabetical order (sorting tied names by name differs from the feature order)
LONG = [f"{w}_{j:02d}" for j, w in zip(range(60), itertools.cycle(["zeta", "beta", "omega", "alpha", "mu"]))]
HIDDEN_NAMES = ["worst_area", "compactness", "mean_radius", "texture", "fractal_dim", "b_symmetry", "concavity"]


def typed(call, method, feature_names, **kwargs):
    """``(strict type, value)`` of one method of the student's Explanation."""
    return call(feature_names=list(feature_names), _then=TypedMethod(method, **kwargs.pop("method_kwargs", {})),
                **kwargs)


def expect_local(call, local, names, what=""):
    """The local rankings of ``local`` are right (names per row, values per row, signs kept)."""
    got = explanation(call, "ranked_local_names", feature_names=names, local_values=local)
    expected = tuple(tuple(ranked(row, names)[0]) for row in local)
    expect(got == expected, f"ranked_local_names(){what} does not rank each row by |local value|, ties in feature "
                            "order", hint="np.argsort(-np.abs(local_values), axis=1, kind='stable')")
    values = expect_shape(explanation(call, "ranked_local_values", feature_names=names, local_values=local),
                          local.shape, "ranked_local_values()")
    expect_close(values, np.array([ranked(row, names)[1] for row in local]),
                 f"ranked_local_values(){what} is not each row's values in its ranked order, signs kept",
                 rtol=0, atol=1e-12)


@check(EXP, "60 features with many ties: stable ranking, globally and per row", points=2.0, hidden=True)
def _(call):
    rng = np.random.default_rng(5)
    values = rng.choice([-0.4, -0.1, 0.0, 0.1, 0.2, 0.4], size=60)
    got = explanation(call, "ranked_global_names", feature_names=LONG, global_values=values)
    want = ranked(values, LONG)[0]
    if isinstance(got, tuple) and got != tuple(want) and got == tuple(
            sorted(LONG, key=lambda n: (-abs(values[LONG.index(n)]), n))):
        raise CheckFailed("ties are ordered by name; they should keep the feature order",
                          hint="a stable sort on -|value| only: np.argsort(-np.abs(values), kind='stable')")
    if isinstance(got, tuple) and got != tuple(want) and got == tuple(ranked(values[::-1], LONG[::-1])[0][::-1]):
        raise CheckFailed("ties come out in reverse feature order: an ascending sort reversed with [::-1]",
                          hint="sort -|value| with kind='stable' instead of reversing an ascending sort")
    if isinstance(got, tuple) and got != tuple(want) and got == tuple(LONG[j] for j in np.argsort(-np.abs(values))):
        raise CheckFailed("ties come out in the order of NumPy's default sort, which is not stable above 16 elements",
                          hint="np.argsort(-np.abs(values), kind='stable')")
    expect_names(got, want, "ranked_global_names() of 60 features with ties",
                 hint="np.argsort(-np.abs(values), kind='stable'): NumPy's default sort is not stable above 16 "
                      "elements")
    local = rng.choice([-0.3, -0.1, 0.1, 0.3], size=(4, 60))
    expect_local(call, local, LONG, " of 60 features with ties")


@check(EXP, "a global-only explanation raises ValueError for the local rankings", points=0.5, hidden=True)
def _(call):
    expect_local(call, np.array([[0.2, -0.5, 0.1, 0.0, 0.4], [0.3, 0.1, -0.2, 0.6, 0.0]]), NAMES_)
    for method in ("ranked_local_names", "ranked_local_values"):
        try:
            explanation(call, method, global_values=[0.1, 0.2, 0.3, 0.4, 0.5])
        except StudentError as exc:
            expect(exc.summary.startswith("ValueError"), f"{method}() should raise ValueError, got {exc.summary}")
            continue
        raise CheckFailed(f"{method}() of an explanation without local values should raise ValueError",
                          hint="if self.local_values is None: raise ValueError(...)")


@check(EXP, "feature_importance_dict() without top_k: all features, ranked; global values from local ones",
       hidden=True)
def _(call):
    local = np.array([[0.5, -0.1, 0.0, 0.2, -0.2], [-0.3, 0.1, 0.6, -0.2, 0.2]])
    got = explanation(call, "feature_importance_dict", local_values=local)
    expect(isinstance(got, dict), f"feature_importance_dict() should return a dict, got {type(got).__name__}")
    names, vals = ranked(np.abs(local).mean(axis=0), NAMES_)
    expect_names(tuple(got), names, "the keys of feature_importance_dict()")
    expect_close([got[k] for k in names], vals, "the values are not the global values")


@check(EXP, "the ranking methods leave the stored values unchanged", points=0.5, hidden=True)
def _(call):
    local = np.array([[0.5, -0.1, 0.0, 0.2, -0.2], [-0.3, 0.1, 0.6, -0.2, 0.2]])
    expect_local(call, local, NAMES_)
    for method in ("ranked_local_values", "ranked_global_values"):
        got = call(feature_names=NAMES_, local_values=local, _then=StoredAfter(method))
        expect_close(got[0], local, f"{method}() changed local_values",
                     hint="sort a copy (np.take_along_axis returns one); never sort self.local_values in place")
        expect_close(got[1], np.abs(local).mean(axis=0), f"{method}() changed global_values")


@check(EXP, "signed values on other names: ranked by |value|, values with their signs", points=2.0, hidden=True)
def _(call):
    values = [0.31, -1.2, 0.05, 0.7, -0.02, -0.45, 0.6]
    names, vals = ranked(values, HIDDEN_NAMES)
    got = explanation(call, "ranked_global_names", feature_names=HIDDEN_NAMES, global_values=values)
    if got == tuple(HIDDEN_NAMES[j] for j in np.argsort(-np.asarray(values), kind="stable")):
        raise CheckFailed("the names are ranked by the signed value: 'compactness' (-1.2) should come first",
                          hint="sort by np.abs(global_values), largest first")
    expect_names(got, names, "ranked_global_names()")
    got = expect_shape(explanation(call, "ranked_global_values", feature_names=HIDDEN_NAMES, global_values=values),
                       (7,), "ranked_global_values()")
    expect_close(got, vals, "ranked_global_values() is not the values in ranked order with their signs",
                 rtol=0, atol=1e-12)
    local = np.array([[0.2, -0.9, 0.4, 0.05, -0.6, 0.0, 0.3], [-0.1, 0.2, -0.2, 0.7, 0.1, -0.05, 0.2]])
    expect_local(call, local, HIDDEN_NAMES)


@check(EXP, "the promised types: lists of str, NumPy arrays, a dict of Python floats", points=1.5, hidden=True)
def _(call):
    local = np.array([[0.2, -0.9, 0.4, 0.05, -0.6, 0.0, 0.3], [-0.1, 0.2, -0.2, 0.7, 0.1, -0.05, 0.2]])
    expect_local(call, local, HIDDEN_NAMES)
    promised = {"ranked_global_names": ("list[str]", "a list of str"),
                "ranked_global_values": ("ndarray[float64]", "a NumPy array of floats"),
                "ranked_local_names": ("list[list[str]]", "a list of lists of str"),
                "ranked_local_values": ("ndarray[float64]", "a NumPy array of floats"),
                "feature_importance_dict": ("dict[str:float]", "a dict of str to Python float")}
    for method, (want, say) in promised.items():
        kind, _ = typed(call, method, HIDDEN_NAMES, local_values=local)
        if kind != want:
            hint = {"list[str]": "turn names into a list of str: [self.feature_names[j] for j in order] "
                                 "(a NumPy array of names holds np.str_)",
                    "list[list[str]]": "a list of n lists of str, e.g. [[self.feature_names[j] for j in row] "
                                       "for row in order]",
                    "dict[str:float]": "{name: float(value) ...}: np.float64 is not a Python float"}.get(
                want, "return a NumPy array (np.asarray(...)), not a list")
            raise CheckFailed(f"{method}() returned {kind}; the text promises {say}", hint=hint)


@check(EXP, "feature_importance_dict(top_k): top_k = p gives all, top_k outside 1..p raises ValueError",
       points=0.875, hidden=True)
def _(call):
    values = [0.31, -1.2, 0.05, 0.7, -0.02, -0.45, 0.6]
    names, vals = ranked(values, HIDDEN_NAMES)
    for top_k in (2, 7):
        got = explanation(call, "feature_importance_dict", feature_names=HIDDEN_NAMES, global_values=values,
                          method_kwargs={"top_k": top_k})
        expect(isinstance(got, dict), f"feature_importance_dict() should return a dict, got {type(got).__name__}")
        expect_names(tuple(got), names[:top_k], f"the keys of feature_importance_dict(top_k={top_k})")
        expect_close([got[k] for k in names[:top_k]], vals[:top_k], "the dictionary's values are not the global values")
    for top_k in (0, -1, 8):
        try:
            got = explanation(call, "feature_importance_dict", feature_names=HIDDEN_NAMES, global_values=values,
                              method_kwargs={"top_k": top_k})
        except StudentError as exc:
            expect(exc.summary.startswith("ValueError"),
                   f"feature_importance_dict(top_k={top_k}) should raise ValueError, got {exc.summary}")
            continue
        raise CheckFailed(f"feature_importance_dict(top_k={top_k}) of 7 features should raise ValueError, it returned "
                          f"{len(got) if isinstance(got, dict) else type(got).__name__}"
                          f"{' entries' if isinstance(got, dict) else ''}",
                          hint="raise ValueError unless top_k is None or 1 <= top_k <= p (a slice [:0] or [:-1] "
                               "silently returns a wrong dict)")


# ---------------------------------------------------------------------------
# choose_explainer
# ---------------------------------------------------------------------------
def explained_output(model, kind):
    """The function of the rows that shap's explainer of this kind explains (what the reference does):
    a tree classifier's probability of the last class (a gradient-boosting classifier's log-odds), a
    linear classifier's margin, the kernel explainer's predict_proba (last class) or predict."""
    classifier = hasattr(model, "classes_")
    if kind == "tree" and classifier and type(model).__name__.startswith(("GradientBoosting", "HistGradientBoosting")):
        return model.decision_function
    if kind == "linear" and classifier:
        return model.decision_function
    if classifier and hasattr(model, "predict_proba"):
        return lambda X: model.predict_proba(X)[:, -1]
    return lambda X: np.asarray(model.predict(X), dtype=float)


def exact_shapley(f, background, rows):
    """Interventional Shapley values of ``f`` by enumerating every coalition: (n, p), and the base value
    mean f(background). Exact: shap's TreeExplainer and LinearExplainer with a background, and its
    KernelExplainer when it can enumerate every coalition (p = 4: 16 of them), compute the same numbers."""
    background, rows = np.asarray(background, dtype=float), np.asarray(rows, dtype=float)
    n, p = rows.shape
    masks = np.array(list(itertools.product([0, 1], repeat=p)), dtype=bool)
    blocks = []
    for x in rows:
        for mask in masks:
            block = background.copy()
            block[:, mask] = x[mask]
            blocks.append(block)
    v = np.asarray(f(np.vstack(blocks)), dtype=float).reshape(n, len(masks), len(background)).mean(axis=2)
    index = {tuple(m): i for i, m in enumerate(masks)}
    from math import factorial
    phi = np.zeros((n, p))
    for mask in masks:
        size = int(mask.sum())
        for j in np.flatnonzero(~mask):
            with_j = mask.copy()
            with_j[j] = True
            weight = factorial(size) * factorial(p - size - 1) / factorial(p)
            phi[:, j] += weight * (v[:, index[tuple(with_j)]] - v[:, index[tuple(mask)]])
    return phi, float(np.mean(f(background)))


def expect_explained(call, kind, choice, seed, hint=""):
    """The student's choice for a model of ``kind`` is ``choice``, and their explainer's values on 3 rows
    are the exact Shapley values of what that explainer explains, with base value mean f(background)."""
    model, X = fitted_estimator(kind, seed)
    background, rows = X[:8], X[-3:]
    names = {"tree": ("TreeExplainer",), "linear": ("LinearExplainer",), "kernel": ("KernelExplainer",)}[choice]
    # the choice first, without values: a wrong explainer for a model may fail inside shap when it computes
    chosen = call(model=model, background=background, _then=ExplainerReport(rows, values=False))
    expect(chosen[5] == "str", f"the kind should be a str, got a {chosen[5]}")
    expect(chosen[0] == choice, f"a {type(model).__name__} should get {choice!r}, got {chosen[0]!r}", hint)
    out = call(model=model, background=background, _then=ExplainerReport(rows))
    expect_choice(out, choice, names, hint)
    expect(str(out[4]).startswith("shap"), f"the explainer is a {out[1]} defined in {out[4]}, not shap's own",
           hint=f"use shap.{names[0]}: the checks judge the values it computes")
    values = expect_shape(out[2], rows.shape, f"the {choice} explainer's SHAP values on 3 rows of a {type(model).__name__}")
    phi, base = exact_shapley(explained_output(model, choice), background, rows)
    if choice == "kernel" and hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        labels, _ = exact_shapley(lambda Z: np.asarray(model.predict(Z), dtype=float), background, rows)
        if np.allclose(values, labels, rtol=1e-5, atol=1e-5) and not np.allclose(values, phi, rtol=1e-5, atol=1e-5):
            raise CheckFailed(f"the kernel explainer of a {type(model).__name__} explains its labels (model.predict)",
                              hint="a classifier with predict_proba: shap.KernelExplainer(model.predict_proba, "
                                   "background)")
    # Measured with the reference on every model of these checks: largest difference 7e-7 for a tree (shap
    # keeps thresholds in float32), 2e-15 for linear and kernel (all 16 coalitions enumerated); 1e-5 leaves a
    # margin, and answers that compute something else are off by 0.01 or more.
    expect_close(out[3], np.full(3, base), f"the base value for a {type(model).__name__} is not the mean output on "
                 "the background rows", hint="pass `background` to the explainer", rtol=1e-5, atol=1e-5)
    expect_close(values, phi, f"the explainer's values for a {type(model).__name__} are not its Shapley values "
                 "against the background", hint=hint or "pass the model (or predict_proba) and `background` to "
                 "shap's explainer", rtol=1e-5, atol=1e-5)


@check(CE, "classifiers: a forest -> tree, a logistic regression -> linear, an SVC -> kernel on probabilities",
       points=1.5, hidden=True)
def _(call):
    expect_explained(call, "forest_classifier", "tree", 1)
    expect_explained(call, "logistic", "linear", 1)
    expect_explained(call, "svc", "kernel", 1, hint="for a classifier with predict_proba, the kernel explainer "
                     "explains model.predict_proba (not the labels of model.predict)")
    expect_explained(call, "svc_labels", "kernel", 1, hint="an SVC without probabilities has no predict_proba: "
                     "explain model.predict")


@check(CE, "a gradient boosting model and a single tree -> tree; Ridge -> linear", hidden=True)
def _(call):
    expect_explained(call, "boosting", "tree", 2)
    expect_explained(call, "decision_tree", "tree", 2)
    expect_explained(call, "ridge", "linear", 2)


@check(CE, "a bagging ensemble of nearest neighbours is not made of trees -> kernel", points=0.75, hidden=True)
def _(call):
    expect_explained(call, "bagged_knn", "kernel", 3,
                     hint="decide by the model's type (tree models, sklearn.linear_model), not by `estimators_`")


@check(CE, "a forest, a linear regression and an SVR on other data: exact values", hidden=True)
def _(call):
    expect_explained(call, "forest", "tree", 4)
    expect_explained(call, "linear", "linear", 4)
    expect_explained(call, "svr", "kernel", 4)


@check(CE, "extra trees, histogram boosting, a boosting classifier -> tree; Lasso, Huber -> linear; "
           "a LinearSVR (not sklearn.linear_model) -> kernel", points=1.375, hidden=True)
def _(call):
    for kind in ("extra_trees", "hist_boosting", "boosting_classifier"):
        expect_explained(call, kind, "tree", 5, hint="every tree ensemble the text names gets TreeExplainer")
    for kind in ("lasso", "huber"):
        expect_explained(call, kind, "linear", 5, hint="any estimator of sklearn.linear_model is a linear model")
    expect_explained(call, "linear_svr", "kernel", 5, hint="a LinearSVR comes from sklearn.svm, not "
                     "sklearn.linear_model: the text sends it to the kernel explainer")


# ---------------------------------------------------------------------------
# permutation_importance
# ---------------------------------------------------------------------------
def expect_sklearn(mean, std, model, X, y, metric, n_repeats, seed, greater_is_better, what=""):
    exp_mean, exp_std = sklearn_permutation(model, X, y, metric, n_repeats, seed, greater_is_better)
    if np.allclose(std, exp_std * np.sqrt(n_repeats / (n_repeats - 1))) and not np.allclose(std, exp_std):
        raise CheckFailed("std uses ddof=1; scikit-learn reports NumPy's default ddof=0", hint="np.std(drops, axis=1)")
    # Same shuffles, same arithmetic: only rounding differs (measured 0.0 for the reference).
    expect_close(mean, exp_mean, f"the mean importances{what} differ from scikit-learn's with the same seed",
                 hint="draw column_seed = np.random.RandomState(seed).randint(2**31) once, a fresh "
                      "RandomState(column_seed) per column, shuffle an index array in place every repeat",
                 rtol=1e-7, atol=1e-9)
    expect_close(std, exp_std, f"the standard deviations{what} differ from scikit-learn's", rtol=1e-7, atol=1e-9)


@check(PI, "linear model, independent features, squared error: mean ≈ 2 w² Var(x)", points=1.5, hidden=True)
def _(call):
    rng = np.random.default_rng(30)
    X = rng.normal(size=(3000, 3)) * [1.0, 2.0, 0.5]
    w = np.array([2.0, -1.0, 3.0])
    y = X @ w + 0.3 * rng.standard_normal(3000)
    mean, _ = unpack_pi(call(predict=RecordingModel(w), X=X, y=y, metric=squared_error, n_repeats=10, seed=4,
                             greater_is_better=False), 3)
    expected = 2 * w ** 2 * X.var(axis=0)
    # Measured with the reference over seeds 0-49 of this case: largest relative error 2.1 %; allowed 10 %.
    expect_close(mean, expected, "the rise of the squared error is not ≈ 2 w_j² Var(x_j) for a linear model",
                 hint="shuffle column j of X, predict, and take metric(shuffled) - metric(original)",
                 rtol=0.10, atol=0.0)


@check(PI, "matches scikit-learn for an error metric, another seed and 2 repeats (std with ddof=0)",
       points=1.5, hidden=True)
def _(call):
    model, X, y = pi_case(31, n=90, linear=(0.5, 1.0, -1.0), square=(0.0, 0.2, 0.0))
    mean, std = unpack_pi(call(predict=model, X=X, y=y, metric=squared_error, n_repeats=2, seed=123,
                               greater_is_better=False), 3)
    expect_sklearn(mean, std, model, X, y, squared_error, 2, 123, False)


@check(PI, "at most one predict call per shuffled copy, plus one for the baseline", points=0.75, hidden=True)
def _(call):
    model, X, y = pi_case(32, n=60)
    out, calls, rows = call(predict=model, X=X, y=y, metric=r2, n_repeats=3, seed=0, _then=WithCalls())
    mean, std = unpack_pi(out, 4)
    expect_sklearn(mean, std, pi_case(32, n=60)[0], X, y, r2, 3, 0, True)
    expect(calls <= 4 * 3 + 1, f"predict was called {int(calls)} times for 4 columns x 3 repeats; at most "
                               "4 x 3 + 1 = 13 are allowed",
           hint="shuffle a whole column at once and predict all rows together (one call per copy, or fewer)")


@check(PI, "the same seed gives the same result, another seed another one", points=0.75, hidden=True)
def _(call):
    model, X, y = pi_case(33, n=50)
    a, std = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=5), 4)
    expect_sklearn(a, std, model, X, y, r2, 2, 5, True)
    b, _ = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=5), 4)
    c, _ = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=6), 4)
    expect(np.array_equal(a, b), "two calls with the same seed gave different importances",
           hint="draw every shuffle from np.random.RandomState built from `seed`, never from the global generator")
    expect(not np.array_equal(a, c), "seeds 5 and 6 gave identical importances: the seed is not used")


@check(PI, "a score on other data: scikit-learn's numbers, ignored features exactly 0", points=2.5, hidden=True)
def _(call):
    model, X, y = pi_case(34, n=150, linear=(0.0, 1.2, -0.8, 0.0, 0.4, 2.0), square=(0.0, 0.0, 0.3, 0.0, 0.0, 0.0))
    mean, std = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=6, seed=77), 6)
    expect_sklearn(mean, std, model, X, y, r2, 6, 77, True)
    expect(mean[0] == 0 and mean[3] == 0 and std[0] == 0 and std[3] == 0,
           f"columns 0 and 3 do not enter the model, yet their importances are {mean[0]:.3g} and {mean[3]:.3g}")


@check(PI, "badly scaled columns, X unchanged", points=1.0, hidden=True)
def _(call):
    w = (2e-4, -3e3, 0.5)
    X = random_table(35, 80, 3) * [1e4, 1e-3, 1.0]
    y = RecordingModel(w)(X) + 0.2 * np.random.default_rng(35).standard_normal(80)
    original = X.copy()
    mean, std = unpack_pi(call(predict=RecordingModel(w), X=X, y=y, metric=squared_error, n_repeats=3, seed=9,
                               greater_is_better=False), 3)
    call.expect_unchanged("X", original)
    expect_sklearn(mean, std, RecordingModel(w), original, y, squared_error, 3, 9, False,
                   " on columns of scales 1e4, 1e-3 and 1")


@check(PI, "returns NumPy arrays", points=0.375, hidden=True)
def _(call):
    model, X, y = pi_case(36, n=40)
    out, kind, items = call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=1, _then=Typed())
    mean, std = unpack_pi(out, 4)
    expect_sklearn(mean, std, pi_case(36, n=40)[0], X, y, r2, 2, 1, True)
    expect(kind.startswith("tuple"), f"permutation_importance returned a {kind}, expected a tuple (mean, std)")
    expect(all(t.startswith("ndarray[float") for t in items),
           f"(mean, std) should be two NumPy float arrays, got {' and '.join(items)}",
           hint="return np.asarray(...) arrays, not lists")


# ---------------------------------------------------------------------------
# fit_surrogate
# ---------------------------------------------------------------------------
def grader_surrogate(kind, X, black_box, seed, X_fit=None):
    """The surrogate the text asks for, fitted here on the same rows: (fitted estimator, fidelity)."""
    from sklearn.linear_model import LinearRegression, SGDRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    fit, held = held_out(X, seed)
    fit = fit if X_fit is None else X_fit
    model = {"tree": lambda: DecisionTreeRegressor(random_state=seed), "linear": LinearRegression,
             "sgd": lambda: make_pipeline(StandardScaler(), SGDRegressor(random_state=seed))}[kind]()
    model.fit(fit, black_box(fit))
    return model, r2(black_box(held), model.predict(held))


def unpack_report(out):
    predictions, fidelity, cls, seen = unpack_fs(out[:4])
    return predictions, fidelity, cls, seen, out[4], out[5]


def expect_surrogate(call, kind, X, black_box, seed, cls, probes, atol=1e-9, **kwargs):
    """The student's surrogate of ``kind`` is the real scikit-learn estimator, predicts like the same
    estimator fitted here on (X_fit, black box outputs), and its fidelity is the R² on X_held."""
    out = call(predict=black_box(), X=X, kind=kind, seed=seed, _then=SurrogateReport(probes), **kwargs)
    predictions, fidelity, name, _, genuine, fidelity_type = unpack_report(out)
    expect(name == cls, f"kind={kind!r} should give a {cls}, got a {name}")
    expect(genuine == "yes", f"the surrogate is a class named {name} but not scikit-learn's {cls}",
           hint=f"use sklearn's {cls} itself")
    model, fid = grader_surrogate(kind, X, black_box(), seed)
    # Same rows, same estimator, same seed: only rounding differs (measured 0 for tree and linear, 1e-15 sgd).
    expect_close(predictions, model.predict(probes), f"the {kind} surrogate does not predict like {cls} fitted on "
                 "(X_fit, black box outputs) of train_test_split(X, test_size=0.25, random_state=seed)",
                 hint="fit on the black box's outputs for X_fit, nothing else", rtol=1e-7, atol=atol)
    expect(fidelity_type in ("float", "float64"), f"the fidelity should be a float, got a {fidelity_type}")
    if abs(fidelity - 1.0) < 1e-12 and fid < 1 - 1e-6:
        raise CheckFailed("the fidelity is exactly 1: it was measured on the rows the surrogate was fitted on",
                          hint="hold out rows with train_test_split(X, test_size=0.25, random_state=seed)")
    expect_close(fidelity, fid, "the fidelity is not R²(black box outputs, surrogate predictions) on the held-out "
                 "rows", hint="score the surrogate against predict(X_held), not against labels", rtol=1e-7, atol=1e-9)


def _black_box_40():
    return RecordingModel([0.8, -0.5, 0.3, 0.0], square=[0.0, 0.2, 0.0, 0.1], sigmoid=True)


@check(FS, "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows",
       points=2.0, hidden=True)
def _(call):
    X = random_table(40, 100, 4)
    X_fit, _ = held_out(X, 11)
    probes = np.vstack([X_fit[:10], random_table(140, 15, 4)])
    expect_surrogate(call, "tree", X, _black_box_40, 11, "DecisionTreeRegressor", probes)


@check(FS, "kind='sgd': a standardized SGDRegressor, faithful to a linear black box", hidden=True)
def _(call):
    X = random_table(41, 300, 3)
    expect_surrogate(call, "sgd", X, lambda: RecordingModel([1.0, -2.0, 0.5], bias=0.3), 0, "SGDRegressor",
                     random_table(141, 10, 3), atol=1e-7)


@check(FS, "kind='linear' on a curved black box: LinearRegression's fit, fidelity on held-out rows", points=1.25,
       hidden=True)
def _(call):
    X = random_table(44, 90, 3)
    expect_surrogate(call, "linear", X, lambda: RecordingModel([1.0, -0.4, 0.2], square=[0.3, 0.0, -0.2]), 5,
                     "LinearRegression", random_table(144, 10, 3))


def augmented_rows(call, X, seed, kind="tree", **kwargs):
    """Run fit_surrogate with augment=True; return (distinct rows the black box saw that are not rows of X,
    the surrogate's predictions on them, the surrogate's predictions on probe rows)."""
    p = X.shape[1]
    black_box = RecordingModel(np.linspace(-1, 1, p), square=np.linspace(0.2, -0.2, p))
    out = call(predict=black_box, X=X, kind=kind, augment=True, seed=seed,
               _then=SurrogateReport(X, seen=True), **kwargs)
    _, _, _, seen, _, _ = unpack_report(out)
    seen = expect_shape(seen, (seen.shape[0], p), "the rows the black box saw")
    new = np.unique(np.array([row for row in seen if not any(np.array_equal(row, x) for x in X)]).reshape(-1, p),
                    axis=0)
    return new, black_box


def expect_augmented(call, X, seed, what, **kwargs):
    X_fit, _ = held_out(X, seed)
    n_fit, p = X_fit.shape
    k = max(min(p // n_fit - 1, kwargs.get("max_augmentations", 10)), 0)
    new, black_box = augmented_rows(call, X, seed, **kwargs)
    if len(new) != k * n_fit:
        raise CheckFailed(f"{what}: the black box labelled {len(new)} distinct new rows; expected k = "
                          f"min({p} // {n_fit} - 1, max_augmentations) = {k} shuffled copies of the {n_fit} fitting "
                          f"rows, {k * n_fit} rows, every copy different",
                          hint="k copies, each with every column shuffled by its own permutation: "
                               "np.column_stack([rng.permutation(X_fit[:, j]) for j in range(p)])")
    for j in range(p):
        if not np.array_equal(np.sort(new[:, j]), np.sort(np.tile(X_fit[:, j], k))):
            raise CheckFailed(f"{what}: column {j} of the new rows is not {k} shuffles of column {j} of X_fit",
                              hint="shuffle each column of X_fit (the rows left after holding out) within itself; "
                                   "do not permute the columns, sample new values or use the held-out rows")
    return new


@check(FS, "augment=True: exactly k shuffled copies of X_fit, each column shuffled within itself", points=1.5,
       hidden=True)
def _(call):
    X = random_table(42, 12, 30)
    expect_augmented(call, X, 0, "augment=True on 12 rows x 30 columns")
    X = random_table(45, 16, 40)
    expect_augmented(call, X, 3, "augment=True with max_augmentations=1", max_augmentations=1)


@check(FS, "augment=True on badly scaled columns; two calls with one seed give one augmentation",
       points=1.25, hidden=True)
def _(call):
    X = random_table(46, 8, 24) * np.logspace(-4, 4, 24)
    first = expect_augmented(call, X, 2, "augment=True on columns of scales 1e-4 to 1e4")
    again = expect_augmented(call, X, 2, "a second call with the same seed")
    expect(np.array_equal(first, again), "two calls with the same seed labelled different augmented rows",
           hint="draw the shuffles from np.random.default_rng(seed), never from an unseeded generator")


@check(FS, "without augmentation (or max_augmentations=0) the black box sees only rows of X; X unchanged",
       points=0.5, hidden=True)
def _(call):
    X = random_table(43, 12, 30)
    original = X.copy()
    for kwargs in ({"augment": False}, {"augment": True, "max_augmentations": 0}):
        probes = held_out(X, 0)[0][:6]  # fitting rows: with 9 rows and 30 columns only they pin the fit down
        out = call(predict=RecordingModel(np.linspace(-1, 1, 30)), X=X, kind="linear",
                   _then=SurrogateReport(probes, seen=True), **kwargs)
        predictions, _, name, seen, genuine, _ = unpack_report(out)
        call.expect_unchanged("X", original)
        expect(genuine == "yes", f"the surrogate is a {name}, not scikit-learn's LinearRegression")
        expect_close(predictions, grader_surrogate("linear", original, RecordingModel(np.linspace(-1, 1, 30)),
                                                   0)[0].predict(probes),
                     f"with {kwargs} the surrogate is not LinearRegression fitted on the black box's outputs for X_fit",
                     rtol=1e-6, atol=1e-6)
        new = [row for row in seen if not any(np.array_equal(row, x) for x in X)]
        expect(not new, f"with {kwargs} the black box was asked about {len(new)} rows that are not in X")


# ---------------------------------------------------------------------------
# raw_importance
# ---------------------------------------------------------------------------
def owners(column_transformer, frame):
    """For each output column, the index (in ``frame.columns``) of the raw column it comes from, found by
    changing one raw column at a time (missing numbers filled, numbers shifted, categories rotated)."""
    base = np.nan_to_num(np.asarray(column_transformer.transform(frame), dtype=float), nan=1e9)
    owner = np.full(base.shape[1], -1)
    for c, name in enumerate(frame.columns):
        changed = frame.copy()
        col = changed[name]
        if col.dtype.kind in "fi":
            changed[name] = col.fillna(col.max() + 1.0) + 7.0
        else:
            levels = sorted(col.dropna().unique())
            changed[name] = col.map(lambda v: levels[(levels.index(v) + 1) % len(levels)] if v in levels else levels[0])
        after = np.nan_to_num(np.asarray(column_transformer.transform(changed), dtype=float), nan=1e9)
        moved = np.any(np.abs(after - base) > 1e-12, axis=0)
        owner[moved] = c
    return owner


def raw_expected(variant, seed, n_rows):
    ct, frame = fitted_transformer(variant, seed)
    owner = owners(ct, frame)
    values = np.random.default_rng(seed + 60).normal(size=(n_rows, len(owner)))
    expected = np.zeros((n_rows, len(frame.columns)))
    for j, c in enumerate(owner):
        if c >= 0:
            expected[:, c] += values[:, j]
    return ct, frame, values, expected


def expect_raw(call, variant, seed, n_rows, message, hint=""):
    ct, frame, values, expected = raw_expected(variant, seed, n_rows)
    before = values.copy()
    got = unpack_raw(call(values=values, column_transformer=ct), expected.shape, list(frame.columns))
    expect_close(got, expected, message, hint, rtol=1e-9, atol=1e-12)
    call.expect_unchanged("values", before)
    return got, values


@check(RI, "categories first, a Pipeline one-hot over two columns, remainder passed through", hidden=True)
def _(call):
    expect_raw(call, "reordered", 4, 5, "wrong raw attributions when the transformers are not in column order",
               hint="map each transformer's output slice to its own input columns, and put every raw column at its "
                    "place in feature_names_in_")


@check(RI, "a one-hot encoder that drops a category, and a dropped column (0)", points=0.75, hidden=True)
def _(call):
    got, values = expect_raw(call, "drop_first", 5, 4, "wrong raw attributions for an encoder with drop='first' "
                             "and a dropped column", hint="an encoder with drop_idx_ makes len(categories_[k]) - 1 "
                             "columns for input k; a dropped column gets 0")


@check(RI, "the promised types: values_raw a NumPy array, raw_names a list of str", points=0.75, hidden=True)
def _(call):
    ct, frame, values, expected = raw_expected("basic", 9, 3)
    out, kind, items = call(values=values, column_transformer=ct, _then=Typed())
    got = unpack_raw(out, expected.shape, list(frame.columns))
    expect_close(got, expected, "values_raw is not the sum of each raw column's engineered columns", rtol=1e-9,
                 atol=1e-12)
    expect(items[:1] == ("ndarray[float64]",), f"values_raw should be a NumPy float array, got {items[:1]}")
    expect(items[1:] == ("list[str]",), f"raw_names should be a list of str, got {items[1]}",
           hint="[str(name) for name in column_transformer.feature_names_in_]: feature_names_in_ itself is a NumPy "
                "array of objects")


@check(RI, "drop=None, column names that contain '_' and prefix each other, categories with '_'", hidden=True)
def _(call):
    expect_raw(call, "underscores", 6, 4, "wrong raw attributions when column and category names contain '_' "
               "(e.g. 'city' and 'city_of_birth')", hint="use the transformers' own input columns "
               "(transformers_, output_indices_), not a split of get_feature_names_out() on '_'")


@check(RI, "an encoder that groups infrequent categories into one column", hidden=True)
def _(call):
    expect_raw(call, "infrequent", 7, 4, "wrong raw attributions for OneHotEncoder(min_frequency=...): its "
               "infrequent categories share one output column", hint="input k makes len(categories_[k]) - "
               "len(infrequent_categories_[k]) + 1 columns when some of its categories are infrequent")


@check(RI, "an imputer with add_indicator=True: each indicator column belongs to its raw column", hidden=True)
def _(call):
    got, values = expect_raw(call, "indicator", 8, 4, "wrong raw attributions for SimpleImputer(add_indicator=True): "
                             "its missing-value indicator columns come after the imputed ones",
                             hint="the indicator columns belong to the raw columns imputer.indicator_.features_")
    expect_close(got.sum(axis=1), values.sum(axis=1), "the rows' sums changed")


CONTRACT = {
    "Explanation": {
        "ranked_global_names: sorted by the absolute global value, largest first": [
            "ranked_global_names: most important first, by absolute value",
            "signed values on other names: ranked by |value|, values with their signs"],
        "ties keep the original feature order (a stable sort), also above 16 features, whatever the names": [
            "ties keep the original feature order (a stable ranking)",
            "60 features with many ties: stable ranking, globally and per row"],
        "ranked_global_values: the values in that order, signs kept": [
            "ranked_global_values: the values in ranked order, signs kept",
            "signed values on other names: ranked by |value|, values with their signs"],
        "ranked_local_names / ranked_local_values: per row, by absolute value, signs kept": [
            "ranked_local_names and ranked_local_values rank every row by absolute value",
            "signed values on other names: ranked by |value|, values with their signs",
            "60 features with many ties: stable ranking, globally and per row"],
        "types: names as a list of str (lists of lists per row), values as NumPy arrays, a dict of Python floats": [
            "the promised types: lists of str, NumPy arrays, a dict of Python floats"],
        "a global-only explanation raises ValueError for the local rankings": [
            "a global-only explanation raises ValueError for the local rankings"],
        "feature_importance_dict(top_k): a dict of the top_k features in ranked order (all with None)": [
            "feature_importance_dict: the top_k features in ranked order",
            "feature_importance_dict() without top_k: all features, ranked; global values from local ones",
            "feature_importance_dict(top_k): top_k = p gives all, top_k outside 1..p raises ValueError"],
        "top_k outside 1..p raises ValueError": [
            "feature_importance_dict(top_k): top_k = p gives all, top_k outside 1..p raises ValueError"],
        "never changes the stored values": ["the ranking methods leave the stored values unchanged"],
    },
    "choose_explainer": {
        "tree models (decision tree, forests, extra trees, gradient and histogram boosting) -> "
        "(shap.TreeExplainer(model, background), 'tree')": [
            "a random forest gets shap's TreeExplainer ('tree')",
            "classifiers: a forest -> tree, a logistic regression -> linear, an SVC -> kernel on probabilities",
            "a gradient boosting model and a single tree -> tree; Ridge -> linear",
            "extra trees, histogram boosting, a boosting classifier -> tree; Lasso, Huber -> linear; "
            "a LinearSVR (not sklearn.linear_model) -> kernel"],
        "any estimator of sklearn.linear_model -> (shap.LinearExplainer(model, background), 'linear')": [
            "a linear regression gets LinearExplainer ('linear'): coef * (x - mean of background)",
            "a forest, a linear regression and an SVR on other data: exact values",
            "extra trees, histogram boosting, a boosting classifier -> tree; Lasso, Huber -> linear; "
            "a LinearSVR (not sklearn.linear_model) -> kernel"],
        "anything else (a LinearSVR too) -> (shap.KernelExplainer(f, background), 'kernel')": [
            "any other model (an SVR) gets the model-agnostic KernelExplainer ('kernel')",
            "a forest, a linear regression and an SVR on other data: exact values",
            "extra trees, histogram boosting, a boosting classifier -> tree; Lasso, Huber -> linear; "
            "a LinearSVR (not sklearn.linear_model) -> kernel"],
        "f is model.predict_proba when the model has it, model.predict otherwise": [
            "classifiers: a forest -> tree, a logistic regression -> linear, an SVC -> kernel on probabilities"],
        "the explainer is shap's own and computes the Shapley values (judged by its values, not its name)": [
            "a forest, a linear regression and an SVR on other data: exact values",
            "classifiers: a forest -> tree, a logistic regression -> linear, an SVC -> kernel on probabilities"],
        "always pass background: base value = mean output on the background": [
            "a random forest gets shap's TreeExplainer ('tree')",
            "any other model (an SVR) gets the model-agnostic KernelExplainer ('kernel')",
            "a forest, a linear regression and an SVR on other data: exact values"],
        "decide by the kind of model, not by shared attributes (estimators_)": [
            "a bagging ensemble of nearest neighbours is not made of trees -> kernel"],
    },
    "permutation_importance": {
        "returns (mean, std), NumPy arrays of shape (p,)": ["returns (mean, std), two arrays of shape (p,)",
                                                             "returns NumPy arrays"],
        "shuffles exactly as scikit-learn (same numbers with random_state=seed)": [
            "matches sklearn.inspection.permutation_importance with the same seed (a score)",
            "matches scikit-learn for an error metric, another seed and 2 repeats (std with ddof=0)",
            "a score on other data: scikit-learn's numbers, ignored features exactly 0"],
        "std with ddof=0": ["matches scikit-learn for an error metric, another seed and 2 repeats (std with ddof=0)"],
        "greater_is_better=False: the rise of the error": [
            "an error metric (greater_is_better=False): important features score positive",
            "linear model, independent features, squared error: mean ≈ 2 w² Var(x)"],
        "shuffle a column of X, never the labels (an ignored feature scores 0)": [
            "a feature the model ignores scores exactly 0",
            "a score on other data: scikit-learn's numbers, ignored features exactly 0"],
        "leaves X unchanged": ["leaves the caller's X unchanged", "badly scaled columns, X unchanged"],
        "at most p x n_repeats + 1 predict calls": [
            "at most one predict call per shuffled copy, plus one for the baseline"],
        "seeded by seed": ["the same seed gives the same result, another seed another one"],
    },
    "fit_surrogate": {
        "kinds tree / linear / sgd with the stated scikit-learn estimators (judged by their predictions)": [
            "fidelity is the R² against the black box on the held-out rows",
            "returns (surrogate, fidelity); a linear surrogate of a linear black box is exact",
            "kind='sgd': a standardized SGDRegressor, faithful to a linear black box",
            "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows",
            "kind='linear' on a curved black box: LinearRegression's fit, fidelity on held-out rows"],
        "any other kind raises ValueError": ["an unknown kind raises ValueError"],
        "hold out rows with train_test_split(X, test_size=0.25, random_state=seed)": [
            "fidelity is the R² against the black box on the held-out rows",
            "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows"],
        "fitted on the black box's outputs": [
            "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows",
            "x0² black box: a linear surrogate is unfaithful, a tree is faithful"],
        "fidelity: a float, R² against the black box on held-out rows, never labels nor fitting rows": [
            "fidelity is the R² against the black box on the held-out rows",
            "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows"],
        "augment: k = min(p // n_fit - 1, max_augmentations) copies of X_fit, every column shuffled independently": [
            "augment=True: exactly k shuffled copies of X_fit, each column shuffled within itself",
            "augment=True on badly scaled columns; two calls with one seed give one augmentation",
            "without augmentation (or max_augmentations=0) the black box sees only rows of X; X unchanged"],
        "augmentation seeded by np.random.default_rng(seed)": [
            "augment=True on badly scaled columns; two calls with one seed give one augmentation"],
        "the black box sees only rows of X (and augmented rows); X unchanged": [
            "without augmentation (or max_augmentations=0) the black box sees only rows of X; X unchanged"],
    },
    "raw_importance": {
        "returns (values_raw, raw_names) in the order of feature_names_in_": [
            "returns (values_raw, raw_names) with the raw columns in the order the transformer saw",
            "categories first, a Pipeline one-hot over two columns, remainder passed through"],
        "types: values_raw a NumPy array, raw_names a list of str": [
            "the promised types: values_raw a NumPy array, raw_names a list of str"],
        "a raw column gets the sum of its engineered columns (one-hot groups summed)": [
            "a one-hot group is summed, a scaled number maps one to one",
            "drop=None, column names that contain '_' and prefix each other, categories with '_'"],
        "dropped category (drop_idx_) and dropped column (0)": [
            "a one-hot encoder that drops a category, and a dropped column (0)"],
        "infrequent categories grouped into one column belong to their raw column": [
            "an encoder that groups infrequent categories into one column"],
        "an imputer's missing-value indicators belong to their raw column": [
            "an imputer with add_indicator=True: each indicator column belongs to its raw column"],
        "every row keeps its sum": ["every row keeps its sum",
                                    "an imputer with add_indicator=True: each indicator column belongs to its raw column"],
        "leaves values unchanged": ["leaves the caller's values unchanged",
                                    "an encoder that groups infrequent categories into one column"],
    },
}
