"""Hidden checks for chapter 6: the instructor's copy only, never shipped to students.

The public checks show students what is asked, on inputs they can read: each carries 0.125 points,
so that answers looked up from them earn little (issue 18). These checks carry the points: more cases
of the public checks on other explanations (a run id instead of a Run, a global-only explanation, a
vector expected value, 24 features with ties and names out of alphabetical order, top_k = p) and the
rules the public checks leave out (the input unchanged, the errors, one explainer call per batch, a
DataFrame of rows, string labels). A property that a do-nothing answer has (an error raised, the input
unchanged) is only checked together with a round trip that gives the explanation back.
"""
import re

import numpy as np

from autograder.checks import CheckFailed, check, expect
from autograder.public.ch06_deploy import (LOAD, LOG, SCORE, compare_loaded, expect_answer, expect_error,
                                           expected_top_k, load, log_and_read, ranked, score_case)
from autograder.testmodels.ch06_deploy import (CheckExplanation, CorruptExplanationError, LoggedRun, LogRun,
                                               ReadExplanation, explanation_case, tied_case)


def logged_back(call, explanation, top_k=None, comment="check", as_id=False, what=""):
    """Log with the student's log_explanation, read back with their load_explanation, compare; return what
    AfterLog read."""
    got = log_and_read(call, explanation, top_k=top_k, comment=comment, as_id=as_id)
    compare_loaded(got[4], explanation, top_k, what or f"what your load_explanation reads back"
                                                       f"{'' if top_k is None else f' after top_k={top_k}'}")
    return got


def expect_only_top_k(got, explanation, top_k):
    """The artifacts (read as their format says) name the top_k features and none of the others."""
    keep = list(expected_top_k(explanation, top_k))
    dropped = [n for n in explanation.feature_names if n not in keep]
    found = [n for n in dropped if n in got[3]]
    order = ranked(explanation.feature_names, explanation.global_values)
    if found and sorted(found) != sorted(dropped):
        unstable = [n for n in order[top_k:] if n in found]
        raise CheckFailed(f"with top_k={top_k} the run's artifacts mention {found[:6]}, which are not among the "
                          f"{top_k} most important features (ties at the cut keep the feature order)",
                          hint="np.argsort(-np.abs(g), kind='stable')[:top_k]: NumPy's default sort is not stable "
                               "above 16 elements, and tied features are not ordered by name"
                          if unstable else "store only the top_k features")
    expect(not found, f"with top_k={top_k} the run's artifacts still mention the dropped features {found[:6]}",
           hint="store only the top_k features, globally and in the local values")
    missing = [n for n in keep if n not in got[3]]
    expect(not missing, f"with top_k={top_k} the artifacts do not mention {missing[:6]}, which are among the "
                        f"{top_k} most important")


# ---------------------------------------------------------------------------
# log_explanation
# ---------------------------------------------------------------------------
@check(LOG, "a run id works like a Run; a global-only explanation and a vector expected value", points=1.5,
       hidden=True)
def _(call):
    explanation = explanation_case(4, local=False, expected=[0.25, 0.75], method="permutation importance")
    got = log_and_read(call, explanation, as_id=True)
    expect(got[0] == got[1], "log_explanation(..., run=<run id>) should return that id, got "
                             + (got[0] if got[0].startswith("<") else "another string"),
           hint="accept a run id string as well as a Run: run_id_of(run)")
    compare_loaded(got[4], explanation, None, "a global-only explanation read back by your load_explanation")


@check(LOG, "top_k on 20 features with ties and negative values: the top_k by |global value| are kept",
       points=1.5, hidden=True)
def _(call):
    explanation = explanation_case(5, n_features=20, n_rows=3)
    logged_back(call, explanation, top_k=10)     # 9 features above the tie of features 0 and 5: cut between


@check(LOG, "the explanation passed in is not changed", points=0.5, hidden=True)
def _(call):
    explanation = explanation_case(6)
    got = logged_back(call, explanation, top_k=2)
    global_after, local_after = got[5]
    expect(np.array_equal(global_after, explanation.global_values)
           and np.array_equal(local_after, explanation.local_values),
           "log_explanation changed the explanation it was given (its global or local values)",
           hint="select the kept features into new arrays; never sort or overwrite explanation.global_values")


@check(LOG, "logging to a run id that names no run raises RunNotFoundError", points=0.5, hidden=True)
def _(call):
    logged_back(call, explanation_case(7))
    expect_error(call, "missing", "RunNotFoundError", "log_explanation to a run id that no run has",
                 hint="look the run up first (get_run(run_id)): it raises RunNotFoundError",
                 explanation=explanation_case(7), run=LoggedRun(kind="missing"), comment="", top_k=None)


@check(LOG, "a top_k that is not between 1 and the number of features raises ValueError; top_k = p keeps all",
       points=0.625, hidden=True)
def _(call):
    explanation = explanation_case(8)
    p = len(explanation.feature_names)
    logged_back(call, explanation, top_k=p)
    for top_k in (0, -2, p + 1):
        expect_error(call, "", "ValueError", f"log_explanation(..., top_k={top_k}) of {p} features",
                     hint="check top_k first: raise ValueError unless 1 <= top_k <= len(explanation.feature_names)",
                     explanation=explanation, run=LogRun(), comment="", top_k=top_k)


@check(LOG, "another explanation comes back whole, with its comment", points=1.5, hidden=True)
def _(call):
    explanation = explanation_case(9, n_rows=4, n_features=6, prefix="col", method="shap.LinearExplainer (hidden)")
    comment = "linear shap, 4 rows, check c91e"
    got = logged_back(call, explanation, comment=comment)
    expect(got[0] == got[1], "log_explanation should return the run's id")
    expect(comment in got[3], f"the comment {comment!r} is in none of the run's artifacts, tags or params",
           hint="store it with the explanation, or as a tag")


@check(LOG, "24 features, ties at the top_k cut and inside it, names out of alphabetical order", points=1.5,
       hidden=True)
def _(call):
    for seed, top_k in ((3, 8), (13, 10)):
        explanation = tied_case(seed)
        got = log_and_read(call, explanation, top_k=top_k)
        expect_only_top_k(got, explanation, top_k)
        compare_loaded(got[4], explanation, top_k, f"what your load_explanation reads back after top_k={top_k} "
                                                   "of 24 features with ties")


# ---------------------------------------------------------------------------
# load_explanation
# ---------------------------------------------------------------------------
@check(LOAD, "a run without an explanation raises NoExplanationError naming the run", points=0.75, hidden=True)
def _(call):
    explanation = explanation_case(18)
    compare_loaded(load(call, explanation), explanation, None, "the loaded explanation")
    summary = expect_error(call, "empty", "NoExplanationError", "load_explanation of a run with nothing logged",
                           hint="list the run's artifacts (MlflowClient().list_artifacts(run_id, ...)); none: "
                                "raise NoExplanationError", run_id=LoggedRun(kind="empty"), top_k=None,
                           _inject={"Explanation": CheckExplanation}, _then=ReadExplanation())
    expect("<run id>" in summary, f"the error should name the run that has no explanation (its id), got {summary}",
           hint="put the run id in the message, e.g. f'run {run_id} has no explanation'")


@check(LOAD, "a corrupt artifact raises CorruptExplanationError naming the run, from the parsing error",
       points=0.75, hidden=True)
def _(call):
    explanation = explanation_case(19, local=False)
    compare_loaded(load(call, explanation), explanation, None, "the loaded explanation")
    summary = expect_error(call, "corrupt", "CorruptExplanationError",
                           "load_explanation of a run whose artifact is corrupt",
                 hint="wrap reading and parsing the artifact in try/except and raise CorruptExplanationError "
                      "from the error", run_id=LoggedRun(explanation_case(13), kind="corrupt"), top_k=None,
                 _inject={"Explanation": CheckExplanation, "CorruptExplanationError": CorruptExplanationError},
                 _then=ReadExplanation())
    # the injected class starts its message with what it was raised from (absent when the answer raised the
    # store's class under another name: then __cause__ cannot be seen and is not held against it)
    cause = re.match(r"CorruptExplanationError: \[from (\w+)\] ?", summary)
    summary = summary if cause is None else "CorruptExplanationError: " + summary[cause.end():]
    expect(cause is None or cause.group(1) != "nothing",
           f"the CorruptExplanationError was not raised from the parsing error (its __cause__ is None): {summary}",
           hint="raise CorruptExplanationError(...) from error, inside `except Exception as error:`, so the "
                "traceback shows what could not be parsed")
    expect("<run id>" in summary, f"the error should name the run whose artifact is corrupt (its id), got {summary}",
           hint="put the run id in the message, e.g. f'run {run_id}: the explanation is corrupt ({error})'")


@check(LOAD, "a global-only explanation and a vector expected value come back", points=1.5, hidden=True)
def _(call):
    explanation = explanation_case(14, local=False, expected=[0.1, 0.9], method="surrogate tree")
    compare_loaded(load(call, explanation), explanation, None, "the loaded global-only explanation")


@check(LOAD, "no expected value (None) comes back as None; a top_k larger than what log_explanation stored",
       points=1.25, hidden=True)
def _(call):
    explanation = explanation_case(17, expected=None)
    compare_loaded(load(call, explanation), explanation, None, "the loaded explanation without an expected value")
    compare_loaded(load(call, explanation, top_k=5, log_top_k=3), explanation, 3,
                   "load_explanation(run_id, top_k=5) of a run where log_explanation stored top_k=3 features")


@check(LOAD, "top_k on 20 features and a top_k larger than what was logged", points=1.5, hidden=True)
def _(call):
    explanation = explanation_case(15, n_features=20, n_rows=4)
    # 9 features above the tie of features 0 and 5: top_k=10 cuts between them
    compare_loaded(load(call, explanation, top_k=10), explanation, 10, "load_explanation(run_id, top_k=10)")
    compare_loaded(load(call, explanation, top_k=25), explanation, None,
                   "load_explanation(run_id, top_k=25) of 20 features (all of them)")


@check(LOAD, "24 features with ties, names out of alphabetical order: top_k cuts, top_k = p; top_k < 1 raises "
             "ValueError; a missing run", points=1.875, hidden=True)
def _(call):
    explanation = tied_case(8)
    compare_loaded(load(call, explanation, top_k=8), explanation, 8,
                   "load_explanation(run_id, top_k=8) of 24 features with ties",
                   hint="np.argsort(-np.abs(g), kind='stable')[:top_k]: NumPy's default sort is not stable above "
                        "16 elements, and tied features are not ordered by name")
    compare_loaded(load(call, explanation, top_k=24), explanation, 24, "load_explanation(run_id, top_k=24) of 24 "
                   "features")
    for top_k in (0, -1):
        expect_error(call, "", "ValueError", f"load_explanation(run_id, top_k={top_k})",
                     hint="raise ValueError unless top_k is None or a positive integer",
                     run_id=LoggedRun(explanation_case(20)), top_k=top_k,
                     _inject={"Explanation": CheckExplanation}, _then=ReadExplanation())
    expect_error(call, "missing", "RunNotFoundError", "load_explanation of a run id that no run has",
                 hint="look the run up first (get_run(run_id)): it raises RunNotFoundError",
                 run_id=LoggedRun(kind="missing"), top_k=None, _inject={"Explanation": CheckExplanation},
                 _then=ReadExplanation())


# ---------------------------------------------------------------------------
# score
# ---------------------------------------------------------------------------
@check(SCORE, "one explainer call and one model call for the whole batch", points=1.5, hidden=True)
def _(call):
    out, explainer, values, predictions = score_case(call, 4, n=12)
    expect_answer(out, explainer, values, predictions)
    explain_calls, model_calls, rows_seen = out[8], out[9], out[10]
    expect(explain_calls == 1 and rows_seen == 12,
           f"scoring_explainer.explain was called {explain_calls:g} times for 12 rows, expected once for the batch",
           hint="pass all rows to explain at once: it is batched (one call per row is what makes a service slow)")
    expect(model_calls == 1, f"model.predict was called {model_calls:g} times for 12 rows, expected once",
           hint="predict the whole batch at once")


@check(SCORE, "a DataFrame of rows works like a list of objects", points=1.25, hidden=True)
def _(call):
    out, explainer, values, predictions = score_case(call, 5, frame=True)
    expect_answer(out, explainer, values, predictions, "score(a DataFrame of rows, ...)")


@check(SCORE, "string labels come back as str", points=1.25, hidden=True)
def _(call):
    out, explainer, values, predictions = score_case(call, 6, labels=np.array(["<=50K", ">50K"]))
    expect_answer(out, explainer, values, predictions, "score(...) of a model with string labels")
    expect(list(out[2]) == ["str"], f"the predictions hold {list(out[2])} values, expected str",
           hint="np.asarray(model.predict(frame)).tolist() turns numpy strings into str")


@check(SCORE, "another service, keys in another order: right values as plain JSON types", points=1.625, hidden=True)
def _(call):
    out, explainer, values, predictions = score_case(call, 7, n=7, shuffled=True)
    expect_answer(out, explainer, values, predictions, "score(rows whose keys are in another order, ...)")
    _, text, prediction_types, value_types, name_types = out[:5]
    expect(not text.startswith("not JSON"), f"json.dumps(score(...)) fails: {text[len('not JSON: '):]}",
           hint="convert numpy arrays with .tolist()")
    for what, types, allowed in (("predictions", prediction_types, {"int"}),
                                 ("local_importance_values", value_types, {"float"}),
                                 ("feature_names", name_types, {"str"})):
        odd = [t for t in types if t not in allowed]
        expect(not odd, f"score(...)['{what}'] holds {odd} values, expected {' or '.join(sorted(allowed))}",
               hint="np.asarray(...).tolist() gives plain Python values of the right type")


CONTRACT = {
    LOG: {
        "returns the run id": ["returns the run id; your load_explanation gets the whole explanation back",
                               "a run id works like a Run; a global-only explanation and a vector expected value",
                               "another explanation comes back whole, with its comment"],
        "run is an MLflow Run or a run id": ["returns the run id; your load_explanation gets the whole explanation back",
                                             "a run id works like a Run; a global-only explanation and a vector expected value"],
        "logged as artifacts of the run, read back whole by load_explanation (names, global and local values, "
        "expected value, method)": ["returns the run id; your load_explanation gets the whole explanation back",
                                    "a run id works like a Run; a global-only explanation and a vector expected value",
                                    "another explanation comes back whole, with its comment"],
        "with top_k only the top_k features by |global value| are stored, globally and in the local values "
        "(signs do not count; ties keep the feature order, whatever the names, above 16 features too)":
            ["with top_k, only the top_k features are stored (ties in feature order): the others' names appear in no artifact",
             "top_k on 20 features with ties and negative values: the top_k by |global value| are kept",
             "24 features, ties at the top_k cut and inside it, names out of alphabetical order"],
        "top_k = p stores every feature": [
            "a top_k that is not between 1 and the number of features raises ValueError; top_k = p keeps all"],
        "the comment is stored with the run": ["the comment is stored with the run (in an artifact, a tag or a param)",
                                               "another explanation comes back whole, with its comment"],
        "the explanation passed in is not changed": ["the explanation passed in is not changed"],
        "a run id of no run raises RunNotFoundError": ["logging to a run id that names no run raises RunNotFoundError"],
        "names and values come back exactly (full-precision floats, expected value 0.1 + 1/3)":
            ["returns the run id; your load_explanation gets the whole explanation back"],
        "top_k outside 1..p raises ValueError":
            ["a top_k that is not between 1 and the number of features raises ValueError; top_k = p keeps all"],
    },
    LOAD: {
        "returns an Explanation (chapter 5's class) with names, method and expected value kept":
            ["returns an Explanation with the logged names, values, expected value and method",
             "a global-only explanation and a vector expected value come back",
             "no expected value (None) comes back as None; a top_k larger than what log_explanation stored"],
        # compare_loaded compares the global ranking and, row by row, the ranking by |local value| restricted
        # to the kept features (every case's row 1 ties features 2 and 4)
        "the reloaded explanation ranks exactly like the original (global and per row)":
            ["returns an Explanation with the logged names, values, expected value and method",
             "with top_k: the top_k most important features, ranked exactly as in the original",
             "24 features with ties, names out of alphabetical order: top_k cuts, top_k = p; top_k < 1 raises "
             "ValueError; a missing run"],
        "with top_k only the top_k most important features; all stored ones when top_k is None or larger":
            ["with top_k: the top_k most important features, ranked exactly as in the original",
             "top_k on 20 features and a top_k larger than what was logged",
             "no expected value (None) comes back as None; a top_k larger than what log_explanation stored"],
        "top_k < 1 raises ValueError":
            ["24 features with ties, names out of alphabetical order: top_k cuts, top_k = p; top_k < 1 raises "
             "ValueError; a missing run"],
        "a missing run raises RunNotFoundError naming the run":
            ["a run id that names no run raises RunNotFoundError naming the run",
             "24 features with ties, names out of alphabetical order: top_k cuts, top_k = p; top_k < 1 raises "
             "ValueError; a missing run"],
        "a run without an explanation raises NoExplanationError naming the run":
            ["a run without an explanation raises NoExplanationError naming the run"],
        "a corrupt artifact raises CorruptExplanationError naming the run, raised from the parsing error":
            ["a corrupt artifact raises CorruptExplanationError naming the run, from the parsing error"],
    },
    SCORE: {
        "returns a dict with exactly predictions, local_importance_values, feature_names (in any key order)":
            ["returns predictions, local importance values and feature names of the whole batch",
             "another service, keys in another order: right values as plain JSON types"],
        "predictions are model.predict on the rows; local values are scoring_explainer.explain on the rows":
            ["returns predictions, local importance values and feature names of the whole batch",
             "one explainer call and one model call for the whole batch",
             "another service, keys in another order: right values as plain JSON types"],
        "plain JSON-serialisable Python values": ["plain JSON-serialisable Python values (lists, int, float, str: no numpy types)",
                                                  "string labels come back as str",
                                                  "another service, keys in another order: right values as plain JSON types"],
        "each key its own types: predictions keep model.predict's Python type (an int label stays int, a string "
        "label str), local values float, names str":
            ["plain JSON-serialisable Python values (lists, int, float, str: no numpy types)",
             "string labels come back as str",
             "another service, keys in another order: right values as plain JSON types"],
        "feature_names in the explainer's order, the values' columns in that order, whatever the order of each "
        "row's keys":
            ["feature names and values in the explainer's order, whatever the order of the keys in each row",
             "another service, keys in another order: right values as plain JSON types"],
        "rows: a list of JSON objects or a DataFrame": ["a DataFrame of rows works like a list of objects"],
        "one batched explainer call and one model call, never one per row":
            ["one explainer call and one model call for the whole batch"],
    },
}
