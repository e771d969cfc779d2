"""Feedback a student can act on (issue 18 §4): tables that render, the student's own line, hints that
match the failure, a class report grouped by exercise and student, grades.csv that says what it adds up,
feedback written when asked, and a marking sheet without solution markers or placeholders."""
from __future__ import annotations

import csv
import json
import linecache
import subprocess
import sys

import numpy as np
import pytest

from autograder import manual
from autograder.batch import write_class_csv
from autograder.checks import (Check, CheckFailed, CheckResult, StudentError, chapters, expect_close,
                               expect_shape, explain_by_earlier, invoke)
from autograder.grade import Report
from autograder.report import build_report
from tests.submissions import ROOT, stub_submission


def _check(name, points=1.0, exercise="global_importance", hidden=False):
    return Check(exercise, name, points, lambda call: None, hidden, "ch03_shap")


def _cells(markdown: str):
    """Rows of the first table in ``markdown`` as rendered by a CommonMark parser: lists of cell texts."""
    from markdown_it import MarkdownIt
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows, row, cell = [], None, None
    for t in tokens:
        if t.type == "tr_open":
            row = []
        elif t.type in ("td_open", "th_open"):
            cell = []
        elif t.type == "inline" and cell is not None:
            cell.append("".join(c.content for c in t.children if c.type in ("text", "code_inline", "html_inline")))
        elif t.type in ("td_close", "th_close"):
            row.append("".join(cell))
            cell = None
        elif t.type == "tr_close":
            rows.append(row)
    return rows


def test_feedback_table_keeps_bars_and_placeholders_when_rendered():
    results = [CheckResult(_check("mean |value| per feature, sorted"), "failed",
                           "wrong |weights| in '<the check's store>/mlruns/0/<run id>/artifacts/e.json'", "a|b"),
               CheckResult(_check("passes"), "passed")]
    report = Report("nb.ipynb", "ch03_shap", {"global_importance": results})
    rows = _cells(report.feedback_markdown())
    assert rows[0] == ["check", "points", "result"]
    assert all(len(r) == 3 for r in rows), rows
    assert rows[1][0] == "mean |value| per feature, sorted" and rows[1][1] == "0 / 1"
    assert "'<the check's store>/mlruns/0/<run id>/artifacts/e.json'" in rows[1][2]
    assert rows[1][2].endswith("hint: a|b")


def test_the_students_own_line_is_shown_when_a_library_raises():
    source = "import numpy as np\ndef invert(a):\n    b = a + 1\n    return np.linalg.inv(b)\n"
    for filename, says in (("<submission>", "line 4 of your code"), ("<cell-7>", "line 4: return np.linalg.inv(b)")):
        linecache.cache.pop("<cell-7>", None)
        if filename == "<cell-7>":  # a notebook cell: IPython keeps its text in linecache
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = {}
        exec(compile(source, filename, "exec"), namespace)
        with pytest.raises(StudentError) as info:
            invoke(namespace["invert"], {"a": np.ones((2, 3))})
        assert info.value.where == f"{says} (the error was raised inside numpy)", info.value.where


def test_a_scalar_has_no_index_and_nan_gets_its_own_hint():
    with pytest.raises(CheckFailed) as info:
        expect_close(np.float64(2.0), 1.0, "wrong base value", hint="use the mean prediction")
    assert "at index" not in info.value.message and "(got 2, expected 1)" in info.value.message
    with pytest.raises(CheckFailed) as info:
        expect_close(np.array([1.0, np.nan]), [1.0, 2.0], "wrong Grad-CAM", hint="check the map's shape")
    assert "1 value(s) are NaN or infinite" in info.value.message and "division by zero" in info.value.hint
    with pytest.raises(CheckFailed) as info:
        expect_shape(np.full((2, 2), np.nan), (2, 2), "the Grad-CAM map", hint="resize the map to the image's shape")
    assert "NaN" in info.value.message and "division by zero" in info.value.hint


def test_a_failure_explained_by_an_earlier_check_says_so_and_drops_its_hint():
    results = [CheckResult(_check("exact values"), "failed", "wrong Shapley values for a non-linear model "
                                                             "(e.g. at index (2,): got 2.5, expected 1.25)", "weights"),
               CheckResult(_check("calls f once"), "failed", "wrong Shapley values (e.g. at index (0,): got 9, "
                                                             "expected 4.5)", "batch the coalitions"),
               CheckResult(_check("ties"), "failed", "the order of tied features is wrong", "use a stable sort"),
               CheckResult(_check("error"), "error", "your function raised KeyError: 'x' (line 3: d['x'])", "")]
    explain_by_earlier(results)
    assert results[1].message.endswith("the same failure as the check “exact values”: fix that one first")
    assert results[1].hint == ""
    assert results[2].hint == "use a stable sort" and "same failure" not in results[2].message
    assert "same failure" not in results[0].message and results[0].hint == "weights"


def _results(folder, student, chapter, tests, score=0.0):
    path = folder / student / chapter / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"score": score, "tests": tests, "extra_data": {
        "student": student, "chapter": chapter, "max_score": sum(t["max_score"] for t in tests),
        "notebook": str(folder / student / "nb.ipynb")}}))


def _test(exercise, name, status, output="", points=1.0):
    return {"name": f"{exercise}: {name}", "score": points if status == "passed" else 0, "max_score": points,
            "status": "passed" if status == "passed" else "failed", "output": output, "visibility": "visible",
            "extra_data": {"status": status}}


def test_class_report_counts_an_exercise_wide_error_once_per_student(tmp_path):
    SV, GI = "shapley_values", "global_importance"
    checks = [f"check {i}" for i in range(6)]
    _results(tmp_path, "ana", "ch03_shap",  # a stub that raises NotImplementedError: not attempted
             [_test(SV, c, "error", "your function raised NotImplementedError (line 2: raise NotImplementedError)")
              for c in checks] + [_test(GI, "sorted", "passed")])
    _results(tmp_path, "ben", "ch03_shap",  # a typo: one error in every check of the exercise
             [_test(SV, c, "error", "your function raised NameError: name 'fx' is not defined") for c in checks]
             + [_test(GI, "sorted", "passed")])
    _results(tmp_path, "cleo", "ch03_shap",  # a real misconception
             [_test(SV, c, "passed") for c in checks] + [_test(GI, "sorted", "failed", "the order is reversed")])
    ch = build_report(tmp_path)["chapters"]["ch03_shap"]
    assert ch["most_failed"] == [f"{GI}: sorted"], ch["most_failed"]
    assert ch["whole_exercise_errors"] == [{"exercise": SV, "message": "your function raised NameError: name 'fx' "
                                            "is not defined", "count": 1, "students": ["ben"]}]
    assert {"exercise": SV, "count": 1, "of": 3} in ch["unattempted"]


def test_grades_csv_lists_graded_chapters_and_says_what_total_includes(tmp_path):
    _results(tmp_path, "ana", "ch01_pdp_ice", [_test("standardize", "shapes", "passed")], score=1.0)
    write_class_csv(tmp_path)
    with open(tmp_path / "grades.csv") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    assert "ch01_pdp_ice total" in header and not any(h.startswith("ch0") and "ch01" not in h for h in header)
    assert not set(chapters()["ch02_lime"]) & set(header)
    assert "total includes" in header and rows[0]["total includes"].startswith("automatic points only")


def test_feedback_is_written_beside_the_results_when_asked(tmp_path):
    notebook = stub_submission(tmp_path / "nb", "ch01_pdp_ice")
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(notebook), "--results",
                           str(tmp_path / "results.json"), "--feedback", "html"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "feedback.html").is_file() and f"feedback written to {tmp_path / 'feedback.html'}" in proc.stdout
    assert not (tmp_path / "feedback.md").exists()


def test_marking_sheet_has_no_solution_markers_and_flags_placeholders(tmp_path):
    release = next((ROOT / "release" / "ch03_shap").glob("*.ipynb"))
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "nb.ipynb").write_text(release.read_text())  # answers left as nbgrader's stub
    tests = [{"name": f"{gid}: written answer", "score": 0, "max_score": 0, "extra_data": {"manual_points": 2.0}}
             for gid in ("answer_decision_plot", "answer_grouped")]
    _results(tmp_path, "ana", "ch03_shap", tests)
    rows = manual.collect(tmp_path)
    assert len(rows) == 2
    for row in rows:
        assert row["answer"] == manual.NOT_ANSWERED
        assert "BEGIN SOLUTION" not in row["model_answer"] + row["mark_scheme"] and row["model_answer"]


def test_solutions_notebooks_say_they_are_not_for_nbgrader():
    for notebook in sorted(ROOT.glob("solutions/*/*.ipynb")):
        banner = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
        assert "Do not submit this copy" in banner and "0 points" in banner, notebook
