"""Grades do not depend on how busy the machine is, and each submission gets its own.

The grader's limits count the CPU seconds of the submission's processes; the wall clock is only a
backstop against code that waits without computing (and a call it stops is graded again, alone, before it
counts). These tests start a bounded number of busy processes themselves (``while True: pass``, killed in a
``finally``) and grade next to them:

* a correct but CPU-hungry chapter-1 answer gets the same points and messages as on an idle machine, with
  limits it would exceed in wall-clock time under that load (1 CPU second against a 2.5 s limit);
* code that sleeps is stopped by the backstop, graded again alone, and the report says the machine was
  overloaded;
* chapter 3's right and wrong notebooks, graded twice in one batch with two jobs, each get exactly the grade
  they get alone (the same points and messages, their own notebook's hash);
* one memory cap holds for a submission's processes together, not per process.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import pytest

from autograder import sandbox
from autograder.batch import grade_batch
from autograder.checks import chapters, max_points
from autograder.grade import grade_notebook
from autograder.sandbox import GIB, Limits
from tests.submissions import make_submission, reference_answers

BUSY = 4  # busy processes on a 2-core machine: the grader gets at most about a third of a core


@contextlib.contextmanager
def busy_processes(n: int = BUSY):
    """``n`` processes that only burn CPU, for as long as the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def untimed(report):
    """results.json's tests without the per-check seconds."""
    tests = report.gradescope()["tests"]
    for t in tests:
        t.get("extra_data", {}).pop("seconds", None)
    return tests


# ----------------------------------------------------------------------------
# Chapter 1: a correct answer that needs a CPU second
# ----------------------------------------------------------------------------
CH1 = "ch01_pdp_ice"
STD = chapters()[CH1][0]
# Correct, but it burns one CPU second the first time it runs in a worker (measured with process_time, so
# the same second whatever the load): idle it finishes in about 1 s, next to BUSY processes in several.
SLOW_STD = textwrap.dedent('''
    import time as _time
    _burnt = []
    def standardize(x_train, x_test):
        if not _burnt:
            _burnt.append(1)
            start = _time.process_time()
            while _time.process_time() - start < 1.0:
                pass
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        return (x_train - mean) / std, (x_test - mean) / std''')
TIGHT = Limits(exercise_s=2.5, notebook_s=30, load_s=15, memory_bytes=1 * GIB)


def test_a_slowed_down_correct_answer_keeps_its_grade(tmp_path):
    nb = make_submission(tmp_path, CH1, {STD: SLOW_STD})
    idle = grade_notebook(nb, limits=TIGHT)
    assert idle.score == idle.max_score == sum(max_points(ex) for ex in chapters()[CH1]), idle.results
    with busy_processes():
        loaded = grade_notebook(nb, limits=TIGHT)
    assert loaded.score == idle.score
    assert untimed(loaded) == untimed(idle), "same points, statuses and messages as on an idle machine"
    assert not idle.overloaded and not loaded.overloaded  # CPU limits: the backstop was never needed
    assert loaded.timing["cpu_s"] >= 1.0  # the burnt second was measured...
    assert loaded.timing["cpu_s"] < TIGHT.exercise_s  # ...and stayed within the exercise's CPU seconds


def test_code_that_waits_is_stopped_by_the_backstop_graded_again_alone_and_reported(tmp_path):
    sleeper = "def standardize(x_train, x_test):\n    import time\n    time.sleep(600)"
    nb = make_submission(tmp_path, CH1, {STD: sleeper})
    limits = dataclasses.replace(TIGHT, exercise_s=1, wall_factor=1, wall_extra_s=2)  # a 3 s backstop
    report = grade_notebook(nb, limits=limits)
    got = report.exercise_scores()
    assert got[STD] == 0 and all(got[ex] == max_points(ex) for ex in got if ex != STD)
    assert {r.status for r in report.results[STD]} == {"timed out"}
    assert len(report.overloaded) == 1 and f"`{STD}`" in report.overloaded[0]
    assert "graded again with no other grading running" in report.overloaded[0]
    assert "counts as timed out" in report.overloaded[0]
    assert "The grading machine was overloaded" in report.feedback_markdown()
    assert report.gradescope()["extra_data"]["overloaded"] == report.overloaded


# ----------------------------------------------------------------------------
# Chapter 3: right and wrong notebooks, twice in one batch, under load
# ----------------------------------------------------------------------------
CH3 = "ch03_shap"


def _ch03_students():
    from tests.test_ch03_grading import CORRECT, WRONG
    ref = reference_answers(CH3)["shapley_values"]
    flipped = ref.replace("def shapley_values(", "def _right_shapley_values(") + textwrap.dedent('''

        def shapley_values(f, x, background):
            return -np.asarray(_right_shapley_values(f, x, background))''')
    right = [{}] + [{"shapley_values": src} for src in list(CORRECT["shapley_values"].values())[:2]]
    wrong = [{"shapley_values": flipped}, {"shapley_values": WRONG["shapley_values"]["only the first background row"]},
             {"shapley_values": WRONG["shapley_values"]["unweighted average of marginal contributions (Banzhaf)"]}]
    return {**{f"right{i}": a for i, a in enumerate(right)}, **{f"wrong{i}": a for i, a in enumerate(wrong)}}


def test_each_submission_gets_its_own_grade_in_a_busy_batch(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    alone = {}
    for student, answers in _ch03_students().items():
        nb = make_submission(subs / student, CH3, answers)
        alone[student] = grade_notebook(nb)
    full = sum(max_points(ex) for ex in chapters()[CH3])
    assert all(alone[s].score == full for s in alone if s.startswith("right"))
    assert all(alone[s].exercise_scores()["shapley_values"] < max_points("shapley_values")
               for s in alone if s.startswith("wrong"))
    with busy_processes(BUSY - 1):
        for run in range(2):
            batch = grade_batch([subs], out, jobs=2, quiet=True, force=True)
            assert batch.graded == len(alone) and batch.errors == 0
            for sub, path in batch:
                data = json.loads(path.read_text())
                want = alone[sub.student]
                assert data["extra_data"]["notebook_sha256"] == want.sha256, (run, sub.student)
                assert data["score"] == want.score, (run, sub.student, data["score"], want.score)
                got_tests = [{k: v for k, v in t.items() if k != "extra_data"} for t in data["tests"]]
                want_tests = [{k: v for k, v in t.items() if k != "extra_data"} for t in untimed(want)]
                assert got_tests == want_tests, (run, sub.student)
                assert not data["extra_data"]["overloaded"], (run, sub.student)


# ----------------------------------------------------------------------------
# One memory cap for the submission's processes together
# ----------------------------------------------------------------------------
# Three children of 250 MB each: every process stays under the 0.5 GiB cap, together they do not.
FORKS_THAT_ALLOCATE = textwrap.dedent('''
    def standardize(x_train, x_test):
        import subprocess, sys
        code = "import time; x = b'x' * (250 * 1024 * 1024); time.sleep(120)"
        children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
        for child in children:
            child.wait()
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        return (x_train - mean) / std, (x_test - mean) / std''')


def test_one_memory_cap_for_the_submissions_processes_together(tmp_path):
    nb = make_submission(tmp_path, CH1, {STD: FORKS_THAT_ALLOCATE})
    limits = Limits(exercise_s=20, notebook_s=60, load_s=15, memory_bytes=GIB // 2)
    report = grade_notebook(nb, limits=limits)
    got = report.exercise_scores()
    assert got[STD] == 0 and all(got[ex] == max_points(ex) for ex in got if ex != STD), got
    first = report.results[STD][0]
    assert first.status == "crashed" and "together used more than 0.5 GiB" in first.message, first.message
    assert any(s["limit"] == "memory" and s["exercise"] == STD for s in report.stopped), report.stopped
    assert "0.5 GiB memory cap for the submission's processes together" in sandbox.isolation_description(limits)
    assert sandbox.memory_method() in sandbox.isolation_description(limits)
    assert not _running("x = b'x' * (250"), "the children were stopped with the worker"


def _running(text: str) -> list:
    """Pids whose command line contains ``text``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if text.encode() in fh.read().replace(b"\0", b" "):
                    found.append(int(pid))
        except OSError:
            pass
    return found
