"""Hidden checks for chapter 3: the instructor's copy only, never shipped to students.

The Shapley axioms (additivity, dummy, symmetry) on other models, other sizes (p from 1 to 10, a
single background row), Kernel SHAP's sampling accuracy, and the ranking's tie rule.

Points (issue 18): the public checks' inputs ship with the student bundle, so their answers can be looked
up; they are worth ``PUBLIC_POINTS`` each and these checks, on models and inputs defined only here, carry
the rest. A property that a function computing nothing also has (inputs unchanged, one call of ``f``, the
same seed giving the same answer, the promised types, efficiency) is checked here only together with
right values on the same call, so it pays nothing to an answer without the method.
"""
import numpy as np

from autograder.checks import THEN, CheckFailed, check, expect, expect_close, expect_shape
from autograder.answers.ch03_shap import exact_shapley, mean_prediction, prediction
from autograder.public.ch03_shap import (GI, KS, SV, case, expect_kernel_types, explain_wrong, interaction_model,
                                         unpack_kernel, unpack_ranking)
from autograder.testmodels.ch03_shap import RankingTypes, TermModel, random_background, random_row

# Every rule the exercise texts state, and the checks (public or hidden) that cover it.
CONTRACT = {
    SV: {
        "returns a NumPy array of shape (p,)": ["returns one value per feature: shape (p,)",
                                                "returns a NumPy float array, with the right values"],
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
            "a single feature gets the whole difference; two features split it exactly"],
        "one batched call of f": ["calls f once, for all coalitions and background rows together",
                                  "calls f once on another model, with the right values"],
        "f may return shape (n,) or (n, 1)": ["works with a model that returns shape (n, 1), like a Keras model",
                                              "calls f once on another model, with the right values"],
        "x and background are left unchanged": ["leaves x and background unchanged, with the right values"],
    },
    KS: {
        "returns (base_value, phi): base_value a number, phi a NumPy array of shape (p,)": [
            "returns (base_value, phi): a number and an array of shape (p,)",
            "returns a number and a NumPy float array, with the right values"],
        "base_value is the mean prediction over the background": [
            "base_value is the mean prediction over the background",
            "enumerates every coalition of a 3-feature model with a (n, 1) output"],
        "efficiency enforced exactly: base_value + phi.sum() == f(x)": [
            "efficiency is exact even with few samples: base_value + phi.sum() == f(x)",
            "a 10-feature model: efficiency exact with 50 samples, exact values with every coalition"],
        "all coalitions enumerated when nsamples >= 2^p - 2, with the Shapley kernel weights": [
            "with every coalition enumerated (nsamples >= 2^p - 2) it equals the exact Shapley values",
            "enumerates every coalition of a 3-feature model with a (n, 1) output",
            "a 10-feature model: efficiency exact with 50 samples, exact values with every coalition"],
        "fewer samples: coalitions drawn from the Shapley kernel's size distribution": [
            "with fewer samples the values are within sampling noise of the exact values"],
        "seed: the same seed gives the same answer": [
            "the same seed gives the same answer",
            "the same seed gives the same answer, within sampling noise of the exact values",
            "another seed draws other coalitions"],
        "one batched call of f per explained row": ["calls f once per explained row",
                                                    "calls f once on another model, with the right values"],
        "x and background are left unchanged": ["leaves x and background unchanged, with the right values"],
    },
    GI: {
        "returns a list of (name, mean |value|) tuples, one per feature (names as str, values as float)": [
            "returns one (name, mean |value|) pair per feature",
            "returns a list of (str, float) tuples, with the right values"],
        "mean |value| over the rows, from the most to the least important": [
            "importance is the mean absolute value over rows, largest first",
            "uses the given feature names, on another table"],
        "ties keep the feature order": ["ties keep the order of the features",
                                        "40 features in 5 tied groups, names not in alphabetical order"],
        "values are left unchanged": ["leaves values unchanged, with the right values"],
    },
}


# ---------------------------------------------------------------------------
# shapley_values
# ---------------------------------------------------------------------------
@check(SV, "additivity: the values of g + h are those of g plus those of h", points=2, hidden=True)
def _(call):
    g = TermModel(5, [("product", (0, 2), 1.3), ("tanh", (1,), (1.5, 2.0))], bias=0.2)
    h = TermModel(5, [("step", (2,), (2.0, 0.3)), ("product", (1, 3, 4), 0.6), ("linear", (4,), -1.0)])
    x, B = case(100, 5, 12)
    a = expect_shape(call(f=g, x=x, background=B), (5,), "phi(g)")
    b = expect_shape(call(f=h, x=x, background=B), (5,), "phi(h)")
    c = expect_shape(call(f=g.plus(h), x=x, background=B), (5,), "phi(g + h)")
    expect_close(c, a + b, "phi(g + h) differs from phi(g) + phi(h)")
    expect_close(c, exact_shapley(g.plus(h), x, B), "wrong Shapley values for g + h")


@check(SV, "an unused feature gets exactly 0", points=1.5, hidden=True)
def _(call):
    model = TermModel(6, [("product", (0, 1), 2.0), ("tanh", (2,), (1.0, 3.0)), ("product", (3, 5), -1.0),
                          ("step", (5,), (0.5, -0.2))])  # feature 4 is never read
    x, B = case(101, 6, 14)
    out = expect_shape(call(f=model, x=x, background=B), (6,), "phi")
    expect_close(out[4], 0.0, "feature 4 is not used by the model, yet its value is not 0",
                 hint="v(S + j) = v(S) for a feature the model ignores, so every marginal contribution is 0",
                 atol=1e-9)
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "two features that play the same role get equal values", points=1.5, hidden=True)
def _(call):
    model = TermModel(4, [("product", (0, 1), 1.5), ("tanh", (0,), (1.0, 1.0)), ("tanh", (1,), (1.0, 1.0)),
                          ("step", (2,), (1.0, 0.0)), ("product", (2, 3), 0.5)])
    B = random_background(102, 8, 4)
    B = np.vstack([B, B[:, [1, 0, 2, 3]]])  # symmetric in features 0 and 1
    x = np.array([0.8, 0.8, -1.1, 1.7])
    out = expect_shape(call(f=model, x=x, background=B), (4,), "phi")
    expect_close(out[0], out[1], "features 0 and 1 are interchangeable here but got different values")
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "mean over the background rows, not the prediction at the mean row", points=2, hidden=True)
def _(call):
    model = TermModel(5, [("tanh_product", (0, 1), (2.0, 1.0)), ("tanh", (2,), (1.0, 2.5)),
                          ("product", (3, 4), 1.0), ("step", (4,), (1.0, 0.5))], bias=1.0)
    x, B = case(103, 5, 25)
    out = expect_shape(call(f=model, x=x, background=B), (5,), "phi")
    explain_wrong(model, x, B, out)
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "an 8-feature model (256 coalitions) against a single background row", points=2, hidden=True)
def _(call):
    # p = 8 at most in the checks: a correct answer that averages over all p! orderings must finish too
    model = TermModel(8, [("product", (0, 7), 1.0), ("tanh", (3,), (2.0, 1.0)), ("step", (5,), (1.0, 0.0)),
                          ("product", (2, 6, 4), 0.5), ("linear", (1,), 0.8), ("tanh_product", (1, 6), (1.0, 1.0))])
    x, B = random_row(104, 8), random_background(1104, 1, 8)
    out = expect_shape(call(f=model, x=x, background=B), (8,), "phi")
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values for p = 8")


@check(SV, "a single feature gets the whole difference; two features split it exactly", points=1, hidden=True)
def _(call):
    # p = 1 alone is what "the whole gap on the last feature" also returns: it pays only with p = 2 right
    model = TermModel(1, [("tanh", (0,), (2.0, 1.0))], bias=0.5, column_output=True)
    x, B = case(105, 1, 9)
    out = expect_shape(call(f=model, x=x, background=B), (1,), "phi")
    expect_close(out, [prediction(model, x) - mean_prediction(model, B)], "with p = 1, phi = f(x) - mean f(background)")
    pair = TermModel(2, [("product", (0, 1), 1.7), ("step", (1,), (0.8, 0.2)), ("tanh", (0,), (1.0, 2.0))], bias=-0.3)
    x2, B2 = case(115, 2, 7)
    out = expect_shape(call(f=pair, x=x2, background=B2), (2,), "phi")
    expect_close(out, exact_shapley(pair, x2, B2), "wrong Shapley values for a 2-feature model",
                 hint="phi_0 = (v({0}) - v({})) / 2 + (v({0, 1}) - v({1})) / 2")


@check(SV, "calls f once on another model, with the right values", points=1, hidden=True)
def _(call):
    model = TermModel(7, [("tanh_product", (0, 6), (1.5, 0.8)), ("step", (2,), (-1.0, 0.1)),
                          ("product", (1, 3, 5), 0.9), ("linear", (4,), 1.2)],
                      bias=0.7, column_output=True, max_calls=1)
    x, B = case(116, 7, 6)
    out = expect_shape(call(f=model, x=x, background=B), (7,), "phi")
    expect_close(out, exact_shapley(model, x, B), "wrong Shapley values (f was called once, as required)")


@check(SV, "returns a NumPy float array, with the right values", points=0.5, hidden=True)
def _(call):
    model = TermModel(3, [("product", (0, 1), -1.1), ("tanh", (2,), (0.9, 1.4))], bias=0.2)
    x, B = case(117, 3, 5)
    out = call(f=model, x=x, background=B)
    call.expect_array("phi", kind="float", hint="the text promises a NumPy array: return np.asarray(phi, dtype=float)")
    expect_close(expect_shape(out, (3,), "phi"), exact_shapley(model, x, B), "wrong Shapley values")


@check(SV, "leaves x and background unchanged, with the right values", points=0.75, hidden=True)
def _(call):
    model = interaction_model()
    x, B = case(106, 5, 10)
    x0, B0 = x.copy(), B.copy()
    out = expect_shape(call(f=model, x=x, background=B), (5,), "phi")
    call.expect_unchanged("x", x0)
    call.expect_unchanged("background", B0)
    expect_close(out, exact_shapley(model, x0, B0), "wrong Shapley values")


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


def expect_within_noise(runs, exact, what):
    err = np.abs(np.mean(runs, axis=0) - exact)
    expect(err.max() <= SAMPLING_ATOL,
           f"{what}: the values are too far from the exact ones: largest error {err.max():.3f} "
           f"(feature {int(err.argmax())}), expected at most {SAMPLING_ATOL}",
           hint="draw the coalition size s with probability proportional to (p-1) / (s (p-s)), then s "
                "features uniformly; fit by weighted least squares")


@check(KS, "with fewer samples the values are within sampling noise of the exact values", points=3, hidden=True)
def _(call):
    model, x, B = sampled_case()
    exact = exact_shapley(model, x, B)
    runs = [unpack_kernel(call(f=model, x=x, background=B, nsamples=NSAMPLES, seed=s), 10)[1] for s in (1, 2, 3)]
    expect_within_noise(runs, exact, f"with {NSAMPLES} of the 1022 coalitions sampled (seeds 1, 2, 3)")


@check(KS, "the same seed gives the same answer, within sampling noise of the exact values", points=1, hidden=True)
def _(call):
    # the same tolerance as above: the mean of three seeds was measured; one seed twice is the mean of one,
    # so three other seeds are drawn and each is asked twice
    model, x, B = sampled_case()
    exact = exact_shapley(model, x, B)
    runs = []
    for s in (21, 22, 23):
        a = unpack_kernel(call(f=model, x=x, background=B, nsamples=NSAMPLES, seed=s), 10)
        b = unpack_kernel(call(f=model, x=x, background=B, nsamples=NSAMPLES, seed=s), 10)
        expect(np.array_equal(a[1], b[1]) and a[0] == b[0], f"two calls with seed={s} gave different values",
               hint="draw every random number from np.random.default_rng(seed), created inside the function")
        runs.append(a[1])
    expect_within_noise(runs, exact, f"with {NSAMPLES} of the 1022 coalitions sampled (seeds 21, 22, 23)")


@check(KS, "another seed draws other coalitions", points=0.75, hidden=True)
def _(call):
    model = interaction_model(p=9)
    x, B = case(108, 9, 6)
    base = mean_prediction(model, B)
    a = unpack_kernel(call(f=model, x=x, background=B, nsamples=30, seed=1), 9)
    b = unpack_kernel(call(f=model, x=x, background=B, nsamples=30, seed=2), 9)
    for out in (a, b):  # a seeded answer that computes nothing must not pass: base and efficiency are exact
        expect_close(out[0], base, "wrong base_value")
        expect_close(out[0] + out[1].sum(), prediction(model, x), "base_value + sum(phi) is not f(x)", atol=1e-6)
    expect(not np.allclose(a[1], b[1]), "seed=1 and seed=2 gave the same values with 30 of 510 coalitions",
           hint="use the seed argument: rng = np.random.default_rng(seed)")


@check(KS, "enumerates every coalition of a 3-feature model with a (n, 1) output", points=2, hidden=True)
def _(call):
    model = TermModel(3, [("product", (0, 1), 2.0), ("tanh", (2,), (1.5, 2.0)), ("product", (0, 1, 2), -0.7)],
                      bias=0.1, column_output=True)
    x, B = case(109, 3, 11)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=1000, seed=0), 3)
    expect_close(base, mean_prediction(model, B), "wrong base_value")
    expect_close(phi, exact_shapley(model, x, B), "with nsamples >= 2^p - 2 the values must be exact", atol=1e-6)


@check(KS, "a 10-feature model: efficiency exact with 50 samples, exact values with every coalition", points=1.5,
       hidden=True)
def _(call):
    model = TermModel(10, [("product", (0, 9), 1.0), ("tanh", (4,), (2.0, 1.0)), ("step", (7,), (1.0, 0.3)),
                           ("product", (1, 2, 3), 0.4)], column_output=True)
    x, B = case(110, 10, 7)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=50, seed=5), 10)
    expect_close(base + phi.sum(), prediction(model, x), "base_value + sum(phi) is not f(x)", atol=1e-6)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=2 ** 10 - 2, seed=5), 10)
    expect_close(phi, exact_shapley(model, x, B), "with all 1022 coalitions of 10 features the values should be "
                 "the exact Shapley values", atol=1e-6,
                 hint="weight coalition S by the Shapley kernel (p-1) / (C(p,|S|) |S| (p-|S|))")


@check(KS, "calls f once on another model, with the right values", points=1, hidden=True)
def _(call):
    model = TermModel(4, [("tanh_product", (0, 3), (1.2, 1.1)), ("step", (1,), (0.7, -0.4)),
                          ("product", (1, 2), -1.3)], bias=0.4, max_calls=1)
    x, B = case(118, 4, 9)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=14, seed=3), 4)
    expect_close(base, mean_prediction(model, B), "wrong base_value")
    expect_close(phi, exact_shapley(model, x, B), "with nsamples = 2^p - 2 = 14 the values must be exact "
                 "(f was called once, as required)", atol=1e-6)


@check(KS, "returns a number and a NumPy float array, with the right values", points=0.5, hidden=True)
def _(call):
    model = TermModel(3, [("product", (0, 2), 0.9), ("tanh", (1,), (1.3, 0.7))], bias=-0.2)
    x, B = case(119, 3, 6)
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=6, seed=0), 3)
    expect_kernel_types(call)
    expect_close(base, mean_prediction(model, B), "wrong base_value")
    expect_close(phi, exact_shapley(model, x, B), "with every coalition the values must be exact", atol=1e-6)


@check(KS, "leaves x and background unchanged, with the right values", points=0.5, hidden=True)
def _(call):
    model = interaction_model()
    x, B = case(111, 5, 10)
    x0, B0 = x.copy(), B.copy()
    base, phi = unpack_kernel(call(f=model, x=x, background=B, nsamples=30, seed=0), 5)
    call.expect_unchanged("x", x0)
    call.expect_unchanged("background", B0)
    expect_close(phi, exact_shapley(model, x0, B0), "with every coalition the values must be exact", atol=1e-6)


# ---------------------------------------------------------------------------
# global_importance
# ---------------------------------------------------------------------------
def expect_ranking(pairs, values, names, what=""):
    imp = np.abs(values).mean(axis=0)
    stable = np.argsort(-imp, kind="stable")
    order = [n for n, _ in pairs]
    if order != [names[j] for j in stable] and sorted(order) == sorted(names):
        tie_free = [names[j] for j in stable]
        reversed_ties = [names[j] for j in np.argsort(imp, kind="stable")[::-1]]
        by_name = [names[j] for j in sorted(range(len(names)), key=lambda j: (-imp[j], names[j]))]
        unstable = [names[j] for j in np.argsort(-imp)]
        if [imp[names.index(n)] for n in order] == [imp[names.index(n)] for n in tie_free]:
            if order == reversed_ties:
                why, hint = ("tied features come in reverse feature order (an ascending sort reversed with "
                             "[::-1] reverses the ties too)", "sort by -importance with a stable sort, e.g. "
                             "sorted(range(p), key=lambda j: -imp[j]) or np.argsort(-imp, kind='stable')")
            elif order == by_name:
                why, hint = ("tied features are sorted by name; the text keeps them in the order of feature_names",
                             "do not break ties by name: a stable sort on -importance keeps the given order")
            elif order == unstable:
                why, hint = ("tied features are not in the order of feature_names: np.argsort's default "
                             "quicksort is not stable for more than 16 values",
                             "np.argsort(-imp, kind='stable'), or sorted(range(p), key=lambda j: -imp[j])")
            else:
                why, hint = ("tied features are not in the order of feature_names",
                             "sort by -importance with a stable sort")
            raise CheckFailed(f"{what}the importances are sorted, but {why}", hint=hint)
    expect(order == [names[j] for j in stable], f"{what}wrong order {order}",
           hint="from the largest to the smallest mean |value|")
    expect_close([v for _, v in pairs], imp[stable], f"{what}wrong importances",
                 hint="np.abs(values).mean(axis=0), one number per feature")


@check(GI, "ties keep the order of the features", points=0.75, hidden=True)
def _(call):
    values = np.array([[1.0, -2.0, 2.0, -1.0, 0.0], [-1.0, 2.0, -2.0, 1.0, 0.0]])
    names = ["w", "v", "u", "t", "s"]
    pairs = unpack_ranking(call(values=values, feature_names=names), 5)
    order = [n for n, _ in pairs]
    expect(order == ["v", "u", "w", "t", "s"], f"wrong order {order}: v and u tie, so do w and t",
           hint="sort by decreasing importance with a stable sort, so tied features keep their order")


def tied_table():
    """40 features in 5 groups of exactly equal mean |value| (multiples of 1/4, exact in any summation
    order), names in no alphabetical order: NumPy's default quicksort is unstable at this size."""
    r = np.random.default_rng(121)
    levels = np.array([3.0, 5.0, 2.0, 7.0, 1.0])
    group = np.repeat(np.arange(5), 8)
    r.shuffle(group)
    values = np.empty((8, 40))
    for j in range(40):  # 8 rows whose |values| are one permutation of the group's pattern: the same mean
        pattern = np.array([1, 2, 3, 2, 1, 3, 2, 2]) * levels[group[j]] / 4.0
        values[:, j] = r.permutation(pattern) * r.choice([-1.0, 1.0], 8)
    words = ["tax", "age", "zip", "pay", "sex", "job", "kid", "car", "dog", "elm"]
    names = [f"{words[k % 10]}_{(37 * k) % 41:02d}" for k in range(40)]
    r.shuffle(names)
    return values, names


@check(GI, "40 features in 5 tied groups, names not in alphabetical order", points=1.5, hidden=True)
def _(call):
    values, names = tied_table()
    pairs = unpack_ranking(call(values=values, feature_names=names), 40)
    expect_ranking(pairs, values, names, "40 features: ")


@check(GI, "uses the given feature names, on another table", points=1, hidden=True)
def _(call):
    rng = np.random.default_rng(120)
    values = rng.normal(0, 1, (40, 6)) * np.array([0.1, 2.0, 0.5, 1.0, 0.05, 3.0])
    names = ["capital.gain", "age", "sex", "hours.per.week", "race", "education"]
    pairs = unpack_ranking(call(values=values, feature_names=names), 6)
    expect_ranking(pairs, values, names)


@check(GI, "returns a list of (str, float) tuples, with the right values", points=1, hidden=True)
def _(call):
    values = np.array([[0.5, -1.5, 0.25], [-0.75, 1.0, 0.5], [0.25, 0.5, -1.0]])
    names = ["occupation", "age", "relationship"]
    out, (container, items) = call(values=values, feature_names=names, **{THEN: RankingTypes()})
    expect_ranking(unpack_ranking(out, 3), values, names)
    expect(container == "list", f"the result should be a list of tuples, got a {container}",
           hint="return [(name, importance), ...], a list")
    for item in items:
        expect(item[0] == "tuple", f"each item should be a tuple (name, importance), got a {item[0]}",
               hint="e.g. (feature_names[j], float(importance[j]))")
        expect(item[1:2] == ("str",), f"each name should be a str, got a {item[1] if len(item) > 1 else 'nothing'}",
               hint="a NumPy string (np.str_) from an array of names is not a str: use feature_names[j] or str(...)")
        expect(len(item) > 2 and item[2] in ("float", "float64"),
               f"each importance should be a float, got a {item[2] if len(item) > 2 else 'nothing'}",
               hint="float(importance[j]): one number, not an array")


@check(GI, "leaves values unchanged, with the right values", points=0.5, hidden=True)
def _(call):
    values = np.array([[0.5, -1.0, 2.0], [-0.25, 3.0, -1.5]])
    original = values.copy()
    pairs = unpack_ranking(call(values=values, feature_names=["b", "c", "a"]), 3)
    call.expect_unchanged("values", original)
    expect_ranking(pairs, original, ["b", "c", "a"])
