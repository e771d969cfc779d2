"""Command line: ``python -m autograder {grade,list,bundle,marks}`` (``python workbook.py`` routes here).

    python -m autograder grade NOTEBOOK [--results results.json]
    python -m autograder grade NOTEBOOK --public-only          # a student's check: nothing written
    python -m autograder grade SUBMISSIONS_DIR --out graded/ [--jobs 8] [--force] [--feedback html]
    python -m autograder list
    python -m autograder bundle OUT_DIR
    python -m autograder marks sheet graded/                   # written answers to mark by hand
    python -m autograder marks merge graded/                   # their marks into grades.csv

Relative paths are taken from the current folder. No command writes into the workbook's own files or
into a non-empty folder it did not make.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.sandbox import GIB, Limits


def _limits(args) -> Limits:
    return Limits(exercise_s=args.exercise_timeout, notebook_s=args.notebook_timeout,
                  memory_bytes=int(args.memory_gib * GIB), isolation=args.isolation)


def cmd_grade(args) -> int:
    from autograder import sandbox
    from autograder.batch import grade_batch
    from autograder.grade import grade_notebook

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    limits = _limits(args)
    single = len(paths) == 1 and paths[0].is_file() and args.out is None
    from autograder import outdirs
    try:
        if single:
            results = _results_path(args)  # None: a student's public check, nothing to keep
            report = grade_notebook(paths[0], chapter=args.chapter, include_hidden=not args.public_only,
                                    limits=limits)
            print(_summary(report, public_only=args.public_only))
            if results is None:
                print("(nothing written; add --results FILE to keep the results as JSON"
                      + (" and the feedback beside it)" if args.feedback else ")"))
                return 0
            data = report.gradescope()
            data["extra_data"]["isolation"] = sandbox.isolation_description(limits)
            results.write_text(json.dumps(data, indent=2), encoding="utf-8")
            print(f"results written to {results}")
            for path in _write_feedback(report, results, args.feedback):
                print(f"feedback written to {path}")
            return 0
        out = outdirs.resolve(args.out or "graded")
        batch = grade_batch(paths, out, jobs=args.jobs, chapter=args.chapter, include_hidden=not args.public_only,
                            limits=limits, force=args.force, feedback=args.feedback or "md")
    except outdirs.UnsafeOutput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sandbox.SandboxUnavailable as exc:
        print(f"error: --isolation namespace is not available on this machine: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    feedback = {"md": "feedback.md", "html": "feedback.html", "both": "feedback.md and feedback.html"}[
        args.feedback or "md"]
    print(f"graded {batch.graded} notebook(s), {batch.skipped} already graded; class grades in "
          f"{out / 'grades.csv'}; class report in {out / 'report.html'}; per-student results.json and "
          f"{feedback} under {out}/<student>/<chapter>/")
    if batch.integrity:
        print(f"WARNING: the grader's files changed during the batch: see {out / 'integrity.txt'}", file=sys.stderr)
        return 3
    return 0


def _write_feedback(report, results: Path, kind) -> list:
    """One notebook's feedback beside its results file (``--feedback md|html|both``; none if not asked)."""
    from autograder.batch import feedback_html

    written = []
    stem = results.stem.replace("results", "feedback") if "results" in results.stem else f"{results.stem}.feedback"
    if kind in ("md", "both"):
        written.append(results.with_name(f"{stem}.md"))
        written[-1].write_text(report.feedback_markdown(), encoding="utf-8")
    if kind in ("html", "both"):
        written.append(results.with_name(f"{stem}.html"))
        written[-1].write_text(feedback_html(report), encoding="utf-8")
    return written


def _results_path(args):
    """Where to write one notebook's results.json (absolute), or None for a student's public check."""
    from autograder import outdirs
    if args.results is None and args.public_only:
        return None
    results = outdirs.resolve(args.results or "results.json")
    outdirs.refuse_protected(results, "results")
    if results.is_dir():
        raise outdirs.UnsafeOutput(f"--results {results} is a folder: name a file, e.g. {results / 'results.json'}")
    if results.exists() and not args.force and not _is_results_file(results):
        raise outdirs.UnsafeOutput(f"{results} exists and is not a results file of this grader: nothing was "
                                   f"written. Name another file with --results, or pass --force to replace it.")
    return results


def _is_results_file(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return isinstance(data, dict) and "notebook_sha256" in data.get("extra_data", {})
    except (OSError, ValueError, AttributeError):
        return False


def _summary(report, public_only: bool = False) -> str:
    kind = "points on the public checks" if public_only else "automatic points"
    lines = [f"{Path(report.notebook).name} ({report.chapter}): {report.score:g} / {report.max_score:g} {kind}"]
    if report.problem:
        lines.append(f"  problem: {report.problem}")
    for ex, rs in report.results.items():
        got, out_of = sum(r.score for r in rs), sum(r.check.points for r in rs)
        lines.append(f"  {ex}: {got:g} / {out_of:g}")
        first = next((r for r in rs if not r.passed), None)
        if first is not None:
            lines.append(f"    first problem: {first.message}")
    lines.append(_full_grade(report, public_only))
    return "\n".join(line for line in lines if line)


def _full_grade(report, public_only: bool) -> str:
    """What the score above covers, and what the full grade is out of."""
    from autograder.selfcheck import chapter_points
    points = chapter_points(report.chapter) if report.chapter else None
    written_n = len(report.manual) or (points[2] if points else 0)
    written = sum(m.points for m in report.manual) or (points[1] if points else 0)
    if points is None:
        return f"  {written_n} written answer(s): to be graded by hand" if written_n else ""
    auto = points[0]
    hand = f" and {written:g} points for {written_n} written answer(s) marked by hand" if written_n else ""
    if public_only:
        return (f"The full grade is out of {auto + written:g}: {auto:g} automatic points (the public checks "
                f"above carry {report.max_score:g} of them; your instructor's grader adds hidden checks of the "
                f"same kind for the other {auto - report.max_score:g}){hand}.")
    return f"Out of a full {auto + written:g}: {auto:g} automatic points{hand}." if written_n else ""


def cmd_list(args) -> int:
    from autograder.checks import chapters, exercise_checks
    for chapter, exercises in chapters().items():
        print(chapter)
        for ex in exercises:
            checks = exercise_checks(ex, include_hidden=True)
            pub = sum(c.points for c in checks if not c.hidden)
            hid = sum(c.points for c in checks if c.hidden)
            print(f"  {ex}: {pub + hid:g} points ({pub:g} public, {hid:g} hidden)")
    return 0


def cmd_bundle(args) -> int:
    from autograder import outdirs
    from autograder.course import build_bundle
    try:
        out = build_bundle(outdirs.resolve(args.out))
    except outdirs.UnsafeOutput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"student bundle written to {out}")
    return 0


def cmd_marks(args) -> int:
    from autograder import outdirs
    try:
        from autograder import manual
    except ImportError:
        print("error: marking written answers is an instructor's tool, not part of the student bundle", file=sys.stderr)
        return 2
    out = outdirs.resolve(args.out)
    if not out.is_dir():
        print(f"error: {out} is not a folder of graded notebooks (python workbook.py grade ... --out {args.out})",
              file=sys.stderr)
        return 2
    sheet = outdirs.resolve(args.sheet) if args.sheet else None
    try:
        if args.action == "sheet":
            manual.write_sheet(out, sheet)
        else:
            manual.merge(out, sheet)
    except manual.MarksError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade notebooks (a file, a student's folder, or a folder of students)")
    g.add_argument("paths", nargs="+")
    g.add_argument("--results", help="where to write results.json when grading a single notebook "
                                      "(default: ./results.json; with --public-only: nothing is written)")
    g.add_argument("--out", help="output folder for batch grading (default: graded/); a non-empty folder must be "
                                 "one the grader made (or pass --force)")
    g.add_argument("--chapter", help="grade as this chapter instead of detecting it (e.g. ch01_pdp_ice)")
    g.add_argument("--public-only", action="store_true", help="run the public checks only (what students can run)")
    g.add_argument("--jobs", type=int, default=None, help="parallel workers (default: number of cores)")
    g.add_argument("--force", action="store_true",
                   help="grade again even if results exist for the same notebook; write into a non-empty --out the "
                        "grader did not make (nothing in it is deleted); replace an existing --results file")
    g.add_argument("--exercise-timeout", type=float, default=Limits.exercise_s, help="seconds per exercise")
    g.add_argument("--notebook-timeout", type=float, default=Limits.notebook_s, help="seconds per notebook")
    g.add_argument("--memory-gib", type=float, default=Limits.memory_bytes / GIB, help="memory cap per worker")
    g.add_argument("--feedback", choices=["md", "html", "both"], default=None,
                   help="per-student feedback file: feedback.md, feedback.html or both (default: md for a "
                        "batch; for one notebook, written beside --results only when asked)")
    g.add_argument("--isolation", choices=["auto", "namespace", "none"], default="auto",
                   help="auto: Linux namespaces where available, else process limits only (default); "
                        "namespace: refuse to grade without them; none: process limits only")
    g.set_defaults(fn=cmd_grade)
    ls = sub.add_parser("list", help="list chapters, exercises and points")
    ls.set_defaults(fn=cmd_list)
    b = sub.add_parser("bundle", help="build the student bundle (no solutions, no hidden checks)")
    b.add_argument("out", help="a new or empty folder, or a previous bundle (relative: from the current folder)")
    b.set_defaults(fn=cmd_bundle)
    m = sub.add_parser("marks", help="written answers: a sheet to mark by hand, then merge the marks into grades.csv")
    m.add_argument("action", choices=["sheet", "merge"],
                   help="sheet: write OUT/written-answers.csv; merge: check its marks and rebuild OUT/grades.csv")
    m.add_argument("out", help="the folder of graded notebooks (grade --out)")
    m.add_argument("--sheet", help="the sheet's path (default: OUT/written-answers.csv)")
    m.set_defaults(fn=cmd_marks)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
