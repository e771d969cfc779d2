"""Instructor tooling: everything generated from ``source/``.

* ``release/<chapter>/`` — student notebooks, made by ``nbgrader generate_assignment``
  (stubs ``#** EDIT ME **``, hidden tests removed, cells locked and checksummed);
* ``solutions/<chapter>/`` — reference solutions for self-study: solution code kept,
  nbgrader markers and hidden tests removed;
* the student bundle — ``release/`` plus what its cells import, never solutions or hidden checks.

Command line: ``python -m autograder.course {release,solutions,all}`` and
``python -m autograder bundle OUT``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

import nbformat

from autograder.sandbox import PACKAGE_ROOT

ROOT = PACKAGE_ROOT
SOURCE = ROOT / "source"
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)
BUNDLE_FILES = ["pyproject.toml", "requirements.txt", "environment.yml", "workbook.py"]


def source_chapters() -> List[str]:
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _nbgrader(args: List[str], cwd: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # nbgrader runs `alembic`
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def generate_release(chapter: str, dest: Optional[Path] = None) -> Path:
    """Run ``nbgrader generate_assignment`` in a throw-away course and copy the result to ``dest``.

    Nothing is written to the repository but ``dest`` (default ``release/<chapter>``): no gradebook.
    """
    dest = Path(dest) if dest is not None else ROOT / "release" / chapter
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(SOURCE / chapter, course / "source" / chapter,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        _nbgrader(["generate_assignment", chapter, "--force", f"--CourseDirectory.root={course}"], cwd=course)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(course / "release" / chapter, dest)
    return dest


def solution_notebook(source_path: Path) -> nbformat.NotebookNode:
    """The source notebook with solutions kept, markers and hidden tests removed, outputs cleared."""
    nb = nbformat.read(source_path, as_version=4)
    banner = nbformat.v4.new_markdown_cell(
        "> **Reference solutions.** Work through the notebook in `release/` first; open this one to compare. "
        "The self-check cells still run the public checks.")
    banner.id = "solutions-banner"
    for cell in nb.cells:
        src = HIDDEN_BLOCK.sub("", cell.source)
        cell.source = SOLUTION_MARKER.sub("", src).rstrip("\n")
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.insert(0, banner)
    return nb


def generate_solutions(chapter: str, dest: Optional[Path] = None) -> Path:
    dest = Path(dest) if dest is not None else ROOT / "solutions" / chapter
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted((SOURCE / chapter).glob("*.ipynb")):
        nbformat.write(solution_notebook(path), dest / path.name)
    return dest


def build_bundle(out: Path) -> Path:
    """``release/`` plus the helper package and the public checks: what students receive."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(ROOT / "release", out / "release")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    shutil.copytree(ROOT / "imlbook", out / "imlbook", ignore=ignore)
    shutil.copytree(ROOT / "autograder", out / "autograder",
                    ignore=shutil.ignore_patterns("hidden", "course.py", "__pycache__", "*.pyc"))
    for name in BUNDLE_FILES:
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, out / name)
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    return out


STUDENT_README = """# Interpretable machine learning workbook — student copy

    python workbook.py lab      # installs what it needs on first use, then opens JupyterLab on release/

Each exercise is a function: replace `#** EDIT ME **` with your code, run the cell, then run the
self-check cell below it. The self-check runs the public checks; your instructor's grader runs them and
hidden checks of the same kind. Check your whole notebook from a terminal with

    python -m autograder grade release/ch01_pdp_ice/pdp_ice.ipynb --public-only
"""


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m autograder.course")
    parser.add_argument("what", choices=["release", "solutions", "all"])
    parser.add_argument("chapters", nargs="*", help="default: every chapter in source/")
    args = parser.parse_args(argv)
    for chapter in args.chapters or source_chapters():
        if args.what in ("release", "all"):
            print("release:", generate_release(chapter).relative_to(ROOT))
        if args.what in ("solutions", "all"):
            print("solutions:", generate_solutions(chapter).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
