"""Grade many notebooks: find them, grade them in parallel, write every student's files.

Output layout (``--out DIR``)::

    DIR/<student>/<chapter>/results.json   Gradescope format
    DIR/<student>/<chapter>/feedback.md    what the student reads (and/or feedback.html)
    DIR/grades.csv                         one row per student, rebuilt from all results.json
    DIR/report.html (+ report.json, report-*.png)  what the class got wrong (autograder.report)
    DIR/grader-errors.log                  the grader's own failures, with tracebacks (instructor only)
    DIR/integrity.txt                      only if the grader's files changed during a batch
    DIR/.imlbook-graded                    marks the folder as the grader's (a non-empty folder
                                           without it is refused unless ``force``)
    DIR/written-answers.csv, written-marks.json   hand-marked written answers (autograder.manual)

A notebook whose ``results.json`` already records the same notebook (path and
hash) graded by the same checks is not graded again, so an interrupted run
resumes where it stopped, unless ``force`` is given; results that were not the
student's doing (the grader failed, its sandbox could not start, its files
changed meanwhile) are graded again by the next run. ``grades.csv`` is rebuilt
from every ``results.json`` after each batch, so grading one student again
replaces only that student's row.

Nothing a submission does stops the batch: every notebook gets a result, even
when it is not a notebook at all or when the grader itself fails on it.
"""
from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import hashlib
import html
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from autograder import outdirs, sandbox
from autograder.checks import CheckResult, chapters, exercise_checks, load_checks
from autograder.grade import Report, detect_chapter, grade_notebook
from autograder.report import write_class_report
from autograder.sandbox import PACKAGE_ROOT, Limits

RESULTS = "results.json"
GRADED_MARKER = ".imlbook-graded"  # marks a folder made by the grader: later runs may write into it


@dataclasses.dataclass
class Submission:
    student: str
    notebook: Path
    chapter: Optional[str] = None                            # detected before grading, for de-duplication
    ignored: List[str] = dataclasses.field(default_factory=list)  # other notebooks of this student and chapter


# ----------------------------------------------------------------------------
# Finding submissions
# ----------------------------------------------------------------------------
def _chapter_names() -> set:
    names = set(chapters())
    source = PACKAGE_ROOT / "source"
    if source.is_dir():
        names |= {p.name for p in source.iterdir() if p.is_dir()}
    return names


def find_submissions(paths: Iterable[Path]) -> List[Submission]:
    """Notebooks under each path, with a student id.

    * a notebook file: the student is its parent folder's name, or under
      nbgrader's ``submitted/<student>/<assignment>/`` layout, ``<student>``;
    * a student's folder: notebooks directly inside it, or in chapter folders
      (``alice/ch01_pdp_ice/pdp_ice.ipynb``): one student, named after the folder;
    * any other folder: one sub-folder per student (``DIR/<student>/**.ipynb``),
      which also covers nbgrader's ``submitted/`` folder.

    Under a ``submitted`` folder the student is always the folder right below it.
    """
    found: List[Submission] = []
    known_chapters = _chapter_names()
    for path in map(Path, paths):
        if path.is_file():
            found.append(Submission(_student_of_file(path), path))
        elif path.is_dir():
            notebooks = _notebooks(path)
            for nb in notebooks:
                student = _student_under_submitted(nb)
                if student is None:
                    rel = nb.relative_to(path).parts
                    if len(rel) == 1 or rel[0] in known_chapters:
                        student = path.resolve().name  # the folder is one student's
                    else:
                        student = rel[0]
                found.append(Submission(student, nb))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def _notebooks(folder: Path) -> List[Path]:
    return sorted(p for p in folder.rglob("*.ipynb")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _student_under_submitted(path: Path) -> Optional[str]:
    parts = path.resolve().parts
    if "submitted" in parts:
        i = len(parts) - 1 - parts[::-1].index("submitted")
        if i + 1 < len(parts) - 1:
            return parts[i + 1]
    return None


def _student_of_file(path: Path) -> str:
    return _student_under_submitted(path) or path.resolve().parent.name


def _release_names() -> Dict[str, str]:
    out = {}
    for ch in chapters():
        folder = PACKAGE_ROOT / "release" / ch
        nbs = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
        if nbs:
            out[ch] = nbs[0].name
    return out


def deduplicate(subs: List[Submission]) -> List[Submission]:
    """One notebook per student and chapter: the one named like the released notebook, else the newest.

    ``pdp_ice-Copy1.ipynb`` next to ``pdp_ice.ipynb`` would otherwise overwrite its results.
    """
    names = _release_names()
    groups: Dict[Tuple[str, str], List[Submission]] = {}
    for sub in subs:
        try:
            sub.chapter = detect_chapter(sub.notebook)
        except Exception:  # noqa: BLE001 - a hostile file must not stop the batch
            sub.chapter = None
        key = (sub.student, sub.chapter or f"?{sub.notebook}")
        groups.setdefault(key, []).append(sub)
    out = []
    for (_, chapter), group in groups.items():
        def rank(s: Submission):
            try:
                mtime = s.notebook.stat().st_mtime
            except OSError:
                mtime = 0.0
            return (s.notebook.name != names.get(chapter), -mtime, str(s.notebook))
        group.sort(key=rank)
        chosen = group[0]
        chosen.ignored = [str(s.notebook) for s in group[1:]]
        out.append(chosen)
    return sorted(out, key=lambda s: (s.student, str(s.notebook)))


# ----------------------------------------------------------------------------
# Results on disk
# ----------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name).lstrip(".") or "_"


def _result_dir(out: Path, student: str, chapter: str) -> Path:
    return out / _safe(student) / _safe(chapter)


def checks_fingerprint(chapter: Optional[str], include_hidden: bool) -> str:
    """Hash of the files that decide a chapter's scores: re-running after a change to them grades again."""
    ag = PACKAGE_ROOT / "autograder"
    files = [ag / "checks.py", ag / "extract.py", *sorted(ag.glob("testmodels/*.py")), *sorted(ag.glob("answers/*.py"))]
    if chapter:
        files += [ag / "public" / f"{chapter}.py"] + ([ag / "hidden" / f"{chapter}.py"] if include_hidden else [])
    h = hashlib.sha256(f"hidden={include_hidden}".encode())
    for f in files:
        h.update(f.name.encode() + b"\0" + _sha256(f).encode())
    return h.hexdigest()[:16]


def already_graded(out: Path, sub: Submission, include_hidden: bool = True) -> Optional[Path]:
    """The results.json of a previous run on the very same notebook with the same checks, if any."""
    sha = _sha256(sub.notebook)
    student_dir = out / _safe(sub.student)
    for results in student_dir.glob(f"*/{RESULTS}"):
        try:
            extra = json.loads(results.read_text(encoding="utf-8")).get("extra_data", {})
        except (OSError, ValueError, AttributeError):
            continue
        if (extra.get("notebook_sha256") == sha and extra.get("notebook") == str(sub.notebook.resolve())
                and extra.get("checks") == checks_fingerprint(extra.get("chapter"), include_hidden)
                and not extra.get("retry")):
            return results
    return None


def write_report(out: Path, sub: Submission, report: Report, feedback: str = "md",
                 extra: Optional[dict] = None) -> Path:
    folder = _result_dir(out, sub.student, report.chapter or "unknown")
    folder.mkdir(parents=True, exist_ok=True)
    data = report.gradescope()
    data["extra_data"].update({"student": sub.student, "notebook": str(Path(sub.notebook).resolve()),
                               "problem": report.problem, "ignored_notebooks": sub.ignored})
    data["extra_data"].update(extra or {})
    notes = []
    if sub.ignored:
        notes.append("Several notebooks were submitted for this chapter; graded `"
                     f"{Path(sub.notebook).name}`, ignored: "
                     + ", ".join(f"`{Path(p).name}`" for p in sub.ignored) + ".")
    if feedback in ("md", "both"):
        text = report.feedback_markdown(sub.student)
        if notes:
            text += "\n" + "\n".join(f"> {n}" for n in notes) + "\n"
        _atomic_write(folder / "feedback.md", text)
    if feedback in ("html", "both"):
        _atomic_write(folder / "feedback.html", feedback_html(report, sub.student, notes))
    _atomic_write(folder / RESULTS, json.dumps(data, indent=2))  # last: its presence means "done"
    return folder / RESULTS


def feedback_html(report: Report, student: str = "", notes: Iterable[str] = ()) -> str:
    """The same content as :meth:`Report.feedback_markdown`, as a stand-alone HTML page (all text escaped)."""
    e = html.escape
    title = f"Feedback{' for ' + student if student else ''}: {report.chapter or 'unknown chapter'}"
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>", f"<title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;"
             "text-align:left;vertical-align:top}.passed{color:#170}.failed{color:#a00}</style>",
             "</head><body>", f"<h1>{e(title)}</h1>"]
    if report.problem:
        parts.append(f"<p><strong>This notebook could not be graded:</strong> {e(report.problem)}</p>")
    parts.append(f"<p><strong>Automatic score: {report.score:g} / {report.max_score:g}</strong></p>")
    for ex, rs in report.results.items():
        got, out_of = sum(r.score for r in rs), sum(r.check.points for r in rs)
        parts += [f"<h2><code>{e(ex)}</code> — {got:g} / {out_of:g}</h2>",
                  "<table><tr><th>check</th><th>points</th><th>result</th></tr>"]
        for r in rs:
            label = ("hidden check: " if r.check.hidden else "") + r.check.name
            if r.passed:
                result = "<span class='passed'>passed</span>"
            else:
                result = f"<span class='failed'>{e(r.status)}</span>: {e(r.message)}"
                if r.hint:
                    result += f"<br><em>hint:</em> {e(r.hint)}"
            parts.append(f"<tr><td>{e(label)}</td><td>{r.score:g} / {r.check.points:g}</td><td>{result}</td></tr>")
        parts.append("</table>")
    if report.manual:
        parts += ["<h2>Written answers</h2>", "<p>Graded by hand; not included in the automatic score.</p><ul>"]
        parts += [f"<li><code>{e(m.grade_id)}</code> ({m.points:g} points)</li>" for m in report.manual]
        parts.append("</ul>")
    parts += [f"<blockquote>{e(n)}</blockquote>" for n in notes]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _csv_cell(value):
    """Spreadsheet-safe: text that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_class_csv(out: Path) -> Path:
    """Rebuild ``grades.csv`` from every results.json under ``out``: one row per student."""
    exercises = [(ch, ex) for ch, exs in chapters().items() for ex in exs]
    known = {ex for _, ex in exercises}
    rows: Dict[str, Dict[str, object]] = {}
    for results in sorted(out.glob(f"*/*/{RESULTS}")):
        try:
            data = json.loads(results.read_text(encoding="utf-8"))
            extra = data.get("extra_data", {})
            student = str(extra.get("student", results.parent.parent.name))
        except (OSError, ValueError, AttributeError):
            continue
        row = rows.setdefault(student, {"student": student})
        for test in data.get("tests", []):
            ex = str(test.get("name", "")).split(":", 1)[0]
            if ex in known:
                row[ex] = float(row.get(ex, 0.0)) + float(test.get("score", 0))
        chapter = extra.get("chapter")
        if chapter:
            row[f"{chapter} total"] = float(data.get("score", 0))
        problems = [p for p in (extra.get("problem"), extra.get("integrity")) if p]
        if extra.get("tampering"):  # see autograder.tamper: code that patches what nbgrader's grade cells use
            problems.append("patches what the grade cells use: " + "; ".join(map(str, extra["tampering"]))[:300])
        if problems:
            row["problems"] = "; ".join(filter(None, [row.get("problems", "")] + problems))
    graded = [ch for ch in chapters() if any(f"{ch} total" in row for row in rows.values())]  # only those graded
    chapter_cols = [f"{ch} total" for ch in graded]
    for row in rows.values():
        row["total"] = sum(float(row.get(c, 0)) for c in chapter_cols)
    written = _written_marks_hook(out, rows)  # "out of", written points, what "total" includes (autograder.manual)
    header = ["student", "total", *written[:2], *chapter_cols, *[ex for ch, ex in exercises if ch in graded],
              *written[2:], "problems"]
    path = out / "grades.csv"
    tmp = out / f".grades.csv.{os.getpid()}.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for student in sorted(rows):
            writer.writerow({k: _csv_cell(v) for k, v in rows[student].items()})
    os.replace(tmp, path)
    return path


def _written_marks_hook(out: Path, rows: Dict[str, Dict[str, object]]) -> List[str]:
    try:
        from autograder import manual
    except ImportError:  # the student bundle ships no instructor tools
        return []
    return manual.add_written_marks(out, rows)


# ----------------------------------------------------------------------------
# The grader's own files must not change while it grades
# ----------------------------------------------------------------------------
class GraderGuard:
    """Snapshot of the grader's files (its loaded modules and the source notebooks) taken before a batch.

    :meth:`verify` compares the files with the snapshot. In ``restore`` mode (workers without
    file-system isolation, which could write them) a changed file is put back as it was. Either way
    every submission graded while a change was seen is flagged and the batch reports it.
    """

    def __init__(self, files: Optional[Iterable[Path]] = None, restore: bool = False):
        if files is None:
            files = self.default_files()
        self.snapshot: Dict[Path, Optional[bytes]] = {}
        for f in files:
            try:
                self.snapshot[Path(f)] = Path(f).read_bytes()
            except OSError:
                self.snapshot[Path(f)] = None
        self.restore = restore
        self.generation = 0           # increases with every change seen
        self.changes: List[str] = []  # what changed, for the report
        self._lock = threading.Lock()

    @staticmethod
    def default_files() -> List[Path]:
        root = (PACKAGE_ROOT / "autograder").resolve()
        files = set()
        for name, mod in list(sys.modules.items()):
            f = getattr(mod, "__file__", None)
            if name.startswith("autograder") and f and Path(f).resolve().is_relative_to(root):
                files.add(Path(f).resolve())
        source = PACKAGE_ROOT / "source"
        if source.is_dir():
            files |= {p.resolve() for p in source.glob("*/*.ipynb")}
        return sorted(files)

    def verify(self) -> List[str]:
        """Changed files since the snapshot (restored first in restore mode)."""
        with self._lock:
            changed = []
            for path, original in self.snapshot.items():
                try:
                    now = path.read_bytes()
                except OSError:
                    now = None
                if now != original:
                    changed.append(str(path))
                    if self.restore and original is not None:
                        try:
                            _atomic_restore(path, original)
                        except OSError:
                            pass
            if changed:
                self.generation += 1
                what = ("restored" if self.restore else "left as they are")
                self.changes.append(f"{time.strftime('%H:%M:%S')}: {', '.join(changed)} changed ({what})")
            return changed


def _atomic_restore(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.restore.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------
# Progress
# ----------------------------------------------------------------------------
class Progress:
    """A bar with an ETA when ``stream`` is a terminal (tqdm), else one line per finished notebook."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.stream = stream if stream is not None else sys.stderr
        self.problems = 0
        self._bar = None
        if total and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, file=self.stream, unit="nb", dynamic_ncols=True,
                                 bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, "
                                            "{rate_fmt}] {postfix}")
            except ImportError:
                self._bar = None

    def tick(self, label: str, problem: bool = False) -> None:
        self.done += 1
        self.problems += bool(problem)
        if self._bar is not None:
            self._bar.set_postfix_str(label[:40], refresh=False)
            self._bar.update(1)
            return
        elapsed = time.monotonic() - self.started
        rate = elapsed / self.done
        eta = rate * (self.total - self.done)
        pct = 100 * self.done / max(self.total, 1)
        print(f"[{self.done}/{self.total}] {pct:3.0f}%  elapsed {_fmt(elapsed)}  ETA {_fmt(eta)}  "
              f"({rate:.1f} s/notebook)  {label}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _fmt(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


# ----------------------------------------------------------------------------
# The batch
# ----------------------------------------------------------------------------
class BatchResult(list):
    """The (submission, results.json) pairs, plus what the instructor should know about the run."""

    def __init__(self):
        super().__init__()
        self.isolation = ""                 # how student code was isolated (sandbox.isolation_description)
        self.integrity: List[str] = []      # changes to the grader's files seen during the batch
        self.errors = 0                     # notebooks on which the grader itself failed (grader-errors.log)
        self.skipped = 0                    # already graded, not graded again
        self.graded = 0


def _failed_report(sub: Submission, chapter: Optional[str], include_hidden: bool, message: str) -> Report:
    results: Dict[str, List[CheckResult]] = {}
    if chapter in chapters():
        for ex in chapters()[chapter]:
            results[ex] = [CheckResult(c, "error", message) for c in exercise_checks(ex, include_hidden)]
    return Report(str(sub.notebook), chapter, results, problem=message, sha256=_sha256(sub.notebook))


def grade_batch(paths: Iterable[Path], out: Path, jobs: Optional[int] = None, chapter: Optional[str] = None,
                include_hidden: bool = True, limits: Optional[Limits] = None, force: bool = False,
                quiet: bool = False, feedback: str = "md", stream=None,
                grade_fn: Optional[Callable[..., Report]] = None,
                guard: Optional[GraderGuard] = None) -> BatchResult:
    """Grade every notebook under ``paths`` into ``out``. Returns the (submission, results.json) pairs.

    ``grade_fn`` (default :func:`autograder.grade.grade_notebook`) and ``guard`` are for tests.
    Raises :class:`autograder.sandbox.SandboxUnavailable` if ``limits.isolation == "namespace"``
    cannot be provided, and ``KeyboardInterrupt`` after writing what was finished.
    """
    # Never the workbook itself, never a folder of other files (unless ``force``); relative: from the cwd.
    out = outdirs.claim_folder(out, GRADED_MARKER, "the grader", allow_foreign=force,
                               recognise=lambda folder: (folder / "grades.csv").is_file())
    stream = open(os.devnull, "w") if quiet else (stream or sys.stderr)
    grade_fn = grade_fn or grade_notebook
    load_checks(True)  # every check is in memory before any student code runs
    paths = [Path(p) for p in paths]
    subs = deduplicate(find_submissions(paths))
    limits = limits or Limits()
    hide = {str(p.resolve()) for p in paths} | {str(out.resolve())}
    limits = dataclasses.replace(limits, hide_paths=tuple(sorted(set(limits.hide_paths) | hide)))
    result = BatchResult()
    result.isolation = sandbox.probe(limits)
    isolated = result.isolation.startswith("namespaces")
    guard = guard or GraderGuard(restore=not isolated)
    jobs = max(1, jobs or os.cpu_count() or 1)
    todo: List[Submission] = []
    for sub in subs:
        prev = None if force else already_graded(out, sub, include_hidden)
        if prev is not None:
            result.append((sub, prev))
            result.skipped += 1
        else:
            todo.append(sub)
    print(f"grading {len(todo)} notebook(s) with {jobs} worker(s)"
          + (f"; {result.skipped} already graded (same notebook, same checks): skipped, use --force to grade "
             f"them again" if result.skipped else "")
          + f"\nisolation: {result.isolation}", file=stream, flush=True)
    progress = Progress(len(todo), stream=stream)
    errors_log = out / "grader-errors.log"
    log_lock = threading.Lock()

    stopping = threading.Event()

    def one(sub: Submission):
        if stopping.is_set():
            return None
        generation = guard.generation
        ch = chapter or sub.chapter
        try:
            report = grade_fn(sub.notebook, chapter=ch, include_hidden=include_hidden, limits=limits)
        except Exception as exc:  # noqa: BLE001 - a grader bug costs one notebook, never the batch
            with log_lock, errors_log.open("a", encoding="utf-8") as fh:
                fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {sub.student}: {sub.notebook}\n"
                         f"{traceback.format_exc()}\n")
            report = _failed_report(sub, ch, include_hidden,
                                    f"the grader failed on this notebook ({type(exc).__name__}); your instructor "
                                    f"has been told and will grade it again")
            report.seconds = 0.0
        if stopping.is_set():  # interrupted: this notebook's grading may have been cut short, keep no result
            return None
        changed = guard.verify()
        extra = {"isolation": result.isolation, "checks": checks_fingerprint(report.chapter, include_hidden)}
        if changed or guard.generation != generation:
            extra["integrity"] = ("the grader's files changed while this notebook was graded ("
                                  + ("restored; " if guard.restore else "")
                                  + "see integrity.txt): grade it again")
        failed = report.problem.startswith("the grader failed") or any(
            "the grader's sandbox could not start" in r.message for rs in report.results.values() for r in rs)
        if failed or "integrity" in extra:
            extra["retry"] = True  # not the student's doing: the next run grades it again
        return sub, report, write_report(out, sub, report, feedback=feedback, extra=extra), \
            report.problem.startswith("the grader failed")

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(one, sub) for sub in todo]
        for future in concurrent.futures.as_completed(futures):
            done = future.result()
            if done is None:
                continue
            sub, report, path, grader_error = done
            result.append((sub, path))
            result.graded += 1
            result.errors += grader_error
            label = f"{sub.student}: {report.score:g}/{report.max_score:g}"
            if report.problem:
                label += f" ({report.problem[:80]})"
            progress.tick(label, problem=bool(report.problem))
    except BaseException as exc:
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        sandbox.stop_all()
        try:
            pool.shutdown(wait=True)
        finally:
            sandbox.allow_new()
        write_class_csv(out)
        progress.close()
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped by {type(exc).__name__}"
        print(f"\n{what}: {result.graded} notebook(s) graded in this run, results kept; run the same "
              f"command again to grade the rest", file=stream, flush=True)
        raise
    pool.shutdown(wait=True)
    progress.close()
    write_class_csv(out)
    write_class_report(out)  # report.html, report.json and their figures
    result.integrity = list(guard.changes)
    if result.integrity:
        (out / "integrity.txt").write_text(
            "The grader's files changed during this batch. Scores were computed by the checks loaded before "
            "the first notebook, but re-grade the flagged notebooks (--force) after checking these files:\n"
            + "\n".join(result.integrity) + "\n", encoding="utf-8")
        print(f"WARNING: the grader's files changed during the batch; see {out / 'integrity.txt'}",
              file=stream, flush=True)
    if result.errors:
        print(f"the grader failed on {result.errors} notebook(s): see {errors_log}", file=stream, flush=True)
    if quiet:
        stream.close()
    return result
