"""Grade on Gradescope: build a chapter's autograder zip, and run it inside Gradescope's container.

Build (instructor's machine)::

    python workbook.py gradescope ch01_pdp_ice autograder-ch01.zip
    python -m autograder.gradescope build ch01_pdp_ice OUT.zip [--hidden-visibility after_due_date]

The zip follows Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): its root holds

* ``setup.sh`` — run once, as root, when Gradescope builds the image (Ubuntu 22.04 by default):
  finds or installs Python 3.11, makes a virtual environment in ``/autograder/venv`` and installs the
  packages grading this chapter needs (``requirements.txt``: the lines of the workbook's
  ``requirements.txt`` for the libraries the grader and the chapter's notebook import), with every
  other package held at the version of the environment that built the zip (``constraints.txt``);
* ``run_autograder`` — run for every submission: grades the one notebook in ``/autograder/submission/``
  and writes ``/autograder/results/results.json``;
* ``autograder/`` — the grader with this chapter's public **and hidden** checks, test models and
  answers (no other chapter's, no ``course.py``), ``imlbook/`` (the helpers a student's function may
  import) and ``gradescope.json`` (the chapter and the options chosen at build time).

Never in the zip: ``source/``, ``solutions/``, ``release/``, ``tests/``, other chapters' checks.

Run (inside the container, or anywhere for a test)::

    AUTOGRADER_ROOT=/tmp/fake-autograder python -m autograder.gradescope run

``AUTOGRADER_ROOT`` (default ``/autograder``) relocates Gradescope's folder layout:
``$AUTOGRADER_ROOT/submission/`` is read, ``$AUTOGRADER_ROOT/results/results.json`` is written. A
submission without a notebook, with several, or one the grader cannot read gets a ``results.json``
that says so in words; the run never ends without one.

Results use Gradescope's documented fields: a top-level ``score``, ``output``, ``execution_time``,
``visibility``, ``stdout_visibility`` (``hidden``: what the grader prints is for the instructor) and
``tests`` (``name``, ``score``, ``max_score``, ``status``, ``output``, ``visibility``). Public checks are
``visible`` at once; hidden checks get the build's ``--hidden-visibility`` (default
``after_published``: shown when the instructor publishes the grades), and the top-level ``output``
counts only public checks so that nothing hidden leaks early.
"""
from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import os
import re
import sys
import time
import traceback
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

from autograder.sandbox import PACKAGE_ROOT
from autograder import pyparse

CONFIG = "gradescope.json"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
# Files of autograder/ that grading one notebook never needs: course tooling (it knows where source/ is),
# class grading and its report, the command line that drives them.
NOT_SHIPPED = {"course.py", "batch.py", "report.py", "__main__.py"}
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed timestamps: the same tree gives the same zip
CHAPTER_FILE = re.compile(r"^ch\d+_")
# A library that needs another one to import at all (Keras 3 needs its backend).
NEEDS = {"keras": ["tensorflow"]}


# ----------------------------------------------------------------------------
# What grading a chapter needs
# ----------------------------------------------------------------------------
def shipped_files(chapter: str) -> List[Tuple[Path, str]]:
    """(file on disk, name in the zip) for the grader and helpers: this chapter's check modules only."""
    root = PACKAGE_ROOT
    out: List[Tuple[Path, str]] = []
    for package in ("autograder", "imlbook"):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if "__pycache__" in rel.parts:
                continue
            if package == "autograder" and len(rel.parts) == 2 and rel.name in NOT_SHIPPED:
                continue
            # per-chapter modules and packages (checks, test models, answers, plots, helpers such as
            # imlbook/ch06_deploy/): only this chapter's
            if any(CHAPTER_FILE.match(part) and Path(part).stem != chapter for part in rel.parts[1:]):
                continue
            out.append((path, rel.as_posix()))
    return out


def _imports(source: str, top_level: bool = False) -> Set[str]:
    """Dotted names of the modules that ``source`` imports (absolute imports only).

    ``top_level``: only imports run when the module is imported (not those inside functions, which a
    helper such as a notebook-display function makes only when it is called).
    """
    try:
        tree = pyparse.parse(source)
    except SyntaxError:
        return set()
    names: Set[str] = set()
    if top_level:
        nodes, stack = [], list(tree.body)
        while stack:  # module body, including if/try blocks, but not function or class bodies
            node = stack.pop()
            nodes.append(node)
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stack += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)]
    else:
        nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}  # `from imlbook import data`
    return names


def _notebook_code(path: Path) -> str:
    from autograder.extract import read_cells, strip_magics
    return "\n".join(strip_magics(c.source) for c in read_cells(path))


def release_notebook(chapter: str) -> Optional[Path]:
    folder = PACKAGE_ROOT / "release" / chapter
    return next(iter(sorted(folder.glob("*.ipynb"))), None) if folder.is_dir() else None


def required_modules(chapter: str, files: Iterable[Tuple[Path, str]]) -> Dict[str, str]:
    """Third-party top-level modules grading needs -> why (who imports them).

    The grader's own files, plus every module the chapter's student notebook imports (an exercise
    function may use any of them), following the workbook's own helper modules (``imlbook.data``
    imports pandas) transitively.
    """
    local = {"autograder", "imlbook"}
    stdlib = set(sys.stdlib_module_names)
    needed: Dict[str, str] = {}

    def add(names: Iterable[str], why: str, queue: List[Path]) -> None:
        for name in sorted(names):
            top = name.split(".")[0]
            if top in local:
                candidate = PACKAGE_ROOT.joinpath(*name.split("."))
                for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
                    if path in shipped and path not in seen:
                        seen.add(path)
                        queue.append(path)
            elif top not in stdlib and top not in needed:
                needed[top] = why

    files = list(files)
    shipped = {path for path, _ in files}
    seen: Set[Path] = set()
    queue: List[Path] = []
    for path, arc in files:
        if arc.startswith("autograder/"):
            add(_imports(path.read_text(encoding="utf-8")), "the grader", queue)
    notebook = release_notebook(chapter)
    if notebook is not None:
        add(_imports(_notebook_code(notebook)), f"the notebook {notebook.name}", queue)
    while queue:
        path = queue.pop()
        add(_imports(path.read_text(encoding="utf-8"), top_level=True), path.relative_to(PACKAGE_ROOT).as_posix(),
            queue)
    for module, extra in NEEDS.items():
        if module in needed:
            for other in extra:
                needed.setdefault(other, f"{module} (its backend)")
    return needed


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines(requirements: Path) -> Dict[str, List[str]]:
    """Canonical distribution name -> its lines in requirements.txt (several when they carry markers)."""
    out: Dict[str, List[str]] = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if name:
            out.setdefault(_canonical(name.group(0)), []).append(line)
    return out


def pinned_requirements(modules: Dict[str, str], requirements: Path) -> List[str]:
    """requirements.txt lines (pins and markers kept) for the distributions that provide ``modules``.

    Raises ``ValueError`` for a module that no pinned line provides, so a zip never installs an
    unpinned library.
    """
    lines = _requirement_lines(requirements)
    provides = importlib.metadata.packages_distributions()
    # tensorflow is pinned as tensorflow-cpu on Linux and tensorflow on macOS: both lines go in
    aliases = {"tensorflow": ["tensorflow-cpu", "tensorflow"], "tensorflow-cpu": ["tensorflow-cpu", "tensorflow"]}
    out: List[str] = []
    missing = []
    for module, why in sorted(modules.items()):
        dists = provides.get(module, [module])
        found = []
        for dist in dists:
            for name in aliases.get(_canonical(dist), [_canonical(dist)]):
                found += lines.get(name, [])
        if not found:
            missing.append(f"{module} (imported by {why})")
            continue
        for line in found:
            if line not in out:
                out.append(f"{line}")
    if missing:
        raise ValueError("not pinned in requirements.txt: " + ", ".join(missing)
                         + "; pin them there so the Gradescope image installs the versions you tested")
    return out


def environment_constraints() -> List[str]:
    """``name==version`` for every package of this environment: pip's constraints for transitive dependencies."""
    seen: Dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and _canonical(name) not in ("imlbook",) and _canonical(name) not in seen:
            seen[_canonical(name)] = f"{name}=={dist.version}"
    return sorted(seen.values(), key=str.lower)


# ----------------------------------------------------------------------------
# The scripts inside the zip
# ----------------------------------------------------------------------------
SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 by default).
# It installs exactly what grading {chapter} needs: requirements.txt (pinned), with every dependency
# held at the version the instructor tested (constraints.txt).
set -euo pipefail
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY=""
for candidate in python3.11 python3.12; do
  if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then
  # Ubuntu 22.04 ships Python 3.10; the workbook's pinned stack needs 3.11 (deadsnakes' build).
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends software-properties-common gpg-agent
  add-apt-repository -y ppa:deadsnakes/ppa
  apt-get update
  apt-get install -y --no-install-recommends python3.11 python3.11-venv python3.11-dev
  PY=python3.11
fi
"$PY" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check --upgrade pip
"$ROOT/venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check \
    -r "$HERE/requirements.txt" -c "$HERE/constraints.txt"
# Without user namespaces (Docker's default seccomp profile, which Gradescope uses) the grader runs student
# code as this unprivileged user; the hidden checks and answers are not readable by it.
if ! id -u imlbook-sb0 >/dev/null 2>&1; then
  useradd --system --no-create-home --user-group --shell /usr/sbin/nologin --home-dir /nonexistent imlbook-sb0 \
    || echo "setup.sh: could not create the user imlbook-sb0; the grader will try again when it runs" >&2
fi
chmod o-rwx "$HERE/autograder/hidden" "$HERE/autograder/answers" 2>/dev/null || true
# Fail the build now, not at the first student: import the grader, the checks and every library above.
cd "$HERE" && PYTHONPATH="$HERE" "$ROOT/venv/bin/python" -m autograder.gradescope selftest
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. It grades the notebook in $ROOT/submission/ and writes
# $ROOT/results/results.json. AUTOGRADER_ROOT relocates /autograder (for tests); IMLBOOK_GRADER_PYTHON
# picks another Python than the one setup.sh installed.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${IMLBOOK_GRADER_PYTHON:-$ROOT/venv/bin/python}"
if [ ! -x "$PY" ]; then  # setup.sh did not finish: say so to the student instead of failing silently
  mkdir -p "$ROOT/results"
  cat > "$ROOT/results/results.json" <<'JSON'
{"score": 0, "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
 "output": "The autograder is not installed correctly (its Python environment is missing), so your notebook could not be graded. This is not caused by your submission: your instructor has to rebuild the autograder, then your submission can be graded again."}
JSON
  echo "no Python at $PY: setup.sh did not complete (see the build log)"
  exit 1
fi
cd "$ROOT/source" || exit 1
AUTOGRADER_ROOT="$ROOT" PYTHONPATH="$ROOT/source" exec "$PY" -m autograder.gradescope run
"""


def _zip_write(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    zf.writestr(info, data)


def build_zip(chapter: str, out: Path, hidden_visibility: str = "after_published") -> Path:
    """Write the Gradescope autograder zip for ``chapter`` to ``out``; return ``out``."""
    from autograder.checks import chapters
    if chapter not in chapters():
        raise ValueError(f"unknown chapter {chapter!r} (known: {', '.join(chapters())})")
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden visibility must be one of {', '.join(VISIBILITIES)}")
    if not (PACKAGE_ROOT / "autograder" / "hidden" / f"{chapter}.py").is_file():
        raise ValueError(f"autograder/hidden/{chapter}.py is missing: build the zip from the instructor's copy")
    files = shipped_files(chapter)
    modules = required_modules(chapter, files)
    reqs = pinned_requirements(modules, PACKAGE_ROOT / "requirements.txt")
    notebook = release_notebook(chapter)
    config = {"chapter": chapter, "hidden_visibility": hidden_visibility,
              "notebook": notebook.name if notebook else f"{chapter.split('_', 1)[-1]}.ipynb",
              "exercises": chapters()[chapter], "modules": sorted(modules)}
    header = (f"# Installed by setup.sh to grade {chapter}: the workbook's pins for what the grader and the\n"
              f"# chapter's notebook import ({', '.join(sorted(modules))}).\n")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _zip_write(zf, "setup.sh", SETUP_SH.format(chapter=chapter).encode(), executable=True)
        _zip_write(zf, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
        _zip_write(zf, "requirements.txt", (header + "\n".join(reqs) + "\n").encode())
        _zip_write(zf, "constraints.txt", ("# The versions of the environment that built this zip: pip installs "
                                           "nothing from here, it only holds dependencies to these versions.\n"
                                           + "\n".join(environment_constraints()) + "\n").encode())
        _zip_write(zf, CONFIG, (json.dumps(config, indent=2) + "\n").encode())
        for path, arc in files:
            _zip_write(zf, arc, path.read_bytes())
    os.replace(tmp, out)
    return out


# ----------------------------------------------------------------------------
# Inside the container: grade the submission
# ----------------------------------------------------------------------------
def _root() -> Path:
    return Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")


def _config() -> dict:
    return json.loads((PACKAGE_ROOT / CONFIG).read_text(encoding="utf-8"))


def find_notebooks(submission: Path) -> Tuple[List[Path], List[str]]:
    """(notebooks, other files) in a submission folder, ignoring checkpoints, macOS metadata and dot-files."""
    notebooks, others = [], []
    if submission.is_dir():
        for path in sorted(submission.rglob("*")):
            rel = path.relative_to(submission).parts
            if not path.is_file() or any(p.startswith(".") or p == "__MACOSX" for p in rel):
                continue
            (notebooks if path.suffix.lower() == ".ipynb" else others).append(path)
    return notebooks, [p.relative_to(submission).as_posix() for p in others]


def choose_notebook(notebooks: List[Path], expected: str, submission: Path) -> Tuple[Optional[Path], str]:
    """The notebook to grade and a note for the student, or (None, why not)."""
    names = ", ".join(f"`{p.relative_to(submission).as_posix()}`" for p in notebooks[:10])
    if len(notebooks) == 1:
        return notebooks[0], ""
    named = [p for p in notebooks if p.name == expected]
    if len(named) == 1:
        return named[0], (f"You submitted {len(notebooks)} notebooks ({names}); graded `{expected}` and ignored "
                          f"the others. Submit only `{expected}` next time.")
    return None, (f"You submitted {len(notebooks)} notebooks ({names}) and the grader cannot tell which one to "
                  f"grade. Submit only your `{expected}` (in Jupyter: File > Download) and the grader will grade it.")


def _result(output: str, tests: Optional[list] = None, score: float = 0.0, **extra) -> dict:
    return {"score": score, "output": output, "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests or [], "extra_data": extra}


def _problem_result(message: str, **extra) -> dict:
    test = {"name": "submission: one Jupyter notebook", "score": 0, "max_score": 0, "status": "failed",
            "output": message, "visibility": "visible"}
    return _result(message, [test], **extra)


def grade_submission(root: Path, config: dict) -> dict:
    """results.json's content for the submission under ``root`` (never raises for what the student did)."""
    from autograder.checks import exercise_checks
    from autograder.grade import detect_chapter, grade_notebook
    from autograder.sandbox import Limits, isolation_description

    chapter, expected = config["chapter"], config["notebook"]
    submission = root / "submission"
    notebooks, others = find_notebooks(submission)
    if not notebooks:
        found = (", ".join(f"`{o}`" for o in others[:10]) + (" ..." if len(others) > 10 else "")) if others else "nothing"
        return _problem_result(f"No Jupyter notebook (.ipynb) was found in your submission (it holds {found}). "
                               f"Submit your `{expected}`: in Jupyter, File > Download, then upload that file.",
                               chapter=chapter)
    chosen, note = choose_notebook(notebooks, expected, submission)
    if chosen is None:
        return _problem_result(note, chapter=chapter)
    limits = Limits(hide_paths=(str(root / "results"), str(root / "submission")))
    report = grade_notebook(chosen, chapter=chapter, include_hidden=True, limits=limits)
    data = report.gradescope()
    hidden_ids = {c.id for ex in report.results for c in exercise_checks(ex, True) if c.hidden}
    public = [t for t in data["tests"] if t.get("name") in {r.check.id for rs in report.results.values()
                                                                   for r in rs if not r.check.hidden}]
    for test in data["tests"]:
        if test.get("name") in hidden_ids:
            test["visibility"] = config.get("hidden_visibility", "after_published")
    notes = [note] if note else []
    if report.problem:
        notes.insert(0, f"This notebook could not be graded: {report.problem}")
    elif detect_chapter(chosen) is None:
        notes.insert(0, f"None of this assignment's functions ({', '.join(config['exercises'])}) was found in "
                        f"`{chosen.name}`: is it the notebook of {chapter}?")
    got = sum(t["score"] for t in public)
    out_of = sum(t["max_score"] for t in public)
    passed = sum(t.get("status") == "passed" for t in public)
    summary = (f"Public checks: {passed} of {len(public)} passed ({got:g} / {out_of:g} points). "
               + ("Hidden checks of the same kind also count; their results appear when your instructor "
                  "publishes the grades." if len(public) < len(data["tests"]) else ""))
    manual = [t for t in data["tests"] if t.get("max_score") == 0 and "graded by hand" in str(t.get("name", ""))]
    if manual:
        summary += f" {len(manual)} written answer(s) will be graded by hand."
    data["output"] = "\n\n".join(notes + [summary])
    data["visibility"] = "visible"
    data["stdout_visibility"] = "hidden"
    data["execution_time"] = int(round(report.seconds))
    data["extra_data"].update({"graded_notebook": chosen.relative_to(submission).as_posix(),
                               "isolation": isolation_description(limits), "problem": report.problem})
    return data


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run(root: Optional[Path] = None) -> dict:
    """Grade ``root/submission`` into ``root/results/results.json``; print a summary for the instructor."""
    root = Path(root) if root is not None else _root()
    results = root / "results" / "results.json"
    started = time.monotonic()
    print(f"grader: {PACKAGE_ROOT / 'autograder'}; submission: {root / 'submission'}", flush=True)
    try:
        config = _config()
        data = grade_submission(root, config)
    except Exception:  # noqa: BLE001 - the student still gets a results.json that says what happened
        traceback.print_exc(file=sys.stdout)
        data = _result("The autograder failed on this submission because of a problem in the autograder, not in "
                       "your code. Your instructor can see the details and will grade it again.",
                       grader_error=traceback.format_exc()[-4000:])
    data.setdefault("execution_time", int(round(time.monotonic() - started)))
    _atomic_write(results, json.dumps(data, indent=2))
    print(f"score {data['score']:g}; {len(data['tests'])} test(s); results in {results}", flush=True)
    print(data["output"], flush=True)
    return data


def selftest(without: Iterable[str] = ()) -> int:
    """Import the grader, the chapter's checks and every library the zip installed (setup.sh's last step).

    ``without``: libraries not to import (tests skip TensorFlow's seconds of importing).
    """
    import importlib
    from autograder.checks import chapters, exercise_checks
    config = _config()
    exercises = chapters().get(config["chapter"], [])
    if exercises != config["exercises"]:
        print(f"the zip's checks define {exercises}, expected {config['exercises']}", file=sys.stderr)
        return 1
    hidden = sum(c.hidden for ex in exercises for c in exercise_checks(ex, True))
    needed = [m for m in config.get("modules", []) if m not in set(without)]
    for module in needed:
        importlib.import_module(module)
    print(f"{config['chapter']}: {len(exercises)} exercises, {hidden} hidden checks; imported {', '.join(sorted(needed))}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a chapter's Gradescope autograder zip")
    b.add_argument("chapter")
    b.add_argument("out")
    b.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_published",
                   help="when students see the hidden checks' results (default: after_published, i.e. when "
                        "you publish the grades)")
    sub.add_parser("run", help="grade $AUTOGRADER_ROOT/submission (inside Gradescope's container)")
    st = sub.add_parser("selftest", help="check that the unpacked zip can grade (setup.sh's last step)")
    st.add_argument("--without", action="append", default=[], help="a library not to import (repeatable)")
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            out = build_zip(args.chapter, Path(args.out), args.hidden_visibility)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        with zipfile.ZipFile(out) as zf:
            n = len(zf.namelist())
        print(f"Gradescope autograder for {args.chapter} written to {out} ({n} files). Upload it on the "
              f"assignment's Configure Autograder page; students submit their notebook.")
        return 0
    if args.command == "run":
        run()
        return 0
    return selftest(args.without)


if __name__ == "__main__":
    sys.exit(main())
