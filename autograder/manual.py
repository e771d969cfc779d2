"""Written answers ("What do you see?") in the standalone workflow: mark them by hand, merge the marks.

After ``python workbook.py grade submitted/ --out graded/``:

1. ``python workbook.py marks sheet graded/`` writes ``graded/written-answers.csv``: one row per
   student and written question, with the question, the student's answer, the model answer and the
   mark scheme beside it, the points it is out of, and two empty columns, ``points`` and ``comment``.
   Run it again after grading more students: marks already entered are carried over (the previous
   sheet is kept as ``written-answers.<timestamp>.csv``).
2. Fill in ``points`` (and ``comment`` if you like) in a spreadsheet or an editor; leave ``points``
   empty for an answer you have not marked yet. Save as CSV (comma, semicolon or tab).
3. ``python workbook.py marks merge graded/`` checks every mark (a number between 0 and the
   question's points, for a student and question that exist), stores them in
   ``graded/written-marks.json`` and rebuilds ``graded/grades.csv``: ``total`` = automatic +
   written points, ``out of`` = the full maximum (automatic + written) of the chapters each student
   submitted, ``total includes`` in words (automatic only, or with the written marks so far),
   ``written`` and ``unmarked`` beside them, one column per written question. The ``<chapter> total``
   columns (graded chapters only) are automatic points. Nothing is
   written when a mark is invalid: the message lists every problem with its row.

Regrading later (``grade ... --force``) keeps the merged marks: ``grades.csv`` is always rebuilt with them.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from autograder.sandbox import PACKAGE_ROOT

SHEET = "written-answers.csv"
MARKS = "written-marks.json"
COLUMNS = ["student", "chapter", "question", "prompt", "answer", "model_answer", "mark_scheme", "out_of",
           "points", "comment"]
MARK_SCHEME = re.compile(r"\*\*Mark scheme[^*]*\*\*", re.I)
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)
ANSWER_STUB = "*Your answer here.*"  # what nbgrader leaves in a written answer's cell (nbgrader_config.py)
NOT_ANSWERED = "(not answered: the cell still holds the placeholder *Your answer here.*)"


class MarksError(Exception):
    """The sheet cannot be merged; the message lists every problem."""


# ----------------------------------------------------------------------------
# What was submitted: written answers found in the grader's results
# ----------------------------------------------------------------------------
def _results(out: Path):
    for path in sorted(Path(out).glob("*/*/results.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            extra = data.get("extra_data", {})
            student, chapter = str(extra["student"]), extra.get("chapter")
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            continue
        if chapter:
            yield path, data, student, str(chapter)


def written_questions(data: dict) -> List[Tuple[str, float]]:
    """(grade_id, points) of the written answers listed in a results.json."""
    found = []
    for test in data.get("tests", []):
        extra = test.get("extra_data") or {}
        if "manual_points" in extra:
            found.append((str(test.get("name", "")).split(":", 1)[0], float(extra["manual_points"])))
    return found


def _source_cells(chapter: str) -> List[dict]:
    folder = PACKAGE_ROOT / "source" / chapter
    source = next(iter(sorted(folder.glob("*.ipynb"))), None) if folder.is_dir() else None
    if source is None:
        return []
    try:
        return json.loads(source.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def question_texts(chapter: str) -> Dict[str, Dict[str, str]]:
    """grade_id -> prompt (the markdown cell above the answer), model answer and mark scheme (source/)."""
    cells = _source_cells(chapter)
    out = {}
    for i, cell in enumerate(cells):
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "markdown" or not (nbg.get("solution") and nbg.get("grade")):
            continue
        text = SOLUTION_MARKER.sub("", _text(cell))
        m = MARK_SCHEME.search(text)
        model, scheme = (text[:m.start()].strip(), text[m.start():].strip()) if m else (text.strip(), "")
        prompt = _text(cells[i - 1]).strip() if i > 0 and cells[i - 1].get("cell_type") == "markdown" else ""
        out[nbg["grade_id"]] = {"prompt": prompt, "model_answer": model, "mark_scheme": scheme}
    return out


def _answers(notebook: str) -> Optional[Dict[str, str]]:
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    answers = {}
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        gid = (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id")
        if gid:
            answers[str(gid)] = _text(cell).strip()
    return answers


def collect(out: Path) -> List[Dict[str, object]]:
    """One row per student and written question of every graded notebook under ``out``."""
    rows, texts = [], {}
    for _, data, student, chapter in _results(out):
        questions = written_questions(data)
        if not questions:
            continue
        notebook = str(data.get("extra_data", {}).get("notebook", ""))
        answers = _answers(notebook)
        if chapter not in texts:
            texts[chapter] = question_texts(chapter)
        for gid, points in questions:
            if answers is None:
                answer = f"(the submitted notebook is no longer at {notebook}: open the student's copy)"
            else:
                answer = SOLUTION_MARKER.sub("", answers.get(gid, "(no answer cell found)")).strip()
                if answer.strip() in ("", ANSWER_STUB, ANSWER_STUB.strip("*")):
                    answer = NOT_ANSWERED
            q = texts[chapter].get(gid, {})
            rows.append({"student": student, "chapter": chapter, "question": gid, "prompt": q.get("prompt", ""),
                         "answer": answer, "model_answer": q.get("model_answer", ""),
                         "mark_scheme": q.get("mark_scheme", ""), "out_of": f"{points:g}", "points": "",
                         "comment": ""})
    return sorted(rows, key=lambda r: (r["chapter"], r["question"], r["student"]))


# ----------------------------------------------------------------------------
# The sheet
# ----------------------------------------------------------------------------
def _spreadsheet_safe(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading quote (student answers are untrusted)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def read_sheet(path: Path) -> List[Tuple[int, Dict[str, str]]]:
    """(spreadsheet row number, row) of a sheet saved by a spreadsheet or an editor: comma, semicolon or tab.

    Row numbers are a spreadsheet's (the header is row 1), not text lines: answers span several lines."""
    text = Path(path).read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = max([",", ";", "\t"], key=first.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    missing = {"student", "chapter", "question", "points"} - set(reader.fieldnames or [])
    if missing:
        raise MarksError(f"{path}: missing column(s) {', '.join(sorted(missing))}; expected the columns of "
                         f"`python workbook.py marks sheet` ({', '.join(COLUMNS)})")
    return [(n, {k: (v or "") for k, v in row.items() if k}) for n, row in enumerate(reader, start=2)]


def _key(row) -> Tuple[str, str, str]:
    return str(row["student"]).lstrip("'"), str(row["chapter"]), str(row["question"])


def write_sheet(out: Path, sheet: Optional[Path] = None, log=print) -> Path:
    """Write (or refresh) the marking sheet; marks already in it are kept. Returns its path."""
    out = Path(out)
    sheet = Path(sheet) if sheet else out / SHEET
    rows = collect(out)
    if not rows:
        raise MarksError(f"no written answers found under {out}: grade the submissions first "
                         f"(python workbook.py grade submitted/ --out {out})")
    if sheet.exists():
        previous = {_key(r): r for _, r in read_sheet(sheet)}
        for row in rows:
            old = previous.get(_key(row))
            if old is not None:
                row["points"], row["comment"] = old.get("points", ""), old.get("comment", "")
        kept = sheet.with_name(f"{sheet.stem}.{time.strftime('%Y%m%d-%H%M%S')}{sheet.suffix}")
        shutil.copy2(sheet, kept)
        log(f"the previous sheet is kept as {kept}; its marks are carried over")
    tmp = sheet.with_name(f".{sheet.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="", encoding="utf-8-sig") as fh:  # the BOM lets Excel read UTF-8
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _spreadsheet_safe(v) for k, v in row.items()})
    os.replace(tmp, sheet)
    marked = sum(bool(str(r["points"]).strip()) for r in rows)
    students = len({r["student"] for r in rows})
    log(f"{sheet}: {len(rows)} written answer(s) of {students} student(s), {marked} marked. Fill in the "
        f"'points' column (0 to 'out_of'; leave it empty if not marked yet), then run "
        f"`python workbook.py marks merge {out}`")
    return sheet


def _number(text: str) -> float:
    return float(text.strip().replace(",", "."))


def merge(out: Path, sheet: Optional[Path] = None, log=print) -> Path:
    """Check the sheet's marks, store them in ``written-marks.json`` and rebuild ``grades.csv``."""
    from autograder.batch import write_class_csv

    out = Path(out)
    sheet = Path(sheet) if sheet else out / SHEET
    if not sheet.exists():
        raise MarksError(f"no sheet at {sheet}: run `python workbook.py marks sheet {out}` first")
    known = {(student, chapter, gid): points for _, data, student, chapter in _results(out)
             for gid, points in written_questions(data)}
    marks: Dict[str, Dict[str, Dict[str, Dict[str, object]]]] = {}
    problems = []
    for line, row in read_sheet(sheet):
        key = _key(row)
        raw = row.get("points", "").strip()
        if not raw:
            continue
        if key not in known:
            problems.append(f"row {line}: no graded written answer {key[2]!r} of {key[0]!r} in {key[1]!r}")
            continue
        try:
            value = _number(raw)
        except ValueError:
            problems.append(f"row {line}: points {raw!r} is not a number")
            continue
        if not 0 <= value <= known[key]:
            problems.append(f"row {line}: {value:g} points for {key[0]}'s {key[2]}, which is out of {known[key]:g}")
            continue
        student, chapter, gid = key
        marks.setdefault(student, {}).setdefault(chapter, {})[gid] = {"points": value,
                                                                      "comment": row.get("comment", "")}
    if problems:
        raise MarksError(f"{sheet}: nothing merged, {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    path = out / MARKS
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sheet": str(sheet.resolve()), "merged": time.strftime("%Y-%m-%d %H:%M:%S"),
                               "marks": marks}, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    write_class_csv(out)
    n = sum(len(q) for chs in marks.values() for q in chs.values())
    log(f"merged {n} of {len(known)} written mark(s) into {out / 'grades.csv'} "
        f"(total = automatic + written, 'out of' = the full maximum); marks kept in {path}")
    return path


# ----------------------------------------------------------------------------
# The hook that batch.write_class_csv calls: written marks in grades.csv
# ----------------------------------------------------------------------------
def load_marks(out: Path) -> Dict[str, Dict[str, Dict[str, dict]]]:
    try:
        return json.loads((Path(out) / MARKS).read_text(encoding="utf-8")).get("marks", {})
    except (OSError, ValueError, AttributeError):
        return {}


def add_written_marks(out: Path, rows: Dict[str, Dict[str, object]]) -> List[str]:
    """Add the written marks to the class rows (``total`` included); return the columns to add.

    Columns: ``out of`` (automatic + written maximum of the chapters the student submitted),
    ``written`` (written points marked), ``unmarked`` (written answers not marked yet) and one
    column per written question.
    """
    marks = load_marks(out)
    questions: List[str] = []
    for _, data, student, chapter in _results(out):
        row = rows.get(student)
        if row is None:
            continue
        extra = data.get("extra_data", {})
        written = written_questions(data)
        given = marks.get(student, {}).get(chapter, {})
        written_max = sum(p for _, p in written)
        if not written:  # an unreadable notebook lists no answers: the chapter's written points still count
            from autograder.selfcheck import chapter_points
            written_max = (chapter_points(chapter) or (0.0, 0.0, 0))[1]
        row["out of"] = float(row.get("out of", 0)) + float(extra.get("max_score", 0)) + written_max
        for gid, _ in written:
            if gid not in questions:
                questions.append(gid)
            if gid in given:
                points = float(given[gid]["points"])
                row[gid] = points
                row["written"] = float(row.get("written", 0)) + points
                row["total"] = float(row.get("total", 0)) + points
            else:
                row["unmarked"] = int(row.get("unmarked", 0)) + 1
    for row in rows.values():
        row.setdefault("written", 0.0)
        row.setdefault("unmarked", 0)
        row["total includes"] = _total_includes(row, bool(questions))
    return ["out of", "total includes", "written", "unmarked", *questions]


def _total_includes(row: Dict[str, object], has_written: bool) -> str:
    """What a grades.csv ``total`` adds up: the chapter totals are always automatic points only."""
    if not has_written:
        return "automatic points only (no written answers)"
    unmarked, written = int(row.get("unmarked", 0)), float(row.get("written", 0))
    if unmarked and not written:
        return f"automatic points only: {unmarked} written answer(s) not marked yet"
    if unmarked:
        return f"automatic + written points marked so far ({unmarked} written answer(s) not marked yet)"
    return "automatic + written points (all written answers marked)"
