"""Grade many notebooks: find them, grade them in parallel, write every student's files.

Output layout (``--out DIR``)::

    DIR/<student>/<chapter>/results.json   Gradescope format
    DIR/<student>/<chapter>/feedback.md    what the student reads
    DIR/grades.csv                         one row per student, rebuilt from all results.json

A notebook whose ``results.json`` already records the same notebook hash is
not graded again (so an interrupted run resumes), unless ``force`` is given.
"""
from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from autograder.checks import chapters, max_points
from autograder.grade import Report, grade_notebook
from autograder.sandbox import Limits


@dataclasses.dataclass
class Submission:
    student: str
    notebook: Path


def find_submissions(paths: Iterable[Path]) -> List[Submission]:
    """Notebooks under each path, with a student id.

    * a notebook file: the student is its parent folder's name, or under
      nbgrader's ``submitted/<student>/<assignment>/`` layout, ``<student>``;
    * a folder holding notebooks directly: one student, named after the folder;
    * any other folder: one sub-folder per student (``DIR/<student>/**.ipynb``),
      which also covers nbgrader's ``submitted/`` folder.
    """
    found: List[Submission] = []
    for path in map(Path, paths):
        if path.is_file():
            found.append(Submission(_student_of_file(path), path))
        elif path.is_dir():
            if any(p.suffix == ".ipynb" for p in path.iterdir() if p.is_file()):
                found += [Submission(path.resolve().name, nb) for nb in _notebooks(path)]
            else:
                for student_dir in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    found += [Submission(student_dir.name, nb) for nb in _notebooks(student_dir)]
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def _notebooks(folder: Path) -> List[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _student_of_file(path: Path) -> str:
    parts = path.resolve().parts
    if "submitted" in parts:
        i = len(parts) - 1 - parts[::-1].index("submitted")
        if i + 1 < len(parts) - 1:
            return parts[i + 1]
    return path.resolve().parent.name


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _result_dir(out: Path, student: str, chapter: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in student) or "_"
    return out / safe / chapter


def already_graded(out: Path, sub: Submission) -> Optional[Path]:
    """The results.json of a previous run on the very same notebook, if any."""
    sha = _sha256(sub.notebook)
    student_dir = _result_dir(out, sub.student, "x").parent
    for results in student_dir.glob("*/results.json"):
        try:
            data = json.loads(results.read_text())
        except (OSError, ValueError):
            continue
        extra = data.get("extra_data", {})
        if extra.get("notebook_sha256") == sha and extra.get("notebook") == str(sub.notebook):
            return results
    return None


def write_report(out: Path, sub: Submission, report: Report) -> Path:
    folder = _result_dir(out, sub.student, report.chapter or "unknown")
    folder.mkdir(parents=True, exist_ok=True)
    data = report.gradescope()
    data["extra_data"].update({"student": sub.student, "notebook": str(sub.notebook)})
    _atomic_write(folder / "results.json", json.dumps(data, indent=2))
    _atomic_write(folder / "feedback.md", report.feedback_markdown(sub.student))
    return folder / "results.json"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_class_csv(out: Path) -> Path:
    """Rebuild ``grades.csv`` from every results.json under ``out``: one row per student."""
    exercises = [(ch, ex) for ch, exs in chapters().items() for ex in exs]
    rows: Dict[str, Dict[str, object]] = {}
    for results in sorted(out.glob("*/*/results.json")):
        try:
            data = json.loads(results.read_text())
        except (OSError, ValueError):
            continue
        extra = data.get("extra_data", {})
        student = extra.get("student", results.parent.parent.name)
        row = rows.setdefault(student, {"student": student})
        for test in data.get("tests", []):
            ex = test["name"].split(":", 1)[0]
            if any(ex == e for _, e in exercises):
                key = f"{ex}"
                row[key] = row.get(key, 0.0) + float(test.get("score", 0))
        chapter = extra.get("chapter")
        if chapter:
            row[f"{chapter} total"] = float(data.get("score", 0))
        if data.get("output", "").startswith("This") or "could not be graded" in data.get("output", ""):
            row["problems"] = data["output"]
    chapter_cols = [f"{ch} total" for ch in chapters()]
    header = ["student", "total", *chapter_cols, *[ex for _, ex in exercises], "problems"]
    path = out / "grades.csv"
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for student in sorted(rows):
            row = rows[student]
            row["total"] = sum(float(row.get(c, 0)) for c in chapter_cols)
            writer.writerow(row)
    os.replace(tmp, path)
    return path


class Progress:
    """One line per finished notebook on stderr, with an ETA."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.started, self.stream = total, 0, time.monotonic(), stream

    def tick(self, label: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        pct = 100 * self.done / max(self.total, 1)
        print(f"[{self.done}/{self.total}] {pct:3.0f}%  elapsed {_fmt(elapsed)}  ETA {_fmt(eta)}  {label}",
              file=self.stream, flush=True)


def _fmt(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def grade_batch(paths: Iterable[Path], out: Path, jobs: Optional[int] = None, chapter: Optional[str] = None,
                include_hidden: bool = True, limits: Optional[Limits] = None, force: bool = False,
                quiet: bool = False) -> List[Tuple[Submission, Path]]:
    """Grade every notebook under ``paths`` into ``out``. Returns (submission, results.json) pairs."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    subs = find_submissions(paths)
    jobs = jobs or os.cpu_count() or 1
    todo, done = [], []
    for sub in subs:
        prev = None if force else already_graded(out, sub)
        if prev is not None:
            done.append((sub, prev))
        else:
            todo.append(sub)
    progress = Progress(len(todo), stream=open(os.devnull, "w") if quiet else sys.stderr)
    if done and not quiet:
        print(f"{len(done)} notebook(s) already graded (same file): skipped; use --force to grade again",
              file=sys.stderr)

    def one(sub: Submission):
        report = grade_notebook(sub.notebook, chapter=chapter, include_hidden=include_hidden, limits=limits)
        return sub, report, write_report(out, sub, report)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for sub, report, path in pool.map(one, todo):
            done.append((sub, path))
            progress.tick(f"{sub.student}: {report.score:g}/{report.max_score:g}"
                          + (f" ({report.problem})" if report.problem else ""))
    write_class_csv(out)
    return done


def expected_max(chapter: str) -> float:
    return sum(max_points(ex) for ex in chapters()[chapter])
