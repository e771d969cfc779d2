"""Grade one notebook: extract its exercise functions, run the checks, build a report.

The report is turned into Gradescope's ``results.json`` (see
:func:`Report.gradescope`) and into a Markdown feedback file for the student.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Dict, List, Optional

from autograder.checks import CheckResult, Timeout, chapters, exercise_checks, run_checks
from autograder.extract import NotebookUnreadable, extract, read_cells
from autograder.sandbox import PACKAGE_ROOT, LoadFailed, Limits, Worker, prepare

SOURCE_DIR = PACKAGE_ROOT / "source"


@dataclasses.dataclass
class ManualItem:
    grade_id: str
    points: float
    answer: str


@dataclasses.dataclass
class Report:
    notebook: str
    chapter: Optional[str]
    results: Dict[str, List[CheckResult]]         # exercise -> check results
    problem: str = ""                              # why nothing could be graded, if so
    manual: List[ManualItem] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    sha256: str = ""
    timing: Dict[str, float] = dataclasses.field(default_factory=dict)  # where the seconds went (see grade_notebook)
    stopped: List[dict] = dataclasses.field(default_factory=list)       # what the sandbox's limits stopped
    tampering: List[str] = dataclasses.field(default_factory=list)      # code that patches what grade cells use

    @property
    def score(self) -> float:
        return sum(r.score for rs in self.results.values() for r in rs)

    @property
    def max_score(self) -> float:
        return sum(r.check.points for rs in self.results.values() for r in rs)

    def exercise_scores(self) -> Dict[str, float]:
        return {ex: sum(r.score for r in rs) for ex, rs in self.results.items()}

    # -- Gradescope ------------------------------------------------------
    def gradescope(self) -> dict:
        """Gradescope's results format: total ``score`` and one entry per check."""
        tests = []
        for ex, rs in self.results.items():
            for r in rs:
                text = r.message + (f"\nHint: {r.hint}" if r.hint and not r.passed else "")
                tests.append({
                    "name": r.check.id,
                    "score": r.score,
                    "max_score": r.check.points,
                    "status": "passed" if r.passed else "failed",
                    "output": text if not r.passed else "",
                    "visibility": "after_published" if r.check.hidden else "visible",
                    "extra_data": {"status": r.status,  # beyond passed/failed: timed out, crashed...
                                   "seconds": round(r.seconds, 3)},
                })
        for item in self.manual:
            tests.append({
                "name": f"{item.grade_id}: written answer — to be graded by hand ({item.points:g} points)",
                "score": 0, "max_score": 0,
                "output": "This answer is graded by hand; its points are not part of the automatic score.",
                "visibility": "visible",
                "extra_data": {"manual_points": item.points},
            })
        summary = self.problem or (f"Automatic score: {self.score:g} / {self.max_score:g}"
                                   + (f"; {len(self.manual)} written answer(s) to be graded by hand" if self.manual else ""))
        return {"score": self.score, "output": summary, "visibility": "visible",
                "stdout_visibility": "hidden", "tests": tests,
                "extra_data": {"chapter": self.chapter, "max_score": self.max_score,
                               "notebook_sha256": self.sha256, "seconds": round(self.seconds, 2),
                               "timing": {k: round(v, 3) for k, v in self.timing.items()},
                               "stopped": list(self.stopped), "tampering": list(self.tampering)}}

    # -- feedback for the student ------------------------------------------
    def feedback_markdown(self, student: str = "") -> str:
        who = f" for {student}" if student else ""
        lines = [f"# Feedback{who}: {self.chapter or 'unknown chapter'}", ""]
        if self.problem:
            lines += [f"**This notebook could not be graded:** {self.problem}", ""]
        lines += [f"**Automatic score: {self.score:g} / {self.max_score:g}**", ""]
        if self.stopped:
            lines += ["**Stopped by the sandbox's limits:**", ""]
            lines += [f"- `{s['exercise']}`: {s['why']}" for s in self.stopped] + [""]
        if self.tampering:
            lines += ["**Flagged for the instructor:** this notebook changes what the grade cells rely on "
                      "(it could award itself points under nbgrader; the score above comes from the standalone "
                      "grader, which does not run these lines):", ""]
            lines += [f"- {t}" for t in self.tampering] + [""]
        for ex, rs in self.results.items():
            got, out_of = sum(r.score for r in rs), sum(r.check.points for r in rs)
            lines += [f"## `{ex}` — {got:g} / {out_of:g}", "", "| check | points | result |", "|---|---|---|"]
            for r in rs:
                label = ("hidden check: " if r.check.hidden else "") + r.check.name
                result = "passed" if r.passed else (r.message + (f" — hint: {r.hint}" if r.hint else ""))
                lines.append(f"| {markdown_cell(label)} | {r.score:g} / {r.check.points:g} | {markdown_cell(result)} |")
            lines.append("")
        if self.manual:
            lines += ["## Written answers", "", "Graded by hand; not included in the automatic score.", ""]
            for item in self.manual:
                lines.append(f"- `{item.grade_id}` ({item.points:g} points)")
            lines.append("")
        return "\n".join(lines)


def markdown_cell(text: str) -> str:
    """``text`` as one cell of a Markdown table: ``|`` would end the cell ("mean |value|"), ``<...>``
    would vanish as an HTML tag ("<the check's store>"), a newline would end the row."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\r", " ").replace("\n", " "))


def detect_chapter(path: Path) -> Optional[str]:
    """The chapter whose exercise functions the notebook defines most of (by name, not metadata)."""
    try:
        text = "\n".join(c.source for c in read_cells(path))
    except NotebookUnreadable:
        text = ""
    best, best_hits = None, 0
    for chapter, exercises in chapters().items():
        hits = sum(f"def {ex}(" in text for ex in exercises)
        if hits > best_hits:
            best, best_hits = chapter, hits
    if best is None:  # fall back on the folder or file name, e.g. .../ch01_pdp_ice/pdp_ice.ipynb
        for chapter in chapters():
            if chapter in str(path) or chapter.split("_", 1)[-1] in Path(path).stem:
                return chapter
    return best


def manual_items(chapter: str, submission: Path) -> List[ManualItem]:
    """Written answers, from the instructor's source notebook (points) and the submission (text)."""
    src = next(iter(sorted((SOURCE_DIR / chapter).glob("*.ipynb"))), None) if (SOURCE_DIR / chapter).is_dir() else None
    reference = src if src is not None else submission
    try:
        cells = json.loads(Path(reference).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    answers = {}
    try:
        for cell in json.loads(Path(submission).read_text(encoding="utf-8")).get("cells", []):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid:
                src_text = cell.get("source", "")
                answers[gid] = "".join(src_text) if isinstance(src_text, list) else str(src_text)
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    items = []
    for cell in cells:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown" and nbg.get("solution") and nbg.get("grade"):
            items.append(ManualItem(nbg["grade_id"], float(nbg.get("points", 0)), answers.get(nbg["grade_id"], "")))
    return items


def grade_notebook(path: Path, chapter: Optional[str] = None, include_hidden: bool = True,
                   limits: Optional[Limits] = None) -> Report:
    """Grade one submitted notebook. Never raises for anything the submission does."""
    limits = limits or Limits()
    path = Path(path)
    started = time.monotonic()
    try:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        sha = ""
    chapter = chapter or detect_chapter(path)
    if chapter is None or chapter not in chapters():
        problem = "this file is not a workbook notebook the grader knows"
        try:
            read_cells(path)
        except NotebookUnreadable as exc:
            problem = str(exc)
        return Report(str(path), chapter, {}, problem=problem, sha256=sha, seconds=time.monotonic() - started)
    try:
        read_cells(path)
    except NotebookUnreadable as exc:  # known chapter (from the path), unreadable file: every exercise scores 0
        report = Report(str(path), chapter, {}, problem=str(exc), sha256=sha)
        for ex in chapters()[chapter]:
            report.results[ex] = [CheckResult(c, "error", str(exc)) for c in exercise_checks(ex, include_hidden)]
        report.seconds = time.monotonic() - started
        return report
    exercises = chapters()[chapter]
    results: Dict[str, List[CheckResult]] = {}

    def fail_all(ex: str, status: str, message: str, hint: str = "") -> None:
        results[ex] = [CheckResult(c, status, message, hint) for c in exercise_checks(ex, include_hidden)]

    try:
        extraction = extract(path, exercises)
    except NotebookUnreadable as exc:
        for ex in exercises:
            fail_all(ex, "error", str(exc))
        return Report(str(path), chapter, results, problem=str(exc), sha256=sha, seconds=time.monotonic() - started)

    preload = worker_preload(chapter)
    prepare(preload, limits)  # the fork server's template imports the chapter's libraries on the grader's time
    notebook_deadline = time.monotonic() + limits.notebook_s
    worker: Optional[Worker] = None
    load_error = ""
    timing = {"worker_start_s": 0.0, "load_s": 0.0, "checks_s": 0.0, "workers": 0, "forked_workers": 0,
              "test_model_calls": 0}
    stopped: List[dict] = []

    def retire(w: Worker) -> None:
        timing["test_model_calls"] += w.model_calls
        for event in w.stopped:  # one line per exercise and limit, with the number of checks it happened in
            same = next((s for s in stopped if s["exercise"] == event["exercise"] and s["limit"] == event["limit"]),
                        None)
            if same is None:
                stopped.append(dict(event, checks=1))
            else:
                same["checks"] += 1
        w.close()

    try:
        for ex in exercises:
            if ex in extraction.problems:
                fail_all(ex, "error", extraction.problems[ex])
                continue
            if load_error:
                fail_all(ex, "error", load_error)
                continue
            if time.monotonic() >= notebook_deadline:
                fail_all(ex, "timed out", f"not run: the notebook's time limit of {limits.notebook_s:g} s ran out")
                continue
            if worker is None or not worker.alive:
                try:
                    worker = Worker(extraction.source + _preloaded(chapter), limits, notebook_deadline,
                                    preload=preload)
                except LoadFailed as exc:
                    if time.monotonic() >= notebook_deadline:  # a restart cut short by the notebook's limit
                        fail_all(ex, "timed out", f"timed out: the notebook's time limit of {limits.notebook_s:g} s "
                                                  f"ran out")
                        continue
                    load_error = str(exc)
                    fail_all(ex, "error", load_error)
                    continue
                timing["workers"] += 1
                timing["forked_workers"] += worker.forked
                timing["worker_start_s"] += worker.timing.get("start_s", 0.0)
                timing["load_s"] += worker.timing.get("load_s", 0.0)
            ex_deadline = min(time.monotonic() + limits.exercise_s, notebook_deadline)
            if ex_deadline == notebook_deadline:
                why = f"timed out: the notebook's time limit of {limits.notebook_s:g} s ran out"
            else:
                why = f"timed out after {limits.exercise_s:g} s"
            results[ex] = run_checks(ex, _remote(worker, ex, ex_deadline, why), include_hidden)
            timing["checks_s"] += sum(r.seconds for r in results[ex])
            if any(r.status in ("timed out", "crashed") for r in results[ex]):
                retire(worker)
                worker = None
    finally:
        if worker is not None:
            retire(worker)
    return Report(str(path), chapter, results, manual=manual_items(chapter, path),
                  sha256=sha, seconds=time.monotonic() - started, timing=timing, stopped=stopped,
                  tampering=extraction.tampering)


def worker_preload(chapter: str) -> tuple:
    """The chapter's ``WORKER_PRELOAD`` (module names its workers import before forking; see the fork server in
    :mod:`autograder.sandbox`), from its public check module; () if it declares none."""
    import importlib
    try:
        module = importlib.import_module(f"autograder.public.{chapter}")
    except ImportError:
        return ()
    names = getattr(module, "WORKER_PRELOAD", ())
    return tuple(str(n) for n in names if isinstance(n, str))


def _preloaded(chapter: str) -> str:
    """``import`` lines for the modules the chapter's check module lists in ``WORKER_PRELOAD`` (e.g. TensorFlow),
    appended to the submission's source (its line numbers stay as they are): they are imported while the
    worker loads (``Limits.load_s``), not inside the first exercise's time limit, even when a stub's source
    imports nothing."""
    import importlib

    try:
        names = getattr(importlib.import_module(f"autograder.public.{chapter}"), "WORKER_PRELOAD", ())
    except ImportError:
        return ""
    return "".join(f"\nimport {name}" for name in names if str(name).replace(".", "").replace("_", "").isalnum())


def _remote(worker: Worker, exercise: str, deadline: float, why: str):
    def backend(kwargs):
        if not worker.alive:
            raise Timeout(why)
        return worker.call(exercise, kwargs, deadline, why)
    return backend
