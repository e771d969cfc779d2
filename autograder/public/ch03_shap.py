"""Public checks for chapter 3 (SHAP). Students see these.

Every check explains a small :class:`~autograder.testmodels.ch03_shap.TermModel` (linear terms,
``tanh``, thresholds, products) whose exact Shapley values are computed in the grader's process by
:mod:`autograder.answers.ch03_shap`, never from the student's objects. The non-linear terms are there
because on a linear model several wrong methods (contributions against the empty coalition only, the
background's mean row, an unweighted average of marginal contributions) give the right answer.
"""
import numpy as np

from autograder.checks import CheckFailed, check, expect, expect_close, expect_shape
from autograder.reference import reference
from autograder.testmodels.ch03_shap import TermModel, random_background, random_row

(empty_coalition_only, evaluate, exact_shapley, linear_shapley, mean_prediction, mean_row_values,
 prediction) = reference("ch03_shap", "empty_coalition_only", "evaluate", "exact_shapley", "linear_shapley",
                         "mean_prediction", "mean_row_values", "prediction")

SV, KS, GI = "shapley_values", "kernel_shap", "global_importance"

# The inputs of these checks ship with the student bundle, so their answers can be computed offline and
# looked up: each public check is worth little, and the hidden checks, on models and inputs that are not
# in the bundle, carry nearly all of each exercise's points (issue 18; proven in tests/test_ch03_grading.py).
PUBLIC_POINTS = 0.125


def linear_model(p, seed, **kw):
    w = np.round(np.random.default_rng(seed).uniform(-2, 2, p), 2)
    return TermModel(p, [("linear", (j,), w[j]) for j in range(p)], bias=0.5, **kw), w


def interaction_model(p=5, **kw):
    """Products, tanh and a threshold: every wrong method named in the checks gives other values."""
    assert p >= 5
    return TermModel(p, [("linear", (0,), 1.0), ("product", (0, 1), 1.5), ("tanh", (2,), (2.0, 1.5)),
                         ("step", (3,), (1.2, 0.0)), ("product", (1, 2, 4), -0.8),
                         ("tanh_product", (3, 4), (1.0, 1.2))], bias=-0.4, **kw)


def case(seed, p, m):
    return random_row(seed, p), random_background(seed + 1000, m, p)


def explain_wrong(model, x, B, out):
    """Name the mistake when the result equals what a known wrong method returns."""
    if np.allclose(out, empty_coalition_only(model, x, B), atol=1e-6):
        raise CheckFailed("your values are f(x on {j}) - f(nobody present): contributions against the "
                          "empty coalition only, which ignore every interaction",
                          hint="average the marginal contribution of j over *all* coalitions S without j, "
                               "weighted by |S|! (p - |S| - 1)! / p!")
    if np.allclose(out, mean_row_values(model, x, B), atol=1e-6):
        raise CheckFailed("your values use the background's mean row as the only reference row",
                          hint="v(S) is the mean over the background rows of f(x on S, b elsewhere), "
                               "not f(x on S, mean of the background elsewhere)")


def unpack_kernel(out, p):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed("return a tuple (base_value, phi)", hint="end with `return base_value, phi`")
    base, phi = out
    base = np.asarray(base, dtype=float)
    if base.size != 1:
        raise CheckFailed(f"base_value should be one number, got {base.size} numbers",
                          hint="base_value = mean of f over the background rows: a single float")
    return float(base.reshape(-1)[0]), expect_shape(phi, (p,), "phi")


NUMBER_TYPES = ("float", "int", "float64", "float32", "int64", "int32")


def expect_kernel_types(call):
    """``(base_value, phi)`` as the text promises it: a number and a NumPy float array (before coercion)."""
    described = call.returned_type
    if isinstance(described, tuple) and len(described) == 2 and described[0] not in NUMBER_TYPES:
        raise CheckFailed(f"base_value should be a number (a float), got a {described[0]}",
                          hint="e.g. base_value = float(np.mean(f(background)))")
    call.expect_array("phi (the second item)", item=1, kind="float",
                      hint="return phi as a NumPy float array of shape (p,)")


# ---------------------------------------------------------------------------
# shapley_values
# ---------------------------------------------------------------------------
@check(SV, "returns one value per feature: shape (p,)", points=PUBLIC_POINTS)
def _(call):
    model, _ = linear_model(4, 1)
    x, B = case(1, 4, 10)
    out = call(f=model, x=x, background=B)
    call.expect_array("phi", kind="float", hint="return a NumPy float array, e.g. np.asarray(phi, dtype=float)")
    expect_shape(out, (4,), "phi", hint="one Shapley value per column of x")


@check(SV, "linear model: phi_j = w_j (x_j - mean of background column j)", points=PUBLIC_POINTS)
def _(call):
    model, w = linear_model(5, 2)
    x, B = case(2, 5, 12)
    out = expect_shape(call(f=model, x=x, background=B), (5,), "phi")
    expect_close(out, linear_shapley(w, x, B), "wrong values for a linear model",
                 hint="v(S) = mean over background rows b of f(x on S, b elsewhere)")


@check(SV, "efficiency: the values add up to f(x) - mean f(background)", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model()
    x, B = case(3, 5, 15)
    out = expect_shape(call(f=model, x=x, background=B), (5,), "phi")
    gap = prediction(model, x) - mean_prediction(model, B)
    expect_close(out.sum(), gap, "sum(phi) should equal f(x) - mean f(background)",
                 hint="the Shapley weights |S|!(p-|S|-1)!/p! over all S without j make the values add up")


@check(SV, "exact values for a model with products, tanh and a threshold", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model()
    x, B = case(4, 5, 20)
    out = expect_shape(call(f=model, x=x, background=B), (5,), "phi")
    explain_wrong(model, x, B, out)
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values for a non-linear model",
                 hint="phi_j = sum over S without j of |S|!(p-|S|-1)!/p! * (v(S + j) - v(S))")


@check(SV, "calls f once, for all coalitions and background rows together", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model(p=6, max_calls=1)
    x, B = case(5, 6, 8)
    out = expect_shape(call(f=model, x=x, background=B), (6,), "phi")
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "works with a model that returns shape (n, 1), like a Keras model", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model(column_output=True)
    x, B = case(6, 5, 10)
    out = expect_shape(call(f=model, x=x, background=B), (5,), "phi",
                       hint="flatten f's output (np.ravel) before averaging")
    expect_close(out, exact_shapley(model, x, B), "wrong values for a model with (n, 1) output")


# ---------------------------------------------------------------------------
# kernel_shap
# ---------------------------------------------------------------------------
@check(KS, "returns (base_value, phi): a number and an array of shape (p,)", points=PUBLIC_POINTS)
def _(call):
    model, _ = linear_model(4, 10)
    x, B = case(10, 4, 10)
    unpack_kernel(call(f=model, x=x, background=B, nsamples=20, seed=0), 4)
    expect_kernel_types(call)


@check(KS, "base_value is the mean prediction over the background", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model()
    x, B = case(11, 5, 15)
    base, _ = unpack_kernel(call(f=model, x=x, background=B, nsamples=100, seed=0), 5)
    mean_row = float(evaluate(model, B.mean(axis=0, keepdims=True))[0])
    if np.isclose(base, mean_row) and not np.isclose(base, mean_prediction(model, B)):
        raise CheckFailed("base_value is f(mean of the background), the prediction at the background's mean row",
                          hint="base_value = mean of f(background): the mean prediction, not the prediction of the mean")
    expect_close(base, mean_prediction(model, B), "base_value is not the mean prediction over the background",
                 hint="base_value = np.mean(f(background))")


@check(KS, "efficiency is exact even with few samples: base_value + phi.sum() == f(x)", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model(p=8)
    x, B = case(12, 8, 10)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=40, seed=3), 8)
    expect_close(base + phi.sum(), prediction(model, x), "base_value + sum(phi) is not f(x)",
                 hint="enforce sum(phi) = f(x) - base_value in the fit: eliminate one coefficient "
                      "(phi_last = total - sum of the others) before the least-squares solve", atol=1e-6)


@check(KS, "with every coalition enumerated (nsamples >= 2^p - 2) it equals the exact Shapley values", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model()
    x, B = case(13, 5, 15)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=2 ** 5 - 2, seed=0), 5)
    expect_close(phi, exact_shapley(model, x, B), "with all 30 coalitions the values should be the exact "
                 "Shapley values", hint="weight coalition S by the Shapley kernel (p-1) / (C(p,|S|) |S| (p-|S|)) "
                                       "and enforce efficiency exactly", atol=1e-6)


@check(KS, "the same seed gives the same answer", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model(p=7)
    x, B = case(14, 7, 10)
    a = unpack_kernel(call(f=model, x=x, background=B, nsamples=30, seed=11), 7)
    b = unpack_kernel(call(f=model, x=x, background=B, nsamples=30, seed=11), 7)
    expect(np.array_equal(a[1], b[1]) and a[0] == b[0], "two calls with seed=11 gave different values",
           hint="draw every random number from np.random.default_rng(seed)")


@check(KS, "calls f once per explained row", points=PUBLIC_POINTS)
def _(call):
    model = interaction_model(p=6, max_calls=1)
    x, B = case(15, 6, 8)
    unpack_kernel(call(f=model, x=x, background=B, nsamples=25, seed=0), 6)


# ---------------------------------------------------------------------------
# global_importance
# ---------------------------------------------------------------------------
def unpack_ranking(out, n):
    if not isinstance(out, tuple) or len(out) != n:
        got = f"{len(out)} items" if isinstance(out, tuple) else f"a {type(out).__name__}"
        raise CheckFailed(f"return a list of {n} (name, importance) pairs, got {got}",
                          hint="one (feature name, mean |value|) pair per feature")
    pairs = []
    for item in out:
        if not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str):
            raise CheckFailed("each item should be a pair (feature name, mean |value|)",
                              hint="e.g. [('age', 0.12), ('sex', 0.05)]")
        value = np.asarray(item[1], dtype=float)
        if value.size != 1:
            raise CheckFailed(f"the importance of {item[0]!r} should be one number")
        pairs.append((item[0], float(value.reshape(-1)[0])))
    return pairs


@check(GI, "returns one (name, mean |value|) pair per feature", points=PUBLIC_POINTS)
def _(call):
    values = np.array([[0.5, -1.0, 0.1], [0.3, 2.0, -0.1]])
    pairs = unpack_ranking(call(values=values, feature_names=["a", "b", "c"]), 3)
    expect(sorted(n for n, _ in pairs) == ["a", "b", "c"], f"the names should be a, b, c, got {[n for n, _ in pairs]}")


@check(GI, "importance is the mean absolute value over rows, largest first", points=PUBLIC_POINTS)
def _(call):
    values = np.array([[0.5, -3.0, 0.2, 1.0], [-0.7, 1.0, -0.2, -1.2], [0.6, 0.4, 0.3, 0.9]])
    names = ["age", "sex", "hours", "education"]
    pairs = unpack_ranking(call(values=values, feature_names=names), 4)
    expected = np.abs(values).mean(axis=0)
    got = dict(pairs)
    if np.allclose([got.get(n, np.nan) for n in names], values.mean(axis=0)):
        raise CheckFailed("the importances are mean values, so positive and negative values cancel",
                          hint="take the absolute value first: np.abs(values).mean(axis=0)")
    expect_close([got.get(n, np.nan) for n in names], expected, "the importances are not mean |value| per feature",
                 hint="np.abs(values).mean(axis=0): one number per column")
    order = [n for n, _ in pairs]
    expect(order == ["sex", "education", "age", "hours"], f"wrong order {order}",
           hint="sort from the largest to the smallest mean |value|")
