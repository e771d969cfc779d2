"""The README's nbgrader steps, run exactly as written in a fresh clone (release/ committed, no gradebook).

Without ``--force`` nbgrader skips the committed assignment, the gradebook stays empty and autograde
fails for every student: this test keeps the README honest. It executes one whole notebook (about a
minute on 2 cores).
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
from tests.submissions import ROOT, make_submission, train_one_epoch

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


def quick_submission(folder: Path) -> Path:
    """A solved notebook whose (unlocked, ungraded) training cell runs 1 epoch instead of 100: the grade
    cells check the functions on their own models, so the score is the same and autograde is faster."""
    return train_one_epoch(make_submission(folder, CH))


def test_the_readme_nbgrader_commands_work_in_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    assert (clone / "release" / CH).is_dir() and not (clone / "gradebook.db").exists()
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # the activated environment
    env["PYTHONPATH"] = str(clone)
    lines = readme_nbgrader_block()
    assert any(line.startswith("nbgrader autograde") for line in lines)
    for line in lines:
        if line.startswith("#"):
            if "submitted/<student>" in line:
                quick_submission(clone / "submitted" / "alice" / CH)
            continue
        proc = subprocess.run(line, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{line}\n{log[-3000:]}"
        assert "Skipping existing assignment" not in log, line
    assert list((clone / "autograded" / "alice" / CH).glob("*.ipynb"))
    assert list((clone / "feedback" / "alice" / CH).glob("*.html"))
    with open(clone / "grades.csv") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert float(rows["alice"]["raw_score"]) == pytest.approx(sum(max_points(ex) for ex in chapters()[CH]))
