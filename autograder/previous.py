"""Chapter 6 builds on your chapter-5 ``Explanation``: take it from your own chapter-5 notebook.

This is the grader's job (its extractor and chapter 5's public checks), so it lives here, in
``autograder/``, and ships in the student bundle; the helper library ``imlbook`` never imports the grader.

:func:`chapter5_explanation` finds the chapter-5 notebook (yours in ``work/ch05_practice/``; in an
instructor's checkout, the reference solution in ``solutions/ch05_practice/``), pulls the class
``Explanation`` out of it with the grader's extractor (its imports and helpers come along, nothing
else of the notebook runs), runs chapter 5's public checks on it and warns if one fails.
"""
from __future__ import annotations

import io
import os
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import List, Optional

from autograder.checks import run_checks
from autograder.extract import NotebookUnreadable, extract
from autograder.selfcheck import _local_backend

ROOT = Path(__file__).resolve().parent.parent             # the repository, or the student bundle
CHAPTER = "ch05_practice"
NOTEBOOK = "practice.ipynb"


class PreviousChapterMissing(FileNotFoundError):
    """No chapter-5 notebook with an ``Explanation`` class was found."""


def candidates(start: Optional[Path] = None) -> List[Path]:
    """Where the chapter-5 notebook may be, in order: ``$IMLBOOK_CH05_NOTEBOOK``; next to the
    current chapter's folder (``../ch05_practice/practice.ipynb``: the student's ``work/`` folder);
    ``work/ch05_practice/`` of the bundle or repository; ``solutions/ch05_practice/`` (an
    instructor's checkout)."""
    start = Path(start or os.getcwd()).resolve()
    found = []
    if os.environ.get("IMLBOOK_CH05_NOTEBOOK"):
        found.append(Path(os.environ["IMLBOOK_CH05_NOTEBOOK"]))
    found += [start.parent / CHAPTER / NOTEBOOK, start / CHAPTER / NOTEBOOK,
              ROOT / "work" / CHAPTER / NOTEBOOK, ROOT / "solutions" / CHAPTER / NOTEBOOK]
    unique = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def chapter5_explanation(path=None, check: bool = True):
    """The class ``Explanation`` of the chapter-5 notebook at ``path`` (default: the first of
    :func:`candidates` that exists). With ``check``, chapter 5's public checks run on it and a
    ``UserWarning`` lists the ones that fail. Raises :class:`PreviousChapterMissing` saying what to
    do when no notebook defines the class."""

    paths = [Path(path)] if path is not None else candidates()
    tried = []
    for notebook in paths:
        if not notebook.is_file():
            tried.append(f"{notebook} (no such file)")
            continue
        try:
            extraction = extract(notebook, ["Explanation"])
        except NotebookUnreadable as error:
            tried.append(f"{notebook} ({error})")
            continue
        if "Explanation" in extraction.problems:
            tried.append(f"{notebook} ({extraction.problems['Explanation']})")
            continue
        namespace = {"__name__": "chapter5"}
        exec(compile(extraction.source, str(notebook), "exec"), namespace)
        cls = namespace["Explanation"]
        cls.source_notebook = str(notebook)
        if check:
            _warn_if_checks_fail(cls, notebook)
        return cls
    raise PreviousChapterMissing(
        "chapter 6 uses your chapter-5 class `Explanation`, and no chapter-5 notebook defining it was found. "
        "Open ch05_practice/practice.ipynb, write the Explanation exercise and save the notebook "
        "(or set IMLBOOK_CH05_NOTEBOOK to its path). Looked in:\n  " + "\n  ".join(tried))


def _warn_if_checks_fail(cls, notebook: Path) -> None:
    with redirect_stdout(io.StringIO()):
        results = run_checks("Explanation", _local_backend(cls), include_hidden=False)
    failed = [f"{r.check.name}: {r.status}" + (f" ({r.message})" if r.message else "") for r in results if not r.passed]
    if failed:
        warnings.warn(f"your chapter-5 Explanation ({notebook}) does not pass {len(failed)} of chapter 5's "
                      f"{len(results)} public checks, so rankings in this chapter may be wrong:\n  "
                      + "\n  ".join(failed), stacklevel=3)
