"""Public checks for chapter 1 (partial dependence and ICE). Students see these.

Each check builds its inputs from a fixed seed and compares the student's
result with an analytic answer from :mod:`autograder.answers.ch01_pdp_ice` for a
test model of :mod:`autograder.testmodels.ch01_pdp_ice`.

Tolerances: ``expect_close``'s defaults (rtol 1e-5, atol 1e-6). The answers are exact
(polynomial models); float64 implementations (batched, loops, the CORRECT variants of
tests/test_ch01_grading.py) agree to rounding, and implementations that work in float32 as a
Keras model does (X, grid and predictions cast to float32) used at most 2 % of the tolerance
on every PD check (measured: max |got - expected| / (atol + rtol |expected|) = 0.020 for the
1-D and 0.013 for the 2-D partial dependence).
"""
import numpy as np

from autograder.checks import CheckFailed, _describe, check, expect, expect_close, expect_shape
from autograder.reference import reference

mean_with_fixed, row_with_feature = reference("ch01_pdp_ice", "mean_with_fixed", "row_with_feature")
from autograder.testmodels.ch01_pdp_ice import QuadraticModel, random_table

# The modules this chapter's grading workers import before the fork (the fork server in autograder.sandbox):
# every submission's worker starts with them loaded instead of paying for the imports again.
WORKER_PRELOAD = ("numpy",)

# ---------------------------------------------------------------------------
# standardize
# ---------------------------------------------------------------------------
STD = "standardize"


def standardize_case(seed: int, n_train: int = 40, n_test: int = 15, p: int = 4):
    """Training data, and test data from a *different* distribution, so that
    standardizing the test set with its own statistics gives a visibly different answer."""
    x_train = random_table(seed, n_train, p)
    x_test = random_table(seed + 1, n_test, p, shift=3.0, scale=2.0)
    return x_train, x_test


def unpack_pair(out, what=("x_train_std", "x_test_std")):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed(f"expected a tuple of two arrays (x_train_std, x_test_std), got {_describe(out)}",
                          hint="end with `return x_train_std, x_test_std`")
    return out


def affine_map_from_train(x_train, out_train):
    """Per-column (scale, shift) such that out_train = scale * x_train + shift."""
    xc = x_train - x_train.mean(axis=0)
    scale = (xc * (out_train - out_train.mean(axis=0))).sum(axis=0) / (xc ** 2).sum(axis=0)
    shift = out_train.mean(axis=0) - scale * x_train.mean(axis=0)
    return scale, shift


@check(STD, "returns (x_train_std, x_test_std) shaped like the inputs", counts_with="each training column has mean 0 and standard deviation 1")
def _(call):
    x_train, x_test = standardize_case(1)
    tr, te = unpack_pair(call(x_train=x_train, x_test=x_test))
    expect(call.returned_type == ("ndarray[float64]", "ndarray[float64]"),
           f"the result should be a tuple of two float arrays (x_train_std, x_test_std), got {call.returned_type}",
           hint="return x_train_std, x_test_std (a tuple) of NumPy arrays")
    expect_shape(tr, x_train.shape, "x_train_std")
    expect_shape(te, x_test.shape, "x_test_std")


@check(STD, "each training column has mean 0 and standard deviation 1", counts_with="training columns of another data set have mean 0 and standard deviation 1")
def _(call):
    x_train, x_test = standardize_case(2)
    tr, _ = unpack_pair(call(x_train=x_train, x_test=x_test))
    tr = expect_shape(tr, x_train.shape, "x_train_std")
    expect_close(tr.mean(axis=0), np.zeros(x_train.shape[1]), "training columns should have mean 0",
                 hint="subtract the mean of each column (axis=0), not of the whole array", atol=1e-6)
    n = x_train.shape[0]
    sd = tr.std(axis=0)
    # Dividing by the population (ddof=0) or the sample (ddof=1) standard deviation are both fine.
    ok = (sd > np.sqrt((n - 1) / n) - 1e-6) & (sd < 1 + 1e-6)
    expect(ok.all(), f"training columns should have standard deviation 1, got {np.round(sd, 3)}",
           hint="divide each column by its own standard deviation: x.std(axis=0)")


@check(STD, "the test set is scaled with the training mean and standard deviation", counts_with="each training column has mean 0 and standard deviation 1")
def _(call):
    x_train, x_test = standardize_case(3)
    tr, te = unpack_pair(call(x_train=x_train, x_test=x_test))
    tr = expect_shape(tr, x_train.shape, "x_train_std")
    te = expect_shape(te, x_test.shape, "x_test_std")
    scale, shift = affine_map_from_train(x_train, tr)
    expected = scale * x_test + shift
    if np.allclose(te.mean(axis=0), 0, atol=1e-6):
        raise CheckFailed("the test set was standardized with its own mean: that leaks test information "
                          f"(x_test_std's column means are {np.round(te.mean(axis=0), 3)}; with the training "
                          f"statistics they would be {np.round(expected.mean(axis=0), 3)})",
                          hint="compute mean and std on x_train only and apply those same numbers to x_test")
    expect_close(te, expected,
                 "x_test_std is not x_test shifted and scaled by the training statistics",
                 hint="x_test_std = (x_test - mean_of_x_train) / std_of_x_train")


# ---------------------------------------------------------------------------
# partial_dependence_1d
# ---------------------------------------------------------------------------
PD1 = "partial_dependence_1d"


def pd_model(column_output=False):
    """x0 interacts with x1 and x2 enters squared: averaging over rows matters."""
    return QuadraticModel(linear=[1.5, -0.5, 0.3, 0.0], square=[0.0, 0.0, 0.8, 0.0],
                          pairs=[(0, 1, 2.0), (1, 3, -1.0)], bias=0.7, column_output=column_output)


def expected_pd1(model, X, feature, grid):
    return np.array([mean_with_fixed(model, X, {feature: v}) for v in grid])


@check(PD1, "returns one value per grid point", counts_with="averages the model's predictions over all rows of X")
def _(call):
    X, grid = random_table(10, 30, 4), np.linspace(-2.0, 3.0, 7)
    out = call(predict=pd_model(), X=X, feature=0, grid=grid)
    call.expect_array("the partial dependence", kind="float", hint="return a NumPy array, e.g. np.array(values)")
    expect_shape(out, (len(grid),), "the partial dependence",
                 hint="one average prediction per grid value: shape (len(grid),)")


@check(PD1, "averages the model's predictions over all rows of X", counts_with="another model, the last feature, an unsorted grid")
def _(call):
    X, grid = random_table(11, 25, 4), np.array([-1.3, -0.45, 0.2, 0.95, 2.5])
    model = pd_model()
    out = expect_shape(call(predict=model, X=X, feature=0, grid=grid), (len(grid),), "the partial dependence")
    ice = row_with_feature(model, X, 0, grid)
    expected = expected_pd1(model, X, 0, grid)
    for row in (0, len(X) - 1):
        if np.allclose(out, ice[row]):
            raise CheckFailed(f"the result is the curve of a single row (row {row}), not the average over all rows: "
                              f"got {np.round(out, 3)}, expected {np.round(expected, 3)}",
                              hint="set the feature to v in *every* row of a copy of X, predict, then take the mean")
    expect_close(out, expected,
                 "the values are not the mean prediction with the feature set to each grid value",
                 hint="for each v in grid: X_mod = X.copy(); X_mod[:, feature] = v; mean(predict(X_mod))")


def expect_same_with_flat_output(call, out, expected, kwargs, flat_model, what, hint):
    """``out`` (from a model returning shape (n, 1)) differs from ``expected``: say whether the (n, 1)
    shape is the cause, by calling again with the same model returning shape (n,)."""
    try:
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
        return
    except AssertionError:
        pass
    flat = call(predict=flat_model, **kwargs)
    if isinstance(flat, np.ndarray) and flat.shape == expected.shape and np.allclose(flat, expected, rtol=1e-5, atol=1e-6):
        expect_close(out, expected, f"{what}: right for a model returning shape (n,), but wrong for the same "
                     "model returning shape (n, 1)", hint="flatten the predictions (np.ravel) before using them")
    expect_close(out, expected, f"{what}: wrong values for this model, and just as wrong when the same model "
                 "returns shape (n,): this check failed because the values are wrong, not because of the (n, 1) shape",
                 hint=hint)


@check(PD1, "works with a model that returns shape (n, 1), like a Keras model", counts_with="another model, the last feature, an unsorted grid")
def _(call):
    X, grid = random_table(12, 20, 4), np.linspace(-1, 1, 4)
    model = pd_model(column_output=True)
    out = call(predict=model, X=X, feature=1, grid=grid)
    expect_shape(out, (len(grid),), "the partial dependence",
                 hint="flatten the predictions (e.g. np.ravel) before averaging")
    expect_same_with_flat_output(call, out, expected_pd1(model, X, 1, grid), dict(X=X, feature=1, grid=grid),
                                 pd_model(), "the partial dependence",
                                 hint="for each v in grid: X_mod = X.copy(); X_mod[:, feature] = v; mean(predict(X_mod))")


@check(PD1, "leaves the caller's X unchanged", counts_with="averages the model's predictions over all rows of X")
def _(call):
    X, grid = random_table(13, 20, 4), np.linspace(-1, 1, 3)
    original = X.copy()
    call(predict=pd_model(), X=X, feature=2, grid=grid)
    call.expect_unchanged("X", original)


# ---------------------------------------------------------------------------
# partial_dependence_2d
# ---------------------------------------------------------------------------
PD2 = "partial_dependence_2d"


def pd2_model(column_output=False):
    """Asymmetric in (x0, x2) so a transposed answer is wrong even on a square grid."""
    return QuadraticModel(linear=[2.0, 0.5, -1.0, 0.0], square=[0.6, 0.0, 0.0, 0.0],
                          pairs=[(0, 2, 1.5), (2, 3, 0.7), (0, 1, -0.4)], bias=-0.3,
                          column_output=column_output)


def expected_pd2(model, X, features, grids):
    a, b = features
    return np.array([[mean_with_fixed(model, X, {a: u, b: v}) for v in grids[1]] for u in grids[0]])


@check(PD2, "returns an array of shape (len(grids[0]), len(grids[1]))", counts_with="entry [i, j] is the mean prediction at (grids[0][i], grids[1][j])")
def _(call):
    X = random_table(20, 25, 4)
    grids = (np.linspace(-2, 2, 5), np.linspace(-1, 1, 3))
    out = call(predict=pd2_model(), X=X, features=(0, 2), grids=grids)
    call.expect_array("the 2-D partial dependence", kind="float", hint="return a NumPy array of shape (g_a, g_b)")
    expect_shape(out, (5, 3), "the 2-D partial dependence",
                 hint="rows follow features[0] (grids[0]) and columns follow features[1] (grids[1])")


@check(PD2, "entry [i, j] is the mean prediction at (grids[0][i], grids[1][j])", counts_with="features in reverse order: rows follow features[0]")
def _(call):
    X = random_table(21, 25, 4)
    grids = (np.array([-1.5, -0.2, 0.4, 1.7]), np.array([-0.8, 0.1, 0.9]))
    model = pd2_model()
    out = expect_shape(call(predict=model, X=X, features=(0, 2), grids=grids), (4, 3), "the 2-D partial dependence")
    expect_close(out, expected_pd2(model, X, (0, 2), grids),
                 "the values are not the mean predictions over all rows",
                 hint="set both features in every row of a copy of X, predict, average over rows")


@check(PD2, "rows follow features[0] even on a square grid", counts_with="features in reverse order: rows follow features[0]")
def _(call):
    X = random_table(22, 20, 4)
    grids = (np.linspace(-1, 2, 4), np.linspace(-2, 1, 4))
    model = pd2_model(column_output=True)
    out = expect_shape(call(predict=model, X=X, features=(0, 2), grids=grids), (4, 4), "the 2-D partial dependence")
    expected = expected_pd2(model, X, (0, 2), grids)
    if np.allclose(out, expected.T) and not np.allclose(out, expected):
        raise CheckFailed("the result is transposed: rows should follow features[0] "
                          f"(got {np.round(out[0, :2], 3)} in row 0, columns 0-1; expected {np.round(expected[0, :2], 3)})",
                          hint="result[i, j] belongs to grids[0][i] and grids[1][j]")
    expect_same_with_flat_output(call, out, expected, dict(X=X, features=(0, 2), grids=grids), pd2_model(),
                                 "the 2-D partial dependence on a square grid",
                                 hint="set both features in every row of a copy of X, predict, average over rows")


# ---------------------------------------------------------------------------
# ice_curves
# ---------------------------------------------------------------------------
ICE = "ice_curves"


@check(ICE, "returns one curve per row: shape (n_rows, len(grid))", counts_with="curve i is the prediction for row i as the feature moves along the grid (not centred by default)")
def _(call):
    X, grid = random_table(30, 12, 4), np.linspace(-2, 2, 5)
    out = call(predict=pd_model(), X=X, feature=0, grid=grid)
    call.expect_array("the ICE curves", kind="float", hint="return a NumPy array of shape (n_rows, len(grid))")
    expect_shape(out, (12, 5), "the ICE curves", hint="one row per row of X, one column per grid value")


@check(ICE, "curve i is the prediction for row i as the feature moves along the grid (not centred by default)", counts_with="the mean of the ICE curves is the partial dependence")
def _(call):
    X, grid = random_table(31, 10, 4), np.array([-1.1, -0.3, 0.6, 1.4, 2.2, 3.0])
    model = pd_model(column_output=True)
    out = expect_shape(call(predict=model, X=X, feature=0, grid=grid), (10, 6), "the ICE curves")
    raw = row_with_feature(model, X, 0, grid)
    if np.allclose(out[:, 0], 0) and np.allclose(out, raw - raw[:, :1]):
        raise CheckFailed("the curves are centred although centered=False (the default): every curve starts at 0, "
                          f"e.g. curve 0 starts at {out[0, 0]:.6g} instead of the prediction {raw[0, 0]:.6g}",
                          hint="subtract the first value only when centered is True")
    expect_same_with_flat_output(call, out, raw, dict(X=X, feature=0, grid=grid), pd_model(), "the ICE curves",
                                 hint="curve i at grid value v is predict(row i with X[i, feature] = v)")


@check(ICE, "centred curves are each curve minus its value at grid[0]", counts_with="the mean of the ICE curves is the partial dependence")
def _(call):
    X, grid = random_table(32, 10, 4), np.linspace(-1.5, 2.5, 6)
    model = pd_model()
    out = expect_shape(call(predict=model, X=X, feature=0, grid=grid, centered=True), (10, 6),
                       "the centred ICE curves")
    expect_close(out[:, 0], np.zeros(10), "centred curves should start at 0 at grid[0]",
                 hint="subtract each curve's own first value: ice - ice[:, [0]]")
    raw = row_with_feature(model, X, 0, grid)
    expect_close(out, raw - raw[:, :1], "centred curves have the wrong shape",
                 hint="subtract each curve's own first value: ice - ice[:, [0]]")
