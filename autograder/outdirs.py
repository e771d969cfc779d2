"""Where a command may write: output folders never swallow the workbook or a person's files.

Every command that writes a folder (``bundle OUT``, ``grade --out DIR``) or a file
(``grade --results FILE``) asks this module first:

* a relative path is resolved from the folder the user stands in (never the repository root);
* the workbook itself is never a target: not its root, not a folder that contains it, not one of
  its own folders (``source/``, ``release/``, ``autograder/``..., the student workspace ``work/``);
* a non-empty folder is written only if a previous run of the same command made it (a marker file
  says so), unless the caller allows it explicitly.

Nothing here deletes anything.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, Set

from autograder.sandbox import PACKAGE_ROOT

# The workbook's own entries: never an output. The tracked top-level entries (git ls-files) are added.
PROJECT_ENTRIES = {
    ".git", ".ci", ".venv", ".imlbook", "autograder", "imlbook", "release", "solutions", "source", "tests",
    "scripts", "work", "backups", "README.md", "workbook.py", "pyproject.toml", "requirements.txt",
    "environment.yml", "nbgrader_config.py", ".gitignore", "gradebook.db",
}


class UnsafeOutput(Exception):
    """The requested output would overwrite the workbook or files that a person made; nothing was written."""


def resolve(path, base: Optional[Path] = None) -> Path:
    """``path`` as an absolute path; a relative one is taken from ``base`` (default: the current folder)."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = Path(base if base is not None else Path.cwd()) / p
    return p.resolve()


def _tracked_top_level(root: Path) -> Set[str]:
    try:
        proc = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return set()
    if proc.returncode != 0:
        return set()
    return {line.split("/", 1)[0] for line in proc.stdout.splitlines() if line}


def protected_reason(target: Path, root: Path = PACKAGE_ROOT) -> Optional[str]:
    """Why writing ``target`` would touch the workbook itself, or None when it would not."""
    target, root = Path(target).resolve(), Path(root).resolve()
    if target == root:
        return "is the workbook itself"
    if root.is_relative_to(target):
        return f"contains the workbook ({root})"
    if target.is_relative_to(root):
        top = target.relative_to(root).parts[0]
        if top in PROJECT_ENTRIES or top in _tracked_top_level(root):
            return f"is part of the workbook ({root / top})"
    return None


def refuse_protected(target: Path, what: str, root: Path = PACKAGE_ROOT, example: str = "graded") -> None:
    reason = protected_reason(target, root)
    if reason:
        raise UnsafeOutput(f"refusing to write {what} to {target}: it {reason}. Nothing was written; "
                           f"choose a new folder outside the workbook's own files, e.g. {root.parent / example}.")


def claim_folder(out: Path, marker: str, what: str, allow_foreign: bool = False,
                 recognise: Optional[Callable[[Path], bool]] = None, root: Path = PACKAGE_ROOT) -> Path:
    """Make ``out`` ready for ``what`` and mark it as made by it. Raises :class:`UnsafeOutput`.

    A non-empty folder without ``marker`` (and not recognised by ``recognise``, e.g. a folder
    written before markers existed) is refused unless ``allow_foreign``.
    """
    out = resolve(out)
    refuse_protected(out, what, root)
    if out.exists() and not out.is_dir():
        raise UnsafeOutput(f"{out} is a file, not a folder: nothing was written.")
    if out.is_dir() and not (out / marker).exists() and any(out.iterdir()):
        if not (allow_foreign or (recognise is not None and recognise(out))):
            raise UnsafeOutput(f"{out} is not empty and was not made by {what}: nothing was written. "
                               f"Choose a new or empty folder (or pass --force to add {what} to it; "
                               f"nothing in it is deleted).")
    out.mkdir(parents=True, exist_ok=True)
    if not (out / marker).exists():
        (out / marker).write_text(f"made by {what} on {time.strftime('%Y-%m-%d %H:%M:%S')}\n", encoding="utf-8")
    return out


def backup_folder(near: Path, label: str) -> Path:
    """A new, timestamped folder beside ``near`` for files kept before being replaced."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(near).parent / f"{Path(near).name}.{label}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate
