"""Hostile and damaged submissions, graded in one batch next to honest ones.

Every rogue below is a chapter-1 notebook (the real release notebook, exercise
cells filled in) with one kind of attack or damage. They are all graded by one
``grade_batch`` call with two workers, next to honest students, and each must
get exactly the expected result and a message saying what went wrong, while

* no rogue raises its score above what its honest work earns,
* the honest students score exactly what they score when graded alone,
* grades.csv has one row per student,
* the repository (grader code, checks, source notebooks) is unchanged,
* nothing the rogues started is still running,
* no feedback file or results.json shows a line of the hidden checks' code.

Rogues also try to start 2,000 processes, write 2 GB in many files, recognise the public test
model by its class name, and redefine ``self_check`` (flagged, since nbgrader would run it).

The sandbox is tested directly too: what a student's code can see and do inside it,
with the grader running as root (dropped to nobody) and as an ordinary user
(simulated: only its own uid mapped, capabilities dropped), and the fallback
without namespaces (process limits only, said in every report).
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from autograder import sandbox
from autograder.batch import GraderGuard, grade_batch
from autograder.checks import chapters, exercise_checks
from autograder.grade import grade_notebook
from autograder.sandbox import GIB, Limits
from tests.submissions import ROOT, edit_notebook, make_submission, reference_answers, stub_submission

CH = "ch01_pdp_ice"
STD, PD1, PD2, ICE = chapters()[CH]
FULL = {ex: sum(c.points for c in exercise_checks(ex)) for ex in (STD, PD1, PD2, ICE)}
TOTAL = sum(FULL.values())
LIMITS = Limits(exercise_s=4, notebook_s=20, load_s=10, memory_bytes=1 * GIB, disk_bytes=64 * 1024 ** 2,
                processes=32)
MARK = "ROGUE-MARK-7f3a"          # what a rogue writes; must appear nowhere in the repository afterwards
SLEEP_MARK = "313.1337"           # argument of the background processes a rogue starts
REF = reference_answers(CH)       # grade_id (= function name) -> reference solution cell


def body_of(exercise: str) -> str:
    """The reference solution's body (after the docstring), to append to a rogue's own first lines."""
    src = REF[exercise]
    return src.split('"""', 2)[2].strip("\n")


def with_prefix(exercise: str, header: str, prefix: str) -> str:
    """``header`` (a def line), then ``prefix`` (rogue lines, indented 4), then the reference body."""
    return header + "\n" + textwrap.indent(textwrap.dedent(prefix).strip("\n"), "    ") + "\n" + body_of(exercise)


HEAD = {
    STD: "def standardize(x_train, x_test):",
    PD1: "def partial_dependence_1d(predict, X, feature, grid):",
    PD2: "def partial_dependence_2d(predict, X, features, grids):",
    ICE: "def ice_curves(predict, X, feature, grid, centered=False):",
}

# Tries to start 2,000 processes that each sleep a minute; the sandbox allows LIMITS.processes.
FORK_BOMB = HEAD[STD] + textwrap.indent(textwrap.dedent(f"""
    import os, time
    for _ in range(2000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    return (x_train - mean) / std, (x_test - mean) / std"""), "    ")

# Writes 2 GB in 8 MB files (each under the per-file cap); the sandbox's disk is LIMITS.disk_bytes of tmpfs.
DISK_FILLER = with_prefix(ICE, HEAD[ICE], """
    chunk = b"x" * (8 * 1024 * 1024)
    for i in range(256):
        with open(f"part{i:03d}.bin", "wb") as fh:
            fh.write(chunk)
    """)

# Recognises the public test model by its class name and returns the closed form; zeros for any other model.
SPECIAL_CASES = HEAD[PD1] + textwrap.indent(textwrap.dedent("""
    if type(predict).__name__ == "QuadraticModel":
        m = predict
        out = []
        for v in grid:
            Z = X.copy()
            Z[:, feature] = v
            total = m.bias + Z @ m.linear + (Z ** 2) @ m.square
            for i, j, c in m.pairs:
                total = total + c * Z[:, i] * Z[:, j]
            out.append(total.mean())
        return np.array(out)
    return np.zeros(len(grid))"""), "    ")

# A cell (not an exercise) that would award points under nbgrader, where grade cells share the kernel.
SELF_AWARD = """import numpy as np
import autograder.selfcheck
def self_check(name, fn, hidden=False):
    return 100.0
np.allclose = lambda *a, **k: True
autograder.selfcheck.run_checks = lambda *a, **k: []"""


def _add_cell(nb, source):
    nb["cells"].insert(3, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": source})
    return nb


ZEROS = {
    STD: HEAD[STD] + "\n    return np.zeros_like(x_train), np.zeros_like(x_test)",
    PD1: HEAD[PD1] + "\n    return np.zeros(len(grid))",
    PD2: HEAD[PD2] + "\n    return np.zeros((len(grids[0]), len(grids[1])))",
    ICE: HEAD[ICE] + "\n    return np.zeros((len(X), len(grid)))",
}


# ----------------------------------------------------------------------------
# The rogues: name -> how to build it, and what its result must be
# ----------------------------------------------------------------------------
def rogues(repo: Path, subs: Path, out: Path):
    """``{student: (answers or a builder, expectations)}``.

    expectations: ``total`` (exact score), ``scores`` (exercise -> exact score), ``status``
    (exercise -> status every check of it has), ``message`` (exercise -> text every non-passed
    check's message contains), ``like_control`` (exercises that must score exactly as the
    honest all-zeros student), ``problem`` (text of the report's problem).
    """
    r = str(repo)
    honest_nb = str(subs / "honest_full" / "pdp_ice.ipynb")
    full_except = lambda ex, got=0: {e: (got if e == ex else FULL[e]) for e in FULL}  # noqa: E731
    return {
        "loop_forever": ({STD: HEAD[STD] + "\n    while True:\n        pass"},
                         dict(scores=full_except(STD), status={STD: "timed out"},
                              message={STD: f"timed out after {LIMITS.exercise_s:g} s"})),
        "sys_exit": ({PD1: HEAD[PD1] + "\n    import sys\n    sys.exit(3)"},
                     dict(scores=full_except(PD1), status={PD1: "error"}, message={PD1: "SystemExit"})),
        "os_exit": ({PD2: HEAD[PD2] + "\n    import os\n    os._exit(0)"},
                    dict(scores=full_except(PD2), status={PD2: "crashed"},
                         message={PD2: "do not call sys.exit or os._exit"})),
        "ten_gigabytes": ({ICE: HEAD[ICE] + "\n    big = np.ones(10 * 1024 ** 3 // 8)\n    return big[:1]"},
                          dict(scores=full_except(ICE), status={ICE: "error"},
                               message={ICE: "used more than 1 GiB"})),
        "print_flood": ({STD: with_prefix(STD, HEAD[STD], """
                             import sys, os
                             chunk = "x" * (1024 * 1024)
                             for _ in range(100):          # 100 MB on stdout
                                 print(chunk)
                             for _ in range(10):           # and 20 MB on stderr, two ways
                                 sys.stderr.write(chunk)
                                 os.write(2, chunk.encode())
                             """)},
                        dict(total=TOTAL)),
        "disk_flood": ({ICE: with_prefix(ICE, HEAD[ICE], """
                            with open("flood.bin", "wb") as fh:
                                for _ in range(100):      # 100 MB into a file: past the file-size cap
                                    fh.write(b"x" * (1024 * 1024))
                            """)},
                       dict(scores=full_except(ICE), status={ICE: "error"}, message={ICE: "File too large"})),
        "always_equal": ({STD: """
                              class AlwaysEqual:
                                  def __eq__(self, other):
                                      return True
                                  def __ne__(self, other):
                                      return False
                                  __hash__ = object.__hash__

                              def standardize(x_train, x_test):
                                  return AlwaysEqual(), AlwaysEqual()""",
                          PD1: HEAD[PD1] + "\n    return AlwaysEqual()",
                          PD2: """
                              class EqualArray(np.ndarray):
                                  def __eq__(self, other):
                                      return np.ones(np.shape(other), dtype=bool)
                                  def __array_finalize__(self, obj):
                                      pass

                              def partial_dependence_2d(predict, X, features, grids):
                                  return np.zeros((len(grids[0]), len(grids[1]))).view(EqualArray)"""},
                         dict(scores={STD: 0, PD1: 0, ICE: FULL[ICE]}, like_control=[PD2],
                              status={STD: "failed", PD1: "failed"},
                              message={STD: "expected numbers or arrays, got a AlwaysEqual",
                                       PD1: "expected numbers or arrays, got a AlwaysEqual"})),
        "monkeypatch": ({ICE: HEAD[ICE] + textwrap.indent(textwrap.dedent("""
                             import builtins
                             np.allclose = lambda *a, **k: True
                             np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
                             np.array_equal = lambda *a, **k: True
                             np.testing.assert_allclose = lambda *a, **k: None
                             builtins.isinstance = lambda obj, cls: True
                             builtins.AssertionError = ZeroDivisionError
                             return np.zeros((len(X), len(grid)))"""), "    ")},
                        dict(scores={STD: FULL[STD], PD1: FULL[PD1], PD2: FULL[PD2]}, at_most_control=[ICE],
                             tampering=["changes `np.allclose`", "changes `builtins.isinstance`"])),
        "cached_reference": ({PD1: HEAD[PD1] + textwrap.indent(textwrap.dedent(f"""
                                  import json
                                  for path in ["{r}/source/ch01_pdp_ice/pdp_ice.ipynb",
                                               "{r}/solutions/ch01_pdp_ice/pdp_ice.ipynb"]:
                                      try:
                                          nb = json.load(open(path))
                                      except OSError:
                                          continue
                                      for cell in nb["cells"]:
                                          src = "".join(cell["source"])
                                          if src.startswith("def partial_dependence_1d"):
                                              ns = {{"np": np}}
                                              exec(src, ns)
                                              return ns["partial_dependence_1d"](predict, X, feature, grid)
                                  raise FileNotFoundError("no reference answer on disk")"""), "    ")},
                             dict(scores=full_except(PD1), status={PD1: "error"},
                                  message={PD1: "no reference answer on disk"},
                                  # exec of a string read at run time: flagged for nbgrader (issue 19 §4)
                                  tampering=["`exec` of a string built at run time"])),
        "reads_hidden_and_others": ({STD: HEAD[STD] + textwrap.indent(textwrap.dedent(f"""
                                         import importlib
                                         found = []
                                         try:
                                             importlib.import_module("auto" + "grader.hidden.ch01_pdp_ice")
                                             found.append("hidden module")
                                         except ImportError:
                                             pass
                                         for path in ["{r}/autograder/hidden/ch01_pdp_ice.py", "{honest_nb}",
                                                      "{out}/grades.csv"]:
                                             try:
                                                 open(path).read()
                                                 found.append(path)
                                             except OSError:
                                                 pass
                                         if found:
                                             mean, std = x_train.mean(axis=0), x_train.std(axis=0)
                                             return (x_train - mean) / std, (x_test - mean) / std
                                         raise PermissionError("nothing to copy from")"""), "    ")},
                                    dict(scores=full_except(STD), status={STD: "error"},
                                         message={STD: "nothing to copy from"})),
        "rewrites_grader": ({ICE: with_prefix(ICE, HEAD[ICE], f"""
                                 import os
                                 for t in ["{r}/autograder/public/ch01_pdp_ice.py", "{r}/autograder/checks.py",
                                           "{r}/autograder/hidden/ch01_pdp_ice.py",
                                           "{r}/source/ch01_pdp_ice/pdp_ice.ipynb",
                                           "{r}/autograder/public/zz_rogue_checks.py",
                                           "{out}/grades.csv", "{out}/honest_full/ch01_pdp_ice/results.json"]:
                                     try:
                                         with open(t, "w") as fh:
                                             fh.write("# {MARK}\\n")
                                     except OSError:
                                         pass
                                     try:
                                         os.remove(t)
                                     except OSError:
                                         pass
                                 try:
                                     os.chmod("{r}/autograder/checks.py", 0o777)
                                 except OSError:
                                     pass
                                 """)},
                            dict(total=TOTAL)),
        "kills_processes": ({PD2: with_prefix(PD2, HEAD[PD2], """
                                 import os, signal
                                 for pid in (-1, os.getppid(), 1):
                                     try:
                                         os.kill(pid, signal.SIGKILL)
                                     except OSError:
                                         pass
                                 """)},
                            dict(total=TOTAL)),
        "background_process": ({ICE: with_prefix(ICE, HEAD[ICE], f"""
                                    import subprocess
                                    subprocess.Popen(["sleep", "{SLEEP_MARK}"], start_new_session=True,
                                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                                    """)},
                               dict(total=TOTAL)),
        # (on a busy machine the later checks of the exercise may run out of its 4 s: only the first is fixed)
        "fork_bomb": ({STD: FORK_BOMB},
                      dict(scores=full_except(STD), stopped={STD: "processes"},
                           first=(STD, "error", f"the sandbox allows at most {LIMITS.processes} processes"))),
        "disk_filler": ({ICE: DISK_FILLER},
                        dict(scores=full_except(ICE), status={ICE: "error"}, message={ICE: "No space left on device"},
                             stopped={ICE: "disk"})),
        "special_cases_test_model": ({PD1: SPECIAL_CASES}, dict(like_control=[PD1], scores={
            STD: FULL[STD], PD2: FULL[PD2], ICE: FULL[ICE]})),
        "awards_itself_points": (lambda nb: _add_cell(nb, SELF_AWARD),
                                 dict(total=TOTAL, tampering=["redefines `self_check`", "changes `np.allclose`",
                                                              "changes `autograder.selfcheck.run_checks`"])),
        "hardcoded_public": ({ICE: with_prefix(ICE, HEAD[ICE], """
                                  if X.shape[1] != 4:          # the public checks' tables have 4 columns
                                      return np.zeros((len(X), len(grid)))
                                  """)},
                             dict(public_only={ICE: True})),
        "huge_exception": ({STD: HEAD[STD] + "\n    raise ValueError('A' * 100000 + '\\nSECOND-LINE')"},
                           dict(scores=full_except(STD), status={STD: "error"}, message={STD: "ValueError: AAAA"},
                                short_messages=True)),
        "huge_result": ({ICE: HEAD[ICE] + "\n    return np.zeros((3000, 3000))"},
                        dict(scores=full_except(ICE), status={ICE: "crashed"},
                             message={ICE: "more than the grader accepts"})),
        "load_time_exit": ({STD: HEAD[STD].replace("x_test)", "x_test, _=__import__('os')._exit(1))")
                            + "\n    return x_train, x_test"},
                           dict(total=0, status={ex: "error" for ex in FULL},
                                message={ex: "exit code 1" for ex in FULL})),
        # -- damaged notebooks --------------------------------------------------
        "deleted_cell": (lambda nb: _drop_cell(nb, STD),
                         dict(scores=full_except(STD), status={STD: "error"},
                              message={STD: "no function called `standardize` was found"})),
        "duplicated_cells": (lambda nb: _duplicate_cells(nb),
                             dict(scores=full_except(PD1), status={PD1: "not attempted"},
                                  message={PD1: "not attempted yet"})),
        "reordered_cells": (lambda nb: {**nb, "cells": nb["cells"][::-1]}, dict(total=TOTAL)),
        "retyped_cell": (lambda nb: _retype(nb, PD2),
                         dict(scores=full_except(PD2), status={PD2: "error"},
                              message={PD2: "is defined in a markdown cell"})),
        "edited_metadata": (lambda nb: _edit_metadata(nb), dict(total=TOTAL, max=TOTAL)),
        "invalid_json": ("{ this is not json", dict(total=0, max=TOTAL, problem="not a valid notebook",
                                                    status={ex: "error" for ex in FULL})),
        "empty_file": ("", dict(total=0, max=TOTAL, problem="is empty")),
        "not_a_notebook": ("[1, 2, 3]", dict(total=0, max=TOTAL, problem="has no list of cells")),
        "wrong_chapter": ("WRONG", dict(total=0, max=0, problem="not a workbook notebook")),
    }


def _cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb["cells"]) if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _drop_cell(nb, grade_id):
    del nb["cells"][_cell_index(nb, grade_id)]
    return nb


def _duplicate_cells(nb):
    i = _cell_index(nb, PD1)
    later = json.loads(json.dumps(nb["cells"][i]))
    later["source"] = HEAD[PD1] + "\n    return None  # started again, not finished"
    later["metadata"] = {}
    nb["cells"].insert(i + 3, later)               # a later copy: the last definition wins, as in Jupyter
    j = _cell_index(nb, PD2)
    nb["cells"].insert(j, json.loads(json.dumps(nb["cells"][j])))  # an identical copy changes nothing
    return nb


def _retype(nb, grade_id):
    cell = nb["cells"][_cell_index(nb, grade_id)]
    cell["cell_type"] = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    return nb


def _edit_metadata(nb):
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader")
        if meta:
            meta.update(points=1000, grade=True, locked=False, checksum="0" * 32)
    a, b = _cell_index(nb, STD), _cell_index(nb, ICE)
    nb["cells"][a]["metadata"]["nbgrader"]["grade_id"] = ICE
    nb["cells"][b]["metadata"]["nbgrader"]["grade_id"] = STD
    return nb


def write_student(subs: Path, student: str, spec) -> Path:
    folder = subs / student
    if isinstance(spec, dict):
        return make_submission(folder, CH, spec)
    if callable(spec):
        return edit_notebook(make_submission(folder, CH), spec)
    folder.mkdir(parents=True, exist_ok=True)
    if spec == "WRONG":  # a notebook for another course: no function the grader knows
        nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                         "source": "def explain_everything_xyz(model):\n    return 42\n"}],
              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        path = folder / "my_project.ipynb"
        path.write_text(json.dumps(nb))
        return path
    path = folder / "pdp_ice.ipynb"
    path.write_text(spec)
    return path


# ----------------------------------------------------------------------------
# Helpers for the assertions
# ----------------------------------------------------------------------------
def tree_snapshot(root: Path):
    snap = {}
    for top in ("autograder", "source", "release", "solutions", "imlbook"):
        for p in sorted((root / top).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                snap[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return snap


TARGETS = ["autograder/public/ch01_pdp_ice.py", "autograder/checks.py", "autograder/hidden/ch01_pdp_ice.py",
           "source/ch01_pdp_ice/pdp_ice.ipynb", "release/ch01_pdp_ice/pdp_ice.ipynb"]


def assert_repo_untouched(before, after, root: Path):
    """The files the rogues attack are byte-identical, no file holds the rogue's mark, none was added by them.

    Files other engineers may be editing at the same time are not compared byte for byte.
    """
    for rel in TARGETS:
        assert after.get(rel) == before.get(rel), f"{rel} changed"
    assert not (root / "autograder/public/zz_rogue_checks.py").exists()
    for rel in set(after) - set(before) | {r for r in after if after[r] != before.get(r)}:
        assert MARK not in (root / rel).read_text(errors="replace"), f"a rogue wrote into {rel}"
    assert oct((root / "autograder/checks.py").stat().st_mode & 0o777) != oct(0o777)


def leftover_processes(mark: str):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if mark in cmd:
                found.append((pid, cmd))
    return found


def hidden_code_lines():
    lines = set()
    for f in (ROOT / "autograder" / "hidden").glob("*.py"):
        for line in f.read_text().splitlines():
            line = line.strip()
            if len(line) > 30:
                lines.add(line)
    return lines


def load_results(out: Path, student: str):
    files = list((out / student).glob("*/results.json"))
    assert len(files) == 1, f"{student}: {files}"
    return json.loads(files[0].read_text()), files[0].parent


def by_exercise(results):
    out = {}
    for t in results["tests"]:
        if t["max_score"] > 0:
            out.setdefault(t["name"].split(":", 1)[0], []).append(t)
    return out


def namespaces_available() -> bool:
    return sandbox.probe(Limits(isolation="auto")).startswith("namespaces")


# ----------------------------------------------------------------------------
# The batch
# ----------------------------------------------------------------------------
def test_rogues_and_honest_students_in_one_batch(tmp_path):
    if not namespaces_available():  # some rogues (kill -1, rewriting files) are only safe inside the sandbox
        pytest.skip("user namespaces are not available here: see test_fallback_without_namespaces")
    subs, out = tmp_path / "submissions", tmp_path / "graded"
    honest = {
        "honest_full": {},
        "honest_partial": {STD: """
            def standardize(x_train, x_test):
                return ((x_train - x_train.mean(0)) / x_train.std(0),
                        (x_test - x_test.mean(0)) / x_test.std(0))""",
                           PD2: """
            def partial_dependence_2d(predict, X, features, grids):
                a, b = features
                out = np.zeros((len(grids[1]), len(grids[0])))
                for j, v in enumerate(grids[1]):
                    for i, u in enumerate(grids[0]):
                        Z = X.copy(); Z[:, a] = u; Z[:, b] = v
                        out[j, i] = np.mean(predict(Z))
                return out.T if out.shape[0] != out.shape[1] else out"""},
        "control_zeros": dict(ZEROS),
    }
    paths = {name: write_student(subs, name, spec) for name, spec in honest.items()}
    stub_submission(subs / "stub", CH)  # graded too: the untouched release scores 0
    spec = rogues(ROOT, subs, out)
    for name, (build, _) in spec.items():
        paths[name] = write_student(subs, name, build)
    before = tree_snapshot(ROOT)

    started = time.monotonic()
    # The guard watches the attacked files (others may be edited by colleagues while the test runs).
    guard = GraderGuard([ROOT / t for t in TARGETS])
    batch = grade_batch([subs], out, jobs=2, limits=LIMITS, quiet=True, guard=guard)
    elapsed = time.monotonic() - started

    after = tree_snapshot(ROOT)
    assert_repo_untouched(before, after, ROOT)
    assert not leftover_processes(SLEEP_MARK), "a rogue's background process survived its worker"
    assert batch.isolation.startswith("namespaces") and not batch.integrity and batch.errors == 0
    students = set(honest) | set(spec) | {"stub"}
    assert {s.student for s, _ in batch} == students

    # one CSV row per student, matching results.json
    with open(out / "grades.csv", newline="") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == students
    for student in students:
        data, _ = load_results(out, student)
        assert float(rows[student]["total"]) == data["score"], student

    # honest students: exactly what they get alone
    for name in ("honest_full", "honest_partial", "control_zeros"):
        alone = grade_notebook(paths[name], limits=LIMITS)
        data, _ = load_results(out, name)
        assert data["score"] == alone.score, name
        assert {ex: sum(t["score"] for t in ts) for ex, ts in by_exercise(data).items()} == alone.exercise_scores()
    assert load_results(out, "honest_full")[0]["score"] == TOTAL
    assert 0 < load_results(out, "honest_partial")[0]["score"] < TOTAL
    stub_data, _ = load_results(out, "stub")
    assert stub_data["score"] == 0 and all(t["status"] == "failed" for t in stub_data["tests"] if t["max_score"])
    control = by_exercise(load_results(out, "control_zeros")[0])

    hidden_lines = hidden_code_lines()
    for name, (_, want) in spec.items():
        data, folder = load_results(out, name)
        ex_results = by_exercise(data)
        scores = {ex: sum(t["score"] for t in ts) for ex, ts in ex_results.items()}
        where = f"{name}: {json.dumps(scores)} {data['output']}"
        if "total" in want:
            assert data["score"] == want["total"], where
        if "max" in want:
            assert data["extra_data"]["max_score"] == want["max"], where
        for ex, expected in want.get("scores", {}).items():
            assert scores[ex] == expected, where
        for ex, status in want.get("status", {}).items():
            got = {(t["extra_data"]["status"], t["output"].split("\n")[0][:60]) for t in ex_results[ex]}
            assert all(t["status"] == "failed" and t["score"] == 0 for t in ex_results[ex]), where
            assert all(t["extra_data"]["status"] == status for t in ex_results[ex]), f"{where}: {got}"
            message = want.get("message", {}).get(ex)
            if message:
                assert all(message in t["output"] for t in ex_results[ex]), f"{where}: {got}"
                assert message in (folder / "feedback.md").read_text()
        for ex in want.get("like_control", []):
            assert [t["score"] for t in ex_results[ex]] == [t["score"] for t in control[ex]], where
        for ex in want.get("at_most_control", []):
            assert scores[ex] <= sum(t["score"] for t in control[ex]), where
        for ex in want.get("public_only", {}):  # passes what it was tuned to, earns on hidden ones what zeros earn
            public = [t for t in ex_results[ex] if t["visibility"] == "visible"]
            # ... and the public checks it passes earn nothing: each counts only with a hidden check of the same
            # method on inputs it was not tuned to (counts_with), which it fails
            assert all(t["extra_data"]["status"] == "not counted" and t["score"] == 0 for t in public), where
            hidden = [t["score"] for t in ex_results[ex] if t["visibility"] != "visible"]
            assert hidden == [t["score"] for t in control[ex] if t["visibility"] != "visible"], where
            assert scores[ex] < FULL[ex], where
        if "problem" in want:
            assert want["problem"] in data["output"], where
            assert want["problem"] in (folder / "feedback.md").read_text()
            assert want["problem"] in rows[name]["problems"]
        if "first" in want:
            ex, status, message = want["first"]
            first = ex_results[ex][0]
            assert first["extra_data"]["status"] == status and message in first["output"], where
        for ex, limit in want.get("stopped", {}).items():  # results.json says what the sandbox stopped, and why
            assert any(e["exercise"] == ex and e["limit"] == limit and e["why"]
                       for e in data["extra_data"]["stopped"]), where
            assert "Stopped by the sandbox's limits" in (folder / "feedback.md").read_text()
        if not want.get("stopped"):
            assert not [e for e in data["extra_data"]["stopped"] if e["limit"] in ("processes", "disk")
                        and "more than" in e["why"] or "filled" in e["why"]], where
        for text in want.get("tampering", []):
            assert any(text in t for t in data["extra_data"]["tampering"]), where
            assert text in (folder / "feedback.md").read_text() and text in rows[name]["problems"]
        if not want.get("tampering"):
            assert data["extra_data"]["tampering"] == [], where
        if want.get("short_messages"):
            for t in ex_results[STD]:
                assert len(t["output"]) < 400 and "SECOND-LINE" not in t["output"], t["output"][:100]
        # every failed check says why; nothing of the hidden checks' code is shown
        for t in data["tests"]:
            if t["max_score"] and t["status"] == "failed":
                assert t["output"].strip(), f"{name}: {t['name']} has no message"
        texts = (folder / "feedback.md").read_text() + (folder / "results.json").read_text()
        leaked = [line for line in hidden_lines if line in texts]
        assert not leaked, f"{name}: hidden check code in the feedback: {leaked[:2]}"
        assert data["extra_data"]["isolation"].startswith("namespaces")
    # how long the batch took is a benchmark's business, not a test's (loaded CI machines)


# ----------------------------------------------------------------------------
# The sandbox seen from inside
# ----------------------------------------------------------------------------
PROBE = r'''
import os
def probe():
    out = {}
    def t(label, f):
        try:
            out[label] = repr(f())[:200]
        except BaseException as e:
            out[label] = "EXC " + type(e).__name__
    t("uid", lambda: os.getuid())
    t("pid", lambda: os.getpid())
    t("root", lambda: sorted(os.listdir("/")))
    t("repo", lambda: sorted(os.listdir("__ROOT__")))
    t("hidden", lambda: sorted(x for x in os.listdir("__ROOT__/autograder/hidden") if x.endswith(".py")))
    t("source", lambda: os.listdir("__ROOT__/source"))
    t("write_repo", lambda: open("__ROOT__/autograder/__PROBE_FILE__", "w").write("x"))
    t("write_cwd", lambda: open("here.txt", "w").write("x"))
    t("net", lambda: __import__("socket").create_connection(("127.0.0.1", 9), timeout=1))
    t("caps", lambda: [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")])
    t("procs", lambda: sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
    return repr(out)
'''


def run_probe(limits, preload=()):
    probe_file = f"zz_probe_{os.getpid()}_{time.monotonic_ns()}.txt"
    source = PROBE.replace("__ROOT__", str(ROOT)).replace("__PROBE_FILE__", probe_file)
    worker = sandbox.Worker(source, limits, time.monotonic() + 60, preload=preload)
    assert worker.forked == bool(preload and limits.fork_server)
    try:
        import ast
        seen = ast.literal_eval(worker.call("probe", {}, time.monotonic() + 20, "timed out")["value"])
    finally:
        worker.close()
        leaked = ROOT / "autograder" / probe_file
        if leaked.exists():
            leaked.unlink()
            pytest.fail("the sandboxed code could write into the repository")
    return seen


@pytest.mark.parametrize("forked", [False, True], ids=["new-interpreter", "forked-from-template"])
@pytest.mark.parametrize("as_user", [False, True], ids=["grader-as-root-or-user", "only-own-uid-mapped"])
def test_what_student_code_sees_in_the_sandbox(monkeypatch, as_user, forked):
    """The same isolation whether the worker is a new interpreter or forked from a template (fork server)."""
    if not namespaces_available():
        pytest.skip("user namespaces are not available here")
    if as_user:  # what a grader run by an ordinary user does: map only its own uid, drop capabilities
        monkeypatch.setattr(sandbox, "_SELF_MAP_FOR_TESTS", True)
    seen = run_probe(Limits(isolation="namespace", memory_bytes=1 * GIB), preload=("numpy", "json") if forked else ())
    assert seen["pid"] == "1" and seen["procs"] == "[1]"          # alone in its process tree
    import sys
    in_repo = [Path(sys.prefix).name] if Path(sys.prefix).resolve().is_relative_to(ROOT.resolve()) else []
    assert seen["repo"] == repr(sorted(["autograder", "imlbook"] + in_repo))
    assert "source" not in seen["repo"] and "solutions" not in seen["repo"] and ".git" not in seen["repo"]
    assert seen["hidden"] == "[]" and seen["source"] == "EXC FileNotFoundError"
    assert seen["write_repo"].startswith("EXC")                       # read-only
    assert seen["write_cwd"] == "1"                                   # its own folder is writable
    assert seen["net"].startswith("EXC")                              # no network at all
    assert seen["caps"] == repr(["0000000000000000"])                 # no capabilities
    assert "home" not in seen["root"] and "var" not in seen["root"]
    if os.geteuid() == 0 and not as_user:
        assert seen["uid"] == "65534"                                 # nobody


def test_fallback_without_namespaces(tmp_path):
    """No namespaces (macOS, hardened Linux): process limits still hold, every report says what is missing,
    and a change to the grader's files is undone and flagged."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    target = tmp_path / "grader_file.py"          # stands in for a grader file (never the real repository here)
    target.write_text("ORIGINAL = True\n")
    write_student(subs, "honest", {})
    write_student(subs, "loops", {PD1: HEAD[PD1] + "\n    while True:\n        pass"})
    write_student(subs, "exits", {STD: HEAD[STD] + "\n    import os\n    os._exit(0)"})
    write_student(subs, "memory", {ICE: HEAD[ICE] + "\n    return np.ones(10 * 1024 ** 3 // 8)[:1]"})
    write_student(subs, "tamperer", {PD2: with_prefix(PD2, HEAD[PD2], f"""
        with open("{target}", "w") as fh:
            fh.write("ORIGINAL = False  # {MARK}\\n")
        """)})
    guard = GraderGuard([target], restore=True)
    limits = Limits(exercise_s=3, notebook_s=20, load_s=10, memory_bytes=1 * GIB, isolation="none")
    batch = grade_batch([subs], out, jobs=2, limits=limits, quiet=True, guard=guard)
    assert batch.isolation.startswith("process limits only")
    scores = {s.student: json.loads(p.read_text())["score"] for s, p in batch}
    assert scores == {"honest": TOTAL, "loops": TOTAL - FULL[PD1], "exits": TOTAL - FULL[STD],
                      "memory": TOTAL - FULL[ICE], "tamperer": TOTAL}
    assert target.read_text() == "ORIGINAL = True\n"                 # undone
    tamperer = json.loads((out / "tamperer" / CH / "results.json").read_text())
    assert "changed while this notebook was graded" in tamperer["extra_data"]["integrity"]
    assert "grader_file.py" in (out / "integrity.txt").read_text()
    assert "no file-system isolation" in tamperer["extra_data"]["isolation"]
    loops = by_exercise(json.loads((out / "loops" / CH / "results.json").read_text()))
    assert all("timed out after 3 s" in t["output"] for t in loops[PD1])


def test_forged_replies_are_refused():
    """A student's process that writes its own replies can send only plain data, of bounded size."""
    import pickle
    from autograder import wire
    for bad in ({"ok": True, "value": [1, 2, 3], "args_after": {}},        # a list is not what coerce sends
                {"ok": True, "value": {"__dict__": 1}, "args_after": {}}):
        with pytest.raises(ValueError):
            wire.check_plain(wire.loads(wire.dumps(bad))["value"])
    assert wire.check_plain((None, "x")) == (None, "x")
    with pytest.raises(ValueError):
        wire.loads(json.dumps({"__nd__": _npy_bytes_b64(pickle.dumps(1))}).encode())


def _npy_bytes_b64(data: bytes) -> str:
    import base64
    return base64.b64encode(data).decode()


def test_notebook_time_limit_stops_the_rest(tmp_path):
    """An endless loop in every exercise: the first hits the exercise limit, then the notebook's limit ends the rest."""
    nb = write_student(tmp_path, "slow", {ex: HEAD[ex] + "\n    while True:\n        pass" for ex in FULL})
    limits = Limits(exercise_s=2, notebook_s=3, load_s=10, memory_bytes=1 * GIB)
    report = grade_notebook(nb, limits=limits)
    # Limits count the submission's CPU seconds (measured every sandbox.POLL_S), not the wall clock.
    assert limits.notebook_s <= report.timing["cpu_s"] < limits.notebook_s + 1.0, report.timing
    assert not report.overloaded  # endless loops use their CPU seconds: never the wall-clock backstop
    messages = {ex: {(r.status, r.message) for r in rs} for ex, rs in report.results.items()}
    assert messages[STD] == {("timed out", "timed out after 2 s")}
    assert messages[PD1] == {("timed out", "timed out: the notebook's time limit of 3 s ran out")}
    for ex in (PD2, ICE):
        assert messages[ex] == {("timed out", "not run: the notebook's time limit of 3 s ran out")}
    assert report.score == 0


def test_worker_puts_back_what_student_code_replaces():
    """Replacing built-ins or NumPy functions lasts for one call only: the value is still sent by intact code,
    and the next exercise (lazy submodules such as np.random included) runs normally."""
    source = textwrap.dedent('''
        import numpy as np
        def vandal():
            import builtins
            builtins.isinstance = lambda obj, cls: True
            builtins.len = lambda obj: 0
            np.mean = lambda *a, **k: 42.0
            np.array = lambda *a, **k: "not an array"
            return np.arange(3.0)
        def honest():
            rng = np.random.default_rng(0)
            return np.mean([1.0, 2.0, 3.0]) + len([1, 2]) + 0 * rng.random()
    ''')
    worker = sandbox.Worker(source, Limits(memory_bytes=1 * GIB), time.monotonic() + 60)
    try:
        first = worker.call("vandal", {}, time.monotonic() + 20, "timed out")["value"]
        assert first.tolist() == [0.0, 1.0, 2.0]
        for _ in range(2):
            assert float(worker.call("honest", {}, time.monotonic() + 20, "timed out")["value"]) == 4.0
    finally:
        worker.close()


# ----------------------------------------------------------------------------
# Limits on processes and disk, one submission at a time
# ----------------------------------------------------------------------------
def test_fork_bomb_and_disk_filler_are_stopped(tmp_path):
    """2,000 processes and 2 GB of files are refused at the caps; the rest of the notebook is graded normally,
    nothing the student started is left, and the report says what was stopped and why."""
    if not namespaces_available():
        pytest.skip("the process and disk caps need the namespace sandbox (see test_limits_without_namespaces)")
    nb = write_student(tmp_path, "greedy", {STD: FORK_BOMB, ICE: DISK_FILLER})
    report = grade_notebook(nb, limits=dataclasses.replace(LIMITS, exercise_s=30, notebook_s=90))
    assert report.exercise_scores() == {STD: 0, PD1: FULL[PD1], PD2: FULL[PD2], ICE: 0}
    assert all(f"at most {LIMITS.processes} processes" in r.message for r in report.results[STD])
    assert all("No space left on device" in r.message and "64 MB" in r.message for r in report.results[ICE])
    stopped = {(e["exercise"], e["limit"]): e for e in report.gradescope()["extra_data"]["stopped"]}
    assert set(stopped) == {(STD, "processes"), (ICE, "disk")}
    assert stopped[(STD, "processes")]["checks"] == len(report.results[STD])
    assert "Stopped by the sandbox's limits" in report.feedback_markdown()


def test_limits_without_namespaces_are_described():
    """Without namespaces RLIMIT_NPROC counts the grader's own uid (and root ignores it): the report says so."""
    text = sandbox.isolation_description(Limits(isolation="none"))
    if os.geteuid() == 0:
        assert "processes not capped (root without namespaces)" in text
    else:
        assert "at most 64 more processes" in text
    assert "disk not capped beyond 16 MB per file" in text


# ----------------------------------------------------------------------------
# Test models stay in the grader
# ----------------------------------------------------------------------------
def test_student_code_gets_an_opaque_test_model():
    """The student's function gets a stand-in: it predicts (one round trip per batched call, exceptions and all),
    but has no parameters, no class name to recognise, and pickles to nothing but an id."""
    from autograder.testmodels.ch01_pdp_ice import QuadraticModel
    source = textwrap.dedent('''
        import numpy as np, pickle
        def look(predict, X):
            seen = {"type": type(predict).__name__, "pickle": len(pickle.dumps(predict))}
            for attr in ("linear", "square", "pairs", "bias", "__dict__"):
                try:
                    getattr(predict, attr)
                    seen[attr] = "visible"
                except AttributeError:
                    seen[attr] = "hidden"
            try:
                predict(X[:, :2])
            except ValueError as exc:
                seen["error"] = str(exc)[:40]
            return {k: str(v) for k, v in seen.items()}, predict(X)
    ''')
    model = QuadraticModel(linear=[1.0, 2.0, 3.0], bias=0.5)
    X = np.arange(12.0).reshape(4, 3)
    worker = sandbox.Worker(source, Limits(memory_bytes=1 * GIB), time.monotonic() + 60)
    try:
        seen, predicted = worker.call("look", {"predict": model, "X": X}, time.monotonic() + 20, "timed out")["value"]
        assert worker.model_calls == 2                       # the failing call and the batched one
    finally:
        worker.close()
    assert seen["type"] != "QuadraticModel" and int(seen["pickle"]) < 120
    assert {seen[a] for a in ("linear", "square", "pairs", "bias", "__dict__")} == {"hidden"}
    assert seen["error"].startswith("predict expects a 2-D array")
    assert predicted.tolist() == model(X).tolist()


def test_which_arguments_stay_in_the_grader():
    from autograder import remote
    from autograder.testmodels.ch01_pdp_ice import QuadraticModel
    from sklearn.linear_model import Ridge

    class Local:
        SANDBOX_LOCAL = True

        def __call__(self, x):
            return x

    assert remote.should_proxy(QuadraticModel([1.0]))
    assert remote.should_proxy(lambda x: x) and remote.should_proxy(test_which_arguments_stay_in_the_grader)
    assert remote.should_proxy(QuadraticModel([1.0]).__call__)
    for local in (Ridge(), np.mean, np.zeros(3), QuadraticModel, Local(), "text", 3.0, len):
        assert not remote.should_proxy(local), local
    models = {}
    kwargs = remote.stub_out({"f": QuadraticModel([1.0]), "pair": (QuadraticModel([2.0]), 3),
                              "_inject": {"model": QuadraticModel([3.0])}, "X": np.ones(2)}, models)
    assert len(models) == 3 and isinstance(kwargs["pair"][0], remote.TestModel)
    assert isinstance(kwargs["_inject"]["model"], remote.TestModel) and kwargs["X"] is not None


# ----------------------------------------------------------------------------
# nbgrader's shared kernel: code that patches what grade cells rely on is flagged
# ----------------------------------------------------------------------------
def test_tampering_is_flagged_and_ordinary_code_is_not():
    from autograder.tamper import scan
    bad = textwrap.dedent('''
        import numpy as np, builtins, sys
        from autograder import self_check as check
        import autograder.selfcheck as sc
        self_check = lambda *a, **k: 100
        np.testing.assert_allclose = print
        builtins.isinstance = lambda a, b: True
        setattr(sc, "run_checks", None)
        sys.modules["autograder"] = None
        globals()["self_check"] = 3
        __builtins__.len = 5
        del np.isclose
    ''')
    found = scan([("cell 5", bad)])
    for text in ("line 5: redefines `self_check`",
                 "changes `np.testing.assert_allclose`", "changes `builtins.isinstance`", "`setattr` on `sc`",
                 "changes `sys.modules['autograder']`", "changes `globals()['self_check']`",
                 "changes `__builtins__.len`", "line 12: changes `np.isclose`"):
        assert any(text in f for f in found), (text, found)
    assert all(f.startswith("cell 5, line ") for f in found)
    fine = textwrap.dedent('''
        import numpy as np, builtins
        import matplotlib.pyplot as plt
        import pandas as pd
        from autograder import self_check
        plt.rcParams["font.size"] = 12
        pd.options.display.max_rows = 10
        np.random.seed(0)
        rng = np.random.default_rng(0)
        self_check("standardize", lambda a, b: None)
    ''')
    assert scan([("cell 1", fine)]) == []
    for notebook in sorted(ROOT.glob("source/*/*.ipynb")) + sorted(ROOT.glob("release/*/*.ipynb")):
        from autograder.extract import extract
        assert extract(notebook, []).tampering == [], notebook


# ----------------------------------------------------------------------------
# The fork server
# ----------------------------------------------------------------------------
def test_forked_workers_are_fresh_and_end_like_new_ones(tmp_path):
    """Workers forked from a template that imported the chapter's libraries: each starts clean (nothing a previous
    student left in a module survives), exit codes and crashes read as before, and with fork_server=False every
    worker is a new interpreter."""
    source = textwrap.dedent('''
        import json, os
        def leave_a_mark():
            json.MARK = "left by the previous student"
            return 1.0
        def read_the_mark():
            return getattr(json, "MARK", "clean")
        def pid():
            return float(os.getpid())
        def bye():
            os._exit(3)
    ''')
    limits = Limits(memory_bytes=1 * GIB)
    pids = set()
    for _ in range(2):
        worker = sandbox.Worker(source, limits, time.monotonic() + 60, preload=("json",))
        try:
            assert worker.forked
            assert worker.call("read_the_mark", {}, time.monotonic() + 20, "timed out")["value"] == "clean"
            worker.call("leave_a_mark", {}, time.monotonic() + 20, "timed out")
            pids.add(worker.proc.pid)
            with pytest.raises(sandbox.WorkerDied, match="exit code 3"):
                worker.call("bye", {}, time.monotonic() + 20, "timed out")
        finally:
            worker.close()
    assert len(pids) == 2
    assert any("json: in use" in note for note in sandbox.template_notes())
    plain = sandbox.Worker(source, Limits(memory_bytes=1 * GIB, fork_server=False), time.monotonic() + 60,
                           preload=("json",))
    try:
        assert not plain.forked
    finally:
        plain.close()
    nb = write_student(tmp_path, "honest", {})
    report = grade_notebook(nb, limits=LIMITS)
    timing = report.gradescope()["extra_data"]["timing"]
    assert report.score == TOTAL and timing["forked_workers"] == timing["workers"] == 1
    assert all(isinstance(t["extra_data"]["seconds"], float) for t in report.gradescope()["tests"] if t["max_score"])


def test_a_late_fork_server_reply_never_names_another_workers_process(tmp_path):
    """A spawn that gave up waiting (a busy machine) must not hand its late reply to the next worker: that
    worker would poll and kill the wrong process. The late child is killed, the next worker gets its own pid."""
    limits = Limits(memory_bytes=1 * GIB, isolation="none")
    env = sandbox.worker_env(str(tmp_path))
    template = sandbox._template_for(("numpy",), env)
    if template is None:
        pytest.skip("the fork server is not usable here")
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    with pytest.raises(OSError):
        template.spawn(req_r, resp_w, {"mode": "none", "workdir": str(tmp_path)}, env, str(tmp_path), timeout=-1)
    for fd in (req_r, req_w, resp_r, resp_w):
        os.close(fd)
    source = "def pid():\n    import os\n    return float(os.getpid())"
    worker = sandbox.Worker(source, limits, time.monotonic() + 60, preload=("numpy",))
    try:
        assert worker.forked
        assert float(worker.call("pid", {}, time.monotonic() + 20, "timed out")["value"]) == worker.proc.pid
    finally:
        worker.close()
    assert not template.replies and not template.abandoned  # the late reply was consumed, its child killed
