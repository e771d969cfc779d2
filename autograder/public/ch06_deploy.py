"""Public checks for chapter 6 (explanations beside a deployed model). Students see these.

Every run-store check makes its own MLflow store in a temporary folder where the student's code
runs (:class:`autograder.testmodels.ch06_deploy.NewRun` / ``LoggedRun``) and puts MLflow's previous
tracking URI back afterwards. The artifact format is the student's choice, so ``load_explanation``
is checked on what their own ``log_explanation`` wrote, and ``log_explanation`` on what their own
``load_explanation`` reads back plus what can be seen in the run whatever the format (which
feature names appear in its artifacts, where the comment is). Rankings are computed here, from the
values that come back: ``np.argsort(-|value|, kind="stable")``, as chapter 5 defines them.
"""
import re

import numpy as np

from autograder.checks import CheckFailed, StudentError, check, expect, expect_close
from autograder.testmodels.ch06_deploy import (AfterLog, CheckExplanation, LoggedRun, LogRun, ReadExplanation,
                                               ScoreReader, explanation_case, toy_rows, toy_service)

# The worker imports these before it forks (autograder.sandbox's fork server): MLflow takes seconds to
# import, and imlbook.ch06_deploy.warm makes the empty MLflow database once, so each check's store is a copy.
WORKER_PRELOAD = ("numpy", "pandas", "mlflow", "imlbook.ch06_deploy.store", "imlbook.ch06_deploy.warm")

LOG, LOAD, SCORE = "log_explanation", "load_explanation", "score"


def stable(text: str) -> str:
    """A message without what changes from one grading to the next (run ids, temporary folders), so the
    same submission always gets the same feedback."""
    # the store's folder first (the rest of the path is kept: it says which file), then the run ids
    text = re.sub(r"(sqlite:///|file://)?/\S*?ch06-check-[^/\s'\"]*", "<the check's store>", str(text))
    return re.sub(r"[0-9a-f]{32}", "<run id>", text)


def calling(call, **kwargs):
    """``call(**kwargs)``, with an error of the student's function reported in stable words."""
    try:
        return call(**kwargs)
    except StudentError as exc:
        raise StudentError(stable(exc.summary), stable(exc.where)) from None


def ranked(names, values):
    """Names ranked by |value|, largest first, ties in feature order."""
    order = np.argsort(-np.abs(np.asarray(values, dtype=float)), kind="stable")
    return [names[j] for j in order]


def expected_top_k(explanation: CheckExplanation, top_k=None):
    """``{name: (global value, local column or None)}`` of the features a top_k explanation keeps."""
    names = explanation.feature_names
    keep = ranked(names, explanation.global_values)[:top_k]
    logged_columns = explanation.local_values
    return {name: (explanation.global_values[names.index(name)],
                   None if logged_columns is None else logged_columns[:, names.index(name)]) for name in keep}


EXACT = ("store full precision: no rounding (json keeps every digit of a Python float; CSV needs "
         "float_format='%.17g')")


def expect_same(got, want, message: str, hint: str = EXACT, atol: float = 1e-9):
    """``got`` equals ``want`` to ``atol`` (what a float64 keeps through JSON, .npz or a 17-digit CSV is exact):
    the failure shows both numbers with every digit, since rounding to 6 decimals looks equal in short print."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    expect(got.shape == want.shape, f"{message}: shape {got.shape}, expected {want.shape}", hint)
    off = np.abs(got - want)
    if not np.all(off <= atol):
        at = np.unravel_index(np.nanargmax(np.where(np.isnan(off), np.inf, off)), off.shape) if off.ndim else ()
        where = f"e.g. at index {tuple(int(i) for i in at)}: " if off.ndim else ""
        raise CheckFailed(f"{message} ({where}got {float(got[at])!r}, expected {float(want[at])!r})", hint)


def compare_loaded(got, explanation: CheckExplanation, top_k, what: str, hint: str = ""):
    """Fail unless ``got`` (a :class:`ReadExplanation` tuple) is ``explanation`` reduced to its top_k
    features: same names with the same values, ranked like the original, method and expected value kept."""
    if isinstance(got, str):
        raise CheckFailed(f"{what}: {stable(got)}", hint)
    cls, is_explanation, names, global_values, local, expected, method = got
    expect(is_explanation == "yes", f"{what} should be an Explanation (chapter 5's class), got a {cls}",
           hint="return Explanation(feature_names, global_values, local_values, expected_value, method)")
    keep = expected_top_k(explanation, top_k)
    names = list(names or ())
    if sorted(names) != sorted(keep):
        extra = [n for n in names if n not in keep]
        raise CheckFailed(f"{what} has the features {names}; expected the {len(keep)} most important: "
                          f"{ranked(list(keep), [v for v, _ in keep.values()])}"
                          + (f" (not {extra}: they are not among the top {top_k} by |global value|)" if extra and top_k else ""),
                          hint="keep the top_k features with the largest |global value| (np.argsort(-np.abs(...), "
                               "kind='stable')[:top_k]); signs do not count")
    global_values = np.asarray(global_values, dtype=float).reshape(-1)
    expect(global_values.shape == (len(names),), f"{what}: {len(names)} names but {global_values.size} global values")
    expect_same(global_values, [keep[n][0] for n in names], f"{what}: the global values do not come back as they were logged")
    expect(ranked(names, global_values) == ranked(explanation.feature_names, explanation.global_values)[:len(keep)],
           f"{what} does not rank the features like the original")
    if explanation.local_values is None:
        expect(local is None, f"{what}: the logged explanation had no local values, but some came back")
    else:
        expect(local is not None, f"{what}: the local values did not come back (local_values is None)",
               hint="store the local values (n rows x the kept features) and pass them to Explanation")
        local = np.asarray(local, dtype=float)
        n = explanation.local_values.shape[0]
        expect(local.shape == (n, len(names)), f"{what}: local values of shape {local.shape}, expected ({n}, {len(names)})")
        expect_same(local, np.column_stack([keep[name][1] for name in names]),
                    f"{what}: the local values do not come back as they were logged (column by feature name)",
                    hint="keep each kept feature's whole column of local values, every row, at full precision")
        for i, row in enumerate(local):             # per row: ties (row 1 of every case) keep the feature order
            want = [name for name in ranked(explanation.feature_names, explanation.local_values[i]) if name in keep]
            got_rank = ranked(names, row)
            expect(got_rank == want, f"{what}: row {i} ranks its features {got_rank} by |local value|; the original "
                                     f"ranks them {want}",
                   hint="keep the kept features in their original order (np.sort the kept indices): a tie inside a "
                        "row is broken by that order, so reordering the features changes the row's ranking")
    expect(method == str(explanation.method), f"{what}: method {method!r}, expected {explanation.method!r}",
           hint="store the explanation's method and give it back")
    want = explanation.expected_value
    if want is None:
        expect(expected is None, f"{what}: expected value {expected}, expected None")
    else:
        expect(expected is not None, f"{what}: the expected value was lost (None), expected {want}",
               hint="store explanation.expected_value and give it back")
        expect_same(expected, want, f"{what}: the expected value does not come back", atol=1e-12)


def log_and_read(call, explanation, top_k=None, comment="kernel shap on 6 test rows", as_id=False):
    run = LogRun(as_id=as_id)
    return calling(call, explanation=explanation, run=run, comment=comment, top_k=top_k, _then=AfterLog(run))


def expect_error(call, kind: str, error: str, what: str, hint: str, **kwargs):
    """The student's function must raise ``error`` (a class name) and name the run id in its message."""
    try:
        got = call(**kwargs)
    except StudentError as exc:
        expect(exc.summary.startswith(error + ":") or exc.summary == error,
               f"{what} should raise {error}, got {stable(exc.summary)}", hint)
        run_id = "0123456789abcdef" * 2 if kind == "missing" else None
        if run_id is not None:
            expect(run_id in exc.summary, f"the {error} should name the run id {run_id}, got {stable(exc.summary)}",
                   hint="put the run id in the message, e.g. f'no run with id {run_id!r}'")
        return stable(exc.summary)
    raise CheckFailed(f"{what} should raise {error}, but it returned {type(got).__name__}", hint)


# ---------------------------------------------------------------------------
# log_explanation
# ---------------------------------------------------------------------------
@check(LOG, "returns the run id; your load_explanation gets the whole explanation back")
def _(call):
    explanation = explanation_case(1)
    got = log_and_read(call, explanation)
    returned, run_id = got[0], got[1]
    expect(returned == run_id, f"log_explanation should return the run's id, got "
                               f"{stable(returned) if returned.startswith('<') else 'another string: ' + stable(repr(returned))[:80]}",
           hint="return the id of the run you logged to (run.info.run_id for a Run)")
    expect(got[2] is not None, "no artifact was logged to the run",
           hint="log the explanation as an artifact of the run: MlflowClient().log_dict(run_id, ..., 'explanation/...')")
    compare_loaded(got[4], explanation, None, "what your load_explanation reads back")


@check(LOG, "with top_k, only the top_k features are stored (ties in feature order): the others' names appear in no artifact")
def _(call):
    explanation = explanation_case(2)
    got = log_and_read(call, explanation, top_k=4)      # 3 features above the tie of features 0 and 5 (1.5)
    keep = list(expected_top_k(explanation, 4))
    dropped = [n for n in explanation.feature_names if n not in keep]
    found = [n for n in dropped if n in got[3]]
    expect(not found, f"with top_k=4 the run's artifacts still mention {found}, which are not among the 4 most "
                      f"important features {keep}", hint="store only the top_k features (largest |global value|, "
                                                          "ties in feature order), globally and in the local values")
    missing = [n for n in keep if n not in got[3]]
    expect(not missing, f"with top_k=4 the artifacts do not mention {missing}, which are among the 4 most important",
           hint="rank by |global value| (signs do not count), largest first, ties in feature order "
                "(np.argsort(-np.abs(g), kind='stable'))")
    compare_loaded(got[4], explanation, 4, "what your load_explanation reads back after top_k=4")


@check(LOG, "the comment is stored with the run (in an artifact, a tag or a param)")
def _(call):
    comment = "kernel shap, 6 test rows, check 7f3a"
    got = log_and_read(call, explanation_case(3), comment=comment)
    expect(comment in got[3], f"the comment {comment!r} is in none of the run's artifacts, tags or params",
           hint="store it with the explanation, or as a tag: MlflowClient().set_tag(run_id, 'explanation.comment', comment)")


# ---------------------------------------------------------------------------
# load_explanation
# ---------------------------------------------------------------------------
def load(call, explanation, top_k=None, log_top_k=None):
    return calling(call, run_id=LoggedRun(explanation, log_top_k=log_top_k), top_k=top_k,
                   _inject={"Explanation": CheckExplanation}, _then=ReadExplanation())


@check(LOAD, "returns an Explanation with the logged names, values, expected value and method")
def _(call):
    explanation = explanation_case(16)                  # row 1's tie (features 2, 4): |global| ranks 4 above 2
    compare_loaded(load(call, explanation), explanation, None, "the loaded explanation")


@check(LOAD, "with top_k: the top_k most important features, ranked exactly as in the original")
def _(call):
    explanation = explanation_case(12)
    # one feature above the tie of features 0 and 5 (1.5): top_k=2 cuts between them, keeping feature 0
    compare_loaded(load(call, explanation, top_k=2), explanation, 2, "load_explanation(run_id, top_k=2)")


@check(LOAD, "a run id that names no run raises RunNotFoundError naming the run")
def _(call):
    expect_error(call, "missing", "RunNotFoundError", "load_explanation of a run id that no run has",
                 hint="look the run up first (get_run(run_id)): it raises RunNotFoundError",
                 run_id=LoggedRun(kind="missing"), top_k=None, _inject={"Explanation": CheckExplanation},
                 _then=ReadExplanation())


# ---------------------------------------------------------------------------
# score
# ---------------------------------------------------------------------------
def score_case(call, seed, n=5, shuffled=False, labels=None, frame=False):
    model, explainer = toy_service(seed, labels)
    reference_model, reference = toy_service(seed, labels)      # a copy: the call's own counts stay at 0
    rows = toy_rows(seed, n, shuffled)
    expected_values = reference.explain(rows)
    expected_predictions = reference_model.predict(reference.schema.frame(rows)).tolist()
    if frame:
        import pandas as pd
        rows = pd.DataFrame(rows)
    out = call(rows=rows, model=model, scoring_explainer=explainer, _then=ScoreReader())
    if len(out) == 1:
        raise CheckFailed(f"score should return a dict, got a {out[0].strip('<>')}",
                          hint='return {"predictions": ..., "local_importance_values": ..., "feature_names": ...}')
    return out, explainer, expected_values, [str(p) for p in expected_predictions]


def expected_prediction_types(seed, labels=None):
    """The Python types of ``np.asarray(model.predict(rows)).tolist()`` for :func:`score_case`'s model:
    what the predictions must hold (an int label stays an int, a string label a str)."""
    model, explainer = toy_service(seed, labels)
    predictions = np.asarray(model.predict(explainer.schema.frame(toy_rows(seed, 5)))).tolist()
    return sorted({type(p).__name__ for p in predictions})


KEYS = ["feature_names", "local_importance_values", "predictions"]


def expect_answer(out, explainer, values, predictions, what="score(rows, ...)"):
    keys, _, _, _, _, got_predictions, got_values, names = out[:8]
    expect(list(keys) == KEYS, f"{what} has the keys {list(keys)}, expected exactly {KEYS}")
    expect(names is not None and list(names) == explainer.feature_names,
           f"{what}['feature_names'] is {None if names is None else list(names)}, expected the explainer's "
           f"feature names in its order {explainer.feature_names}",
           hint="use scoring_explainer.feature_names, not the order of the keys in the rows")
    expect(got_predictions is not None and list(got_predictions) == predictions,
           f"{what}['predictions'] is {got_predictions}, expected {predictions} (model.predict on the rows)")
    expect(got_values is not None and np.shape(got_values) == np.shape(values),
           f"{what}['local_importance_values'] should be {len(values)} lists of {values.shape[1]} numbers, got "
           f"{'something that is not numbers' if got_values is None else f'shape {np.shape(got_values)}'}")
    expect_close(got_values, values, f"{what}['local_importance_values'] is not scoring_explainer.explain(rows), "
                                     "row by row, in the order of feature_names",
                 hint="pass the rows, as a DataFrame with the model's columns in order "
                      "(scoring_explainer.schema.frame(rows)), to scoring_explainer.explain", rtol=0, atol=1e-9)


@check(SCORE, "returns predictions, local importance values and feature names of the whole batch")
def _(call):
    out, explainer, values, predictions = score_case(call, 1)
    expect_answer(out, explainer, values, predictions)


@check(SCORE, "plain JSON-serialisable Python values (lists, int, float, str: no numpy types)")
def _(call):
    out, explainer, values, predictions = score_case(call, 2)
    _, text, prediction_types, value_types, name_types = out[:5]
    expect(not text.startswith("not JSON"), f"json.dumps(score(...)) fails: {text[len('not JSON: '):]}",
           hint="convert numpy arrays with .tolist() (it turns numpy scalars into int, float and str)")
    # each key its own types: a str where a number belongs is JSON too, but not what the service promises
    for what, types, allowed, say in (
            ("predictions", prediction_types, set(expected_prediction_types(2)),
             "the Python type of model.predict's labels (" + "/".join(expected_prediction_types(2)) + ")"),
            ("local_importance_values", value_types, {"float", "int"}, "a list of lists of float"),
            ("feature_names", name_types, {"str"}, "a list of str")):
        odd = [t for t in types if t not in allowed]
        expect(not odd, f"score(...)['{what}'] holds {odd} values, expected {say}",
               hint="np.asarray(...).tolist() gives plain Python values of the right type: a numpy array or "
                    "np.int64 is not JSON, and a label or a number turned into str is not what was predicted")


@check(SCORE, "feature names and values in the explainer's order, whatever the order of the keys in each row")
def _(call):
    out, explainer, values, predictions = score_case(call, 3, shuffled=True)
    expect_answer(out, explainer, values, predictions, "score(rows whose keys are in another order, ...)")
