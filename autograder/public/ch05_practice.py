"""Public checks for chapter 5 (explaining models in practice). Students see these.

Several exercises return objects (an ``Explanation``, a shap explainer, a fitted surrogate). A check
never receives them: it passes a reader from :mod:`autograder.testmodels.ch05_practice` as
``THEN``, which calls the promised method or ``predict`` next to the student's code and returns
plain values (the framework's ``_then`` argument, :data:`autograder.checks.THEN`).
"""
import numpy as np

from autograder.reference import reference
from autograder.checks import CheckFailed, StudentError, check, expect, expect_close, expect_shape
from autograder.testmodels.ch05_practice import (CallMethod, ExplainRows, RecordingModel, SurrogateProbe,
                                                 fitted_estimator, fitted_transformer, r2, random_table,
                                                 squared_error)

linear_shap, raw_sums, sklearn_permutation, transformer_owner = reference(
    "ch05_practice", "linear_shap", "raw_sums", "sklearn_permutation", "transformer_owner")


# ---------------------------------------------------------------------------
# Explanation
# ---------------------------------------------------------------------------
EXP = "Explanation"
NAMES = ["radius", "texture", "area", "smoothness", "symmetry"]


def explanation(call, method, feature_names=NAMES, **kwargs):
    """Build the student's Explanation and read it through one of its methods."""
    return call(feature_names=list(feature_names), _then=CallMethod(method, **kwargs.pop("method_kwargs", {})),
                **kwargs)


def expect_names(got, expected, what, hint=""):
    expected = tuple(expected)
    if got == expected:
        return
    if not isinstance(got, tuple) or not all(isinstance(v, str) for v in got):
        raise CheckFailed(f"{what} should be a list of {len(expected)} names, got {type(got).__name__}", hint)
    raise CheckFailed(f"{what}: got {list(got)}, expected {list(expected)}", hint)


def ranked(values, names):
    order = np.argsort(-np.abs(np.asarray(values, dtype=float)), kind="stable")
    return [names[j] for j in order], np.asarray(values, dtype=float)[order]


@check(EXP, "ranked_global_names: most important first, by absolute value")
def _(call):
    values = [0.2, -0.9, 0.5, 0.05, -0.3]
    got = explanation(call, "ranked_global_names", global_values=values)
    signed = [NAMES[j] for j in np.argsort(-np.asarray(values), kind="stable")]
    if got == tuple(signed):
        raise CheckFailed("the names are ranked by the signed value: 'texture' (-0.9) pushes hardest and "
                          "should come first", hint="sort by np.abs(global_values), largest first")
    expect_names(got, ranked(values, NAMES)[0], "ranked_global_names()",
                 hint="order = np.argsort(-np.abs(values), kind='stable'); names in that order")


@check(EXP, "ranked_global_values: the values in ranked order, signs kept")
def _(call):
    values = [0.2, -0.9, 0.5, 0.05, -0.3]
    got = expect_shape(explanation(call, "ranked_global_values", global_values=values), (5,),
                       "ranked_global_values()")
    expected = ranked(values, NAMES)[1]
    if np.allclose(got, np.abs(expected)) and not np.allclose(got, expected):
        raise CheckFailed("the values lost their signs", hint="sort by |value| but return the values themselves")
    expect_close(got, expected, "ranked_global_values() is not the values in the order of ranked_global_names()")


@check(EXP, "ties keep the original feature order (a stable ranking)")
def _(call):
    values = [0.3, 0.5, -0.3, 0.5, 0.3]
    got = explanation(call, "ranked_global_names", global_values=values)
    expect_names(got, ranked(values, NAMES)[0], "ranked_global_names() with ties",
                 hint="use a stable sort on -|value| (np.argsort(..., kind='stable')); reversing an ascending "
                      "sort ([::-1]) reverses the order of ties")


@check(EXP, "ranked_local_names and ranked_local_values rank every row by absolute value")
def _(call):
    local = np.array([[0.1, -0.7, 0.3, 0.0, 0.2], [-0.2, 0.1, 0.05, 0.4, -0.6], [0.3, 0.3, -0.3, 0.1, 0.0]])
    names = explanation(call, "ranked_local_names", local_values=local)
    expected = tuple(tuple(ranked(row, NAMES)[0]) for row in local)
    if names != expected:
        raise CheckFailed(f"ranked_local_names(): got {names if isinstance(names, tuple) else type(names).__name__}, "
                          f"expected {[list(r) for r in expected]}",
                          hint="rank each row separately: np.argsort(-np.abs(local_values), axis=1, kind='stable')")
    values = expect_shape(explanation(call, "ranked_local_values", local_values=local), (3, 5),
                          "ranked_local_values()")
    expect_close(values, np.array([ranked(row, NAMES)[1] for row in local]),
                 "ranked_local_values() is not each row's values in that row's ranked order (signs kept)",
                 hint="np.take_along_axis(local_values, order, axis=1)")


@check(EXP, "feature_importance_dict: the top_k features in ranked order")
def _(call):
    values = [0.2, -0.9, 0.5, 0.05, -0.3]
    got = explanation(call, "feature_importance_dict", global_values=values, method_kwargs={"top_k": 3})
    if not isinstance(got, dict):
        raise CheckFailed(f"feature_importance_dict() should return a dict, got {type(got).__name__}")
    names, vals = ranked(values, NAMES)
    expect_names(tuple(got), names[:3], "the keys of feature_importance_dict(top_k=3)",
                 hint="keep the ranked order and stop after top_k features")
    expect_close([got[k] for k in names[:3]], vals[:3], "the dictionary's values are not the global values")


# ---------------------------------------------------------------------------
# choose_explainer
# ---------------------------------------------------------------------------
CE = "choose_explainer"


def explain(call, kind, seed=0, n_background=8, n_rows=3, values=True):
    model, X = fitted_estimator(kind, seed)
    background, rows = X[:n_background], X[-n_rows:]
    out = call(model=model, background=background, _then=ExplainRows(rows, values=values))
    return out, model, background, rows


def expect_choice(out, kind, classes, hint=""):
    chosen, cls = out[0], out[1]
    expect(chosen == kind, f"the choice should be {kind!r}, got {chosen!r}", hint)
    expect(cls in classes, f"a {kind!r} model should get {' or '.join(classes)}, got a {cls}", hint)


def expect_additive(out, model, background, rows):
    values = expect_shape(out[2], rows.shape, "the explainer's SHAP values on 3 rows")
    base = out[3]
    expect_close(base, np.full(len(rows), model.predict(background).mean()),
                 "the base value is not the model's mean prediction on the background rows",
                 hint="pass `background` to the explainer", rtol=1e-4, atol=1e-4)
    expect_close(base + values.sum(axis=1), model.predict(rows),
                 "base value + SHAP values do not add up to the model's predictions", rtol=1e-4, atol=1e-4)


@check(CE, "a random forest gets shap's TreeExplainer ('tree')")
def _(call):
    out, model, background, rows = explain(call, "forest")
    expect_choice(out, "tree", ("TreeExplainer",), hint="tree ensembles -> shap.TreeExplainer(model, background)")
    expect_additive(out, model, background, rows)


@check(CE, "a linear regression gets LinearExplainer ('linear'): coef * (x - mean of background)")
def _(call):
    out, model, background, rows = explain(call, "linear")
    expect_choice(out, "linear", ("LinearExplainer",), hint="sklearn.linear_model -> shap.LinearExplainer(model, background)")
    # LinearExplainer is exact: tolerance is rounding only.
    expect_close(out[2], linear_shap(model.coef_, background, rows),
                 "the linear explainer's values are not coef * (x - background mean)",
                 hint="pass `background` (not the training data) to shap.LinearExplainer", rtol=1e-6, atol=1e-8)


@check(CE, "any other model (an SVR) gets the model-agnostic KernelExplainer ('kernel')")
def _(call):
    out, model, background, rows = explain(call, "svr")
    expect_choice(out, "kernel", ("KernelExplainer",),
                  hint="neither a tree nor a linear model -> shap.KernelExplainer(model.predict, background)")
    expect_additive(out, model, background, rows)


# ---------------------------------------------------------------------------
# permutation_importance
# ---------------------------------------------------------------------------
PI = "permutation_importance"


def pi_case(seed=0, n=120, linear=(1.5, -2.0, 0.0, 0.7), square=(0.3, 0.0, 0.0, 0.0), noise=0.5):
    X = random_table(seed, n, len(linear))
    model = RecordingModel(linear, square)
    y = model(X) + noise * np.random.default_rng(seed + 100).standard_normal(n)
    return RecordingModel(linear, square), X, y


def unpack_pi(out, p):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed("return a tuple of two arrays: (mean, std)", hint="end with `return mean, std`")
    return (expect_shape(out[0], (p,), "mean", hint="one value per column of X"),
            expect_shape(out[1], (p,), "std", hint="one value per column of X"))


@check(PI, "returns (mean, std), two arrays of shape (p,)")
def _(call):
    model, X, y = pi_case(1)
    unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=3, seed=0), 4)


@check(PI, "matches sklearn.inspection.permutation_importance with the same seed (a score)")
def _(call):
    model, X, y = pi_case(2)
    mean, std = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=4, seed=7), 4)
    exp_mean, exp_std = sklearn_permutation(model, X, y, r2, 4, 7, True)
    # Same shuffles, same arithmetic: only rounding differs (measured 0.0 for the reference).
    expect_close(mean, exp_mean, "the mean importances differ from scikit-learn's with the same seed",
                 hint="draw column_seed = np.random.RandomState(seed).randint(2**31) once, a fresh "
                      "RandomState(column_seed) per column, shuffle an index array in place every repeat",
                 rtol=1e-7, atol=1e-9)
    expect_close(std, exp_std, "the standard deviations differ from scikit-learn's",
                 hint="np.std over the repeats with its default ddof=0", rtol=1e-7, atol=1e-9)


@check(PI, "a feature the model ignores scores exactly 0")
def _(call):
    model, X, y = pi_case(3)
    mean, std = unpack_pi(call(predict=model, X=X, y=y, metric=squared_error, n_repeats=5, seed=1,
                               greater_is_better=False), 4)
    if mean[2] != 0 or std[2] != 0:
        raise CheckFailed(f"column 2 does not enter the model, yet its importance is {mean[2]:.4g} "
                          f"(std {std[2]:.4g})",
                          hint="shuffle the column X[:, j] (not the labels y) and compare with the unshuffled score")


@check(PI, "an error metric (greater_is_better=False): important features score positive")
def _(call):
    model, X, y = pi_case(4)
    mean, _ = unpack_pi(call(predict=model, X=X, y=y, metric=squared_error, n_repeats=5, seed=2,
                             greater_is_better=False), 4)
    if (mean[[0, 1, 3]] < 0).all():
        raise CheckFailed("the important features got negative importances with an error metric",
                          hint="for an error, the importance is the rise: metric(shuffled) - metric(original)")
    exp_mean, _ = sklearn_permutation(model, X, y, squared_error, 5, 2, False)
    expect_close(mean, exp_mean, "the importances for an error metric differ from scikit-learn's",
                 rtol=1e-7, atol=1e-9)


@check(PI, "leaves the caller's X unchanged")
def _(call):
    model, X, y = pi_case(5)
    original = X.copy()
    call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=0)
    call.expect_unchanged("X", original)


# ---------------------------------------------------------------------------
# fit_surrogate
# ---------------------------------------------------------------------------
FS = "fit_surrogate"


def held_out(X, seed):
    from sklearn.model_selection import train_test_split
    return train_test_split(X, test_size=0.25, random_state=seed)


def unpack_fs(out):
    predictions, fidelity, cls, seen = out
    if np.ndim(fidelity) != 0:
        raise CheckFailed(f"fidelity should be one number, got {np.shape(fidelity)}")
    return predictions, float(fidelity), cls, seen


@check(FS, "returns (surrogate, fidelity); a linear surrogate of a linear black box is exact")
def _(call):
    X = random_table(20, 80, 3)
    black_box = RecordingModel([2.0, -1.0, 0.5], bias=1.0)
    predictions, fidelity, cls, _ = unpack_fs(call(predict=black_box, X=X, kind="linear",
                                                   _then=SurrogateProbe(X[:10])))
    expect_close(predictions, black_box(X[:10]), "the surrogate does not reproduce a linear black box",
                 hint="fit LinearRegression on (X_fit, predict(X_fit)): the black box's outputs", rtol=1e-6, atol=1e-6)
    expect_close(fidelity, 1.0, "the fidelity of an exact surrogate should be R² = 1", atol=1e-9)


@check(FS, "fidelity is the R² against the black box on the held-out rows")
def _(call):
    X = random_table(21, 120, 3)
    black_box = RecordingModel([1.0, 0.5, 0.0], square=[0.4, -0.3, 0.2], sigmoid=True)
    _, X_held = held_out(X, 3)
    predictions, fidelity, cls, _ = unpack_fs(call(predict=black_box, X=X, kind="tree", seed=3,
                                                   _then=SurrogateProbe(X_held)))
    expect(cls == "DecisionTreeRegressor", f"kind='tree' should give a DecisionTreeRegressor, got a {cls}")
    expected = r2(black_box(X_held), predictions)
    if abs(fidelity - 1.0) < 1e-12:
        raise CheckFailed("the fidelity is exactly 1: it was measured on the rows the tree was fitted on",
                          hint="hold out rows with train_test_split(X, test_size=0.25, random_state=seed)")
    expect_close(fidelity, expected, "the fidelity is not R²(black box outputs, surrogate predictions) on the "
                 "held-out rows of train_test_split(X, test_size=0.25, random_state=seed)",
                 hint="score the surrogate against predict(X_held), not against labels", rtol=1e-9, atol=1e-9)


@check(FS, "x0² black box: a linear surrogate is unfaithful, a tree is faithful")
def _(call):
    X = np.random.default_rng(22).uniform(-3, 3, size=(400, 2))
    black_box = RecordingModel([0.0, 0.0], square=[1.0, 0.0])
    _, linear_fid, _, _ = unpack_fs(call(predict=black_box, X=X, kind="linear", _then=SurrogateProbe(X[:2])))
    _, tree_fid, _, _ = unpack_fs(call(predict=RecordingModel([0.0, 0.0], square=[1.0, 0.0]), X=X, kind="tree",
                                       _then=SurrogateProbe(X[:2])))
    # Measured with the reference, seeds 0-9 of this case: linear -0.02 to 0.04, tree 0.9988-0.9996;
    # thresholds 0.2 and 0.9 leave a wide margin for other correct tree and linear fits.
    expect(linear_fid < 0.2, f"a straight line cannot mimic x0², yet its fidelity is {linear_fid:.3f}")
    expect(tree_fid > 0.9, f"a tree mimics x0² well, yet its fidelity is {tree_fid:.3f}",
           hint="DecisionTreeRegressor(random_state=seed) fitted on the black box's outputs")


@check(FS, "an unknown kind raises ValueError")
def _(call):
    X = random_table(23, 40, 2)
    try:
        call(predict=RecordingModel([1.0, 1.0]), X=X, kind="forest", _then=SurrogateProbe(X[:2]))
    except StudentError as exc:
        expect(exc.summary.startswith("ValueError"), f"expected a ValueError, got {exc.summary}")
        return
    raise CheckFailed("kind='forest' should raise ValueError", hint="raise ValueError for a kind you do not know")


# ---------------------------------------------------------------------------
# raw_importance
# ---------------------------------------------------------------------------
RI = "raw_importance"


def raw_case(variant, seed=0, n_rows=6):
    ct, frame = fitted_transformer(variant, seed)
    m = ct.transform(frame.iloc[:1]).shape[1]
    values = np.random.default_rng(seed + 50).normal(size=(n_rows, m))
    expected = raw_sums(values, transformer_owner(variant, seed), len(frame.columns))
    return ct, frame, values, expected


def unpack_raw(out, shape, names):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed("return a tuple (values_raw, raw_names)")
    values = expect_shape(out[0], shape, "values_raw", hint="one column per raw column: (n_rows, len(raw_names))")
    expect_names(out[1], names, "raw_names", hint="use column_transformer.feature_names_in_")
    return values


@check(RI, "returns (values_raw, raw_names) with the raw columns in the order the transformer saw")
def _(call):
    ct, frame, values, _ = raw_case("basic")
    unpack_raw(call(values=values, column_transformer=ct), (6, 3), list(frame.columns))


@check(RI, "every row keeps its sum")
def _(call):
    ct, frame, values, _ = raw_case("basic", seed=1)
    got = unpack_raw(call(values=values, column_transformer=ct), (6, 3), list(frame.columns))
    expect_close(got.sum(axis=1), values.sum(axis=1), "the rows' sums changed",
                 hint="sum each one-hot group (do not average it) and keep every other column")


@check(RI, "a one-hot group is summed, a scaled number maps one to one")
def _(call):
    ct, frame, values, expected = raw_case("basic", seed=2)
    got = unpack_raw(call(values=values, column_transformer=ct), (6, 3), list(frame.columns))
    expect_close(got, expected, "values_raw is not the sum of each raw column's engineered columns",
                 hint="output_indices_[name] gives each transformer's output slice; a one-hot encoder makes "
                      "len(categories_[k]) columns for its k-th input column")


@check(RI, "leaves the caller's values unchanged")
def _(call):
    ct, frame, values, _ = raw_case("basic", seed=3)
    values_before = values.copy()
    call(values=values, column_transformer=ct)
    call.expect_unchanged("values", values_before)
