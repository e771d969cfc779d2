"""Hidden checks for chapter 3: the instructor's copy only, never shipped to students.

The Shapley axioms (additivity, dummy, symmetry) on other models, other sizes (p from 1 to 10, a
single background row), Kernel SHAP's sampling accuracy, and the ranking's tie rule.
"""
import numpy as np

from autograder.checks import CheckFailed, check, expect, expect_close, expect_shape
from autograder.answers.ch03_shap import exact_shapley, mean_prediction, prediction
from autograder.public.ch03_shap import (GI, KS, SV, case, explain_wrong, interaction_model, unpack_kernel,
                                         unpack_ranking)
from autograder.testmodels.ch03_shap import TermModel, random_background, random_row

# Every rule the exercise texts state, and the checks (public or hidden) that cover it.
CONTRACT = {
    SV: {
        "returns a NumPy array of shape (p,)": ["returns one value per feature: shape (p,)"],
        "v(S) is the mean over the background rows of f(x on S, background elsewhere)": [
            "linear model: phi_j = w_j (x_j - mean of background column j)",
            "exact values for a model with products, tanh and a threshold",
            "mean over the background rows, not the prediction at the mean row"],
        "exact Shapley values, every coalition weighted |S|!(p-|S|-1)!/p!": [
            "exact values for a model with products, tanh and a threshold",
            "an 8-feature model (256 coalitions) against a single background row"],
        "efficiency: sum(phi) = f(x) - mean f(background)": [
            "efficiency: the values add up to f(x) - mean f(background)"],
        "additivity, dummy and symmetry hold": [
            "additivity: the values of g + h are those of g plus those of h",
            "an unused feature gets exactly 0",
            "two features that play the same role get equal values"],
        "works for any p up to 12 (the checks use p = 1 to 8)": [
                    "an 8-feature model (256 coalitions) against a single background row",
                    "a single feature gets the whole difference"],
        "one batched call of f": ["calls f once, for all coalitions and background rows together"],
        "f may return shape (n,) or (n, 1)": ["works with a model that returns shape (n, 1), like a Keras model"],
        "x and background are left unchanged": ["leaves x and background unchanged"],
    },
    KS: {
        "returns (base_value, phi), phi of shape (p,)": [
            "returns (base_value, phi): a number and an array of shape (p,)"],
        "base_value is the mean prediction over the background": [
            "base_value is the mean prediction over the background"],
        "efficiency enforced exactly: base_value + phi.sum() == f(x)": [
            "efficiency is exact even with few samples: base_value + phi.sum() == f(x)",
            "efficiency is exact on a 10-feature model with a (n, 1) output"],
        "all coalitions enumerated when nsamples >= 2^p - 2, with the Shapley kernel weights": [
            "with every coalition enumerated (nsamples >= 2^p - 2) it equals the exact Shapley values",
            "enumerates every coalition of a 3-feature model with a (n, 1) output"],
        "fewer samples: coalitions drawn from the Shapley kernel's size distribution": [
            "with fewer samples the values are within sampling noise of the exact values"],
        "seed: the same seed gives the same answer": ["the same seed gives the same answer",
                                                      "another seed draws other coalitions"],
        "one batched call of f per explained row": ["calls f once per explained row"],
        "x and background are left unchanged": ["leaves x and background unchanged"],
    },
    GI: {
        "returns a list of (name, mean |value|) pairs, one per feature": [
            "returns one (name, mean |value|) pair per feature"],
        "mean |value| over the rows, from the most to the least important": [
            "importance is the mean absolute value over rows, largest first",
            "uses the given feature names, on another table"],
        "ties keep the feature order": ["ties keep the order of the features"],
        "values are left unchanged": ["leaves values unchanged"],
    },
}


# ---------------------------------------------------------------------------
# shapley_values
# ---------------------------------------------------------------------------
@check(SV, "additivity: the values of g + h are those of g plus those of h", hidden=True)
def _(call):
    g = TermModel(5, [("product", (0, 2), 1.3), ("tanh", (1,), (1.5, 2.0))], bias=0.2)
    h = TermModel(5, [("step", (2,), (2.0, 0.3)), ("product", (1, 3, 4), 0.6), ("linear", (4,), -1.0)])
    x, B = case(100, 5, 12)
    a = expect_shape(call(f=g, x=x, background=B), (5,), "phi(g)")
    b = expect_shape(call(f=h, x=x, background=B), (5,), "phi(h)")
    c = expect_shape(call(f=g.plus(h), x=x, background=B), (5,), "phi(g + h)")
    expect_close(c, a + b, "phi(g + h) differs from phi(g) + phi(h)")
    expect_close(c, exact_shapley(g.plus(h), x, B), "wrong Shapley values for g + h")


@check(SV, "an unused feature gets exactly 0", hidden=True)
def _(call):
    model = TermModel(6, [("product", (0, 1), 2.0), ("tanh", (2,), (1.0, 3.0)), ("product", (3, 5), -1.0),
                          ("step", (5,), (0.5, -0.2))])  # feature 4 is never read
    x, B = case(101, 6, 14)
    out = expect_shape(call(f=model, x=x, background=B), (6,), "phi")
    expect_close(out[4], 0.0, "feature 4 is not used by the model, yet its value is not 0",
                 hint="v(S + j) = v(S) for a feature the model ignores, so every marginal contribution is 0",
                 atol=1e-9)
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "two features that play the same role get equal values", hidden=True)
def _(call):
    model = TermModel(4, [("product", (0, 1), 1.5), ("tanh", (0,), (1.0, 1.0)), ("tanh", (1,), (1.0, 1.0)),
                          ("step", (2,), (1.0, 0.0)), ("product", (2, 3), 0.5)])
    B = random_background(102, 8, 4)
    B = np.vstack([B, B[:, [1, 0, 2, 3]]])  # symmetric in features 0 and 1
    x = np.array([0.8, 0.8, -1.1, 1.7])
    out = expect_shape(call(f=model, x=x, background=B), (4,), "phi")
    expect_close(out[0], out[1], "features 0 and 1 are interchangeable here but got different values")
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "mean over the background rows, not the prediction at the mean row", hidden=True)
def _(call):
    model = TermModel(5, [("tanh_product", (0, 1), (2.0, 1.0)), ("tanh", (2,), (1.0, 2.5)),
                          ("product", (3, 4), 1.0), ("step", (4,), (1.0, 0.5))], bias=1.0)
    x, B = case(103, 5, 25)
    out = expect_shape(call(f=model, x=x, background=B), (5,), "phi")
    explain_wrong(model, x, B, out)
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "an 8-feature model (256 coalitions) against a single background row", hidden=True)
def _(call):
    # p = 8 at most in the checks: a correct answer that averages over all p! orderings must finish too
    model = TermModel(8, [("product", (0, 7), 1.0), ("tanh", (3,), (2.0, 1.0)), ("step", (5,), (1.0, 0.0)),
                          ("product", (2, 6, 4), 0.5), ("linear", (1,), 0.8), ("tanh_product", (1, 6), (1.0, 1.0))])
    x, B = random_row(104, 8), random_background(1104, 1, 8)
    out = expect_shape(call(f=model, x=x, background=B), (8,), "phi")
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values for p = 8")


@check(SV, "a single feature gets the whole difference", hidden=True)
def _(call):
    model = TermModel(1, [("tanh", (0,), (2.0, 1.0))], bias=0.5, column_output=True)
    x, B = case(105, 1, 9)
    out = expect_shape(call(f=model, x=x, background=B), (1,), "phi")
    expect_close(out, [prediction(model, x) - mean_prediction(model, B)], "with p = 1, phi = f(x) - mean f(background)")


@check(SV, "leaves x and background unchanged", hidden=True)
def _(call):
    model = interaction_model()
    x, B = case(106, 5, 10)
    x0, B0 = x.copy(), B.copy()
    call(f=model, x=x, background=B)
    call.expect_unchanged("x", x0)
    call.expect_unchanged("background", B0)


# ---------------------------------------------------------------------------
# kernel_shap
# ---------------------------------------------------------------------------
# Sampling noise, measured on `sampled_case` (p = 10, exact |phi| up to 4.8) with nsamples = 300: the largest
# |mean of 3 seeds - exact| over the features, for 50 seed triples (0..149). Reference (kernel size
# distribution, argsort sampling, unit weights, eliminated last coefficient): median 0.085, 99th percentile
# 0.164, max 0.168. A loop variant (sizes from the kernel, rng.choice without replacement, KKT system solved
# with scipy.linalg.lstsq): median 0.09, 99th percentile 0.172. Tolerance 0.35, twice the worst seen. This
# check catches gross sampling errors; the kernel weights themselves are checked exactly by enumeration.
SAMPLING_ATOL = 0.35
NSAMPLES = 300


def sampled_case():
    model = TermModel(10, [("product", (0, 1), 1.5), ("tanh", (2,), (2.0, 1.5)), ("step", (3,), (1.2, 0.0)),
                           ("product", (4, 5), -1.0), ("linear", (6,), 1.0), ("tanh_product", (6, 7), (1.5, 1.0)),
                           ("product", (1, 2, 5), 0.7), ("step", (8,), (-1.0, 0.5)), ("product", (8, 9), 0.8)],
                      bias=0.3)
    x = np.array([1.8, -1.5, 1.2, 0.6, -1.7, 1.4, 1.1, -1.6, 1.3, 1.5])
    return model, x, random_background(107, 20, 10)


@check(KS, "with fewer samples the values are within sampling noise of the exact values", hidden=True)
def _(call):
    model, x, B = sampled_case()
    exact = exact_shapley(model, x, B)
    runs = [unpack_kernel(call(f=model, x=x, background=B, nsamples=NSAMPLES, seed=s), 10)[1] for s in (1, 2, 3)]
    err = np.abs(np.mean(runs, axis=0) - exact)
    expect(err.max() <= SAMPLING_ATOL,
           f"with {NSAMPLES} of the 1022 coalitions sampled, the values are too far from the exact ones: "
           f"largest error {err.max():.3f} (feature {int(err.argmax())}), expected at most {SAMPLING_ATOL}",
           hint="draw the coalition size s with probability proportional to (p-1) / (s (p-s)), then s "
                "features uniformly; fit by weighted least squares")


@check(KS, "another seed draws other coalitions", hidden=True)
def _(call):
    model = interaction_model(p=9)
    x, B = case(108, 9, 6)
    a = unpack_kernel(call(f=model, x=x, background=B, nsamples=30, seed=1), 9)[1]
    b = unpack_kernel(call(f=model, x=x, background=B, nsamples=30, seed=2), 9)[1]
    expect(not np.allclose(a, b), "seed=1 and seed=2 gave the same values with 30 of 510 coalitions",
           hint="use the seed argument: rng = np.random.default_rng(seed)")


@check(KS, "enumerates every coalition of a 3-feature model with a (n, 1) output", hidden=True)
def _(call):
    model = TermModel(3, [("product", (0, 1), 2.0), ("tanh", (2,), (1.5, 2.0)), ("product", (0, 1, 2), -0.7)],
                      bias=0.1, column_output=True)
    x, B = case(109, 3, 11)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=1000, seed=0), 3)
    expect_close(base, mean_prediction(model, B), "wrong base_value")
    expect_close(phi, exact_shapley(model, x, B), "with nsamples >= 2^p - 2 the values must be exact", atol=1e-6)


@check(KS, "efficiency is exact on a 10-feature model with a (n, 1) output", hidden=True)
def _(call):
    model = TermModel(10, [("product", (0, 9), 1.0), ("tanh", (4,), (2.0, 1.0)), ("step", (7,), (1.0, 0.3)),
                           ("product", (1, 2, 3), 0.4)], column_output=True)
    x, B = case(110, 10, 7)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=50, seed=5), 10)
    expect_close(base + phi.sum(), prediction(model, x), "base_value + sum(phi) is not f(x)", atol=1e-6)


@check(KS, "leaves x and background unchanged", hidden=True)
def _(call):
    model = interaction_model()
    x, B = case(111, 5, 10)
    x0, B0 = x.copy(), B.copy()
    call(f=model, x=x, background=B, nsamples=20, seed=0)
    call.expect_unchanged("x", x0)
    call.expect_unchanged("background", B0)


# ---------------------------------------------------------------------------
# global_importance
# ---------------------------------------------------------------------------
@check(GI, "ties keep the order of the features", hidden=True)
def _(call):
    values = np.array([[1.0, -2.0, 2.0, -1.0, 0.0], [-1.0, 2.0, -2.0, 1.0, 0.0]])
    names = ["w", "v", "u", "t", "s"]
    pairs = unpack_ranking(call(values=values, feature_names=names), 5)
    order = [n for n, _ in pairs]
    expect(order == ["v", "u", "w", "t", "s"], f"wrong order {order}: v and u tie, so do w and t",
           hint="sort by decreasing importance with a stable sort, so tied features keep their order")


@check(GI, "uses the given feature names, on another table", hidden=True)
def _(call):
    rng = np.random.default_rng(120)
    values = rng.normal(0, 1, (40, 6)) * np.array([0.1, 2.0, 0.5, 1.0, 0.05, 3.0])
    names = ["capital.gain", "age", "sex", "hours.per.week", "race", "education"]
    pairs = unpack_ranking(call(values=values, feature_names=names), 6)
    imp = np.abs(values).mean(axis=0)
    expected = [(names[j], imp[j]) for j in np.argsort(-imp, kind="stable")]
    expect([n for n, _ in pairs] == [n for n, _ in expected], f"wrong order {[n for n, _ in pairs]}")
    expect_close([v for _, v in pairs], [v for _, v in expected], "wrong importances")


@check(GI, "leaves values unchanged", hidden=True)
def _(call):
    values = np.array([[0.5, -1.0], [-0.25, 3.0]])
    original = values.copy()
    call(values=values, feature_names=["a", "b"])
    call.expect_unchanged("values", original)
