#!/usr/bin/env python3
"""The workbook's front door. Needs only Python 3.11 and a package index.

    python workbook.py lab            open JupyterLab on the student notebooks (release/)
    python workbook.py test [ARGS]    run the test suite (ARGS go to pytest)

and, for instructors and maintainers:

    python workbook.py release        regenerate release/ and solutions/ from source/
    python workbook.py bundle OUT     build the student bundle (no solutions, no hidden checks)
    python workbook.py grade ARGS     python -m autograder grade ARGS
    python workbook.py gradescope CHAPTER OUT.zip   build the chapter's Gradescope autograder zip
    python workbook.py fetch          pre-load every data set into the cache (for offline rooms)

On first use it creates a virtual environment in .venv (or $IMLBOOK_VENV) with the
pinned packages of requirements.txt and this project installed; it reinstalls when
requirements.txt or pyproject.toml change. Set IMLBOOK_VENV=- to use the current
Python environment as it is (e.g. a conda environment made from environment.yml).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PINNED = [ROOT / "requirements.txt", ROOT / "pyproject.toml"]


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


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in ("lab", "test", "release", "bundle", "grade", "gradescope", "fetch"):
        print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
        return 2
    python = ensure_environment()
    env = _env_with_bin(python)
    if command == "lab":
        return _run([python, "-m", "jupyter", "lab", *rest, "release"], env=env, cwd=ROOT)
    if command == "test":
        return _run([python, "-m", "pytest", "-n", os.environ.get("IMLBOOK_TEST_WORKERS", "2"), *rest],
                    env=env, cwd=ROOT)
    if command == "release":
        return _run([python, "-m", "autograder.course", "all", *rest], env=env, cwd=ROOT)
    if command == "bundle":
        return _run([python, "-m", "autograder", "bundle", *rest], env=env, cwd=ROOT)
    if command == "grade":
        return _run([python, "-m", "autograder", "grade", *rest], env=env)
    if command == "gradescope":
        return _run([python, "-m", "autograder.gradescope", "build", *rest], env=env)
    return _run([python, "-m", "imlbook.data", "fetch", "--all", *rest], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
