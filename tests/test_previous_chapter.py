"""Chapter 6 takes the chapter-5 ``Explanation`` from a notebook (autograder/previous.py): the student's own
in work/ first, which is right for a student and wrong for a test. Tests always see the reference solution
(tests/conftest.py sets IMLBOOK_CH05_NOTEBOOK), so a stub chapter 5 in a work/ folder changes nothing they
see; and finding the previous chapter is the grader's job, so the helper library never imports the grader."""
import ast
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest

import autograder.previous as previous
from tests.submissions import ROOT

REFERENCE = ROOT / "solutions" / "ch05_practice" / "practice.ipynb"
STUB = ROOT / "release" / "ch05_practice" / "practice.ipynb"


def fake_checkout(tmp_path) -> Path:
    """A repository-like folder whose work/ holds the untouched chapter-5 stub, as `workbook.py lab` leaves it;
    the chapter-6 notebook runs in work/ch06_deploy/ (where JupyterLab starts its kernel)."""
    root = tmp_path / "checkout"
    (root / "work" / "ch05_practice").mkdir(parents=True)
    (root / "work" / "ch06_deploy").mkdir()
    shutil.copy(STUB, root / "work" / "ch05_practice" / "practice.ipynb")
    return root


def lookup(root: Path, monkeypatch):
    """What chapter 6's setup cell gets, run from ``root/work/ch06_deploy``: the class and the warnings."""
    monkeypatch.setattr(previous, "ROOT", root)
    monkeypatch.chdir(root / "work" / "ch06_deploy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cls = previous.chapter5_explanation()
    return cls, [str(w.message) for w in caught]


def test_the_tests_use_the_reference_chapter_5():
    assert os.environ["IMLBOOK_CH05_NOTEBOOK"] == str(REFERENCE) and REFERENCE.is_file()


def test_the_tests_use_neither_the_users_cache_nor_their_keras_home():
    """tests/conftest.py: the data cache and Keras' home are this test session's temporary folders."""
    for name in ("IMLBOOK_CACHE", "KERAS_HOME"):
        folder = Path(os.environ[name]).resolve()
        assert Path(tempfile.gettempdir()).resolve() in folder.parents, (name, folder)
        assert folder != (Path.home() / ".keras").resolve() and folder != (Path.home() / ".cache").resolve()


def test_a_stub_chapter_5_in_work_does_not_change_what_the_tests_see(tmp_path, monkeypatch):
    root = fake_checkout(tmp_path)
    cls, warned = lookup(root, monkeypatch)
    assert cls.source_notebook == str(REFERENCE) and not warned
    explanation = cls(["a", "b", "c"], local_values=[[0.1, -0.5, 0.2], [0.3, 0.1, -0.6]], expected_value=0.5)
    assert list(explanation.ranked_global_names()) == ["c", "b", "a"]   # mean |value|: 0.4, 0.3, 0.2


def test_without_the_tests_setting_the_stub_in_work_would_be_used(tmp_path, monkeypatch):
    """The student's lookup order is unchanged: the chapter-5 notebook next to chapter 6's folder comes first,
    so the fake above is a real threat that the test setting removes."""
    root = fake_checkout(tmp_path)
    monkeypatch.delenv("IMLBOOK_CH05_NOTEBOOK")
    stub = root / "work" / "ch05_practice" / "practice.ipynb"
    assert previous.candidates(root / "work" / "ch06_deploy")[0] == stub
    cls, warned = lookup(root, monkeypatch)
    assert cls.source_notebook == str(stub)
    assert len(warned) == 1 and "does not pass 5 of chapter 5's 5 public checks" in warned[0]


def test_without_any_chapter_5_the_message_says_what_to_do(tmp_path, monkeypatch):
    root = fake_checkout(tmp_path)
    (root / "work" / "ch05_practice" / "practice.ipynb").unlink()
    monkeypatch.delenv("IMLBOOK_CH05_NOTEBOOK")
    with pytest.raises(previous.PreviousChapterMissing, match="write the Explanation exercise"):
        lookup(root, monkeypatch)


def _imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            yield str(node.args[0].value)


def test_the_helper_library_never_imports_the_grader():
    files = sorted((ROOT / "imlbook").rglob("*.py"))
    assert len(files) > 10
    offenders = [f"{path.relative_to(ROOT)}: {name}" for path in files for name in _imported_modules(path)
                 if name == "autograder" or name.startswith("autograder.")]
    assert not offenders, offenders


def test_the_student_bundle_ships_every_module_its_notebooks_import(tmp_path):
    """The chapter-6 setup cell imports autograder.previous: the bundle must have it (and every other
    project module a release notebook imports)."""
    import nbformat

    from autograder.course import build_bundle

    bundle = build_bundle(tmp_path / "bundle", log=lambda *_: None)
    wanted = set()
    for notebook in sorted((bundle / "release").rglob("*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:                                   # an IPython magic: no project import there
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    wanted.add(node.module)
                elif isinstance(node, ast.Import):
                    wanted.update(alias.name for alias in node.names)
    ours = sorted(name for name in wanted if name.split(".")[0] in ("autograder", "imlbook"))
    assert "autograder.previous" in ours
    missing = [name for name in ours if not (bundle / (name.replace(".", "/") + ".py")).is_file()
               and not (bundle / name.replace(".", "/") / "__init__.py").is_file()]
    assert not missing, missing
    assert not (bundle / "imlbook" / "ch06_deploy" / "previous.py").exists()
