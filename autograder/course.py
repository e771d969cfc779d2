"""Instructor tooling: everything generated from ``source/``.

* ``release/<chapter>/`` — student notebooks, made by ``nbgrader generate_assignment``
  (stubs ``#** EDIT ME **``, hidden tests removed, cells locked and checksummed);
* ``solutions/<chapter>/`` — reference solutions for self-study: solution code kept,
  nbgrader markers and hidden tests removed;
* the student bundle — ``release/`` plus what its cells import, never solutions or hidden checks.

Command line: ``python workbook.py release`` (= ``python -m autograder.course all``) and
``python workbook.py bundle OUT``. Generated files that a person edited are backed up to
``backups/<timestamp>/`` before being replaced; the bundle never replaces a folder it did not make.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from autograder import outdirs
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


def generate_release(chapter: str, dest: Optional[Path] = None, log=print) -> Path:
    """Run ``nbgrader generate_assignment`` in a throw-away course and install the result in ``dest``.

    Nothing is written to the repository but ``dest`` (default ``release/<chapter>``): no gradebook.
    A file in ``dest`` that a person edited is backed up before it is replaced (see :func:`install`).
    """
    dest = Path(dest) if dest is not None else ROOT / "release" / chapter
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(SOURCE / chapter, course / "source" / chapter,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        _nbgrader(["generate_assignment", chapter, "--force", f"--CourseDirectory.root={course}"], cwd=course)
        install(course / "release" / chapter, dest, log=log)
    return dest


# ----------------------------------------------------------------------------
# Installing generated files without losing a person's edits
# ----------------------------------------------------------------------------
STATE = ROOT / ".imlbook"            # git-ignored: what this checkout generated last
RECORD = STATE / "generated.json"    # path -> sha256 of the content `release` last wrote there
BACKUPS = ROOT / "backups"           # git-ignored: files a person edited, kept before being replaced


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record() -> Dict[str, str]:
    try:
        return json.loads(RECORD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _key(path: Path) -> str:
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _committed(path: Path) -> Optional[bytes]:
    """The file as committed in git's HEAD, or None (not tracked, not in a repository, no git)."""
    path = Path(path).resolve()
    if not path.is_relative_to(ROOT):
        return None
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{_key(path)}"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def is_generated(path: Path, record: Optional[Dict[str, str]] = None) -> bool:
    """True when ``path`` holds exactly what was generated: what `release` last wrote there on this
    machine, or what is committed (generated files are committed regenerated). Anything else may be a
    person's edit."""
    data = Path(path).read_bytes()
    record = _record() if record is None else record
    if record.get(_key(path)) == _sha256(data):
        return True
    return _committed(path) == data


def _editor_artefact(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in rel.parts)


def install(fresh: Path, dest: Path, log=print) -> List[Path]:
    """Make ``dest`` hold the files of ``fresh``; return the backups made.

    A file of ``dest`` is replaced (or, if ``fresh`` no longer has it, removed) silently only when it
    holds generated content (:func:`is_generated`); otherwise it is first copied to
    ``backups/<timestamp>/...`` and the log says where. Editor artefacts (``.ipynb_checkpoints/``,
    dot-files) are left alone.
    """
    fresh, dest = Path(fresh), Path(dest)
    record = _record()
    backups: List[Path] = []
    backup_root: Optional[Path] = None

    def keep(path: Path) -> None:
        nonlocal backup_root
        if backup_root is None:
            backup_root = BACKUPS / time.strftime("%Y%m%d-%H%M%S")
        rel = Path(_key(path).lstrip("/"))
        target = backup_root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        backups.append(target)
        log(f"  {_key(path)} differs from what was generated (edited by hand?): kept a copy in {target}")

    new_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    if dest.is_dir():
        for old in sorted(p for p in dest.rglob("*") if p.is_file()):
            rel = old.relative_to(dest)
            if rel in new_files or _editor_artefact(rel):
                continue
            if not is_generated(old, record):
                keep(old)
            old.unlink()
    for rel in sorted(new_files):
        target = dest / rel
        data = (fresh / rel).read_bytes()
        if target.is_file():
            if target.read_bytes() == data:
                record[_key(target)] = _sha256(data)
                continue
            if not is_generated(target, record):
                keep(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        record[_key(target)] = _sha256(data)
    if Path(dest).resolve().is_relative_to(ROOT):
        STATE.mkdir(exist_ok=True)
        RECORD.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    return backups


def solution_notebook(source_path: Path) -> "nbformat.NotebookNode":  # noqa: F821
    """The source notebook with solutions kept, markers and hidden tests removed, outputs cleared."""
    import nbformat  # lazily: it takes seconds to import, and the bundle command does not need it

    nb = nbformat.read(source_path, as_version=4)
    banner = nbformat.v4.new_markdown_cell(
        "> **Reference solutions.** Work through the notebook in `release/` first; open this one to compare. "
        "The self-check cells still run the public checks.\n>\n"
        "> **Do not submit this copy.** It has no nbgrader cell metadata, so `nbgrader autograde` finds no "
        "graded cells in it and gives it 0 points without saying why. Submit your copy of the notebook from "
        "`release/` (the standalone grader, `python workbook.py check`, grades either).")
    banner.id = "solutions-banner"
    for cell in nb.cells:
        src = HIDDEN_BLOCK.sub("", cell.source)
        cell.source = SOLUTION_MARKER.sub("", src).rstrip("\n")
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.insert(0, banner)
    return nb


def generate_solutions(chapter: str, dest: Optional[Path] = None, log=print) -> Path:
    import nbformat

    dest = Path(dest) if dest is not None else ROOT / "solutions" / chapter
    with tempfile.TemporaryDirectory(prefix="solutions-") as tmp:
        for path in sorted((SOURCE / chapter).glob("*.ipynb")):
            nbformat.write(solution_notebook(path), Path(tmp) / path.name)
        install(Path(tmp), dest, log=log)
    return dest


BUNDLE_MARKER = ".imlbook-bundle.json"  # lists the files a bundle holds, with their sha256
# Not installed for students (Voilà serves the dashboard only for the browser test and the screenshot).
INSTRUCTOR_ONLY_REQUIREMENTS = ("nbgrader", "pytest", "pytest-xdist", "voila")


def _student_requirements() -> str:
    lines = []
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name = re.split(r"[=<>!~;\[ ]", line.strip(), maxsplit=1)[0].lower()
        if name in INSTRUCTOR_ONLY_REQUIREMENTS:
            continue
        lines.append(line)
    lines.append("# (the instructor's tools nbgrader, pytest and voila are not needed here and not installed)")
    return "\n".join(lines) + "\n"


def _stage_bundle(stage: Path) -> None:
    """Write the bundle's files into the empty folder ``stage``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    shutil.copytree(ROOT / "release", stage / "release", ignore=ignore)
    shutil.copytree(ROOT / "imlbook", stage / "imlbook", ignore=ignore)
    shutil.copytree(ROOT / "autograder", stage / "autograder",
                    ignore=shutil.ignore_patterns("hidden", "answers", "course.py", "manual.py", "__pycache__",
                                                  "*.pyc"))
    for name in BUNDLE_FILES:
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, stage / name)
    (stage / "requirements.txt").write_text(_student_requirements(), encoding="utf-8")
    (stage / "README.md").write_text(STUDENT_README, encoding="utf-8")
    (stage / ".gitignore").write_text(".venv/\n.imlbook/\nwork/\n__pycache__/\n.ipynb_checkpoints/\n",
                                      encoding="utf-8")


def _previous_bundle(out: Path) -> Optional[Dict[str, str]]:
    try:
        data = json.loads((out / BUNDLE_MARKER).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def build_bundle(out: Path, log=print) -> Path:
    """``release/`` plus the helper package and the public checks: what students receive.

    ``out`` (relative: from the current folder) must be a new or empty folder, or a previous bundle.
    Rebuilding a previous bundle replaces only the files it made and that nobody changed since; a
    changed file, or another file in the way, is moved to a backup folder beside ``out`` first (the
    log says where). Files the bundle did not make (a ``.venv``, the student's ``work/``) stay.
    Raises :class:`autograder.outdirs.UnsafeOutput` for the workbook itself or a folder of other files.
    """
    out = outdirs.resolve(out)
    outdirs.refuse_protected(out, "the student bundle", example="imlbook-student")
    if out.exists() and not out.is_dir():
        raise outdirs.UnsafeOutput(f"{out} is a file, not a folder: nothing was written.")
    previous = _previous_bundle(out) if out.is_dir() else None
    if out.is_dir() and previous is None and any(out.iterdir()):
        raise outdirs.UnsafeOutput(
            f"{out} is not empty and is not a student bundle made by this command: nothing was written "
            f"or deleted. Choose a new or empty folder, e.g. {ROOT.parent / 'imlbook-student'}.")
    backup: Optional[Path] = None

    def move_aside(path: Path) -> None:
        nonlocal backup
        if backup is None:
            backup = outdirs.backup_folder(out, "backup")
        target = backup / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))

    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        stage = Path(tmp) / "bundle"
        stage.mkdir()
        _stage_bundle(stage)
        made = {p.relative_to(stage).as_posix(): _sha256(p.read_bytes()) for p in sorted(stage.rglob("*"))
                if p.is_file()}
        out.mkdir(parents=True, exist_ok=True)
        for rel, sha in (previous or {}).items():
            path = out / rel
            if not path.is_file():
                continue
            if _sha256(path.read_bytes()) == sha:
                path.unlink()
            else:
                move_aside(path)
        for rel in made:
            target = out / rel
            if target.exists() or target.is_symlink():
                move_aside(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(stage / rel, target)
        for rel in sorted(previous or {}, key=lambda r: -r.count("/")):  # folders emptied by removed files
            for parent in (out / rel).parents:
                if parent == out or not parent.is_relative_to(out):
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break
        (out / BUNDLE_MARKER).write_text(json.dumps({"made_by": "python workbook.py bundle", "files": made},
                                                    indent=1), encoding="utf-8")
    if backup is not None:
        log(f"files that were changed in the previous bundle (or in the way) were moved to {backup}")
    return out


STUDENT_README = """# Interpretable machine learning workbook — student copy

You need **Python 3.11** (3.12 may work) and access to a package index (PyPI). Everything runs on a laptop CPU. From this folder:

    python workbook.py lab      # first run: installs what it needs into .venv (a few minutes), then opens JupyterLab

`lab` copies each chapter's notebook into your own folder `work/` the first time (and a new chapter
when one appears), and opens JupyterLab there: you see `ch01_pdp_ice/pdp_ice.ipynb` and so on. No command
ever overwrites a notebook in `work/`; `release/` keeps the untouched originals (copy one from there if
you want to start a chapter again). Running as root (a container, a cloud VM) is handled.

Each exercise is a function: replace `#** EDIT ME **` with your code, run the cell, then run the
self-check cell below it. It runs the **public** checks; your instructor's grader runs them and hidden
checks of the same kind, and also marks your written answers (*What do you see?*) by hand. Check a whole
notebook from a terminal (a few seconds):

    python workbook.py check work/ch01_pdp_ice/pdp_ice.ipynb

Offline later (a train, a classroom without network)? Run `python workbook.py fetch` once while online.
`python workbook.py data where` shows where each data set is found.

If you prefer to activate the environment yourself: `source .venv/bin/activate` (Windows:
`.venv\\Scripts\\activate`), then `jupyter lab work` works too.
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
