"""The chapter-1 grader grades: reference full marks, stub zero, wrong answers lose marks, other correct answers pass.

Every submission here is the real release notebook with its exercise cells
filled in, graded by the real grader (extraction, sandboxed worker, checks).
"""
import pytest

from autograder.checks import chapters, max_points
from autograder.grade import grade_notebook
from autograder.sandbox import Limits
from tests import grading_proofs as proofs
from tests.submissions import make_submission

CH = "ch01_pdp_ice"
EXERCISES = chapters()[CH]

WRONG = {
    "standardize": {
        "a list [x_train_std, x_test_std] instead of a tuple": """
            def standardize(x_train, x_test):
                m, s = x_train.mean(0), x_train.std(0)
                return [(x_train - m) / s, (x_test - m) / s]""",
        "test set with its own statistics": """
            def standardize(x_train, x_test):
                return ((x_train - x_train.mean(0)) / x_train.std(0),
                        (x_test - x_test.mean(0)) / x_test.std(0))""",
        "statistics of train and test together (leakage)": """
            def standardize(x_train, x_test):
                both = np.vstack([x_train, x_test])
                m, s = both.mean(0), both.std(0)
                return (x_train - m) / s, (x_test - m) / s""",
        "no centring": """
            def standardize(x_train, x_test):
                s = x_train.std(0)
                return x_train / s, x_test / s""",
        "wrong axis (per row)": """
            def standardize(x_train, x_test):
                m, s = x_train.mean(1, keepdims=True), x_train.std(1, keepdims=True)
                return (x_train - m) / s, (x_test - x_test.mean(1, keepdims=True)) / x_test.std(1, keepdims=True)""",
        "one mean for the whole array": """
            def standardize(x_train, x_test):
                m, s = x_train.mean(), x_train.std()
                return (x_train - m) / s, (x_test - m) / s""",
        "overwrites the caller's arrays": """
            def standardize(x_train, x_test):
                m, s = x_train.mean(0), x_train.std(0)
                x_train -= m; x_train /= s; x_test -= m; x_test /= s
                return x_train, x_test""",
    },
    "partial_dependence_1d": {
        "a list instead of an array": """
            def partial_dependence_1d(predict, X, feature, grid):
                out = []
                for v in grid:
                    Z = X.copy(); Z[:, feature] = v
                    out.append(float(np.mean(predict(Z))))
                return out""",
        "one row instead of the mean": """
            def partial_dependence_1d(predict, X, feature, grid):
                out = []
                for v in grid:
                    Z = X.copy(); Z[:, feature] = v
                    out.append(np.ravel(predict(Z))[0])
                return np.array(out)""",
        "median instead of mean": """
            def partial_dependence_1d(predict, X, feature, grid):
                out = []
                for v in grid:
                    Z = X.copy(); Z[:, feature] = v
                    out.append(np.median(predict(Z)))
                return np.array(out)""",
        "overwrites the caller's X": """
            def partial_dependence_1d(predict, X, feature, grid):
                out = []
                for v in grid:
                    X[:, feature] = v
                    out.append(np.mean(predict(X)))
                return np.array(out)""",
        "grid rebuilt with int() (the seed's bug)": """
            def partial_dependence_1d(predict, X, feature, grid):
                grid = np.linspace(int(np.min(grid)), int(np.max(grid)), len(grid))
                out = []
                for v in grid:
                    Z = X.copy(); Z[:, feature] = v
                    out.append(np.mean(predict(Z)))
                return np.array(out)""",
        "keeps the (n, 1) axis of a Keras output": """
            def partial_dependence_1d(predict, X, feature, grid):
                out = []
                for v in grid:
                    Z = X.copy(); Z[:, feature] = v
                    out.append(np.mean(predict(Z), axis=0))
                return np.array(out)""",
    },
    "partial_dependence_2d": {
        "a list of lists instead of an array (the text promises an array)": """
            def _pd_at(predict, X, features, u, v):
                Z = np.array(X, dtype=float)
                Z[:, features[0]], Z[:, features[1]] = u, v
                return np.asarray(predict(Z)).mean()

            def partial_dependence_2d(predict, X, features, grids):
                return [[_pd_at(predict, X, features, u, v) for v in grids[1]] for u in grids[0]]""",
        "transposed result": """
            def partial_dependence_2d(predict, X, features, grids):
                out = np.zeros((len(grids[1]), len(grids[0])))
                for i, u in enumerate(grids[0]):
                    for j, v in enumerate(grids[1]):
                        Z = X.copy(); Z[:, features[0]] = u; Z[:, features[1]] = v
                        out[j, i] = np.mean(predict(Z))
                return out""",
        "features swapped": """
            def partial_dependence_2d(predict, X, features, grids):
                out = np.zeros((len(grids[0]), len(grids[1])))
                for i, u in enumerate(grids[0]):
                    for j, v in enumerate(grids[1]):
                        Z = X.copy(); Z[:, features[1]] = u; Z[:, features[0]] = v
                        out[i, j] = np.mean(predict(Z))
                return out""",
        "one row instead of the mean": """
            def partial_dependence_2d(predict, X, features, grids):
                out = np.zeros((len(grids[0]), len(grids[1])))
                for i, u in enumerate(grids[0]):
                    for j, v in enumerate(grids[1]):
                        Z = X.copy(); Z[:, features[0]] = u; Z[:, features[1]] = v
                        out[i, j] = np.ravel(predict(Z))[0]
                return out""",
        "overwrites the caller's X": """
            def partial_dependence_2d(predict, X, features, grids):
                out = np.zeros((len(grids[0]), len(grids[1])))
                for i, u in enumerate(grids[0]):
                    for j, v in enumerate(grids[1]):
                        X[:, features[0]] = u; X[:, features[1]] = v
                        out[i, j] = np.mean(predict(X))
                return out""",
    },
    "ice_curves": {
        "transposed (grid, rows)": """
            def ice_curves(predict, X, feature, grid, centered=False):
                out = []
                for v in grid:
                    Z = X.copy(); Z[:, feature] = v
                    out.append(np.ravel(predict(Z)))
                out = np.array(out)
                return out - out[:1] if centered else out""",
        "centred on the last grid value": """
            def ice_curves(predict, X, feature, grid, centered=False):
                out = np.array([np.ravel(predict(np.where(np.arange(X.shape[1]) == feature, v, X))) for v in grid]).T
                return out - out[:, -1:] if centered else out""",
        "centred on each curve's minimum": """
            def ice_curves(predict, X, feature, grid, centered=False):
                out = np.array([np.ravel(predict(np.where(np.arange(X.shape[1]) == feature, v, X))) for v in grid]).T
                return out - out.min(axis=1, keepdims=True) if centered else out""",
        "centred on the PDP instead of each curve": """
            def ice_curves(predict, X, feature, grid, centered=False):
                out = np.array([np.ravel(predict(np.where(np.arange(X.shape[1]) == feature, v, X))) for v in grid]).T
                return out - out[:, 0].mean() if centered else out""",
        "always centred": """
            def ice_curves(predict, X, feature, grid, centered=False):
                out = np.array([np.ravel(predict(np.where(np.arange(X.shape[1]) == feature, v, X))) for v in grid]).T
                return out - out[:, :1]""",
        "overwrites the caller's X": """
            def ice_curves(predict, X, feature, grid, centered=False):
                out = []
                for v in grid:
                    X[:, feature] = v
                    out.append(np.ravel(predict(X)))
                out = np.array(out).T
                return out - out[:, :1] if centered else out""",
    },
}

CORRECT = {
    "standardize": {
        "StandardScaler": """
            from sklearn.preprocessing import StandardScaler

            def standardize(x_train, x_test):
                scaler = StandardScaler().fit(x_train)
                return scaler.transform(x_train), scaler.transform(x_test)""",
        "column loop with the sample std (ddof=1)": """
            def standardize(x_train, x_test):
                tr, te = np.empty_like(x_train, dtype=float), np.empty_like(x_test, dtype=float)
                for j in range(x_train.shape[1]):
                    m, s = x_train[:, j].mean(), x_train[:, j].std(ddof=1)
                    tr[:, j] = (x_train[:, j] - m) / s
                    te[:, j] = (x_test[:, j] - m) / s
                return tr, te""",
    },
    "partial_dependence_1d": {
        "plain loop over the grid": """
            def partial_dependence_1d(predict, X, feature, grid):
                values = []
                for v in grid:
                    Z = X.copy()
                    Z[:, feature] = v
                    values.append(float(np.mean(predict(Z))))
                return np.array(values)""",
        "mean of the ICE curves": None,  # filled below: uses the reference ice_curves
        "batched in float32, as a Keras model computes": """
            def partial_dependence_1d(predict, X, feature, grid):
                X = np.asarray(X, dtype=np.float32)
                grid = np.asarray(grid, dtype=np.float32)
                n, p = X.shape
                stacked = np.repeat(X[None], len(grid), axis=0)
                stacked[:, :, feature] = grid[:, None]
                out = np.asarray(predict(stacked.reshape(-1, p)), dtype=np.float32)
                return out.reshape(len(grid), n).mean(axis=1)""",
    },
    "partial_dependence_2d": {
        "double loop": """
            def partial_dependence_2d(predict, X, features, grids):
                out = np.zeros((len(grids[0]), len(grids[1])))
                for i, u in enumerate(grids[0]):
                    for j, v in enumerate(grids[1]):
                        Z = X.copy(); Z[:, features[0]] = u; Z[:, features[1]] = v
                        out[i, j] = np.mean(predict(Z))
                return out""",
        "nested loops through a helper": """
            def _pd_at(predict, X, features, u, v):
                Z = np.array(X, dtype=float)
                Z[:, features[0]], Z[:, features[1]] = u, v
                return np.asarray(predict(Z)).mean()

            def partial_dependence_2d(predict, X, features, grids):
                return np.array([[_pd_at(predict, X, features, u, v) for v in grids[1]] for u in grids[0]])""",
    },
    "ice_curves": {
        "loop over rows (slow but correct)": """
            def ice_curves(predict, X, feature, grid, centered=False):
                curves = np.zeros((X.shape[0], len(grid)))
                for i in range(X.shape[0]):
                    rows = np.tile(X[i], (len(grid), 1))
                    rows[:, feature] = grid
                    curves[i] = np.ravel(predict(rows))
                if centered:
                    curves -= curves[:, [0]]
                return curves""",
    },
}
CORRECT["partial_dependence_1d"]["mean of the ICE curves"] = """
    def partial_dependence_1d(predict, X, feature, grid):
        return ice_curves(predict, X, feature, grid).mean(axis=0)"""


def _scores(path):
    return proofs.scores(path, CH)


def test_reference_solution_scores_full_marks(tmp_path):
    proofs.reference_scores_full_marks(tmp_path, CH, ["answer_pdp_1d", "answer_pdp_2d", "answer_ice"])


def test_untouched_stub_scores_zero_and_says_not_attempted(tmp_path):
    proofs.stub_scores_zero(tmp_path, CH)


@pytest.mark.parametrize("exercise,variant", [(ex, v) for ex, vs in WRONG.items() for v in vs])
def test_wrong_variant_loses_marks(tmp_path, exercise, variant):
    proofs.wrong_variant_loses_marks(tmp_path, CH, exercise, WRONG[exercise][variant], variant)


@pytest.mark.parametrize("exercise,variant", [(ex, v) for ex, vs in CORRECT.items() for v in vs])
def test_correct_variant_keeps_full_marks(tmp_path, exercise, variant):
    proofs.correct_variant_keeps_full_marks(tmp_path, CH, exercise, CORRECT[exercise][variant])


def test_grading_is_reproducible(tmp_path):
    wrong = {"partial_dependence_1d": WRONG["partial_dependence_1d"]["median instead of mean"],
             "ice_curves": WRONG["ice_curves"]["centred on the last grid value"]}
    proofs.graded_reproducibly(tmp_path, CH, wrong)


def test_public_only_grading_runs_no_hidden_check(tmp_path):
    report = grade_notebook(make_submission(tmp_path, CH), include_hidden=False)
    checks = [r.check for rs in report.results.values() for r in rs]
    assert checks and not any(c.hidden for c in checks)
    assert report.score == report.max_score < sum(max_points(ex) for ex in EXERCISES)


@pytest.mark.parametrize("isolation", ["auto", "none"])
def test_the_graders_analytic_answers_are_out_of_reach(tmp_path, isolation):
    """A function that asks the grader's own answer module for the result gets nothing for it,
    with or without the file-system sandbox."""
    cheat = """
        def partial_dependence_1d(predict, X, feature, grid):
            answers = __import__("auto" + "grader.answers.ch01_pdp_ice", fromlist=["mean_with_fixed"])
            return np.array([answers.mean_with_fixed(predict, X, {feature: v}) for v in grid])"""
    report = grade_notebook(make_submission(tmp_path, CH, {"partial_dependence_1d": cheat}),
                            limits=Limits(isolation=isolation))
    assert report.exercise_scores()["partial_dependence_1d"] == 0
    assert "No module named" in report.results["partial_dependence_1d"][0].message
    assert not hasattr(__import__("autograder.testmodels.ch01_pdp_ice", fromlist=["QuadraticModel"]).QuadraticModel, "mean_with_fixed")


# ----------------------------------------------------------------------------- lazy submissions
LAZY = {
    "standardize": "def standardize(x_train, x_test):\n    return x_train, x_test",
    "partial_dependence_1d": "def partial_dependence_1d(predict, X, feature, grid):\n"
                             "    return np.full(len(grid), float(np.mean(predict(X))))",
    "partial_dependence_2d": "def partial_dependence_2d(predict, X, features, grids):\n"
                             "    return np.full((len(grids[0]), len(grids[1])), float(np.mean(predict(X))))",
    "ice_curves": "def ice_curves(predict, X, feature, grid, centered=False):\n"
                  "    p = np.asarray(predict(X), float).reshape(-1)\n"
                  "    return np.zeros((len(X), len(grid))) if centered else np.tile(p[:, None], (1, len(grid)))",
}


def test_a_lazy_submission_scores_at_most_a_tenth(tmp_path):
    """Inputs returned unchanged, one model call spread over the grid: shapes right, inputs unchanged,
    nothing computed."""
    proofs.lazy_scores_at_most_a_tenth(tmp_path, CH, LAZY, "one model call and unchanged inputs")


def test_answers_looked_up_from_the_public_checks_score_at_most_a_tenth(tmp_path):
    proofs.lookup_scores_at_most_a_tenth(tmp_path, CH)
