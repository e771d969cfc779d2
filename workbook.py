#!/usr/bin/env python3
"""The workbook's front door. Needs only Python 3.11 and a package index; run it from any folder.

    python workbook.py lab            copy new chapters from release/ into your folder work/ (never
                                      overwriting a notebook there) and open JupyterLab on work/
    python workbook.py check [NB...]  run the public checks of your notebooks (default: all in work/)
    python workbook.py test [ARGS]    run the test suite (about 8 minutes on 2 cores; ARGS go to pytest)

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
this project installed; it reinstalls when requirements.txt or pyproject.toml change. Each
install step prints one line; pip's full output goes to .imlbook/install.log (its end is shown if a
step fails). Set IMLBOOK_VENV=- to use the current Python environment as it is (e.g. a conda
environment made from environment.yml). `lab --dry-run` changes nothing: it prints what `lab` would
install, copy and run. Stopping `lab` (Ctrl-C, or SIGTERM) stops JupyterLab and its kernels.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PINNED = [ROOT / "requirements.txt", ROOT / "pyproject.toml"]
RELEASE = ROOT / "release"
WORKSPACE = ROOT / "work"                        # the student's own notebooks: git-ignored, never overwritten
STATE = ROOT / ".imlbook"                        # git-ignored state of this checkout
STUDENT_JUPYTER = STATE / "jupyter-student"      # extra Jupyter config for the student's JupyterLab
INSTALL_LOG = STATE / "install.log"              # pip's full output of the last install
LAB_GRACE_S = 20.0                               # after Ctrl-C/SIGTERM: how long JupyterLab may take to stop
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
            "requirements.txt (pip's full output: .imlbook/install.log). Set IMLBOOK_VENV=- to use the\n"
            "current Python environment as it is. `lab --dry-run` prints what `lab` would do, changing nothing.\n"
            "(The maintainers' test suite, `workbook.py test`, is not part of this copy.)\n")


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


def _environment_state(env_dir: Path) -> str:
    """``"ready"``, ``"outdated"`` (requirements changed) or ``"missing"`` (no Python there yet)."""
    if not Path(_python(env_dir)).exists():
        return "missing"
    stamp = env_dir / ".imlbook-installed"
    return "ready" if stamp.exists() and stamp.read_text().strip() == _fingerprint() else "outdated"


def _check_python_version() -> None:
    if sys.version_info[:2] not in ((3, 11), (3, 12)):
        sys.exit(f"The workbook needs Python 3.11 (3.12 may work); this is {sys.version.split()[0]}. "
                 "Install Python 3.11, or use conda: conda env create -f environment.yml")


def install_steps(python: str) -> list[tuple[str, list[str]]]:
    """The pip steps of an install: (what the user reads, command)."""
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    return [("upgrading pip", pip + ["--upgrade", "pip"]),
            ("installing the pinned packages of requirements.txt (first run: a few minutes; TensorFlow is large)",
             pip + ["-r", str(ROOT / "requirements.txt")])]


def _run_logged(cmd: list[str], log, progress) -> int:
    """Run ``cmd`` with its output appended to the open file ``log``; ``progress(n)`` is called with the number
    of packages pip has started on (its "Collecting ..." lines) each time that grows. Returns the exit status."""
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    collected = 0
    for line in proc.stdout:
        log.write(line)
        if line.startswith("Collecting "):
            collected += 1
            progress(collected)
    log.flush()
    return proc.wait()


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def ensure_environment() -> str:
    """Create or update the environment when needed; return its Python.

    One line per step, with a package count that grows in place on a terminal; pip's output goes to
    :data:`INSTALL_LOG`, and when a step fails the end of that log is printed with the log's path."""
    env_dir = _venv_dir()
    if env_dir is None:
        return sys.executable
    _check_python_version()
    python = _python(env_dir)
    state = _environment_state(env_dir)
    if state == "ready":
        return python
    steps = install_steps(python)
    total = len(steps) + (state == "missing") + 1
    live = sys.stdout.isatty()
    number = 0

    def step(text: str) -> None:
        nonlocal number
        number += 1
        print(f"[{number}/{total}] {text} ...", end="" if live else "\n", flush=True)

    def finished(started: float, packages: int = 0) -> None:
        counted = f", {packages} packages" if packages else ""
        print(f"{' ' if live else '      '}done ({time.monotonic() - started:.0f} s{counted})", flush=True)

    INSTALL_LOG.parent.mkdir(parents=True, exist_ok=True)
    print(f"Setting up the workbook's Python environment in {env_dir} (pip's full output: {INSTALL_LOG})",
          flush=True)
    with open(INSTALL_LOG, "w", encoding="utf-8") as log:
        if state == "missing":
            step(f"creating a virtual environment in {env_dir}")
            started = time.monotonic()
            venv.create(env_dir, with_pip=True)
            finished(started)
        for text, cmd in steps:
            step(text)
            started, packages = time.monotonic(), [0]

            def progress(count: int, label=f"[{number}/{total}] {text} ...") -> None:
                packages[0] = count
                if live:
                    print(f"\r{label} {count} packages", end="", flush=True)

            status = _run_logged(cmd, log, progress)
            if status != 0:
                log.flush()
                if live:
                    print(" FAILED", flush=True)
                sys.exit(f"Installing failed at step {number}/{total} ({text}): pip exited with status {status}.\n"
                         f"The last lines of its output (all of it is in {INSTALL_LOG}):\n"
                         f"{_tail(INSTALL_LOG)}\n"
                         "Check your network connection to the package index and try again.")
            finished(started, packages[0])
    step("linking this checkout into the environment")
    started = time.monotonic()
    _link_project(python)
    (env_dir / ".imlbook-installed").write_text(_fingerprint())
    finished(started)
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


def prepare_workspace(release: Path = RELEASE, workspace: Path = WORKSPACE, dry_run: bool = False) -> list[Path]:
    """Copy into ``workspace`` every file of ``release`` that it does not have yet; return those copied
    (with ``dry_run``: those it would copy, copying nothing and making no folder).

    A file that exists in the workspace is never touched, whatever its content: it is the student's.
    """
    copied = []
    if not dry_run:
        workspace.mkdir(parents=True, exist_ok=True)
    for src in sorted(p for p in release.rglob("*") if p.is_file()):
        rel = src.relative_to(release)
        if _editor_artefact(rel):
            continue
        dest = workspace / rel
        if dest.exists():
            continue
        if not dry_run:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        copied.append(rel)
    return copied


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def student_jupyter_files() -> dict[Path, str]:
    """The extra Jupyter config folder (JUPYTER_CONFIG_PATH) that turns nbgrader and the news off: path -> text."""
    return {
        STUDENT_JUPYTER / "labconfig" / "page_config.json": json.dumps(
            {"disabledExtensions": {name: True for name in STUDENT_DISABLED_LAB_EXTENSIONS}}, indent=1),
        STUDENT_JUPYTER / "jupyter_server_config.json": json.dumps(
            {"ServerApp": {"jpserver_extensions": {name: False for name in NBGRADER_SERVER_EXTENSIONS}}}, indent=1),
    }


def _student_jupyter_config(dry_run: bool = False) -> Path:
    for path, text in student_jupyter_files().items():
        if not dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return STUDENT_JUPYTER


def lab_command(python: str, rest: list[str], instructor: bool = False,
                dry_run: bool = False) -> tuple[list[str], dict, Path]:
    """The JupyterLab command line, its extra environment variables and its folder (with ``dry_run``
    the student's Jupyter config is not written)."""
    root = ROOT if instructor else WORKSPACE
    cmd = [python, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"]
    if _running_as_root():  # containers and cloud VMs: Jupyter refuses root unless told
        cmd.append("--allow-root")
    extra = {}
    if not instructor:
        config = _student_jupyter_config(dry_run)
        previous = os.environ.get("JUPYTER_CONFIG_PATH")
        extra["JUPYTER_CONFIG_PATH"] = str(config) + (os.pathsep + previous if previous else "")
    return cmd + rest, extra, root


# ----------------------------------------------------------------------------
# Running JupyterLab until the user stops it, and then stopping everything it started
# ----------------------------------------------------------------------------
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _children_by_parent() -> dict[int, list[int]]:
    """{parent pid: [child pids]} of every process we can see (Linux /proc, else `ps`); {} if neither works."""
    pairs = []
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                pairs.append((int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])))
    else:
        try:
            out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return {}
        pairs = [tuple(map(int, line.split())) for line in out.splitlines() if len(line.split()) == 2]
    children: dict[int, list[int]] = {}
    for pid, ppid in pairs:
        children.setdefault(ppid, []).append(pid)
    return children


def process_tree(pid: int) -> list[int]:
    """``pid``'s descendants (children, grandchildren, ...), found now. A kernel that Jupyter starts runs in
    a session of its own, so the process group alone does not reach it."""
    children, found, todo = _children_by_parent(), [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _signal_all(pids, signum) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def run_until_stopped(cmd: list[str], grace_s: float = LAB_GRACE_S, **popen) -> int:
    """Run the server ``cmd`` until it exits, or until this process gets Ctrl-C (SIGINT), SIGTERM or SIGHUP.

    The server runs in a session of its own (so Ctrl-C reaches only us, and it cannot stop at Jupyter's
    "Shutdown this Jupyter server (y/[n])?" prompt); a stop signal is passed on to it as SIGTERM, on which
    Jupyter shuts its kernels down and exits. Whatever of its process tree (the server, its kernels and
    their children) is still running ``grace_s`` seconds later is killed. Returns the server's exit status,
    or 128 + the signal number when it was stopped."""
    if os.name == "nt":  # no sessions or process groups there: Ctrl-C reaches Jupyter itself
        return subprocess.call(cmd, **popen)
    stops: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _frame: stops.append(signum)) for signum in STOP_SIGNALS}
    try:
        server = subprocess.Popen(cmd, start_new_session=True, **popen)
        while not stops:
            try:
                return server.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
        print("\nstopping JupyterLab and its kernels ...", file=sys.stderr, flush=True)
        tree = process_tree(server.pid)
        _signal_all([server.pid], signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            tree += [pid for pid in process_tree(server.pid) if pid not in tree]  # kernels started meanwhile
            try:
                server.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
        else:
            print(f"JupyterLab did not stop within {grace_s:.0f} s: killing it", file=sys.stderr, flush=True)
        _signal_all(tree + [server.pid], signal.SIGKILL)  # what is left: kernels, their children, the server
        server.wait()
        return 128 + stops[0]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _describe_install(env_dir: Path | None) -> str:
    """What the first step of a command would do to the environment (for `lab --dry-run`)."""
    if env_dir is None:
        return f"would use the current Python environment as it is ({sys.executable}; IMLBOOK_VENV=-)"
    state = _environment_state(env_dir)
    if state == "ready":
        return f"would use the virtual environment {env_dir} (up to date: nothing to install)"
    steps = ([f"create a virtual environment in {env_dir}"] if state == "missing" else []) + [
        " ".join(cmd[2:]) for _, cmd in install_steps(_python(env_dir))] + [
        f"link {ROOT} into it (a .pth file)"]
    why = "it does not exist yet" if state == "missing" else "requirements.txt or pyproject.toml changed"
    return (f"would set up the virtual environment {env_dir} ({why}), logging pip's output to {INSTALL_LOG}:\n"
            + "\n".join(f"  {i}. {text}" for i, text in enumerate(steps, 1)))


def cmd_lab(python: str, rest: list[str]) -> int:
    instructor = "--instructor" in rest
    dry_run = "--dry-run" in rest
    rest = [a for a in rest if a not in ("--instructor", "--dry-run")]
    if instructor and not FULL:
        print("--instructor needs the full repository (this is the student copy)", file=sys.stderr)
        return 2
    if dry_run:
        print("dry run: nothing is installed, copied, written or started")
        print(_describe_install(_venv_dir()))
    if not instructor:
        copied = prepare_workspace(dry_run=dry_run)
        if copied:
            print(f"{'would copy' if dry_run else 'copied'} into {WORKSPACE}: {', '.join(p.as_posix() for p in copied)}")
        elif dry_run:
            print(f"would copy nothing into {WORKSPACE}: it has every file of {RELEASE}")
        if not dry_run:
            print(f"your notebooks are in {WORKSPACE} (JupyterLab shows this folder); no command ever overwrites "
                  f"them. The untouched originals stay in {RELEASE}.")
    if _running_as_root():
        print("running as root (a container or a cloud VM?): JupyterLab is started with --allow-root")
    cmd, extra, root = lab_command(python, rest, instructor, dry_run=dry_run)
    if dry_run:
        if not instructor:
            for path, text in student_jupyter_files().items():
                print(f"would write {path}: {' '.join(text.split())}")
        print("would run:", " ".join(cmd))
        for key, value in extra.items():
            print(f"with {key}={value}")
        print(f"in {root}")
        return 0
    env = _env_with_bin(python)
    env.update(extra)
    return run_until_stopped(cmd, env=env, cwd=root)


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
    if command == "lab" and "--dry-run" in rest:  # changes nothing: not even the environment
        env_dir = _venv_dir()
        return cmd_lab(sys.executable if env_dir is None else _python(env_dir), rest)
    python = ensure_environment()
    env = _env_with_bin(python)
    tools = _env_for_tools(python)
    if command == "lab":
        return cmd_lab(python, rest)
    if command == "check":
        return cmd_check(python, rest)
    if command == "test":
        print("running the test suite: about 8 minutes on 2 cores (pass e.g. tests/test_cli.py to run one file)",
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
