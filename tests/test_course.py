"""One source, everything generated: release/ and solutions/ are fresh, points agree, the bundle leaks nothing."""
import ast
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

    def files(folder):  # editor artefacts (.ipynb_checkpoints/ from opening a notebook) are not content
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    assert files(fresh) == files(committed)
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
    models = "".join(p.read_text() for p in (ROOT / "autograder" / "testmodels").glob("*.py"))
    for path in (ROOT / "autograder" / "answers").glob("*.py"):  # the reference methods (not the models' own code)
        secret_lines |= {ln.strip() for ln in path.read_text().splitlines()
                         if len(ln.strip()) > 25 and not GENERIC.match(ln.strip()) and ln.strip() not in models
                         and not ln.strip().startswith(("from ", "import ", "#", '"""'))}
    assert secret_lines
    for path in files:
        if path.suffix not in (".py", ".ipynb", ".md", ".txt", ".toml", ".yml"):
            continue
        text = path.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
        leaked = [ln for ln in secret_lines if ln in text]
        assert not leaked, f"{path.relative_to(bundle)} contains {leaked[:3]}"
    # Nor a working reference written differently: no module of the bundle's library defines a function or
    # class named like an exercise (chapter 6's run store once held chapter 5's Explanation and its own
    # exercises; the exercises live only in the notebooks' solution cells).
    exercises = {ex for chapter in CHAPTERS for ex in chapters()[chapter]}
    defined = {}
    for path in (bundle / "imlbook").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in exercises:
                defined.setdefault(str(path.relative_to(bundle)), []).append(node.name)
    assert not defined, f"the bundle's library defines exercises: {defined}"
    # Nor does the bundle's grader (issue 19 §5): no autograder/answers, nothing imports it, and no function
    # of the bundle (outside class bodies: a test model's `predict_proba` method is not the exercise) is
    # named like an exercise or like a reference method of autograder/answers (grad_cam, exact_shapley...).
    assert not (bundle / "autograder" / "answers").exists()
    methods = {node.name for path in (ROOT / "autograder" / "answers").glob("*.py")
               for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}
    assert {"grad_cam", "exact_shapley", "sklearn_permutation", "guided_grad_cam"} <= methods
    for path in bundle.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        in_classes = {id(n) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for n in c.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.startswith("autograder.answers") or n == "answers" for n in names), \
                    f"{path.relative_to(bundle)} imports the reference methods"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and id(node) not in in_classes:
                assert node.name not in exercises | methods, \
                    f"{path.relative_to(bundle)} defines {node.name}, an exercise or a reference method"
    assert (bundle / "imlbook" / "ch06_deploy" / "service.py").exists()

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
        # chapter 3's public checks compare with stored reference values (the bundle has no answers)
        exec(SHAPLEY)
        self_check("shapley_values", shapley_values)
        right = shapley_values
        self_check("shapley_values", lambda f, x, background: -right(f, x, background))
    """).replace("BUNDLE", repr(str(bundle)))
    shapley = next(t for t in reference_answers("ch03_shap").values() if "def shapley_values" in t)
    script = script.replace("SHAPLEY", repr("from math import comb, factorial\n" + shapley))  # the imports cell
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PYTHONPATH"] = str(bundle)
    proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(bundle)!r}); " + script],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "standardize: 3/3 public checks passed" in proc.stdout
    assert "ice_curves: not attempted yet" in proc.stdout
    n_shapley = len(exercise_checks("shapley_values", include_hidden=False))
    assert f"shapley_values: {n_shapley}/{n_shapley} public checks passed" in proc.stdout, proc.stdout
    assert "shapley_values: 0/" in proc.stdout or "shapley_values: 1/" in proc.stdout, proc.stdout
    assert "cannot be checked in the student copy" not in proc.stdout
    assert "hidden available: False" in proc.stdout
    assert not re.search(r"hidden check:", proc.stdout)  # no hidden check is named (saying they exist is fine)


def test_release_backs_up_a_file_a_person_edited(tmp_path, monkeypatch):
    """Regenerating never loses an edit: a file that differs from what was generated is copied to backups/
    first (and the log says where); generated content is replaced silently; editor artefacts stay."""
    monkeypatch.setattr(course, "BACKUPS", tmp_path / "backups")
    fresh, dest = tmp_path / "fresh", tmp_path / "release" / "ch"
    fresh.mkdir()
    (fresh / "nb.ipynb").write_text("new generation")
    (fresh / "other.ipynb").write_text("other, new")
    dest.mkdir(parents=True)
    (dest / "nb.ipynb").write_text("a student's answers")            # edited by a person
    (dest / "other.ipynb").write_text("other, as generated before")  # stale, but generated
    (dest / "gone.ipynb").write_text("a person's own notebook")      # not generated any more
    (dest / ".ipynb_checkpoints").mkdir()
    (dest / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text("editor artefact")
    generated = {str((dest / "other.ipynb").resolve()): course._sha256(b"other, as generated before")}
    monkeypatch.setattr(course, "_record", lambda: dict(generated))
    messages = []
    backups = course.install(fresh, dest, log=messages.append)

    assert (dest / "nb.ipynb").read_text() == "new generation" and (dest / "other.ipynb").read_text() == "other, new"
    assert not (dest / "gone.ipynb").exists()
    assert sorted(b.read_text() for b in backups) == ["a person's own notebook", "a student's answers"]
    assert all(b.is_relative_to(tmp_path / "backups") for b in backups)
    assert len(messages) == 2 and all("kept a copy in" in m and str(tmp_path / "backups") in m for m in messages)
    assert (dest / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").read_text() == "editor artefact"

    messages.clear()
    assert course.install(fresh, dest, log=messages.append) == [] and messages == []  # nothing changed: no backup


def test_the_committed_version_counts_as_generated(tmp_path, monkeypatch):
    """In a git checkout, a generated file equal to its committed version is not a person's edit."""
    repo = tmp_path / "repo"
    (repo / "release" / "ch").mkdir(parents=True)
    nb = repo / "release" / "ch" / "nb.ipynb"
    nb.write_text("as generated and committed")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    try:
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "release"]):
            subprocess.run(git + args, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    monkeypatch.setattr(course, "ROOT", repo)
    assert course.is_generated(nb, record={})
    nb.write_text("a student's answers")
    assert not course.is_generated(nb, record={})
    assert course.is_generated(nb, record={"release/ch/nb.ipynb": course._sha256(b"a student's answers")})


def test_rebuilding_a_bundle_keeps_what_a_person_changed_or_added(tmp_path):
    out = course.build_bundle(tmp_path / "bundle", log=lambda m: None)
    readme = out / "README.md"
    notebook = next((out / "release").rglob("*.ipynb"))
    original_readme = readme.read_text()
    readme.write_text("the instructor's own README")        # changed since the bundle was made
    (out / "work").mkdir()
    (out / "work" / "mine.ipynb").write_text("a student's work")  # not made by the bundle
    notebook.unlink()                                       # removed: comes back
    messages = []
    course.build_bundle(out, log=messages.append)
    assert readme.read_text() == original_readme and notebook.exists()
    assert (out / "work" / "mine.ipynb").read_text() == "a student's work"
    backups = [p for p in tmp_path.iterdir() if p.name.startswith("bundle.backup-")]
    assert len(backups) == 1 and (backups[0] / "README.md").read_text() == "the instructor's own README"
    assert str(backups[0]) in messages[0]
    course.build_bundle(out, log=messages.append)           # unchanged since: no new backup
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("bundle.backup-")]) == 1


def test_bundle_refuses_a_folder_it_did_not_make(tmp_path):
    from autograder.outdirs import UnsafeOutput
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "letter.txt").write_text("keep me")
    with pytest.raises(UnsafeOutput, match="not empty"):
        course.build_bundle(folder)
    for target in (ROOT, ROOT.parent, ROOT / "release", ROOT / "work"):
        with pytest.raises(UnsafeOutput, match="Nothing was written"):
            course.build_bundle(target)
    assert [p.name for p in folder.iterdir()] == ["letter.txt"]


def test_the_bundle_is_for_students(tmp_path):
    """Its README says which Python; it installs no instructor tool; its front door offers only what works."""
    bundle = course.build_bundle(tmp_path / "bundle", log=lambda m: None)
    readme = (bundle / "README.md").read_text()
    assert "Python 3.11" in readme and "python workbook.py lab" in readme and "work/" in readme
    assert "python workbook.py check work/ch01_pdp_ice/pdp_ice.ipynb" in readme
    requirements = (bundle / "requirements.txt").read_text()
    pinned = {line.split("==")[0] for line in requirements.splitlines() if "==" in line and not line.startswith("#")}
    assert "nbgrader" not in pinned and "pytest" not in pinned and {"numpy", "jupyterlab", "keras"} <= pinned
    assert not (bundle / "autograder" / "course.py").exists() and not (bundle / "autograder" / "manual.py").exists()
    env = {**os.environ, "IMLBOOK_VENV": "-"}
    help_text = subprocess.run([sys.executable, str(bundle / "workbook.py"), "--help"], capture_output=True,
                               text=True, env=env, timeout=60).stdout
    assert "python workbook.py check" in help_text and "python workbook.py release" not in help_text
