"""One source, everything generated: release/ and solutions/ are fresh, points agree, the bundle leaks nothing."""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import course
from autograder.checks import chapters, exercise_checks, max_points
from tests.submissions import ROOT, reference_answers

CHAPTERS = course.source_chapters()
GENERIC = re.compile(r"^\w+ = np\.asarray\(\w+, dtype=float\)$")  # input coercion, not a solution


def _normalized(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def test_every_source_chapter_has_checks_and_vice_versa():
    assert CHAPTERS, "no chapters in source/"
    assert set(CHAPTERS) == set(chapters())


@pytest.mark.nbgrader
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_release_matches_a_fresh_generation(tmp_path, chapter):
    fresh = course.generate_release(chapter, tmp_path / chapter)
    committed = ROOT / "release" / chapter
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in committed.iterdir())
    for nb in fresh.glob("*.ipynb"):
        assert _normalized(nb) == _normalized(committed / nb.name), (
            f"release/{chapter}/{nb.name} is stale: run `python workbook.py release`")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_solutions_match_a_fresh_generation(tmp_path, chapter):
    fresh = course.generate_solutions(chapter, tmp_path / chapter)
    for nb in fresh.glob("*.ipynb"):
        assert _normalized(nb) == _normalized(ROOT / "solutions" / chapter / nb.name), (
            f"solutions/{chapter}/{nb.name} is stale: run `python workbook.py release`")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_have_no_hidden_tests_or_markers(chapter):
    for nb in (ROOT / "solutions" / chapter).glob("*.ipynb"):
        text = nb.read_text()
        for marker in ("BEGIN HIDDEN TESTS", "hidden=True", "BEGIN SOLUTION", "END SOLUTION"):
            assert marker not in text, f"{marker!r} in {nb}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebook_structure_matches_the_checks(chapter):
    """Each exercise has a solution cell and a locked grade cell worth exactly its checks' points."""
    nb = nbformat.read(next((ROOT / "source" / chapter).glob("*.ipynb")), as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    for ex in chapters()[chapter]:
        assert cells[ex].metadata["nbgrader"]["solution"]
        assert re.search(rf"^(def {ex}\(|class {ex}\b)", cells[ex].source, re.M)  # a function or a class
        check_cell = cells[f"check_{ex}"]
        meta = check_cell.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"]
        assert meta["points"] == max_points(ex), f"{ex}: notebook says {meta['points']}, checks total {max_points(ex)}"
        assert check_cell.source.splitlines()[0] == f'self_check("{ex}", {ex})'
        assert "### BEGIN HIDDEN TESTS" in check_cell.source
        assert any(c.hidden for c in exercise_checks(ex)), f"{ex} has no hidden check"
        assert any(not c.hidden for c in exercise_checks(ex)), f"{ex} has no public check"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_release_stubs_are_the_edit_me_marker(chapter):
    nb = nbformat.read(next((ROOT / "release" / chapter).glob("*.ipynb")), as_version=4)
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    assert solution_cells and all("#** EDIT ME **" in c.source for c in solution_cells)
    assert "BEGIN HIDDEN TESTS" not in json.dumps(nb)


def test_student_bundle_has_no_solutions_and_its_self_checks_work(tmp_path):
    bundle = course.build_bundle(tmp_path / "bundle")
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert not (bundle / "autograder" / "hidden").exists()
    assert not (bundle / "source").exists() and not (bundle / "solutions").exists()
    # No line of any reference solution or hidden check appears anywhere in the bundle.
    secret_lines = set()
    for chapter in CHAPTERS:
        for text in reference_answers(chapter).values():
            body = text.split('"""')[-1]  # after the docstring: the solution proper
            secret_lines |= {ln.strip() for ln in body.splitlines()
                             if len(ln.strip()) > 25 and not GENERIC.match(ln.strip())}
        hidden = ROOT / "autograder" / "hidden" / f"{chapter}.py"
        public = (ROOT / "autograder" / "public" / f"{chapter}.py").read_text()
        secret_lines |= {ln.strip() for ln in hidden.read_text().splitlines()  # what only the hidden checks say
                         if len(ln.strip()) > 25 and ln.strip() not in public and not GENERIC.match(ln.strip())
                         and not ln.strip().startswith(("from ", "import ", "#"))}
    assert secret_lines
    for path in files:
        if path.suffix not in (".py", ".ipynb", ".md", ".txt", ".toml", ".yml"):
            continue
        text = path.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
        leaked = [ln for ln in secret_lines if ln in text]
        assert not leaked, f"{path.relative_to(bundle)} contains {leaked[:3]}"

    # The self-check runs from the bundle alone (no repository on the path).
    script = textwrap.dedent("""
        import numpy as np
        import autograder
        from autograder import self_check
        from autograder.checks import load_checks
        assert autograder.__file__.startswith(BUNDLE), autograder.__file__
        def standardize(x_train, x_test):
            m, s = x_train.mean(0), x_train.std(0)
            return (x_train - m) / s, (x_test - m) / s
        self_check("standardize", standardize)
        def ice_curves(predict, X, feature, grid, centered=False):
            '''stub'''
        self_check("ice_curves", ice_curves)
        print("hidden available:", load_checks(include_hidden=True))
    """).replace("BUNDLE", repr(str(bundle)))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PYTHONPATH"] = str(bundle)
    proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(bundle)!r}); " + script],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "standardize: 3/3 public checks passed" in proc.stdout
    assert "ice_curves: not attempted yet" in proc.stdout
    assert "hidden available: False" in proc.stdout
    assert not re.search(r"hidden check", proc.stdout)
