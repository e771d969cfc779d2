"""The class report: a class built from known wrong answers, and a report that names the checks they
fail, with the right counts, in report.json and in the report.html rendered from it.

The expected counts do not come from the batch: every distinct answer is graded once on its own
(`grade_notebook`), and the report must add those outcomes up over the students who handed it in.
"""
import json
from collections import Counter
from html.parser import HTMLParser

import pytest

from autograder.batch import grade_batch
from autograder.checks import chapters
from autograder.grade import grade_notebook
from autograder.sandbox import Limits
from tests.submissions import make_submission, stub_submission
from tests.test_ch01_grading import WRONG as WRONG1
from tests.test_ch02_grading import WRONG as WRONG2

CH1, CH2 = "ch01_pdp_ice", "ch02_lime"
CRASH = "def partial_dependence_2d(predict, X, features, grids):\n    import os\n    os._exit(3)"

# answer name -> (chapter, {exercise: source or None}); None leaves the stub
ANSWERS = {
    "reference": (CH1, {}),
    "ice centred on the last value": (CH1, {"ice_curves": WRONG1["ice_curves"]["centred on the last grid value"]}),
    "standardize on its own test statistics": (
        CH1, {"standardize": WRONG1["standardize"]["test set with its own statistics"]}),
    "pd1 of one row": (CH1, {"partial_dependence_1d": WRONG1["partial_dependence_1d"]["one row instead of the mean"]}),
    "no standardize": (CH1, {"standardize": None}),
    "worker crash": (CH1, {"partial_dependence_2d": CRASH}),
    "ch02 reference": (CH2, {}),
    "ch02 columns swapped": (CH2, {"predict_proba": WRONG2["predict_proba"]["columns swapped"]}),
}
CLASS = {  # student -> answer
    "ana": "reference", "ben": "reference",
    "cleo": "ice centred on the last value", "dan": "ice centred on the last value",
    "eve": "ice centred on the last value",
    "finn": "standardize on its own test statistics", "gus": "standardize on its own test statistics",
    "hana": "pd1 of one row", "ivy": "no standardize", "jo": "worker crash",
    "kai": "ch02 reference", "lea": "ch02 columns swapped",
}
STUBS = ["max"]           # ch01 stub: every exercise unattempted
BROKEN = ["nia"]          # not a notebook at all
LIMITS = Limits()  # the default time limits: a loaded machine must not turn a slow check into a timeout


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    subs = tmp / "submitted"
    for student, answer in CLASS.items():
        chapter, answers = ANSWERS[answer]
        make_submission(subs / student / chapter, chapter, answers)
    for student in STUBS:
        stub_submission(subs / student / CH1, CH1)
    for student in BROKEN:
        (subs / student / CH1).mkdir(parents=True)
        (subs / student / CH1 / "pdp_ice.ipynb").write_text("{ this is not json")
    out = tmp / "graded"
    grade_batch([subs], out, jobs=2, limits=LIMITS, quiet=True)
    # each distinct answer graded alone: check id -> (status, message)
    alone = {}
    for name, (chapter, answers) in ANSWERS.items():
        report = grade_notebook(make_submission(tmp / "alone" / name.replace(" ", "_"), chapter, answers),
                                limits=LIMITS)
        alone[name] = {r.check.id: (r.status, r.message) for rs in report.results.values() for r in rs}
    stub = grade_notebook(stub_submission(tmp / "alone" / "stub", CH1), limits=LIMITS)
    alone["stub"] = {r.check.id: (r.status, r.message) for rs in stub.results.values() for r in rs}
    students = {s: a for s, a in CLASS.items()} | {s: "stub" for s in STUBS}
    return out, json.loads((out / "report.json").read_text()), alone, students


def expected_counts(alone, students, chapter):
    """check id -> Counter of statuses over the class (broken notebooks are left out of check statistics)."""
    counts = {}
    for student, answer in students.items():
        if (answer == "stub" and chapter != CH1) or (answer != "stub" and ANSWERS[answer][0] != chapter):
            continue
        for check_id, (status, _) in alone[answer].items():
            # "not counted" (a property that pays only with right values) is a failure in the class report
            counts.setdefault(check_id, Counter())["failed" if status == "not counted" else status] += 1
    return counts


@pytest.mark.parametrize("chapter", [CH1, CH2])
def test_every_check_is_counted_right(graded, chapter):
    out, report, alone, students = graded
    ch = report["chapters"][chapter]
    expected = expected_counts(alone, students, chapter)
    rows = {r["id"]: r for r in ch["checks"]}
    assert set(rows) == set(expected)
    for check_id, statuses in expected.items():
        row = rows[check_id]
        for status in ("passed", "failed", "error", "timed out", "crashed", "not attempted"):
            assert row[status] == statuses[status], (check_id, status, row)
        assert row["not passed"] == sum(statuses.values()) - statuses["passed"] - statuses["not attempted"]
    # sorted from the most failed: pass rates among those who attempted never go down
    rates = [r["pass_rate"] for r in ch["checks"] if r["pass_rate"] is not None]
    assert rates == sorted(rates)
    assert ch["submissions"] == sum(1 for s, a in students.items()
                                    if (a == "stub" and chapter == CH1) or (a != "stub" and ANSWERS[a][0] == chapter)) \
        + (len(BROKEN) if chapter == CH1 else 0)


def test_the_wrong_answers_are_named_with_their_messages_and_counts(graded):
    out, report, alone, students = graded
    ch = report["chapters"][CH1]
    html = (out / "report.html").read_text()
    # the checks the "ice centred on the last value" answer fails, handed in by 3 students
    ice_failed = {c for c, (status, _) in alone["ice centred on the last value"].items() if status != "passed"}
    assert ice_failed and all(c.startswith("ice_curves:") for c in ice_failed)
    for check_id in ice_failed:
        assert check_id in ch["most_failed"], check_id
        message = alone["ice centred on the last value"][check_id][1]
        assert {"message": message, "count": 3} in [{k: m[k] for k in ("message", "count")}
                                                     for m in ch["messages"][check_id]]
    std_failed = {c for c, (status, _) in alone["standardize on its own test statistics"].items()
                  if status != "passed"}
    assert std_failed
    top = set(ch["most_failed"])
    assert std_failed & top, "a check two students fail is among the most failed"
    # the HTML says the same
    page = _text(html)
    for check_id in ch["most_failed"]:
        row = next(r for r in ch["checks"] if r["id"] == check_id)
        assert check_id in page
        assert f"failed by {row['not passed']} of the {row['attempted']} submission(s)" in page
        flat = " ".join(page.split())  # HTML collapses runs of spaces (NumPy prints "[ 0.  0.]")
        for m in ch["messages"][check_id]:
            assert " ".join(m["message"].split()) in flat


def test_unattempted_exercises_and_submissions_in_trouble(graded):
    out, report, alone, students = graded
    ch = report["chapters"][CH1]
    unattempted = {u["exercise"]: u["count"] for u in ch["unattempted"]}
    assert unattempted["standardize"] == 2  # the stub and the student who left standardize alone
    assert all(unattempted[ex] == 1 for ex in chapters()[CH1] if ex != "standardize")
    assert [u["exercise"] for u in ch["unattempted"]][0] == "standardize", "most often left unattempted first"
    problems = {(p["student"], p["what"]): p for p in report["problems"]}
    assert ("jo", "crashed") in problems and problems[("jo", "crashed")]["exercises"] == ["partial_dependence_2d"]
    assert ("nia", "could not be graded") in problems
    assert "not a valid notebook" in problems[("nia", "could not be graded")]["detail"]
    assert len(report["problems"]) == 2
    page = _text((out / "report.html").read_text())
    assert "jo" in page and problems[("jo", "crashed")]["detail"] in page and "not a valid notebook" in page


def test_timeouts_are_listed(tmp_path):
    """A timed-out exercise (from a results.json as the grader writes it; no need to wait for a real one)."""
    from autograder.report import write_report
    folder = tmp_path / "zoe" / CH1
    folder.mkdir(parents=True)
    tests = [{"name": "ice_curves: returns one curve per row", "score": 0, "max_score": 1, "status": "failed",
              "output": "timed out after 30 s\nHint: look for an endless loop", "visibility": "visible",
              "extra_data": {"status": "timed out"}},
             {"name": "standardize: leaves x_train and x_test unchanged", "score": 1, "max_score": 1,
              "status": "passed", "output": "", "visibility": "after_published", "extra_data": {"status": "passed"}}]
    (folder / "results.json").write_text(json.dumps({"score": 1, "tests": tests, "extra_data": {
        "student": "zoe", "chapter": CH1, "max_score": 2, "problem": ""}}))
    write_report(tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["problems"] == [{"student": "zoe", "chapter": CH1, "what": "timed out", "exercises": ["ice_curves"],
                                   "detail": "timed out after 30 s", "folder": f"zoe/{CH1}"}]
    row = report["chapters"][CH1]["checks"][0]
    assert row["id"].startswith("ice_curves") and row["timed out"] == 1 and row["pass_rate"] == 0
    assert "timed out after 30 s" in _text((tmp_path / "report.html").read_text())


def test_figures_are_pngs_beside_the_report(graded):
    out, report, _, _ = graded
    parser = _Images()
    parser.feed((out / "report.html").read_text())
    assert len(parser.sources) == len(report["chapters"])
    for src in parser.sources:
        assert (out / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
    assert {f"report-scores-{c}.png" for c in report["chapters"]} <= set(parser.sources)


def test_report_can_be_rebuilt_from_the_results(graded, tmp_path):
    from autograder.report import main
    out, report, _, _ = graded
    assert main([str(out)]) == 0
    again = json.loads((out / "report.json").read_text())
    again.pop("generated"), report.pop("generated", None)
    assert again["chapters"] == report["chapters"] and again["problems"] == report["problems"]


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def _text(page: str) -> str:
    """The text a reader sees (tags dropped, entities decoded)."""
    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts = []

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())
