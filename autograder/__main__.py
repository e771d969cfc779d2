"""Command line: ``python -m autograder {grade,list,bundle}``.

    python -m autograder grade NOTEBOOK [--results results.json]
    python -m autograder grade SUBMISSIONS_DIR --out graded/ [--jobs 8] [--force] [--feedback html]
    python -m autograder list
    python -m autograder bundle OUT_DIR
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
    try:
        if single:
            report = grade_notebook(paths[0], chapter=args.chapter, include_hidden=not args.public_only,
                                    limits=limits)
            results = Path(args.results or "results.json")
            data = report.gradescope()
            data["extra_data"]["isolation"] = sandbox.isolation_description(limits)
            results.write_text(json.dumps(data, indent=2), encoding="utf-8")
            print(_summary(report))
            print(f"results written to {results}")
            return 0
        out = Path(args.out or "graded")
        batch = grade_batch(paths, out, jobs=args.jobs, chapter=args.chapter, include_hidden=not args.public_only,
                            limits=limits, force=args.force, feedback=args.feedback)
    except sandbox.SandboxUnavailable as exc:
        print(f"error: --isolation namespace is not available on this machine: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    feedback = {"md": "feedback.md", "html": "feedback.html", "both": "feedback.md and feedback.html"}[args.feedback]
    print(f"graded {batch.graded} notebook(s), {batch.skipped} already graded; class grades in "
          f"{out / 'grades.csv'}; class report in {out / 'report.html'}; per-student results.json and "
          f"{feedback} under {out}/<student>/<chapter>/")
    if batch.integrity:
        print(f"WARNING: the grader's files changed during the batch: see {out / 'integrity.txt'}", file=sys.stderr)
        return 3
    return 0


def _summary(report) -> str:
    lines = [f"{Path(report.notebook).name} ({report.chapter}): {report.score:g} / {report.max_score:g}"]
    if report.problem:
        lines.append(f"  problem: {report.problem}")
    for ex, rs in report.results.items():
        got, out_of = sum(r.score for r in rs), sum(r.check.points for r in rs)
        lines.append(f"  {ex}: {got:g} / {out_of:g}")
        first = next((r for r in rs if not r.passed), None)
        if first is not None:
            lines.append(f"    first problem: {first.message}")
    if report.manual:
        lines.append(f"  {len(report.manual)} written answer(s): to be graded by hand")
    return "\n".join(lines)


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
    from autograder.course import build_bundle
    out = build_bundle(Path(args.out))
    print(f"student bundle written to {out}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade notebooks (a file, a student's folder, or a folder of students)")
    g.add_argument("paths", nargs="+")
    g.add_argument("--results", help="where to write results.json when grading a single notebook (default: ./results.json)")
    g.add_argument("--out", help="output folder for batch grading (default: graded/)")
    g.add_argument("--chapter", help="grade as this chapter instead of detecting it (e.g. ch01_pdp_ice)")
    g.add_argument("--public-only", action="store_true", help="run the public checks only (what students can run)")
    g.add_argument("--jobs", type=int, default=None, help="parallel workers (default: number of cores)")
    g.add_argument("--force", action="store_true", help="grade again even if results exist for the same notebook")
    g.add_argument("--exercise-timeout", type=float, default=Limits.exercise_s, help="seconds per exercise")
    g.add_argument("--notebook-timeout", type=float, default=Limits.notebook_s, help="seconds per notebook")
    g.add_argument("--memory-gib", type=float, default=Limits.memory_bytes / GIB, help="memory cap per worker")
    g.add_argument("--feedback", choices=["md", "html", "both"], default="md",
                   help="per-student feedback file: feedback.md, feedback.html or both (default: md)")
    g.add_argument("--isolation", choices=["auto", "namespace", "none"], default="auto",
                   help="auto: Linux namespaces where available, else process limits only (default); "
                        "namespace: refuse to grade without them; none: process limits only")
    g.set_defaults(fn=cmd_grade)
    ls = sub.add_parser("list", help="list chapters, exercises and points")
    ls.set_defaults(fn=cmd_list)
    b = sub.add_parser("bundle", help="build the student bundle (no solutions, no hidden checks)")
    b.add_argument("out")
    b.set_defaults(fn=cmd_bundle)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
