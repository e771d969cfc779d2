"""Batch grading: where submissions are found, resuming, re-grading one student, interrupting,
progress, feedback files, failures of the grader itself, and the benchmark script."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.batch import (GraderGuard, Progress, deduplicate, feedback_html, find_submissions,
                              grade_batch, write_class_csv)
from autograder.checks import chapters, max_points
from autograder.grade import grade_notebook
from autograder.sandbox import GIB, Limits
from tests.submissions import ROOT, make_submission, stub_submission
from tests.test_ch01_grading import WRONG

CH = "ch01_pdp_ice"
FULL = sum(max_points(ex) for ex in chapters()[CH])
FAST = Limits(exercise_s=5, notebook_s=30, load_s=15, memory_bytes=1 * GIB)
LOOP = """
    def partial_dependence_1d(predict, X, feature, grid):
        while True:
            pass"""


def rows_of(out: Path):
    with open(out / "grades.csv", newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


class Counting:
    """grade_notebook, counting which notebooks it was asked to grade."""

    def __init__(self):
        self.graded = []

    def __call__(self, path, **kwargs):
        self.graded.append(Path(path).parent.name if Path(path).parent.name != CH else Path(path).parent.parent.name)
        return grade_notebook(path, **kwargs)


# ----------------------------------------------------------------------------
# Finding submissions
# ----------------------------------------------------------------------------
def test_submission_layouts(tmp_path):
    nbg = tmp_path / "course" / "submitted"
    make_submission(nbg / "alice" / CH, CH)
    make_submission(nbg / "bob" / CH, CH)
    flat = tmp_path / "class"
    make_submission(flat / "carol", CH)
    make_submission(flat / "dave" / CH, CH)
    (flat / "erin" / ".ipynb_checkpoints").mkdir(parents=True)
    make_submission(flat / "erin", CH)
    make_submission(flat / "erin" / ".ipynb_checkpoints", CH, name="pdp_ice-checkpoint.ipynb")

    def students(*paths):
        return sorted((s.student, s.notebook.name) for s in find_submissions(paths))

    # nbgrader's submitted/<student>/<chapter>/: the whole folder, one student's folder, one file
    assert students(nbg) == [("alice", "pdp_ice.ipynb"), ("bob", "pdp_ice.ipynb")]
    assert students(nbg / "alice") == [("alice", "pdp_ice.ipynb")]
    assert students(nbg / "alice" / CH) == [("alice", "pdp_ice.ipynb")]
    assert students(nbg / "alice" / CH / "pdp_ice.ipynb") == [("alice", "pdp_ice.ipynb")]
    # one folder per student, notebooks directly inside or in a chapter folder; checkpoints ignored
    assert students(flat) == [("carol", "pdp_ice.ipynb"), ("dave", "pdp_ice.ipynb"), ("erin", "pdp_ice.ipynb")]
    assert students(flat / "dave") == [("dave", "pdp_ice.ipynb")]
    with pytest.raises(FileNotFoundError):
        find_submissions([tmp_path / "nowhere"])


def test_two_notebooks_for_one_chapter_grade_the_released_name(tmp_path):
    copy = stub_submission(tmp_path / "alice", CH).rename(tmp_path / "alice" / "pdp_ice-Copy1.ipynb")  # a stub
    make_submission(tmp_path / "alice", CH)
    later = time.time() + 60
    os.utime(copy, (later, later))  # the copy is even the newer file: the released name still wins
    subs = deduplicate(find_submissions([tmp_path / "alice"]))
    assert [(s.notebook.name, [Path(p).name for p in s.ignored]) for s in subs] == \
        [("pdp_ice.ipynb", ["pdp_ice-Copy1.ipynb"])]
    out = tmp_path / "out"
    batch = grade_batch([tmp_path / "alice"], out, jobs=1, limits=FAST, quiet=True)
    assert len(batch) == 1 and json.loads(batch[0][1].read_text())["score"] == FULL
    assert "pdp_ice-Copy1.ipynb" in (out / "alice" / CH / "feedback.md").read_text()


# ----------------------------------------------------------------------------
# Resume and re-grade
# ----------------------------------------------------------------------------
def test_rerun_grades_only_what_is_missing_or_changed(tmp_path):
    subs, out = tmp_path / "submitted", tmp_path / "graded"
    for s in ("alice", "bob", "carol"):
        make_submission(subs / s / CH, CH)
    first = Counting()
    grade_batch([subs], out, jobs=2, limits=FAST, quiet=True, grade_fn=first)
    assert sorted(first.graded) == ["alice", "bob", "carol"]
    before = rows_of(out)

    again = Counting()  # nothing changed: nothing graded
    batch = grade_batch([subs], out, jobs=2, limits=FAST, quiet=True, grade_fn=again)
    assert again.graded == [] and batch.skipped == 3 and len(batch) == 3
    assert rows_of(out) == before

    (out / "bob" / CH / "results.json").unlink()  # as if the run had been interrupted before bob finished
    resumed = Counting()
    grade_batch([subs], out, jobs=2, limits=FAST, quiet=True, grade_fn=resumed)
    assert resumed.graded == ["bob"] and rows_of(out) == before

    make_submission(subs / "carol" / CH, CH, {"standardize": None})  # carol resubmits: graded again
    changed = Counting()
    grade_batch([subs], out, jobs=2, limits=FAST, quiet=True, grade_fn=changed)
    assert changed.graded == ["carol"]
    assert float(rows_of(out)["carol"]["total"]) == FULL - max_points("standardize")


def test_force_on_one_student_replaces_only_their_row(tmp_path):
    subs, out = tmp_path / "submitted", tmp_path / "graded"
    make_submission(subs / "alice" / CH, CH)
    make_submission(subs / "bob" / CH, CH, {"ice_curves": WRONG["ice_curves"]["centred on the last grid value"]})
    stub_submission(subs / "carol" / CH, CH)
    cli("grade", subs, "--out", out, "--jobs", "2", "--exercise-timeout", "5", cwd=tmp_path)
    before = rows_of(out)
    assert float(before["alice"]["total"]) == FULL and float(before["carol"]["total"]) == 0

    # alice's notebook is replaced (a late fix went wrong); re-grade her alone, forcing it
    make_submission(subs / "alice" / CH, CH, {"partial_dependence_1d": WRONG["partial_dependence_1d"]["median instead of mean"]})
    proc = cli("grade", subs / "alice", "--out", out, "--force", "--exercise-timeout", "5", cwd=tmp_path)
    assert "graded 1 notebook(s)" in proc.stdout
    after = rows_of(out)
    assert set(after) == {"alice", "bob", "carol"}
    assert after["bob"] == before["bob"] and after["carol"] == before["carol"]
    assert float(after["alice"]["total"]) < FULL
    assert float(after["alice"]["total"]) == grade_notebook(subs / "alice" / CH / "pdp_ice.ipynb").score


def cli(*args, cwd, check=True, **kwargs):
    proc = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=240, **kwargs)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_interrupt_then_rerun_resumes(tmp_path):
    """Ctrl-C in the middle: finished students are kept, the one being graded is not, no worker survives;
    the same command then grades only the rest."""
    subs, out = tmp_path / "submitted", tmp_path / "graded"
    make_submission(subs / "a_first" / CH, CH)
    make_submission(subs / "b_slow" / CH, CH, {"partial_dependence_1d": LOOP})
    make_submission(subs / "c_third" / CH, CH)
    make_submission(subs / "d_fourth" / CH, CH)
    args = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "--jobs", "1",
            "--exercise-timeout", "20"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "a_first" / CH / "results.json").exists():
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(1.0)  # b_slow is now stuck in its endless loop
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    done = sorted(p.parent.parent.name for p in out.glob("*/*/results.json"))
    assert done == ["a_first"]
    assert set(rows_of(out)) == {"a_first"}
    assert not [p for p in _processes_with(str(tmp_path))], "a worker outlived the interrupted grader"

    again = cli("grade", subs, "--out", out, "--jobs", "2", "--exercise-timeout", "2", cwd=tmp_path)
    assert "graded 3 notebook(s), 1 already graded" in again.stdout
    rows = rows_of(out)
    assert set(rows) == {"a_first", "b_slow", "c_third", "d_fourth"}
    assert float(rows["b_slow"]["total"]) == FULL - max_points("partial_dependence_1d")


def _processes_with(text: str):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmd and "autograder" in cmd:
                found.append(cmd)
    return found


# ----------------------------------------------------------------------------
# What the instructor and the students see
# ----------------------------------------------------------------------------
def test_progress_lines_and_bar():
    stream = io.StringIO()
    progress = Progress(3, stream=stream)
    for label in ("alice: 23/23", "bob: 0/23", "carol: 12/23"):
        progress.tick(label)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("[1/3]") and "ETA" in lines[0] and "alice: 23/23" in lines[0]
    assert lines[-1].startswith("[3/3] 100%") and "ETA 0s" in lines[-1]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    bar = Progress(2, stream=tty)
    bar.tick("alice: 23/23")
    bar.tick("bob: 0/23")
    bar.close()
    assert "2/2" in tty.getvalue() and "100%" in tty.getvalue()  # tqdm's bar, not one line per notebook


def test_feedback_html_escapes_student_text(tmp_path):
    nb = make_submission(tmp_path / "subs" / "mallory", CH, {"standardize": """
        def standardize(x_train, x_test):
            raise ValueError("<script>alert('owned')</script> & <b>bold</b>")"""})
    out = tmp_path / "out"
    grade_batch([nb], out, jobs=1, limits=FAST, quiet=True, feedback="both")
    page = (out / "mallory" / CH / "feedback.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "standardize" in page and "Automatic score" in page
    assert (out / "mallory" / CH / "feedback.md").exists()
    assert "<html>" in feedback_html(grade_notebook(nb, limits=FAST), "mallory")


def test_a_grader_failure_costs_one_notebook_not_the_batch(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    for s in ("alice", "bob", "carol"):
        make_submission(subs / s, CH)

    def flaky(path, **kwargs):
        if Path(path).parent.name == "bob":
            raise RuntimeError("a bug in the grader")
        return grade_notebook(path, **kwargs)

    batch = grade_batch([subs], out, jobs=2, limits=FAST, quiet=True, grade_fn=flaky)
    assert batch.errors == 1
    rows = rows_of(out)
    assert float(rows["alice"]["total"]) == FULL and float(rows["carol"]["total"]) == FULL
    assert float(rows["bob"]["total"]) == 0 and "the grader failed" in rows["bob"]["problems"]
    log = (out / "grader-errors.log").read_text()
    assert "a bug in the grader" in log and "Traceback" in log
    assert "Traceback" not in (out / "bob" / CH / "feedback.md").read_text()


def test_grader_files_changing_during_a_batch_are_reported(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    make_submission(subs / "alice", CH)
    make_submission(subs / "bob", CH)
    watched = tmp_path / "checks_copy.py"
    watched.write_text("original\n")

    def editing(path, **kwargs):  # someone edits a grader file while bob is graded
        if Path(path).parent.name == "bob":
            watched.write_text("edited\n")
        return grade_notebook(path, **kwargs)

    batch = grade_batch([subs], out, jobs=1, limits=FAST, quiet=True, grade_fn=editing,
                        guard=GraderGuard([watched], restore=False))
    assert batch.integrity and "checks_copy.py" in (out / "integrity.txt").read_text()
    bob = json.loads((out / "bob" / CH / "results.json").read_text())
    alice = json.loads((out / "alice" / CH / "results.json").read_text())
    assert "changed while this notebook was graded" in bob["extra_data"]["integrity"]
    assert "integrity" not in alice["extra_data"]
    assert watched.read_text() == "edited\n"  # without restore (isolated workers could not have done it)


def test_a_failed_grading_is_retried_by_the_next_run(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    make_submission(subs / "alice", CH)
    make_submission(subs / "bob", CH)

    def broken(path, **kwargs):
        raise RuntimeError("grader bug")

    grade_batch([subs], out, jobs=1, limits=FAST, quiet=True, grade_fn=broken)
    assert float(rows_of(out)["alice"]["total"]) == 0
    fixed = Counting()
    grade_batch([subs], out, jobs=1, limits=FAST, quiet=True, grade_fn=fixed)
    assert sorted(fixed.graded) == ["alice", "bob"] and float(rows_of(out)["alice"]["total"]) == FULL
    assert "problems" not in rows_of(out)["alice"] or not rows_of(out)["alice"]["problems"]


def test_the_guard_watches_the_grader_and_the_solutions():
    files = {str(p.relative_to(ROOT)) for p in GraderGuard.default_files() if p.is_relative_to(ROOT)}
    assert {"autograder/checks.py", "autograder/sandbox.py", f"autograder/public/{CH}.py",
            f"autograder/hidden/{CH}.py", f"source/{CH}/pdp_ice.ipynb"} <= files


def test_class_csv_is_spreadsheet_safe(tmp_path):
    folder = tmp_path / "=cmd" / CH
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({
        "score": 1, "output": "", "tests": [],
        "extra_data": {"student": "=HYPERLINK(\"x\")", "chapter": CH, "problem": "+oops"}}))
    write_class_csv(tmp_path)
    text = (tmp_path / "grades.csv").read_text()
    assert "'=HYPERLINK" in text and "'+oops" in text


def test_isolation_is_recorded_everywhere(tmp_path):
    nb = make_submission(tmp_path / "subs" / "alice", CH)
    out = tmp_path / "out"
    batch = grade_batch([nb], out, jobs=1, limits=FAST, quiet=True)
    data = json.loads((out / "alice" / CH / "results.json").read_text())
    assert data["extra_data"]["isolation"] == batch.isolation == sandbox.isolation_description(FAST)
    assert all(t["extra_data"]["status"] == "passed" for t in data["tests"] if t["max_score"])


# ----------------------------------------------------------------------------
# The benchmark script does not rot
# ----------------------------------------------------------------------------
def test_benchmark_script_runs(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark_grading.py"), "--n", "1",
                           "--chapters", CH, "--skip-nbgrader", "--json", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"| {CH} | 1 | {FULL:g} |" in proc.stdout
    row = json.loads(out.read_text())[0]
    assert row["ours_scores"] == [FULL] and 0 < row["ours_s"] < 30
    assert row["fork_server_same_scores"] and "The fork server, per submission" in proc.stdout
    assert set(row["where"]) == set(row["where_fresh"]) == {"worker_start_s", "load_s", "checks_s"}


def test_a_batch_without_namespaces_or_a_separate_user_is_refused_unless_asked(tmp_path, monkeypatch):
    """Neither user namespaces nor a separate user (not root): student code would run as the grader's own
    user. A batch is refused, saying why; ``isolation="none"`` grades anyway and every report says so."""
    monkeypatch.setattr(sandbox, "_namespace_problem", "user namespaces unavailable: simulated")
    monkeypatch.setattr(sandbox.users, "available", lambda: False)
    make_submission(tmp_path / "subs" / "bob", "ch01_pdp_ice")
    out = tmp_path / "out"
    with pytest.raises(sandbox.UnisolatedBatch, match="neither user namespaces nor a separate user"):
        grade_batch([tmp_path / "subs"], out, jobs=1, limits=FAST, quiet=True)
    assert not (out / "bob").exists()
    batch = grade_batch([tmp_path / "subs"], out, jobs=1, quiet=True,
                        limits=dataclasses.replace(FAST, isolation="none"))
    data = json.loads(batch[0][1].read_text())
    assert data["score"] == sum(max_points(ex) for ex in chapters()["ch01_pdp_ice"])
    assert data["extra_data"]["isolation"].startswith("process limits only")


def test_students_whose_names_differ_only_in_unsafe_characters_keep_their_own_results(tmp_path):
    """``a b`` and ``a_b`` would share the folder ``a_b``: the second one's results replaced the first's."""
    make_submission(tmp_path / "subs" / "a b", "ch01_pdp_ice")
    stub_submission(tmp_path / "subs" / "a_b", "ch01_pdp_ice")
    batch = grade_batch([tmp_path / "subs"], tmp_path / "out", jobs=1, limits=FAST, quiet=True)
    scores = {s.student: json.loads(p.read_text())["score"] for s, p in batch}
    assert scores == {"a b": sum(max_points(ex) for ex in chapters()["ch01_pdp_ice"]), "a_b": 0}
    assert len({p for _, p in batch}) == 2
    with open(tmp_path / "out" / "grades.csv", newline="") as fh:
        rows = {r["student"]: float(r["total"]) for r in csv.DictReader(fh)}
    assert rows == scores
