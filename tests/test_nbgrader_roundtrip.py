"""The real nbgrader path: generate_assignment, autograde, generate_feedback, export.

A solved, a partly wrong and an untouched submission go through a throw-away
course. nbgrader executes the whole notebooks, with the (ungraded) training cell
cut to one epoch: the grade cells check the functions on their own models, so the
points do not depend on it (the 100-epoch notebook is test_ch01_notebooks' job).
It also proves nbgrader's points agree with our grader's.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.checks import chapters, max_points
from autograder.grade import grade_notebook
from tests.submissions import ROOT, make_submission, stub_submission, train_one_epoch
from tests.test_ch01_grading import WRONG

CH = "ch01_pdp_ice"
pytestmark = pytest.mark.nbgrader


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"nbgrader {args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


def test_generate_autograde_feedback_export(tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / CH, course / "source" / CH)
    nbgrader(course, "generate_assignment", CH)
    released = course / "release" / CH / "pdp_ice.ipynb"
    assert released.read_text() == (ROOT / "release" / CH / "pdp_ice.ipynb").read_text()

    wrong = {"partial_dependence_1d": WRONG["partial_dependence_1d"]["median instead of mean"]}
    subs = {
        "alice": train_one_epoch(make_submission(course / "submitted" / "alice" / CH, CH)),
        "bob": train_one_epoch(stub_submission(course / "submitted" / "bob" / CH, CH)),
        "carol": train_one_epoch(make_submission(course / "submitted" / "carol" / CH, CH, wrong)),
    }
    nbgrader(course, "autograde", CH, "--create")
    nbgrader(course, "generate_feedback", CH)
    for student in subs:
        assert list((course / "feedback" / student / CH).glob("*.html")), f"no feedback for {student}"
    nbgrader(course, "export", "--to", str(course / "grades.csv"))

    with open(course / "grades.csv") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    auto_total = sum(max_points(ex) for ex in chapters()[CH])
    assert float(rows["alice"]["raw_score"]) == pytest.approx(auto_total)   # written answers await a human
    assert float(rows["bob"]["raw_score"]) == 0
    carol_ours = grade_notebook(subs["carol"]).score
    assert carol_ours < auto_total
    assert float(rows["carol"]["raw_score"]) == pytest.approx(carol_ours), "nbgrader and our grader disagree"
    written = 6  # three "What do you see?" answers, 2 points each
    assert float(rows["alice"]["max_score"]) == pytest.approx(auto_total + written)
