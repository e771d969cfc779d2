"""Hidden checks for chapter 1: the instructor's copy only, never shipped to students.

More cases of the same properties as the public checks, on other seeds,
shapes, features and models, so a solution tuned to the public cases fails.
"""
import numpy as np

from autograder.checks import CheckFailed, check, expect, expect_close, expect_shape
from autograder.public.ch01_pdp_ice import (ICE, PD1, PD2, STD, affine_map_from_train, expected_pd1,
                                            expected_pd2, standardize_case, unpack_pair)
from autograder.answers.ch01_pdp_ice import mean_with_fixed, row_with_feature
from autograder.testmodels.ch01_pdp_ice import QuadraticModel, random_table


class WavyModel:
    """A model family that exists only here, in the grader (not in the student bundle):
    ``f(x) = bias + sum_j a_j * tanh(b_j * x_j) + c * sin(x_p) * x_q``.

    The standalone grader never sends it to the student's process (see :mod:`autograder.remote`): the
    student's function gets an opaque callable, so no solution can recognise it or read its parameters.
    The right answers are computed here by evaluating the model itself (the definition of PD and ICE).
    """

    def __init__(self, a, b, pair=(0, 1, 1.0), bias=0.0, column_output=False):
        self.a, self.b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        self.pair, self.bias, self.column_output = pair, float(bias), column_output

    def __call__(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.a.size:
            raise ValueError(f"predict expects a 2-D array of shape (n_rows, {self.a.size}), got shape {X.shape}")
        p, q, c = self.pair
        out = self.bias + np.tanh(X * self.b) @ self.a + c * np.sin(X[:, p]) * X[:, q]
        return out.reshape(-1, 1) if self.column_output else out


def wavy_model(column_output=False):
    return WavyModel(a=[0.8, -1.5, 0.6, 2.0, -0.7], b=[1.3, 0.4, 2.0, 0.9, 1.1], pair=(4, 1, 1.4), bias=-0.5,
                     column_output=column_output)


def ice_by_evaluation(model, X, feature, grid):
    """``(n_rows, len(grid))`` by evaluating the model on copies of X (in the grader's process)."""
    out = np.empty((len(X), len(grid)))
    for j, v in enumerate(grid):
        Z = np.array(X, dtype=float, copy=True)
        Z[:, feature] = v
        out[:, j] = np.asarray(model(Z), dtype=float).reshape(-1)
    return out


def other_model(column_output=False):
    return QuadraticModel(linear=[0.0, 1.0, -2.0, 0.5, 0.25], square=[0.3, 0.0, 0.0, -0.2, 0.0],
                          pairs=[(4, 0, 1.2), (4, 2, -0.6), (1, 3, 0.9)], bias=4.0, column_output=column_output)


@check(STD, "training columns of another data set have mean 0 and standard deviation 1", points=0.5, hidden=True)
def _(call):
    # The public check of the same property counts only when this one, on inputs the student bundle does
    # not hold, passes too (a table of the public checks' answers earns nothing).
    x_train, x_test = standardize_case(105, n_train=41, n_test=7, p=3)
    tr, _ = unpack_pair(call(x_train=x_train, x_test=x_test))
    tr = expect_shape(tr, x_train.shape, "x_train_std")
    expect_close(tr.mean(axis=0), np.zeros(3), "training columns should have mean 0", atol=1e-6)
    sd, n = tr.std(axis=0), x_train.shape[0]
    expect(((sd > np.sqrt((n - 1) / n) - 1e-6) & (sd < 1 + 1e-6)).all(),
           f"training columns should have standard deviation 1, got {np.round(sd, 3)}")


@check(STD, "leaves x_train and x_test unchanged", hidden=True, counts_with="each training column has mean 0 and standard deviation 1")
def _(call):
    x_train, x_test = standardize_case(101)
    a, b = x_train.copy(), x_test.copy()
    call(x_train=x_train, x_test=x_test)
    call.expect_unchanged("x_train", a)
    call.expect_unchanged("x_test", b)


@check(STD, "uses training statistics on another data set (one column, few test rows)", points=0.5, hidden=True)
def _(call):
    x_train, x_test = standardize_case(102, n_train=60, n_test=3, p=1)
    tr, te = unpack_pair(call(x_train=x_train, x_test=x_test))
    tr = expect_shape(tr, x_train.shape, "x_train_std")
    te = expect_shape(te, x_test.shape, "x_test_std")
    scale, shift = affine_map_from_train(x_train, tr)
    expect_close(tr.mean(axis=0), [0.0], "training column should have mean 0", atol=1e-6)
    expect_close(te, scale * x_test + shift, "x_test_std must use the training mean and std")


@check(PD1, "another model, the last feature, an unsorted grid", hidden=True)
def _(call):
    X, grid = random_table(110, 33, 5), np.array([0.9, -2.2, 0.05, 3.1])
    model = wavy_model()  # a family that appears nowhere in the student bundle
    out = expect_shape(call(predict=model, X=X, feature=4, grid=grid), (4,), "the partial dependence")
    expect_close(out, ice_by_evaluation(model, X, 4, grid).mean(axis=0), "wrong partial dependence for another model")


@check(PD1, "a single grid point and a Keras-shaped output", hidden=True)
def _(call):
    X, grid = random_table(111, 17, 5), np.array([0.37])
    model = other_model(column_output=True)
    original = X.copy()
    out = expect_shape(call(predict=model, X=X, feature=3, grid=grid), (1,), "the partial dependence")
    expect_close(out, expected_pd1(model, X, 3, grid), "wrong value for a one-point grid")
    call.expect_unchanged("X", original)


@check(PD2, "features in reverse order: rows follow features[0]", hidden=True)
def _(call):
    X = random_table(120, 21, 5)
    grids = (np.array([-1.0, 0.0, 1.5]), np.array([-2.0, -0.5, 0.5, 2.0]))
    model = other_model()
    out = expect_shape(call(predict=model, X=X, features=(4, 2), grids=grids), (3, 4),
                       "the 2-D partial dependence")
    expect_close(out, expected_pd2(model, X, (4, 2), grids), "wrong values with features=(4, 2)")


@check(PD2, "leaves the caller's X unchanged", hidden=True, counts_with="entry [i, j] is the mean prediction at (grids[0][i], grids[1][j])")
def _(call):
    X = random_table(121, 15, 5)
    grids = (np.linspace(-1, 1, 3), np.linspace(0, 2, 2))
    original = X.copy()
    call(predict=other_model(column_output=True), X=X, features=(1, 3), grids=grids)
    call.expect_unchanged("X", original)


@check(PD2, "a 1 x 1 grid equals the 1-D answer with both features fixed", hidden=True)
def _(call):
    X = random_table(122, 19, 5)
    model = other_model()
    out = expect_shape(call(predict=model, X=X, features=(0, 4), grids=(np.array([0.7]), np.array([-1.3]))),
                       (1, 1), "the 2-D partial dependence")
    expect_close(out, [[mean_with_fixed(model, X, {0: 0.7, 4: -1.3})]], "wrong value on a 1 x 1 grid")


@check(ICE, "the mean of the ICE curves is the partial dependence", hidden=True)
def _(call):
    X, grid = random_table(130, 23, 5), np.linspace(-2, 2, 9)
    model = wavy_model(column_output=True)  # a family that appears nowhere in the student bundle
    expected = ice_by_evaluation(model, X, 4, grid)
    out = expect_shape(call(predict=model, X=X, feature=4, grid=grid), (23, 9), "the ICE curves")
    expect_close(out.mean(axis=0), expected.mean(axis=0), "the average ICE curve is not the PDP")
    expect_close(out, expected, "wrong ICE curves for another model")


@check(ICE, "centring uses the first grid value, even when the grid is not sorted", hidden=True)
def _(call):
    X, grid = random_table(131, 8, 5), np.array([1.0, -1.5, 0.5, 2.5, -0.5])
    model = other_model()
    out = expect_shape(call(predict=model, X=X, feature=2, grid=grid, centered=True), (8, 5),
                       "the centred ICE curves")
    raw = row_with_feature(model, X, 2, grid)
    if np.allclose(out, raw - raw.min(axis=1, keepdims=True)):
        raise CheckFailed("the curves are centred on their minimum, not on grid[0]: curve 0 is "
                          f"{np.round(out[0], 3)}, expected {np.round(raw[0] - raw[0, 0], 3)}",
                          hint="subtract each curve's value at the first grid value, grid[0], which need not be the smallest")
    expect_close(out, raw - raw[:, :1], "centred curves must be 0 at grid[0]")


@check(ICE, "leaves the caller's X unchanged", hidden=True, counts_with="curve i is the prediction for row i as the feature moves along the grid (not centred by default)")
def _(call):
    X, grid = random_table(132, 9, 5), np.linspace(-1, 1, 4)
    original = X.copy()
    call(predict=other_model(), X=X, feature=1, grid=grid, centered=True)
    call.expect_unchanged("X", original)


# ---------------------------------------------------------------------------
# Contract coverage: every rule the exercise texts of chapter 1 state -> the checks that cover it
# (public or hidden; tests/test_contracts.py verifies that each named check exists).
# ---------------------------------------------------------------------------
CONTRACT = {
    STD: {
        "returns the tuple (x_train_std, x_test_std) of NumPy arrays, with the shapes of x_train and x_test": [
            "returns (x_train_std, x_test_std) shaped like the inputs",
            "uses training statistics on another data set (one column, few test rows)"],
        "each column is standardized to mean 0 and standard deviation 1 (on the training data)": [
            "each training column has mean 0 and standard deviation 1",
            "uses training statistics on another data set (one column, few test rows)"],
        "the mean and standard deviation come from the training data only and are applied to both sets": [
            "the test set is scaled with the training mean and standard deviation",
            "uses training statistics on another data set (one column, few test rows)"],
        "don't modify the arrays you are given": ["leaves x_train and x_test unchanged"],
    },
    PD1: {
        "returns a NumPy array of shape (len(grid),)": [
            "returns one value per grid point", "a single grid point and a Keras-shaped output"],
        "PD(v) is the average prediction with feature k set to v in every row": [
            "averages the model's predictions over all rows of X",
            "another model, the last feature, an unsorted grid"],
        "averages over all rows": ["averages the model's predictions over all rows of X"],
        "grid is any 1-D array of values (not necessarily sorted)": [
            "another model, the last feature, an unsorted grid", "a single grid point and a Keras-shaped output"],
        "predict may return shape (n,) or (n, 1)": [
            "works with a model that returns shape (n, 1), like a Keras model",
            "a single grid point and a Keras-shaped output"],
        "leaves X unchanged (work on a copy)": [
            "leaves the caller's X unchanged", "a single grid point and a Keras-shaped output"],
    },
    PD2: {
        "returns a NumPy array of shape (len(grids[0]), len(grids[1])), grids possibly of different lengths": [
            "returns an array of shape (len(grids[0]), len(grids[1]))",
            "a 1 x 1 grid equals the 1-D answer with both features fixed"],
        "entry [i, j] is the average prediction with features[0] = grids[0][i] and features[1] = grids[1][j]": [
            "entry [i, j] is the mean prediction at (grids[0][i], grids[1][j])",
            "a 1 x 1 grid equals the 1-D answer with both features fixed"],
        "rows follow features[0]": [
            "rows follow features[0] even on a square grid", "features in reverse order: rows follow features[0]"],
        "predict and X as in exercise 2: predict may return shape (n, 1)": [
            "rows follow features[0] even on a square grid"],
        "leaves X unchanged": ["leaves the caller's X unchanged"],
    },
    ICE: {
        "returns a NumPy array of shape (n_rows, len(grid)), one curve per row of X": [
            "returns one curve per row: shape (n_rows, len(grid))"],
        "curve i is row i's prediction as the feature moves along the grid": [
            "curve i is the prediction for row i as the feature moves along the grid (not centred by default)",
            "the mean of the ICE curves is the partial dependence"],
        "centered defaults to False": [
            "curve i is the prediction for row i as the feature moves along the grid (not centred by default)"],
        "the PDP is the mean of the ICE curves": ["the mean of the ICE curves is the partial dependence"],
        "with centered=True every curve is 0 at grid[0] (each curve minus its value at the first grid value)": [
            "centred curves are each curve minus its value at grid[0]",
            "centring uses the first grid value, even when the grid is not sorted"],
        "predict may return shape (n, 1)": [
            "curve i is the prediction for row i as the feature moves along the grid (not centred by default)",
            "the mean of the ICE curves is the partial dependence"],
        "leaves X unchanged": ["leaves the caller's X unchanged"],
    },
}
