"""The class report: what did the class get wrong?

Batch grading (``python -m autograder grade submitted/ --out graded/``) ends by writing, from every
``graded/<student>/<chapter>/results.json``:

* ``report.json`` — the numbers (the HTML is rendered from it, tests read it);
* ``report.html`` — one page for the instructor, with its figures beside it as PNG
  (``report-scores-<chapter>.png``: the score distribution); every check's outcomes are drawn as
  bars in the page itself, so that the checks' full names stay readable and searchable.

Per chapter: the score distribution; every check's pass rate among the submissions that attempted
its exercise, sorted from the most failed; for the most failed checks, the messages students got and
how many got each (a student's own code line is cut from error messages so that the same mistake is
counted once); the exercises most often left unattempted. For the class: the submissions that timed
out, crashed or could not be graded.

``python -m autograder.report graded/`` rebuilds the report from the results already there.
"""
from __future__ import annotations

import datetime
import html
import json
import os
import re
import sys
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional

RESULTS = "results.json"
TOP_CHECKS = 8            # checks whose messages are listed, per chapter
TOP_MESSAGES = 6          # distinct messages listed per check
TROUBLE = ("timed out", "crashed")
STATUSES = ("passed", "failed", "error", "timed out", "crashed", "not attempted")
COLOURS = {"passed": "#4d9a4d", "failed": "#e39b32", "error": "#c8553d", "timed out": "#8e3b8e",
           "crashed": "#5b2a86", "not attempted": "#d0d0d0"}
_STUDENT_LINE = re.compile(r" \(line \d+: .*\)$", re.S)   # "... raised X (line 3: y = f(x))"


# ----------------------------------------------------------------------------
# Reading results
# ----------------------------------------------------------------------------
def _status(test: dict) -> str:
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    status = extra.get("status")
    if status in STATUSES:
        return status
    return "passed" if test.get("status") == "passed" else "failed"


def _message(test: dict) -> str:
    """The message a student saw, without the hint and without their own code line."""
    text = str(test.get("output") or "").split("\nHint:", 1)[0].strip()
    return _STUDENT_LINE.sub("", text)


def _hint(test: dict) -> str:
    parts = str(test.get("output") or "").split("\nHint:", 1)
    return parts[1].strip() if len(parts) == 2 else ""


def _hidden_ids() -> set:
    try:
        from autograder.checks import all_exercises, exercise_checks
        return {c.id for ex in all_exercises() for c in exercise_checks(ex, True) if c.hidden}
    except Exception:  # noqa: BLE001 - without the hidden checks (a copy of graded/ elsewhere), use visibility
        return set()


def load_results(out: Path) -> List[dict]:
    """Every readable ``results.json`` under ``out`` (``out/<student>/<chapter>/results.json``)."""
    found = []
    for path in sorted(Path(out).glob(f"*/*/{RESULTS}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("tests", []), list):
            data["_path"] = path
            found.append(data)
    return found


# ----------------------------------------------------------------------------
# The numbers
# ----------------------------------------------------------------------------
def build_report(out: Path) -> dict:
    """report.json's content, from the results under ``out``."""
    hidden_ids = _hidden_ids()
    chapters: Dict[str, dict] = {}
    problems: List[dict] = []
    students = set()
    for data in load_results(out):
        extra = data.get("extra_data") if isinstance(data.get("extra_data"), dict) else {}
        path: Path = data["_path"]
        student = str(extra.get("student") or path.parent.parent.name)
        chapter = str(extra.get("chapter") or path.parent.name)
        students.add(student)
        link = path.parent.relative_to(out).as_posix()
        ch = chapters.setdefault(chapter, {"submissions": 0, "scores": [], "max_score": 0.0, "ungraded": 0,
                                           "_checks": {}, "_messages": defaultdict(Counter), "_hints": {},
                                           "_unattempted": Counter(), "_exercises": [],
                                           "_whole": defaultdict(set)})
        ch["submissions"] += 1
        graded = [t for t in data["tests"] if isinstance(t, dict) and float(t.get("max_score") or 0) > 0]
        ch["scores"].append(float(data.get("score") or 0))
        ch["max_score"] = max(ch["max_score"], float(extra.get("max_score") or sum(t["max_score"] for t in graded)))
        problem = str(extra.get("problem") or "")
        if problem:  # nothing of it was run: listed under problems, left out of the checks' statistics
            ch["ungraded"] += 1
            problems.append({"student": student, "chapter": chapter, "what": "could not be graded",
                             "exercises": [], "detail": problem, "folder": link})
            continue
        by_exercise: Dict[str, List[str]] = defaultdict(list)
        whole = _whole_exercise_errors(graded)
        for exercise, message in whole.items():
            ch["_whole"][(exercise, message)].add(student)
        for test in graded:
            name = str(test.get("name", ""))
            exercise, _, check_name = name.partition(": ")
            status = _status(test)
            if exercise in whole and whole[exercise] == NOT_IMPLEMENTED:  # a stub that raises: not attempted
                status = "not attempted"
            by_exercise[exercise].append(status)
            if exercise not in ch["_exercises"]:
                ch["_exercises"].append(exercise)
            row = ch["_checks"].setdefault(name, {
                "id": name, "exercise": exercise, "name": check_name, "points": float(test["max_score"]),
                "hidden": name in hidden_ids or test.get("visibility") in ("after_published", "after_due_date",
                                                                           "hidden"),
                **{s: 0 for s in STATUSES}, "whole_exercise": 0})
            row[status] += 1
            if exercise in whole and status != "not attempted":  # one error, listed once per exercise
                row["whole_exercise"] += 1
            elif status not in ("passed", "not attempted"):
                message = _message(test) or status
                ch["_messages"][name][message] += 1
                ch["_hints"].setdefault((name, message), _hint(test))
        unattempted = [ex for ex, sts in by_exercise.items() if sts and all(s == "not attempted" for s in sts)]
        ch["_unattempted"].update(unattempted)
        trouble = {ex: sorted({s for s in sts if s in TROUBLE}) for ex, sts in by_exercise.items()}
        trouble = {ex: sts for ex, sts in trouble.items() if sts}
        if trouble:
            first = next((_message(t) for t in graded if _status(t) in TROUBLE), "")
            problems.append({"student": student, "chapter": chapter,
                             "what": ", ".join(sorted({s for sts in trouble.values() for s in sts})),
                             "exercises": sorted(trouble), "detail": first, "folder": link})
    report = {"generated": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "students": len(students),
              "submissions": sum(c["submissions"] for c in chapters.values()), "chapters": {},
              "problems": sorted(problems, key=lambda p: (p["chapter"], p["student"]))}
    for chapter in sorted(chapters):
        ch = chapters[chapter]
        scores = sorted(ch["scores"])
        checks = []
        for row in ch["_checks"].values():
            row["attempted"] = row["passed"] + row["failed"] + row["error"] + row["timed out"] + row["crashed"]
            row["not passed"] = row["attempted"] - row["passed"]
            row["pass_rate"] = round(row["passed"] / row["attempted"], 4) if row["attempted"] else None
            checks.append(row)
        # most failed first: lowest pass rate among those who tried, then most failures; a check failed only
        # by errors that stopped a whole exercise is not a misconception of its own (listed under "errors")
        checks.sort(key=lambda r: (r["pass_rate"] if r["pass_rate"] is not None else 2.0, -r["not passed"], r["id"]))
        most_failed = [r for r in checks if r["not passed"] - r["whole_exercise"] > 0][:TOP_CHECKS]
        messages = {}
        for row in most_failed:
            counted = ch["_messages"][row["id"]].most_common()
            messages[row["id"]] = [{"message": m, "count": n, "hint": ch["_hints"].get((row["id"], m), "")}
                                   for m, n in counted[:TOP_MESSAGES]]
            if len(counted) > TOP_MESSAGES:
                messages[row["id"]].append({"message": f"{len(counted) - TOP_MESSAGES} other messages",
                                            "count": sum(n for _, n in counted[TOP_MESSAGES:]), "hint": ""})
        report["chapters"][chapter] = {
            "submissions": ch["submissions"], "ungraded": ch["ungraded"], "max_score": ch["max_score"],
            "scores": scores,
            "mean": round(sum(scores) / len(scores), 2), "median": _median(scores),
            "full_marks": sum(s >= ch["max_score"] for s in scores), "zero": sum(s == 0 for s in scores),
            "checks": checks, "most_failed": [r["id"] for r in most_failed], "messages": messages,
            "unattempted": [{"exercise": ex, "count": n, "of": ch["submissions"] - ch["ungraded"]}
                            for ex, n in sorted(ch["_unattempted"].items(), key=lambda kv: (-kv[1], kv[0]))],
            "exercises": ch["_exercises"],
            "whole_exercise_errors": [
                {"exercise": ex, "message": m, "count": len(who), "students": sorted(who)}
                for (ex, m), who in sorted(ch["_whole"].items(), key=lambda kv: (-len(kv[1]), kv[0]))
                if m != NOT_IMPLEMENTED],
        }
    return report


NOT_IMPLEMENTED = "your function raised NotImplementedError"


def _whole_exercise_errors(graded: List[dict]) -> Dict[str, str]:
    """exercise -> the one error message of a submission whose every check of that exercise raised it (a
    stub's ``NotImplementedError``, a typo's ``NameError``): one mistake, reported once, not once per check."""
    outcomes: Dict[str, List[tuple]] = defaultdict(list)
    for test in graded:
        exercise = str(test.get("name", "")).partition(": ")[0]
        message = re.split(r" — the same failure as", _message(test))[0]
        if message.startswith("your function raised NotImplementedError"):
            message = NOT_IMPLEMENTED
        outcomes[exercise].append((_status(test), message))
    return {ex: outs[0][1] for ex, outs in outcomes.items()
            if len(outs) >= 2 and all(s == "error" for s, _ in outs) and len({m for _, m in outs}) == 1}


def _median(values: List[float]) -> float:
    n = len(values)
    return round((values[(n - 1) // 2] + values[n // 2]) / 2, 2) if n else 0.0


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def score_figure(chapter: str, ch: dict, path: Path) -> Path:
    import numpy as np
    fig = _figure(7.5, 3.2)
    ax = fig.add_subplot()
    top = max(ch["max_score"], 1.0)
    width = 1.0 if top <= 40 else float(np.ceil(top / 40))
    bins = np.arange(0, top + width, width) - width / 2
    ax.hist(ch["scores"], bins=np.append(bins, bins[-1] + width), color="#4a78b0", edgecolor="white")
    ax.axvline(ch["median"], color="#222222", linestyle="--", linewidth=1.2, label=f"median {ch['median']:g}")
    ax.set_xlim(-width, top + width)
    ax.set_xlabel(f"automatic score (points out of {top:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{chapter}: score distribution ({ch['submissions']} submissions)")
    ax.legend(loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.17, top=0.89)  # fixed: a layout pass costs a draw
    fig.savefig(path)
    return path


def _counts(row: dict) -> str:
    return ", ".join(f"{row[s]} {s}" for s in STATUSES if row[s])


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ----------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------
CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;max-width:68em;
margin:2em auto;padding:0 1.2em;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #e4e4e4;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.6em}.muted{color:#666}.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{background:#f5f7fa;border-radius:8px;padding:.6em 1em;min-width:9em}.card b{display:block;font-size:1.5em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.93em}
th,td{border-bottom:1px solid #e4e4e4;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#fafafa}.n{text-align:right}th.n{white-space:nowrap}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.8em;background:#e39b32;border-radius:2px;vertical-align:middle}
.tag{font-size:.8em;background:#eee;border-radius:4px;padding:0 .35em;color:#555}
.check{margin:1em 0 1.4em}.check h4{margin:.2em 0}.hint{color:#555;font-style:italic}
img{max-width:100%;height:auto}td.stack{width:32%}td.stack div{display:flex;height:.9em;border-radius:2px;
overflow:hidden;margin-top:.3em}td.stack small{color:#777}.key{display:inline-block;width:.8em;height:.8em;
border-radius:2px;margin:0 .25em 0 .8em;vertical-align:middle}.nowrap{white-space:nowrap}details summary{cursor:pointer;color:#2a5d9f}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
"""


def render_html(report: dict, figures: Dict[str, Dict[str, str]]) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             "<title>Class report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>Class report</h1>",
             f"<p class='muted'>{report['students']} student(s), {report['submissions']} graded notebook(s); "
             f"generated {e(report['generated'])} from the <code>results.json</code> files in this folder.</p>"]
    parts.append("<div class='cards'>")
    for chapter, ch in report["chapters"].items():
        parts.append(f"<div class='card'><a href='#{e(chapter)}'>{e(chapter)}</a><b>median {ch['median']:g} / "
                     f"{ch['max_score']:g}</b>{ch['submissions']} submission(s), {ch['full_marks']} with full marks"
                     f"</div>")
    n_problems = len(report["problems"])
    parts.append(f"<div class='card'><span class='muted'>timed out, crashed or ungradable</span><b>{n_problems}</b>"
                 f"<a href='#problems'>see the list</a></div></div>")
    for chapter, ch in report["chapters"].items():
        figs = figures.get(chapter, {})
        parts.append(f"<h2 id='{e(chapter)}'>{e(chapter)}</h2>")
        parts.append(f"<p>{ch['submissions']} submission(s): mean {ch['mean']:g}, median {ch['median']:g} of "
                     f"{ch['max_score']:g} points; {ch['full_marks']} with full marks, {ch['zero']} with none.</p>")
        if ch["ungraded"]:
            parts.append(f"<p class='muted'>{ch['ungraded']} notebook(s) could not be read (see "
                         f"<a href='#problems'>below</a>): they count as 0 in the distribution and are left out of "
                         f"the checks' statistics.</p>")
        if "scores" in figs:
            parts.append(f"<img src='{e(figs['scores'])}' alt='score distribution of {e(chapter)}'>")
        # the most failed checks and what students were told
        parts.append("<h3>What the class got wrong</h3>")
        whole = ch.get("whole_exercise_errors", [])
        if whole:
            parts.append("<p>Errors that stopped a whole exercise (every check of it raised the same error; "
                         "counted once per student, not once per check):</p><table><tr><th>exercise</th>"
                         "<th>error</th><th class='n'>students</th><th>who</th></tr>")
            for w in whole:
                parts.append(f"<tr><td><code>{e(w['exercise'])}</code></td><td>{e(w['message'])}</td>"
                             f"<td class='n'>{w['count']}</td><td>{e(', '.join(w['students']))}</td></tr>")
            parts.append("</table>")
        if not ch["most_failed"]:
            parts.append("<p>No check was failed other than by the errors above.</p>" if whole else
                         "<p>Every check was passed by every submission that attempted it.</p>")
        rows = {r["id"]: r for r in ch["checks"]}
        for check_id in ch["most_failed"]:
            r = rows[check_id]
            tag = " <span class='tag'>hidden</span>" if r["hidden"] else ""
            parts.append(f"<div class='check'><h4>{e(check_id)}{tag}</h4>"
                         f"<p class='muted'>failed by {r['not passed']} of the {r['attempted']} submission(s) that "
                         f"attempted <code>{e(r['exercise'])}</code> ({100 * (1 - r['pass_rate']):.0f}%); "
                         f"{r['points']:g} point(s)</p><table><tr><th>what students were told</th>"
                         f"<th class='n'>students</th></tr>")
            top = max([m["count"] for m in ch["messages"].get(check_id, [])] or [1])
            for m in ch["messages"].get(check_id, []):
                hint = f"<br><span class='hint'>hint: {e(m['hint'])}</span>" if m["hint"] else ""
                bar = f"<span class='bar' style='width:{int(60 * m['count'] / top)}px'></span>"
                parts.append(f"<tr><td>{e(m['message'])}{hint}</td><td class='n'>{bar} {m['count']}</td></tr>")
            parts.append("</table></div>")
        # every check, as a stacked bar per check (HTML: full names, nothing to render)
        parts.append("<h3>Every check, most failed first</h3>")
        parts.append("<p class='muted'>Pass rate among the submissions that attempted the exercise. " + " ".join(
            f"<span class='nowrap'><span class='key' style='background:{COLOURS[s]}'></span>{s}</span>"
            for s in STATUSES) + "</p>")
        parts.append("<table class='checks'><tr><th>check</th><th class='n'>points</th><th>outcomes</th>"
                     "<th class='n'>pass rate</th></tr>")
        for r in ch["checks"]:
            rate = "–" if r["pass_rate"] is None else f"{100 * r['pass_rate']:.0f}%"
            tag = " <span class='tag'>hidden</span>" if r["hidden"] else ""
            total = sum(r[s] for s in STATUSES) or 1
            bar = "".join(f"<span title='{r[s]} {s}' style='width:{100 * r[s] / total:.2f}%;background:{COLOURS[s]}'>"
                          f"</span>" for s in STATUSES if r[s])
            parts.append(f"<tr><td>{e(r['id'])}{tag}</td><td class='n'>{r['points']:g}</td>"
                         f"<td class='stack'><div>{bar}</div><small>{_counts(r)}</small></td>"
                         f"<td class='n'>{rate}</td></tr>")
        parts.append("</table>")
        # unattempted
        parts.append("<h3>Exercises left unattempted</h3>")
        if ch["unattempted"]:
            parts.append("<table><tr><th>exercise</th><th class='n'>submissions that left it as the stub</th></tr>")
            for u in ch["unattempted"]:
                parts.append(f"<tr><td><code>{e(u['exercise'])}</code></td><td class='n'>{u['count']} of "
                             f"{u['of']}</td></tr>")
            parts.append("</table>")
        else:
            parts.append("<p>Every submission attempted every exercise.</p>")
    parts.append("<h2 id='problems'>Timed out, crashed or could not be graded</h2>")
    if report["problems"]:
        parts.append("<table><tr><th>student</th><th>chapter</th><th>what happened</th><th>exercises</th>"
                     "<th>details</th></tr>")
        for p in report["problems"]:
            link = f"<a href='{e(p['folder'])}/'>{e(p['student'])}</a>"
            parts.append(f"<tr><td>{link}</td><td>{e(p['chapter'])}</td><td>{e(p['what'])}</td><td>"
                         f"{e(', '.join(p['exercises']))}</td><td>{e(_short(p['detail'], 300))}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None: every notebook was read, and no exercise timed out or crashed.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------
# Writing it all
# ----------------------------------------------------------------------------
def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def write_report(out: Path) -> Path:
    """Write report.json, the figures and report.html into ``out``; return the HTML's path."""
    out = Path(out)
    report = build_report(out)
    for old in out.glob("report-*.png"):  # figures of chapters no longer graded
        old.unlink()
    figures: Dict[str, Dict[str, str]] = {}
    for chapter, ch in report["chapters"].items():
        names = {"scores": f"report-scores-{_safe(chapter)}.png"}
        score_figure(chapter, ch, out / names["scores"])
        figures[chapter] = names
    report["figures"] = figures
    _atomic_write(out / "report.json", json.dumps(report, indent=2))
    _atomic_write(out / "report.html", render_html(report, figures))
    return out / "report.html"


def write_class_report(out: Path) -> Optional[Path]:
    """:func:`write_report` for the batch: a failure is logged to grader-errors.log, never raised."""
    try:
        return write_report(out)
    except Exception:  # noqa: BLE001 - the grades are written already; the report must not undo that
        with (Path(out) / "grader-errors.log").open("a", encoding="utf-8") as fh:
            fh.write(f"--- class report\n{traceback.format_exc()}\n")
        return None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m autograder.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the --out folder of a batch (graded/)")
    args = parser.parse_args(argv)
    print(f"class report written to {write_report(Path(args.out))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
