#!/usr/bin/env python3
"""The workbook's front door. Needs only Python 3.11 and a package index; run it from any folder.

    python workbook.py lab            copy new chapters from release/ into your folder work/ (never
                                      overwriting a notebook there) and open JupyterLab on work/
    python workbook.py check [NB...]  run the public checks of your notebooks (default: all in work/)
    python workbook.py test [ARGS]    run the test suite (about 10 minutes on 2 cores; ARGS go to pytest)

and, for instructors and maintainers:

    python workbook.py lab --instructor   JupyterLab on the whole repository, with nbgrader's tools
    python workbook.py release        regenerate release/ and solutions/ from source/ (a file edited
                                      by hand is backed up to backups/ first, and the message says where)
    python workbook.py bundle OUT     build the student bundle (no solutions, no hidden checks) in a new
                                      or empty folder, or refresh a previous bundle
    python workbook.py grade ARGS     grade notebooks (python -m autograder grade ARGS; --help for more)
    python workbook.py marks sheet|merge GRADED
                                      mark written answers by hand, then merge the marks into grades.csv
    python workbook.py gradescope CHAPTER OUT.zip
                                      build the chapter's Gradescope autograder zip
    python workbook.py list           every exercise and its points
    python workbook.py fetch [NAME]   pre-load data sets into the cache (for offline rooms; default: all)
    python workbook.py data where     where each data set is found

Relative paths are taken from the folder you run the command in. On first use it creates a
virtual environment in .venv (or $IMLBOOK_VENV) with the pinned packages of requirements.txt and
this project installed; it reinstalls when requirements.txt or pyproject.toml change. Set
IMLBOOK_VENV=- to use the current Python environment as it is (e.g. a conda environment made
from environment.yml). `lab --dry-run` prints the JupyterLab command instead of running it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PINNED = [ROOT / "requirements.txt", ROOT / "pyproject.toml"]
RELEASE = ROOT / "release"
WORKSPACE = ROOT / "work"                        # the student's own notebooks: git-ignored, never overwritten
STATE = ROOT / ".imlbook"                        # git-ignored state of this checkout
STUDENT_JUPYTER = STATE / "jupyter-student"      # extra Jupyter config for the student's JupyterLab
# The student bundle has no source/ and no course tools: only the student's commands work there.
FULL = (ROOT / "source").is_dir() and (ROOT / "autograder" / "course.py").is_file()

STUDENT_COMMANDS = ("lab", "check", "fetch", "data")
INSTRUCTOR_COMMANDS = ("test", "release", "bundle", "grade", "marks", "list", "gradescope")
# JupyterLab for students: no nbgrader (its formgrader, "Create Assignment" and "Validate" are the
# instructor's), no news pop-up.
NBGRADER_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.validate_assignment",
                              "nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list")
STUDENT_DISABLED_LAB_EXTENSIONS = ("@jupyter/nbgrader", "@jupyterlab/apputils-extension:announcements")


def _help() -> str:
    if FULL:
        return __doc__
    return ("The student copy of the interpretable-ML workbook. Needs only Python 3.11 and a package index.\n\n"
            "    python workbook.py lab            copy new chapters from release/ into your folder work/ (never\n"
            "                                      overwriting a notebook there) and open JupyterLab on work/\n"
            "    python workbook.py check [NB...]  run the public checks of your notebooks (default: all in work/)\n"
            "    python workbook.py fetch [NAME]   pre-load data sets into the cache (default: all)\n"
            "    python workbook.py data where     where each data set is found\n\n"
            "On first use it creates a virtual environment in .venv with the pinned packages of\n"
            "requirements.txt. Set IMLBOOK_VENV=- to use the current Python environment as it is.\n")


def _venv_dir() -> Path | None:
    value = os.environ.get("IMLBOOK_VENV", "")
    if value == "-":
        return None
    return Path(value).expanduser().resolve() if value else ROOT / ".venv"


def _python(env_dir: Path | None) -> str:
    if env_dir is None:
        return sys.executable
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return str(env_dir / sub)


def _fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in PINNED:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str], **kwargs) -> int:
    return subprocess.call(cmd, **kwargs)


def ensure_environment() -> str:
    """Create or update the environment when needed; return its Python."""
    env_dir = _venv_dir()
    if env_dir is None:
        return sys.executable
    if sys.version_info[:2] not in ((3, 11), (3, 12)):
        sys.exit(f"The workbook needs Python 3.11 (3.12 may work); this is {sys.version.split()[0]}. "
                 "Install Python 3.11, or use conda: conda env create -f environment.yml")
    python = _python(env_dir)
    stamp = env_dir / ".imlbook-installed"
    wanted = _fingerprint()
    if Path(python).exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    if not Path(python).exists():
        print(f"Creating a virtual environment in {env_dir} ...", flush=True)
        venv.create(env_dir, with_pip=True)
    print("Installing the workbook's packages (first run: a few minutes; TensorFlow is large) ...", flush=True)
    steps = [
        [python, "-m", "pip", "install", "--disable-pip-version-check", "--upgrade", "pip"],
        [python, "-m", "pip", "install", "--disable-pip-version-check", "-r", str(ROOT / "requirements.txt")],
    ]
    for cmd in steps:
        if _run(cmd) != 0:
            sys.exit(f"Installing failed while running: {' '.join(cmd)}\n"
                     "Check your network connection to the package index and try again.")
    _link_project(python)
    stamp.write_text(wanted)
    return python


def _link_project(python: str) -> None:
    """Put this checkout on the environment's sys.path with a plain .pth file.

    Like an editable install, but an ordinary sys.path entry: a student bundle
    placed first on sys.path wins over this checkout (an import hook would not).
    """
    site = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    Path(site, "imlbook-workbook.pth").write_text(str(ROOT) + "\n", encoding="utf-8")


def _env_with_bin(python: str) -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(python).parent) + os.pathsep + env.get("PATH", "")  # nbgrader calls `alembic`
    return env


def _env_for_tools(python: str) -> dict:
    """Environment for the project's modules run from the user's folder: this checkout importable first."""
    env = _env_with_bin(python)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ----------------------------------------------------------------------------
# The student's workspace and JupyterLab
# ----------------------------------------------------------------------------
def _editor_artefact(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in rel.parts)


def prepare_workspace(release: Path = RELEASE, workspace: Path = WORKSPACE) -> list[Path]:
    """Copy into ``workspace`` every file of ``release`` that it does not have yet; return those copied.

    A file that exists in the workspace is never touched, whatever its content: it is the student's.
    """
    copied = []
    workspace.mkdir(parents=True, exist_ok=True)
    for src in sorted(p for p in release.rglob("*") if p.is_file()):
        rel = src.relative_to(release)
        if _editor_artefact(rel):
            continue
        dest = workspace / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        copied.append(rel)
    return copied


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _student_jupyter_config() -> Path:
    """An extra Jupyter config folder (JUPYTER_CONFIG_PATH) that turns nbgrader and the news off."""
    (STUDENT_JUPYTER / "labconfig").mkdir(parents=True, exist_ok=True)
    (STUDENT_JUPYTER / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {name: True for name in STUDENT_DISABLED_LAB_EXTENSIONS}}, indent=1))
    (STUDENT_JUPYTER / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False for name in NBGRADER_SERVER_EXTENSIONS}}}, indent=1))
    return STUDENT_JUPYTER


def lab_command(python: str, rest: list[str], instructor: bool = False) -> tuple[list[str], dict, Path]:
    """The JupyterLab command line, its extra environment variables and its folder."""
    root = ROOT if instructor else WORKSPACE
    cmd = [python, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"]
    if _running_as_root():  # containers and cloud VMs: Jupyter refuses root unless told
        cmd.append("--allow-root")
    extra = {}
    if not instructor:
        config = _student_jupyter_config()
        previous = os.environ.get("JUPYTER_CONFIG_PATH")
        extra["JUPYTER_CONFIG_PATH"] = str(config) + (os.pathsep + previous if previous else "")
    return cmd + rest, extra, root


def cmd_lab(python: str, rest: list[str]) -> int:
    instructor = "--instructor" in rest
    dry_run = "--dry-run" in rest
    rest = [a for a in rest if a not in ("--instructor", "--dry-run")]
    if instructor and not FULL:
        print("--instructor needs the full repository (this is the student copy)", file=sys.stderr)
        return 2
    if not instructor:
        copied = prepare_workspace()
        if copied:
            print(f"copied into {WORKSPACE}: {', '.join(p.as_posix() for p in copied)}")
        print(f"your notebooks are in {WORKSPACE} (JupyterLab shows this folder); no command ever overwrites "
              f"them. The untouched originals stay in {RELEASE}.")
    if _running_as_root():
        print("running as root (a container or a cloud VM?): JupyterLab is started with --allow-root")
    cmd, extra, root = lab_command(python, rest, instructor)
    if dry_run:
        print("would run:", " ".join(cmd))
        for key, value in extra.items():
            print(f"with {key}={value}")
        print(f"in {root}")
        return 0
    env = _env_with_bin(python)
    env.update(extra)
    return _run(cmd, env=env, cwd=root)


def cmd_check(python: str, rest: list[str]) -> int:
    """The public checks of each notebook (nothing written): what a student can run."""
    options = [a for a in rest if a.startswith("-")]
    targets = [Path(a) for a in rest if not a.startswith("-")]
    if not targets:
        targets = [WORKSPACE if WORKSPACE.is_dir() else RELEASE]
    notebooks = []
    for t in targets:
        if t.is_dir():
            notebooks += sorted(p for p in t.rglob("*.ipynb") if not _editor_artefact(p.relative_to(t)))
        elif t.exists():
            notebooks.append(t)
        else:
            print(f"error: not found: {t}", file=sys.stderr)
            return 2
    status = 0
    env = _env_for_tools(python)
    for nb in notebooks:
        status = max(status, _run([python, "-m", "autograder", "grade", "--public-only", *options, str(nb)], env=env))
    return status


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_help())
        return 0
    command, rest = argv[0], argv[1:]
    known = STUDENT_COMMANDS + (INSTRUCTOR_COMMANDS if FULL else ())
    if command not in known:
        where = "" if FULL or command not in INSTRUCTOR_COMMANDS else " (an instructor's command: not in the student copy)"
        print(f"unknown command {command!r}{where}\n{_help()}", file=sys.stderr)
        return 2
    python = ensure_environment()
    env = _env_with_bin(python)
    tools = _env_for_tools(python)
    if command == "lab":
        return cmd_lab(python, rest)
    if command == "check":
        return cmd_check(python, rest)
    if command == "test":
        print("running the test suite: about 10 minutes on 2 cores (pass e.g. tests/test_cli.py to run one file)",
              flush=True)
        # loadgroup: tests sharing a module-scoped fixture run on one worker (tests/conftest.py groups them);
        # no reorder: the slowest files start first, in the order tests/conftest.py puts them
        return _run([python, "-m", "pytest", "-n", os.environ.get("IMLBOOK_TEST_WORKERS", "2"),
                     "--dist", "loadgroup", "--no-loadscope-reorder", *rest],
                    env=env, cwd=ROOT)
    if command == "release":
        return _run([python, "-m", "autograder.course", "all", *rest], env=env, cwd=ROOT)
    if command in ("bundle", "grade", "marks", "list"):
        return _run([python, "-m", "autograder", command, *rest], env=tools)
    if command == "gradescope":
        return _run([python, "-m", "autograder.gradescope", "build", *rest], env=tools)
    if command == "data":
        return _run([python, "-m", "imlbook.data", *rest], env=tools)
    # fetch
    names = [a for a in rest if not a.startswith("-")]
    return _run([python, "-m", "imlbook.data", "fetch", *(rest if names else ["--all", *rest])], env=tools)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
