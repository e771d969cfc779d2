"""Hidden checks for chapter 5: the instructor's copy only, never shipped to students.

More cases of the public checks' properties on other data, plus the rules the exercise texts state
that the public checks leave out (errors for global-only explanations, model calls, augmentation).
"""
import numpy as np

from autograder.answers.ch05_practice import sklearn_permutation
from autograder.checks import CheckFailed, StudentError, check, expect, expect_close, expect_shape
from autograder.public.ch05_practice import (CE, EXP, FS, PI, RI, expect_additive, expect_choice, expect_names,
                                             explain, explanation, held_out, pi_case, ranked, raw_case,
                                             unpack_fs, unpack_pi, unpack_raw)
from autograder.testmodels.ch05_practice import (RecordingModel, StoredAfter, SurrogateProbe, WithCalls, r2,
                                                 random_table, squared_error)

# ---------------------------------------------------------------------------
# Explanation
# ---------------------------------------------------------------------------
LONG = [f"f{j:02d}" for j in range(60)]
NAMES_ = ["radius", "texture", "area", "smoothness", "symmetry"]


@check(EXP, "60 features with many ties: stable ranking, globally and per row", hidden=True)
def _(call):
    rng = np.random.default_rng(5)
    values = rng.choice([-0.4, -0.1, 0.0, 0.1, 0.2, 0.4], size=60)
    got = explanation(call, "ranked_global_names", feature_names=LONG, global_values=values)
    expect_names(got, ranked(values, LONG)[0], "ranked_global_names() of 60 features with ties",
                 hint="np.argsort(-np.abs(values), kind='stable'): the default quicksort is not stable")
    local = rng.choice([-0.3, -0.1, 0.1, 0.3], size=(4, 60))
    names = explanation(call, "ranked_local_names", feature_names=LONG, local_values=local)
    expected = tuple(tuple(ranked(row, LONG)[0]) for row in local)
    expect(names == expected, "ranked_local_names() does not keep the feature order for ties",
           hint="np.argsort(-np.abs(local_values), axis=1, kind='stable')")


@check(EXP, "a global-only explanation raises ValueError for the local rankings", hidden=True)
def _(call):
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


@check(EXP, "the ranking methods leave the stored values unchanged", hidden=True)
def _(call):
    local = np.array([[0.5, -0.1, 0.0, 0.2, -0.2], [-0.3, 0.1, 0.6, -0.2, 0.2]])
    for method in ("ranked_local_values", "ranked_global_values"):
        got = call(feature_names=NAMES_, local_values=local, _then=StoredAfter(method))
        expect_close(got[0], local, f"{method}() changed local_values",
                     hint="sort a copy (np.take_along_axis returns one); never sort self.local_values in place")
        expect_close(got[1], np.abs(local).mean(axis=0), f"{method}() changed global_values")


# ---------------------------------------------------------------------------
# choose_explainer
# ---------------------------------------------------------------------------
@check(CE, "classifiers: a forest -> tree, a logistic regression -> linear, an SVC -> kernel", hidden=True)
def _(call):
    for kind, choice, classes in (("forest_classifier", "tree", ("TreeExplainer",)),
                                  ("logistic", "linear", ("LinearExplainer",)),
                                  ("svc", "kernel", ("KernelExplainer",))):
        out, *_ = explain(call, kind, seed=1, values=False)
        expect_choice(out, choice, classes)


@check(CE, "a gradient boosting model and a single tree -> tree; Ridge -> linear", hidden=True)
def _(call):
    for kind, choice, classes in (("boosting", "tree", ("TreeExplainer",)),
                                  ("decision_tree", "tree", ("TreeExplainer",)),
                                  ("ridge", "linear", ("LinearExplainer",))):
        out, model, background, rows = explain(call, kind, seed=2)
        expect_choice(out, choice, classes)
        expect_additive(out, model, background, rows)


@check(CE, "a bagging ensemble of nearest neighbours is not made of trees -> kernel", hidden=True)
def _(call):
    out, model, background, rows = explain(call, "bagged_knn", seed=3)
    expect_choice(out, "kernel", ("KernelExplainer",),
                  hint="decide by the model's type (tree models, sklearn.linear_model), not by `estimators_`")
    expect_additive(out, model, background, rows)


# ---------------------------------------------------------------------------
# permutation_importance
# ---------------------------------------------------------------------------
@check(PI, "linear model, independent features, squared error: mean ≈ 2 w² Var(x)", hidden=True)
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
       hidden=True)
def _(call):
    model, X, y = pi_case(31, n=90, linear=(0.5, 1.0, -1.0), square=(0.0, 0.2, 0.0))
    mean, std = unpack_pi(call(predict=model, X=X, y=y, metric=squared_error, n_repeats=2, seed=123,
                               greater_is_better=False), 3)
    exp_mean, exp_std = sklearn_permutation(model, X, y, squared_error, 2, 123, False)
    if np.allclose(std, exp_std * np.sqrt(2)) and not np.allclose(std, exp_std):
        raise CheckFailed("std uses ddof=1; scikit-learn reports NumPy's default ddof=0", hint="np.std(drops, axis=1)")
    expect_close(mean, exp_mean, "the mean importances differ from scikit-learn's", rtol=1e-7, atol=1e-9)
    expect_close(std, exp_std, "the standard deviations differ from scikit-learn's", rtol=1e-7, atol=1e-9)


@check(PI, "at most one predict call per repeat, plus one for the baseline", hidden=True)
def _(call):
    model, X, y = pi_case(32, n=60)
    out, calls, rows = call(predict=model, X=X, y=y, metric=r2, n_repeats=3, seed=0, _then=WithCalls())
    unpack_pi(out, 4)
    expect(calls <= 4 * 3 + 1, f"predict was called {int(calls)} times for 4 columns x 3 repeats",
           hint="shuffle a whole column at once and predict all rows together (one call per repeat, or fewer)")


@check(PI, "the same seed gives the same result, another seed another one", hidden=True)
def _(call):
    model, X, y = pi_case(33, n=50)
    a, _ = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=5), 4)
    b, _ = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=5), 4)
    c, _ = unpack_pi(call(predict=model, X=X, y=y, metric=r2, n_repeats=2, seed=6), 4)
    expect(np.array_equal(a, b), "two calls with the same seed gave different importances",
           hint="draw every shuffle from np.random.RandomState built from `seed`, never from the global generator")
    expect(not np.array_equal(a, c), "seeds 5 and 6 gave identical importances: the seed is not used")


# ---------------------------------------------------------------------------
# fit_surrogate
# ---------------------------------------------------------------------------
@check(FS, "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows",
       hidden=True)
def _(call):
    X = random_table(40, 100, 4)
    black_box = RecordingModel([0.8, -0.5, 0.3, 0.0], square=[0.0, 0.2, 0.0, 0.1], sigmoid=True)
    X_fit, X_held = held_out(X, 11)
    predictions, fidelity, _, _ = unpack_fs(call(predict=black_box, X=X, kind="tree", seed=11,
                                                 _then=SurrogateProbe(X_fit)))
    expect_close(predictions, black_box(X_fit), "a fully grown tree should reproduce the black box's outputs "
                 "on the rows it was fitted on",
                 hint="fit on predict(X_fit), the black box's numbers, not on labels or rounded outputs",
                 rtol=1e-9, atol=1e-9)
    expect(fidelity < 1 - 1e-9, "the fidelity is 1: it was measured on the fitting rows, not on held-out rows")


@check(FS, "kind='sgd': a standardized SGDRegressor, faithful to a linear black box", hidden=True)
def _(call):
    X = random_table(41, 300, 3)
    black_box = RecordingModel([1.0, -2.0, 0.5], bias=0.3)
    predictions, fidelity, cls, _ = unpack_fs(call(predict=black_box, X=X, kind="sgd",
                                                   _then=SurrogateProbe(X[:20])))
    expect(cls == "SGDRegressor", f"kind='sgd' should give an SGDRegressor (in a pipeline), got a {cls}")
    # Measured with the reference, seeds 0-9 of this case: fidelity 0.99998-0.999996; required > 0.99.
    expect(fidelity > 0.99, f"an SGD surrogate of a linear black box should be faithful, fidelity {fidelity:.3f}",
           hint="standardize first: make_pipeline(StandardScaler(), SGDRegressor(random_state=seed))")


@check(FS, "augment=True: new rows keep each column's own values (columns shuffled independently)",
       hidden=True)
def _(call):
    X = random_table(42, 12, 30)
    black_box = RecordingModel(np.linspace(-1, 1, 30))
    _, _, _, seen = unpack_fs(call(predict=black_box, X=X, kind="linear", augment=True, seed=0,
                                   _then=SurrogateProbe(X[:2], seen=True)))
    seen = expect_shape(seen, (seen.shape[0], 30), "the rows the black box saw")
    new = [row for row in seen if not any(np.array_equal(row, x) for x in X)]
    # 9 fitting rows, 30 columns: min(30 // 9 - 1, 10) = 2 copies of 9 rows.
    expect(len(new) >= 18, f"with augment=True the black box labelled {len(new)} new rows; expected 2 shuffled "
           f"copies of the 9 fitting rows", hint="k = min(p // n_fit - 1, max_augmentations) copies")
    for j in range(30):
        foreign = ~np.isin(np.array([r[j] for r in new]), X[:, j])
        if foreign.any():
            raise CheckFailed(f"column {j} of the augmented rows holds values from other columns",
                              hint="shuffle each column within itself (rng.permutation(X_fit[:, j])); "
                                   "do not permute the columns")


@check(FS, "without augmentation (or max_augmentations=0) the black box sees only rows of X; X unchanged",
       hidden=True)
def _(call):
    X = random_table(43, 12, 30)
    original = X.copy()
    for kwargs in ({"augment": False}, {"augment": True, "max_augmentations": 0}):
        _, _, _, seen = unpack_fs(call(predict=RecordingModel(np.linspace(-1, 1, 30)), X=X, kind="linear",
                                       _then=SurrogateProbe(X[:2], seen=True), **kwargs))
        call.expect_unchanged("X", original)
        new = [row for row in seen if not any(np.array_equal(row, x) for x in X)]
        expect(not new, f"with {kwargs} the black box was asked about {len(new)} rows that are not in X")


# ---------------------------------------------------------------------------
# raw_importance
# ---------------------------------------------------------------------------
@check(RI, "categories first, a Pipeline one-hot over two columns, remainder passed through", hidden=True)
def _(call):
    ct, frame, values, expected = raw_case("reordered", seed=4, n_rows=5)
    got = unpack_raw(call(values=values, column_transformer=ct), (5, 5), list(frame.columns))
    expect_close(got, expected, "wrong raw attributions when the transformers are not in column order",
                 hint="map each transformer's output slice to its own input columns, and put every raw column "
                      "at its place in feature_names_in_")


@check(RI, "a one-hot encoder that drops a category, and a dropped column (0)", hidden=True)
def _(call):
    ct, frame, values, expected = raw_case("drop_first", seed=5, n_rows=4)
    got = unpack_raw(call(values=values, column_transformer=ct), (4, 4), list(frame.columns))
    expect_close(got[:, 2], np.zeros(4), "the dropped column 'code' should get attribution 0")
    expect_close(got, expected, "wrong raw attributions for an encoder with drop='first'",
                 hint="an encoder with drop_idx_ makes len(categories_[k]) - 1 columns for input k")
    expect_close(got.sum(axis=1), values.sum(axis=1), "the rows' sums changed")


CONTRACT = {
    "Explanation": {
        "ranked_global_names: sorted by the absolute global value, largest first": [
            "ranked_global_names: most important first, by absolute value"],
        "ties keep the original feature order (a stable sort)": [
            "ties keep the original feature order (a stable ranking)",
            "60 features with many ties: stable ranking, globally and per row"],
        "ranked_global_values: a NumPy array in that order, signs kept": [
            "ranked_global_values: the values in ranked order, signs kept"],
        "ranked_local_names / ranked_local_values: per row, by absolute value, signs kept": [
            "ranked_local_names and ranked_local_values rank every row by absolute value"],
        "a global-only explanation raises ValueError for the local rankings": [
            "a global-only explanation raises ValueError for the local rankings"],
        "feature_importance_dict(top_k): a dict of the top_k features in ranked order (all with None)": [
            "feature_importance_dict: the top_k features in ranked order",
            "feature_importance_dict() without top_k: all features, ranked; global values from local ones"],
        "never changes the stored values": ["the ranking methods leave the stored values unchanged"],
    },
    "choose_explainer": {
        "tree models -> (shap.TreeExplainer(model, background), 'tree')": [
            "a random forest gets shap's TreeExplainer ('tree')",
            "classifiers: a forest -> tree, a logistic regression -> linear, an SVC -> kernel",
            "a gradient boosting model and a single tree -> tree; Ridge -> linear"],
        "linear models -> (shap.LinearExplainer(model, background), 'linear')": [
            "a linear regression gets LinearExplainer ('linear'): coef * (x - mean of background)"],
        "anything else -> (shap.KernelExplainer(f, background), 'kernel')": [
            "any other model (an SVR) gets the model-agnostic KernelExplainer ('kernel')"],
        "always pass background: base value = mean output on the background": [
            "a random forest gets shap's TreeExplainer ('tree')",
            "any other model (an SVR) gets the model-agnostic KernelExplainer ('kernel')"],
        "decide by the kind of model, not by shared attributes (estimators_)": [
            "a bagging ensemble of nearest neighbours is not made of trees -> kernel"],
    },
    "permutation_importance": {
        "returns (mean, std), arrays of shape (p,)": ["returns (mean, std), two arrays of shape (p,)"],
        "shuffles exactly as scikit-learn (same numbers with random_state=seed)": [
            "matches sklearn.inspection.permutation_importance with the same seed (a score)",
            "matches scikit-learn for an error metric, another seed and 2 repeats (std with ddof=0)"],
        "std with ddof=0": ["matches scikit-learn for an error metric, another seed and 2 repeats (std with ddof=0)"],
        "greater_is_better=False: the rise of the error": [
            "an error metric (greater_is_better=False): important features score positive",
            "linear model, independent features, squared error: mean ≈ 2 w² Var(x)"],
        "shuffle a column of X, never the labels (an ignored feature scores 0)": [
            "a feature the model ignores scores exactly 0"],
        "leaves X unchanged": ["leaves the caller's X unchanged"],
        "at most one predict call per repeat plus one for the baseline": [
            "at most one predict call per repeat, plus one for the baseline"],
        "seeded by seed": ["the same seed gives the same result, another seed another one"],
    },
    "fit_surrogate": {
        "kinds tree / linear / sgd with the stated estimators": [
            "fidelity is the R² against the black box on the held-out rows",
            "returns (surrogate, fidelity); a linear surrogate of a linear black box is exact",
            "kind='sgd': a standardized SGDRegressor, faithful to a linear black box"],
        "any other kind raises ValueError": ["an unknown kind raises ValueError"],
        "hold out rows with train_test_split(X, test_size=0.25, random_state=seed)": [
            "fidelity is the R² against the black box on the held-out rows"],
        "fitted on the black box's outputs": [
            "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows",
            "x0² black box: a linear surrogate is unfaithful, a tree is faithful"],
        "fidelity: R² against the black box on held-out rows, never labels nor fitting rows": [
            "fidelity is the R² against the black box on the held-out rows",
            "a fully grown tree is fitted on the black box's outputs (not on labels) and scored on held-out rows"],
        "augment: k = min(p // n_fit - 1, max_augmentations) copies with columns shuffled independently": [
            "augment=True: new rows keep each column's own values (columns shuffled independently)",
            "without augmentation (or max_augmentations=0) the black box sees only rows of X; X unchanged"],
        "the black box sees only rows of X (and augmented rows); X unchanged": [
            "without augmentation (or max_augmentations=0) the black box sees only rows of X; X unchanged"],
    },
    "raw_importance": {
        "returns (values_raw, raw_names) in the order of feature_names_in_": [
            "returns (values_raw, raw_names) with the raw columns in the order the transformer saw",
            "categories first, a Pipeline one-hot over two columns, remainder passed through"],
        "a raw column gets the sum of its engineered columns (one-hot groups summed)": [
            "a one-hot group is summed, a scaled number maps one to one"],
        "dropped category (drop_idx_) and dropped column (0)": [
            "a one-hot encoder that drops a category, and a dropped column (0)"],
        "every row keeps its sum": ["every row keeps its sum"],
        "leaves values unchanged": ["leaves the caller's values unchanged"],
    },
}
