#!/usr/bin/env python3
"""How long grading takes: the standalone grader against ``nbgrader autograde``, per submission.

For every chapter in ``source/`` (or those named with ``--chapters``) it builds a class of N
solved submissions (the released notebook with every exercise cell filled with the reference
solution, like a student who got everything right), then times, on the same files,

* ``python -m autograder grade submitted/ --out ...`` with the default number of workers
  (the number of cores) and with one worker, and
* ``nbgrader autograde <chapter>`` in a throw-away course (``nbgrader_config.py`` and
  ``source/<chapter>`` copied there, ``nbgrader generate_assignment``, submissions under
  ``submitted/<student>/<chapter>/``): nbgrader executes each whole notebook, training included,
  one at a time.

Both are timed as an instructor would run them (a fresh process, wall clock), and the table shows
seconds per submission and the ratio. A second table shows our grader with one job before and after the
fork server (``IMLBOOK_FORK_SERVER=0``: every worker a new interpreter importing the chapter's libraries;
default: workers forked from a template that imported the chapter's ``WORKER_PRELOAD``), with where a
submission's time goes (worker start, loading the notebook's code, checks) from ``results.json``. It also checks that both graders give every submission the
same automatic score. Nothing is written to the repository.

    python scripts/benchmark_grading.py                    # 10 submissions per chapter
    python scripts/benchmark_grading.py --n 4 --chapters ch01_pdp_ice
    python scripts/benchmark_grading.py --n 1 --skip-nbgrader   # a smoke test (seconds)

nbgrader runs ``alembic`` from the environment's ``bin/`` folder: this script puts it on PATH.
Chapters whose notebooks load data need it offline (``IMLBOOK_DATA``) when there is no network.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # nbgrader runs `alembic`
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _run(args: List[str], cwd: Path, timeout: float, extra_env: Optional[Dict[str, str]] = None
         ) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=dict(_env(), **(extra_env or {})), capture_output=True, text=True,
                          timeout=timeout)


def source_chapters() -> List[str]:
    return sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _grade_id(cell: dict) -> Optional[str]:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def make_course(chapter: str, course: Path) -> Path:
    """A throw-away nbgrader course holding the chapter; returns its released notebook."""
    (course / "source").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / chapter, course / "source" / chapter,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    proc = _run([sys.executable, "-m", "nbgrader", "generate_assignment", chapter, "--force",
                 f"--CourseDirectory.root={course}"], cwd=course, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {chapter} failed:\n{proc.stderr[-2000:]}")
    return next((course / "release" / chapter).glob("*.ipynb"))


def released_notebook(chapter: str, course: Optional[Path]) -> Path:
    committed = sorted((ROOT / "release" / chapter).glob("*.ipynb")) if (ROOT / "release" / chapter).is_dir() else []
    if committed and course is None:
        return committed[0]
    if course is None:
        course = Path(tempfile.mkdtemp(prefix="bench-release-"))
    return make_course(chapter, course)


def solved(chapter: str, release: Path) -> dict:
    """The released notebook with every code solution cell replaced by the reference solution."""
    source = json.loads(next((ROOT / "source" / chapter).glob("*.ipynb")).read_text(encoding="utf-8"))
    answers = {_grade_id(c): MARKER.sub("", _text(c)) for c in source["cells"]
               if c.get("cell_type") == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = json.loads(release.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        gid = _grade_id(cell)
        if cell.get("cell_type") == "code" and gid in answers:
            cell["source"] = answers[gid]
    return nb


def build_class(nb: dict, folder: Path, chapter: str, name: str, n: int) -> List[str]:
    students = [f"student{i:03d}" for i in range(1, n + 1)]
    for s in students:
        dest = folder / s / chapter
        dest.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return students


def time_ours(submitted: Path, out: Path, jobs: Optional[int], fork_server: bool = True) -> tuple:
    """Wall clock of one ``python -m autograder grade`` run, the scores, and where a submission's time went
    (mean of results.json's ``extra_data["timing"]``: worker start, loading the notebook's code, checks)."""
    args = [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out), "--force"]
    if jobs:
        args += ["--jobs", str(jobs)]
    started = time.perf_counter()
    proc = _run(args, cwd=submitted.parent, timeout=3600,
                extra_env={"IMLBOOK_FORK_SERVER": "1" if fork_server else "0"})
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"our grader failed:\n{proc.stdout[-1000:]}\n{proc.stderr[-2000:]}")
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        scores = {r["student"]: float(r["total"]) for r in csv.DictReader(fh)}
    timings = []
    for results in out.glob("*/*/results.json"):
        timing = json.loads(results.read_text(encoding="utf-8")).get("extra_data", {}).get("timing") or {}
        if timing:
            timings.append(timing)
    where = {k: sum(t.get(k, 0.0) for t in timings) / len(timings)
             for k in ("worker_start_s", "load_s", "checks_s")} if timings else {}
    return elapsed, scores, where


def time_nbgrader(course: Path, chapter: str) -> tuple:
    started = time.perf_counter()
    proc = _run([sys.executable, "-m", "nbgrader", "autograde", chapter, "--create",
                 f"--CourseDirectory.root={course}"], cwd=course, timeout=7200)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader autograde failed:\n{proc.stdout[-1000:]}\n{proc.stderr[-3000:]}")
    export = _run([sys.executable, "-m", "nbgrader", "export", "--to", str(course / "grades.csv"),
                   f"--CourseDirectory.root={course}"], cwd=course, timeout=600)
    scores = {}
    if export.returncode == 0:
        with open(course / "grades.csv", newline="", encoding="utf-8") as fh:
            scores = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(fh)
                      if r.get("assignment") == chapter}
    return elapsed, scores


def bench_chapter(chapter: str, n: int, jobs: Optional[int], skip_nbgrader: bool, work: Path) -> dict:
    row = {"chapter": chapter, "submissions": n}
    course = work / "course" if not skip_nbgrader else None
    release = released_notebook(chapter, course)
    nb = solved(chapter, release)
    ours_root = work / "ours" / "submitted"
    build_class(nb, ours_root, chapter, release.name, n)
    default_jobs = jobs or os.cpu_count() or 1
    t_par, ours_scores, _ = time_ours(ours_root, work / "ours" / "graded", jobs)
    t_one, _, where = time_ours(ours_root, work / "ours" / "graded-1", 1)
    # before the fork server: every worker a new interpreter that imports the chapter's libraries itself
    t_fresh, fresh_scores, where_fresh = time_ours(ours_root, work / "ours" / "graded-1-fresh", 1, fork_server=False)
    row.update(jobs=default_jobs, ours_s=t_par / n, ours_1job_s=t_one / n, ours_1job_fresh_s=t_fresh / n,
               where=where, where_fresh=where_fresh, ours_scores=sorted(set(ours_scores.values())),
               fork_server_same_scores=fresh_scores == ours_scores)
    if not skip_nbgrader:
        build_class(nb, course / "submitted", chapter, release.name, n)
        try:
            t_nbg, nbg_scores = time_nbgrader(course, chapter)
            row.update(nbgrader_s=t_nbg / n, ratio=(t_nbg / n) / (t_par / n), ratio_1job=(t_nbg / n) / (t_one / n))
            row["scores_agree"] = bool(nbg_scores) and all(
                abs(nbg_scores.get(s, -1) - v) < 1e-6 for s, v in ours_scores.items())
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            row["nbgrader_error"] = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
    return row


def fork_table(rows: List[dict]) -> str:
    """Per submission, one job: a fresh interpreter per worker (before) against workers forked from a template."""
    def split(w: dict) -> str:
        return " / ".join(f"{w.get(k, 0):.2f}" for k in ("worker_start_s", "load_s", "checks_s")) if w else "-"

    head = ["chapter", "s/sub, fresh worker (before)", "start / load / checks", "s/sub, fork server (after)",
            "start / load / checks", "same scores"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["chapter"], f"{r['ours_1job_fresh_s']:.2f}", split(r.get("where_fresh", {})), f"{r['ours_1job_s']:.2f}",
            split(r.get("where", {})), "yes" if r.get("fork_server_same_scores") else "NO"]) + " |")
    return "\n".join(lines)


def table(rows: List[dict]) -> str:
    head = ["chapter", "submissions", "score (ours)", "ours s/sub (jobs)", "ours s/sub (1 job)", "nbgrader s/sub",
            "ratio", "ratio (1 job)", "same scores"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        nbg = f"{r['nbgrader_s']:.2f}" if "nbgrader_s" in r else ("failed" if "nbgrader_error" in r else "skipped")
        lines.append("| " + " | ".join([
            r["chapter"], str(r["submissions"]), "/".join(f"{x:g}" for x in r["ours_scores"]),
            f"{r['ours_s']:.2f} ({r['jobs']})", f"{r['ours_1job_s']:.2f}", nbg,
            f"{r['ratio']:.0f}x" if "ratio" in r else "-", f"{r['ratio_1job']:.0f}x" if "ratio_1job" in r else "-",
            ("yes" if r.get("scores_agree") else "NO") if "scores_agree" in r else "-"]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10, help="submissions per chapter (default 10)")
    parser.add_argument("--chapters", nargs="*", help="default: every chapter in source/")
    parser.add_argument("--jobs", type=int, default=None, help="our grader's workers (default: number of cores)")
    parser.add_argument("--skip-nbgrader", action="store_true", help="time our grader only")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--keep", help="build everything in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)
    chapters = args.chapters or source_chapters()
    rows = []
    for chapter in chapters:
        if not (ROOT / "source" / chapter).is_dir():
            print(f"{chapter}: no such chapter in source/", file=sys.stderr)
            return 2
        work = Path(args.keep) / chapter if args.keep else Path(tempfile.mkdtemp(prefix=f"bench-{chapter}-"))
        work.mkdir(parents=True, exist_ok=True)
        print(f"{chapter}: {args.n} submission(s)...", file=sys.stderr, flush=True)
        try:
            rows.append(bench_chapter(chapter, args.n, args.jobs, args.skip_nbgrader, work))
        except (RuntimeError, subprocess.TimeoutExpired, StopIteration) as exc:
            print(f"{chapter}: benchmark failed: {exc}", file=sys.stderr)
            rows.append({"chapter": chapter, "submissions": args.n, "error": str(exc)[:500]})
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    ok = [r for r in rows if "error" not in r]
    print(f"\nGrading time per submission ({platform.node() or 'this machine'}: {os.cpu_count()} cores, "
          f"Python {platform.python_version()}); wall clock of the whole command divided by submissions\n")
    print(table(ok))
    print("\nThe fork server, per submission with one job (seconds; start / load / checks: mean of results.json's "
          "extra_data.timing)\n")
    print(fork_table(ok))
    for r in rows:
        if "error" in r:
            print(f"\n{r['chapter']}: could not be benchmarked: {r['error']}")
        if "nbgrader_error" in r:
            print(f"\n{r['chapter']}: nbgrader autograde failed: {r['nbgrader_error']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0 if len(ok) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
