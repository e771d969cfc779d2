"""Tampering that nbgrader's shared kernel cannot stop is flagged (issue 19 §4).

Under ``nbgrader autograde`` the grade cells run in the student's kernel, after the student's cells. Each
attack below is first shown to work in a simulation of that kernel (the student's cell, then the
instructor's grade cell with its hidden-test line, whose value nbgrader reads as the cell's points), then
shown to be flagged by the scan that the standalone grader runs on every notebook.
"""
from __future__ import annotations

import json
import re
import textwrap
import types

import numpy as np
import pytest

import autograder.selfcheck
from autograder.extract import extract
from autograder.tamper import scan
from tests.submissions import ROOT, edit_notebook, notebook_path, stub_submission

MARKERS = re.compile(r"^### (BEGIN|END) HIDDEN TESTS\n?", re.M)

THROUGH_GLOBALS = textwrap.dedent('''
    from types import SimpleNamespace as _R
    _all = lambda exercise, backend, include_hidden: [_R(score=1000.0, passed=True, status="passed", message="",
                                                         hint="", check=_R(name="x", points=1000.0))]
    self_check.__globals__["run_checks"] = _all
''')
BUILT_EXEC = 'exec("".join(["self_", "check = lambda *a, **k: 1000.0"]))'
THROUGH_DICT = textwrap.dedent('''
    import numpy as np
    for _name in ("allclose", "array_equal"):
        np.__dict__[_name] = lambda *a, **k: True
''')
FLAGS = {THROUGH_GLOBALS: "changes `self_check.__globals__['run_checks']`",
         BUILT_EXEC: "`exec` of a string built at run time",
         THROUGH_DICT: "changes `np.__dict__[_name]`"}
NEW_CHAPTERS = ["ch03_shap", "ch04_cnn", "ch05_practice", "ch06_deploy"]


def _grade_cell(chapter: str):
    """(exercise, the instructor's grade cell text) of the chapter's first exercise."""
    nb = json.loads(notebook_path("source", chapter).read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if gid.startswith("check_"):
            return gid[len("check_"):], MARKERS.sub("", "".join(cell["source"]))
    raise AssertionError(chapter)


@pytest.fixture
def kernel(monkeypatch):
    """Runs cells like nbgrader's shared kernel: one namespace, the grade cell's last value is its points.
    What the attacks patch in the shared modules is put back afterwards."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    for name in ("allclose", "array_equal"):
        monkeypatch.setitem(np.__dict__, name, np.__dict__[name])
    monkeypatch.setitem(autograder.selfcheck.__dict__, "run_checks", autograder.selfcheck.run_checks)

    def run(cells, grade_cell, **names):
        ns = {"__name__": "__main__", **names}
        exec("from autograder import self_check", ns)
        for cell in cells:
            exec(cell, ns)
        *body, last = grade_cell.strip().splitlines()
        exec("\n".join(body), ns)
        return eval(last, ns)

    return run


def _stub(*args, **kwargs):
    return None


@pytest.mark.parametrize("chapter", NEW_CHAPTERS)
@pytest.mark.parametrize("attack", [THROUGH_GLOBALS, BUILT_EXEC], ids=["__globals__", "exec"])
def test_attacks_on_self_check_award_points_in_the_shared_kernel_and_are_flagged(kernel, capsys, chapter, attack,
                                                                                 tmp_path):
    exercise, grade_cell = _grade_cell(chapter)
    assert kernel([attack], grade_cell, **{exercise: _stub}) == 1000.0    # the attack works under nbgrader...
    notebook = edit_notebook(stub_submission(tmp_path, chapter), lambda nb: _add_cell(nb, attack))
    flagged = extract(notebook, []).tampering                             # ...and the grader flags it
    assert any(FLAGS[attack] in f for f in flagged), flagged


def test_patching_numpy_through_its_dict_awards_points_and_is_flagged(kernel, tmp_path):
    exercise, grade_cell = _grade_cell("ch03_shap")
    lazy = lambda f, x, background: np.zeros(len(x))  # noqa: E731 - a lazy answer
    honest_points = kernel([], grade_cell, **{exercise: lazy})
    patched_points = kernel([THROUGH_DICT], grade_cell, **{exercise: lazy})
    assert patched_points > honest_points, (honest_points, patched_points)
    notebook = edit_notebook(stub_submission(tmp_path, "ch03_shap"), lambda nb: _add_cell(nb, THROUGH_DICT))
    flagged = extract(notebook, []).tampering
    assert any(FLAGS[THROUGH_DICT] in f for f in flagged), flagged


def _add_cell(nb, source):
    nb["cells"].insert(3, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": source})
    return nb


@pytest.mark.parametrize("code, flag", [
    ('vars(np)["allclose"] = f', "changes `vars(np)['allclose']`"),
    ("vars(np).update(allclose=f)", "changes `vars(np)` with `update`"),
    ('m = np\nm.__dict__["isclose"] = f', "changes `m.__dict__['isclose']`"),
    ('check = self_check\ncheck.__globals__.update(run_checks=f)', "changes `check.__globals__` with `update`"),
    ('type(self_check).__call__.__globals__["x"] = f', "changes `type(self_check).__call__.__globals__['x']`"),
    ('setattr(np.__dict__, "x", f)', "`setattr` on `np.__dict__`"),
    ('setattr(type(x), "__eq__", f)', "`setattr` on `type(x)`"),
    ('locals()["self_check"] = f', "changes `locals()['self_check']`"),
    ("builtins.exec(code)", "`exec` of a string built at run time (`code`)"),
    ('eval(compile(src, "<x>", "exec"))', "`compile` of a string built at run time (`src`)"),
    ('exec("np.allclose = f")', "in `exec` of a string, line 1: changes `np.allclose`"),
    ('exec("exec(\'self_check = f\')")', "in `exec` of a string, line 1: in `exec` of a string, line 1: "
                                          "redefines `self_check`"),
])
def test_writes_through_namespaces_and_built_code_are_flagged(code, flag):
    found = scan([("cell 2", "import numpy as np, builtins\nfrom autograder import self_check\n" + code)])
    assert any(flag in f for f in found), found


def test_honest_code_is_not_flagged():
    fine = textwrap.dedent('''
        import re
        import numpy as np
        from autograder import self_check

        class Explanation:
            def __init__(self, values):
                self.__dict__["values"] = values
                setattr(self, "n", len(values))

        pattern = re.compile(r"\\w+")
        model.compile(loss="mse", optimizer="adam")
        params = vars(args)
        params["lr"] = 0.1
        config = {}
        config.update(seed=0)
        result = eval_model(x)
        rng = np.random.default_rng(0)
        self_check("shapley_values", shapley_values)
    ''')
    assert scan([("cell 1", fine)]) == []
    for notebook in sorted(ROOT.glob("solutions/*/*.ipynb")) + sorted(ROOT.glob("source/*/*.ipynb")) \
            + sorted(ROOT.glob("release/*/*.ipynb")):
        assert extract(notebook, []).tampering == [], notebook
