"""The self-check cell: run an exercise's public checks inside the student's kernel.

Every exercise in a notebook is followed by a locked cell::

    from autograder import self_check
    self_check("partial_dependence_1d", partial_dependence_1d)

It prints a short verdict: which checks passed, what went wrong in each check
that failed, and a hint for the first failure. An untouched stub reads "not
attempted yet". It never shows hidden checks.

Under nbgrader (``NBGRADER_EXECUTION`` is set by ``nbgrader autograde`` and
``nbgrader validate``) the same call also reports to nbgrader: in autograde, the
call with ``hidden=True`` (the instructor's copy of the cell, between the
hidden-test markers, and the cell's last line) returns the points earned on
public and hidden checks, which nbgrader reads as partial credit; in
``validate`` a failing check raises so the cell counts as failed.
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .checks import CheckResult, Timeout, invoke, run_checks

LOCAL_TIME_LIMIT_S = 120
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the repository, or the student bundle


class SelfCheckFailed(Exception):
    """Raised only under nbgrader, so the grade cell counts as failed. Shows no traceback."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [str(self)]


def self_check(exercise: str, fn: Callable[..., Any], hidden: bool = False):
    """Check ``fn`` against the exercise's checks and print a verdict.

    Returns ``None`` for a student; under ``nbgrader autograde`` with
    ``hidden=True`` returns the points earned (a float nbgrader reads as partial credit).
    """
    results = run_checks(exercise, _local_backend(fn), include_hidden=hidden)
    print(format_verdict(exercise, results, hidden=hidden))
    mode = os.environ.get("NBGRADER_EXECUTION")
    if mode == "autograde":
        # The hidden call is the cell's last line: its value is the cell's partial credit.
        return float(sum(r.score for r in results)) if hidden else None
    if mode == "validate" and not all(r.passed for r in results):
        raise SelfCheckFailed(f"{exercise}: {sum(not r.passed for r in results)} check(s) did not pass")
    return None


def _local_backend(fn: Callable[..., Any]) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    def backend(kwargs: Dict[str, Any]) -> Dict[str, Any]:
        # nbgrader scores a cell that writes to stderr as 0, so warnings from the
        # student's code are kept off stderr here.
        with warnings.catch_warnings(), np.errstate(all="ignore"), \
                contextlib.redirect_stderr(io.StringIO()), _alarm(LOCAL_TIME_LIMIT_S):
            warnings.simplefilter("ignore")
            return invoke(fn, kwargs)

    return backend


@contextlib.contextmanager
def _alarm(seconds: int):
    """Interrupt a runaway function after ``seconds`` (POSIX main thread only; elsewhere a no-op)."""
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise Timeout(f"timed out: your function ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def format_verdict(exercise: str, results: List[CheckResult], hidden: bool = False) -> str:
    """The text a student sees under the self-check cell."""
    kind = "checks" if hidden else "public checks"
    if results and all(r.status == "not attempted" for r in results):
        return (f"{exercise}: not attempted yet.\n"
                f"  Replace the `#** EDIT ME **` line with your code, run that cell, then run this one again.")
    passed = sum(r.passed for r in results)
    lines = [f"{exercise}: {passed}/{len(results)} {kind} passed"]
    first_failure_shown = False
    for r in results:
        lines.append(f"  {'✓' if r.passed else '✗'} {r.check.name}")
        if not r.passed:  # every failure says what came back; the first one also gets its hint
            lines.append(f"      {r.message}")
            if r.hint and not first_failure_shown:
                lines.append(f"      hint: {r.hint}")
            first_failure_shown = True
    if passed == len(results):
        lines.append("  Well done." + ("" if hidden else " (The grader runs more checks of the same kind.)"))
    if not hidden:
        lines.append(_coverage(exercise, results))
    return "\n".join(lines)


def _coverage(exercise: str, results: List[CheckResult]) -> str:
    """What these public checks are worth, out of the exercise's full points (from the released notebook)."""
    public = sum(r.check.points for r in results)
    full = exercise_points(exercise)
    if full is None or full <= public:
        return f"  (public checks: {public:g} points of this exercise)"
    return (f"  (these public checks carry {public:g} of the exercise's {full:g} points; "
            f"the grader's hidden checks carry the other {full - public:g})")


@functools.lru_cache(maxsize=None)
def _release_points() -> Dict[str, Dict[str, float]]:
    """chapter -> {grade_id: points} of every graded cell of the released notebooks (repo or bundle)."""
    out: Dict[str, Dict[str, float]] = {}
    release = PACKAGE_ROOT / "release"
    for nb in sorted(release.glob("*/*.ipynb")) if release.is_dir() else []:
        try:
            cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        points = out.setdefault(nb.parent.name, {})
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and "grade_id" in meta:
                points[f"{cell.get('cell_type')}:{meta['grade_id']}"] = float(meta.get("points", 0))
    return out


def exercise_points(exercise: str) -> Optional[float]:
    """The exercise's full points (public and hidden checks), as its released self-check cell states."""
    for points in _release_points().values():
        if f"code:check_{exercise}" in points:
            return points[f"code:check_{exercise}"]
    return None


def chapter_points(chapter: str) -> Optional[Tuple[float, float, int]]:
    """(automatic points, written points, number of written answers) of a chapter's released notebook."""
    points = _release_points().get(chapter)
    if not points:
        return None
    auto = sum(v for k, v in points.items() if k.startswith("code:"))
    written = [v for k, v in points.items() if k.startswith("markdown:")]
    return auto, sum(written), len(written)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: from autograder import self_check")
