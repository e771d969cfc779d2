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
import io
import os
import signal
import sys
import threading
import warnings
from typing import Any, Callable, Dict, List

import numpy as np

from .checks import CheckResult, Timeout, invoke, run_checks

LOCAL_TIME_LIMIT_S = 120


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
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: from autograder import self_check")
