"""The real nbgrader path, run exactly as the README says in a fresh clone (release/ committed, no gradebook):
generate_assignment, autograde, generate_feedback, export.

Without ``--force`` nbgrader skips the committed assignment, the gradebook stays empty and autograde
fails for every student: this keeps the README honest. A solved, a partly wrong and an untouched
submission go through that one course, so it also proves nbgrader's points agree with our grader's
(solved: full automatic marks, untouched: 0, wrong: our grader's points), that every student gets
feedback and that the export has the written answers' points waiting for a human.

nbgrader executes the three whole notebooks, with the (ungraded) training cell cut to one epoch: the
grade cells check the functions on their own models, so the points do not depend on it (the 100-epoch
notebook and its answers are test_ch01_notebooks' job). The course is built once for the module.
"""
import csv
import os
import re
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


def readme_nbgrader_block() -> list:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Or grade with nbgrader**", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def fresh_clone(dest: Path) -> Path:
    """The files a clone has: tracked and not ignored (git), else the tree without local state."""
    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
                                capture_output=True, text=True, timeout=60)
        files = listed.stdout.splitlines() if listed.returncode == 0 else []
    except (OSError, subprocess.SubprocessError):
        files = []
    if files:
        for rel in files:
            if (ROOT / rel).is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, dest / rel)
    else:
        shutil.copytree(ROOT, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", ".imlbook", "work", "backups", "gradebook.db", "submitted", "autograded", "feedback",
            "__pycache__", ".ipynb_checkpoints", ".pytest_cache"))
    return dest


def submissions(folder: Path) -> dict:
    """student -> notebook in ``folder``/submitted/<student>/ch01_pdp_ice/, each training for 1 epoch."""
    wrong = {"partial_dependence_1d": WRONG["partial_dependence_1d"]["median instead of mean"]}
    sub = folder / "submitted"
    return {
        "alice": train_one_epoch(make_submission(sub / "alice" / CH, CH)),          # solved
        "bob": train_one_epoch(stub_submission(sub / "bob" / CH, CH)),              # untouched
        "carol": train_one_epoch(make_submission(sub / "carol" / CH, CH, wrong)),   # one exercise wrong
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The README's nbgrader block run in a fresh clone: (clone, {student: submission}, {line: log})."""
    clone = fresh_clone(tmp_path_factory.mktemp("readme") / "clone")
    assert (clone / "release" / CH).is_dir() and not (clone / "gradebook.db").exists()
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # the activated environment
    env["PYTHONPATH"] = str(clone)
    lines = readme_nbgrader_block()
    assert any(line.startswith("nbgrader autograde") for line in lines)
    subs, logs = {}, {}
    for line in lines:
        if line.startswith("#"):
            if "submitted/<student>" in line:
                subs = submissions(clone)
            continue
        proc = subprocess.run(line, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
        logs[line] = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{line}\n{logs[line][-3000:]}"
    assert subs, "the README no longer says where submissions go (submitted/<student>/...)"
    return clone, subs, logs


def grades(clone: Path) -> dict:
    with open(clone / "grades.csv") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def test_the_readme_nbgrader_commands_work_in_a_fresh_clone(course):
    clone, _, logs = course
    for line, log in logs.items():
        assert "Skipping existing assignment" not in log, line
    assert list((clone / "autograded" / "alice" / CH).glob("*.ipynb"))
    assert list((clone / "feedback" / "alice" / CH).glob("*.html"))
    assert float(grades(clone)["alice"]["raw_score"]) == pytest.approx(sum(max_points(ex) for ex in chapters()[CH]))


def test_generate_autograde_feedback_export(course):
    clone, subs, _ = course
    released = clone / "release" / CH / "pdp_ice.ipynb"
    assert released.read_text() == (ROOT / "release" / CH / "pdp_ice.ipynb").read_text()
    for student in subs:
        assert list((clone / "feedback" / student / CH).glob("*.html")), f"no feedback for {student}"
    rows = grades(clone)
    auto_total = sum(max_points(ex) for ex in chapters()[CH])
    assert float(rows["alice"]["raw_score"]) == pytest.approx(auto_total)   # written answers await a human
    assert float(rows["bob"]["raw_score"]) == 0
    carol_ours = grade_notebook(subs["carol"]).score
    assert carol_ours < auto_total
    assert float(rows["carol"]["raw_score"]) == pytest.approx(carol_ours), "nbgrader and our grader disagree"
    written = 6  # three "What do you see?" answers, 2 points each
    assert float(rows["alice"]["max_score"]) == pytest.approx(auto_total + written)
