"""Build student submissions for tests: the release notebook with answers filled in.

``make_submission(tmp, "ch01_pdp_ice", answers={"standardize": "def standardize(...): ..."})``
starts from the committed release notebook (what a student really receives),
fills every exercise cell with the reference solution from ``source/`` unless
``answers`` gives another text for it (or ``None`` to leave the stub), and
writes the notebook to ``tmp``.
"""
from __future__ import annotations

import copy
import json
import re
import textwrap
from pathlib import Path
from typing import Dict, Optional

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)


def notebook_path(kind: str, chapter: str) -> Path:
    return next((ROOT / kind / chapter).glob("*.ipynb"))


def _cells_by_grade_id(nb: dict) -> Dict[str, dict]:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
            if "nbgrader" in c.get("metadata", {})}


def _text(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def reference_answers(chapter: str) -> Dict[str, str]:
    """grade_id -> the solution cell's text (markers removed) for every code solution cell."""
    nb = json.loads(notebook_path("source", chapter).read_text())
    return {gid: MARKER.sub("", _text(c)) for gid, c in _cells_by_grade_id(nb).items()
            if c["cell_type"] == "code" and c["metadata"]["nbgrader"].get("solution")}


def make_submission(folder: Path, chapter: str, answers: Optional[Dict[str, Optional[str]]] = None,
                    name: Optional[str] = None) -> Path:
    answers = answers or {}
    nb = json.loads(notebook_path("release", chapter).read_text())
    reference = reference_answers(chapter)
    for gid, cell in _cells_by_grade_id(nb).items():
        if gid not in reference:
            continue
        text = answers.get(gid, reference[gid])
        if text is not None:
            cell["source"] = textwrap.dedent(text).strip("\n")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or notebook_path("release", chapter).name)
    path.write_text(json.dumps(nb, indent=1))
    return path


def stub_submission(folder: Path, chapter: str) -> Path:
    """The untouched release notebook."""
    return make_submission(folder, chapter, answers={gid: None for gid in reference_answers(chapter)})


def edit_notebook(path: Path, fn) -> Path:
    """Apply ``fn(nb_dict)`` to a notebook file in place."""
    nb = json.loads(Path(path).read_text())
    nb = fn(copy.deepcopy(nb)) or nb
    Path(path).write_text(json.dumps(nb, indent=1))
    return path


def train_one_epoch(path: Path) -> Path:
    """Chapter 1's submission ``path`` with its (unlocked, ungraded) training cell set to 1 epoch instead of 100.

    For tests that make nbgrader execute a submission: the grade cells check the student's functions on
    their own models, never on the notebook's network, so the points are the same and autograde takes
    seconds instead of a minute. The 100-epoch notebook and its answers are tested by test_ch01_notebooks.
    """
    nb = json.loads(Path(path).read_text())
    changed = 0
    for cell in nb["cells"]:
        text = _text(cell)
        if cell["cell_type"] == "code" and "epochs=100" in text and not cell["metadata"].get("nbgrader"):
            cell["source"] = text.replace("epochs=100", "epochs=1")
            changed += 1
    assert changed == 1, f"expected one ungraded training cell with epochs=100 in {path}, found {changed}"
    Path(path).write_text(json.dumps(nb, indent=1))
    return path
