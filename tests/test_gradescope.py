"""`python workbook.py gradescope CHAPTER OUT.zip`: the zip holds what grading needs and nothing secret,
and its `run_autograder`, unpacked into a folder laid out like Gradescope's, writes a valid results.json
for every kind of submission.

Gradescope's layout (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the zip is
unpacked into /autograder/source, `run_autograder` is copied to /autograder/run_autograder, the
submission lies in /autograder/submission and results go to /autograder/results/results.json.
Here /autograder is a temporary folder named by AUTOGRADER_ROOT, and the grader runs on this test's
Python (IMLBOOK_GRADER_PYTHON) instead of the virtual environment setup.sh would install.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile

import jsonschema  # installed with nbformat
import pytest

from autograder.checks import chapters, exercise_checks, max_points
from tests.submissions import ROOT, make_submission, reference_answers, stub_submission
from tests.test_ch01_grading import WRONG

CH = "ch01_pdp_ice"
FULL = sum(max_points(ex) for ex in chapters()[CH])
HIDDEN_IDS = {c.id for ex in chapters()[CH] for c in exercise_checks(ex, True) if c.hidden}
PUBLIC_IDS = {c.id for ex in chapters()[CH] for c in exercise_checks(ex, True) if not c.hidden}
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}

# Gradescope's results.json, as its specification documents it (fields and their types). Every field is
# optional there; this grader promises more, so the schema requires what the grader always writes.
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "output", "tests", "visibility", "stdout_visibility"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string", "minLength": 1},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "output", "visibility"],
                "additionalProperties": False,
                "properties": {
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string", "minLength": 1},
                    "name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
    },
}


def validate(data: dict) -> None:
    jsonschema.validate(data, RESULTS_SCHEMA)
    for test in data["tests"]:
        assert test["score"] <= test["max_score"] or test["max_score"] == 0, test
        if "status" in test:
            assert (test["status"] == "passed") == (test["score"] == test["max_score"] > 0 or
                                                    (test["max_score"] == 0 and test["status"] == "passed")), test
            if test["status"] == "failed" and test["max_score"] > 0:
                assert test["output"], f"a failed check says why: {test['name']}"
    assert len({t["name"] for t in data["tests"]}) == len(data["tests"]), "test names are unique"
    graded = [t for t in data["tests"] if t["max_score"] > 0]
    if graded:
        assert data["score"] == pytest.approx(sum(t["score"] for t in graded))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The zip, built through the front door."""
    out = tmp_path_factory.mktemp("zip") / "autograder-ch01.zip"
    env = dict(os.environ, IMLBOOK_VENV="-")
    proc = subprocess.run([sys.executable, str(ROOT / "workbook.py"), "gradescope", CH, str(out)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and "Configure Autograder" in proc.stdout
    return out


def test_the_zip_holds_the_grader_with_hidden_checks_and_no_solutions(built):
    with zipfile.ZipFile(built) as zf:
        names = zf.namelist()
        texts = {n: zf.read(n).decode("utf-8") for n in names}
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    # Gradescope needs these two at the root of the archive, runnable
    for script in ("setup.sh", "run_autograder"):
        assert script in names and modes[script] & stat.S_IXUSR, script
        assert texts[script].startswith("#!/usr/bin/env bash")
    assert f"autograder/hidden/{CH}.py" in names and f"autograder/public/{CH}.py" in names
    # no solutions, no source notebooks, nothing of another chapter, no course tooling
    assert not [n for n in names if n.split("/")[0] in ("source", "solutions", "release", "tests", ".git")]
    assert not [n for n in names if n.endswith(".ipynb")]
    assert "autograder/course.py" not in names
    others = [ch for ch in chapters() if ch != CH]
    assert not [n for n in names if any(ch in n for ch in others)], "another chapter's files are in the zip"
    for name, text in texts.items():
        for marker in ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS"):
            assert marker not in text, f"{name} holds {marker!r}"
    # no two consecutive lines of any reference solution appear in any file of the zip (single lines such
    # as `X = np.asarray(X, dtype=float)` are common to every numerical module)
    def pairs(text):
        lines = [ln.strip() for ln in text.splitlines()
                 if len(ln.strip()) > 8 and not ln.strip().startswith(("#", '"""', "'''"))]
        return set(zip(lines, lines[1:]))

    shipped = {n: pairs(t) for n, t in texts.items()}
    for exercise, solution in reference_answers(CH).items():
        body = pairs(solution)
        assert body, exercise
        leaks = {n: sorted(p & body)[:2] for n, p in shipped.items() if p & body}
        assert not leaks, f"{exercise}'s solution is in the zip: {leaks}"


def test_scripts_parse_and_the_unpacked_zip_passes_setups_selftest(built, tmp_path):
    with zipfile.ZipFile(built) as zf:
        zf.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        proc = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    # setup.sh's last step, on this test's Python instead of the one setup.sh installs (TensorFlow, which
    # only Keras needs, is left out here: importing it takes seconds)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "autograder.gradescope", "selftest", "--without", "tensorflow",
                           "--without", "keras"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{CH}: {len(chapters()[CH])} exercises, {len(HIDDEN_IDS)} hidden checks" in proc.stdout
    assert "numpy" in proc.stdout and "sklearn" in proc.stdout


def test_setup_installs_pinned_versions_of_what_grading_needs(built):
    with zipfile.ZipFile(built) as zf:
        reqs = [ln for ln in zf.read("requirements.txt").decode().splitlines() if ln and not ln.startswith("#")]
        constraints = zf.read("constraints.txt").decode()
        setup = zf.read("setup.sh").decode()
        config = json.loads(zf.read("gradescope.json"))
    pinned = (ROOT / "requirements.txt").read_text().splitlines()
    assert reqs and all(line in pinned and "==" in line for line in reqs), "every line comes pinned from requirements.txt"
    names = {re.split(r"[=;<> ]", ln)[0] for ln in reqs}
    assert {"numpy", "scikit-learn", "keras"} <= names          # the grader; what the notebook imports
    assert not names & {"jupyterlab", "nbgrader", "pytest", "shap", "lime", "datasets"}  # not needed by ch01
    assert re.search(r"^numpy==", constraints, re.M)
    assert "-r \"$HERE/requirements.txt\" -c \"$HERE/constraints.txt\"" in setup
    assert "autograder.gradescope selftest" in setup
    assert config["chapter"] == CH and config["hidden_visibility"] == "after_published"


@pytest.fixture()
def gradescope_root(built, tmp_path):
    """An empty /autograder: source/ holds the unpacked zip, run_autograder is copied to the root."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(built) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)
    (root / "submission").mkdir()
    return root


def run_autograder(root):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the unpacked zip, not this checkout
    env.update(AUTOGRADER_ROOT=str(root), IMLBOOK_GRADER_PYTHON=sys.executable)
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"grader: {root / 'source' / 'autograder'}" in proc.stdout, "graded by the unpacked zip"
    data = json.loads((root / "results" / "results.json").read_text())
    validate(data)
    return data


def by_name(data):
    return {t["name"]: t for t in data["tests"]}


def test_reference_gets_full_marks_and_hidden_results_wait_for_publishing(gradescope_root):
    make_submission(gradescope_root / "submission", CH)
    data = run_autograder(gradescope_root)
    tests = by_name(data)
    assert data["score"] == FULL
    assert set(tests) >= HIDDEN_IDS | PUBLIC_IDS, "hidden checks ran"
    assert all(tests[n]["visibility"] == "after_published" for n in HIDDEN_IDS)
    assert all(tests[n]["visibility"] == "visible" for n in PUBLIC_IDS)
    assert data["stdout_visibility"] == "hidden"
    public_points = sum(c.points for ex in chapters()[CH] for c in exercise_checks(ex, True) if not c.hidden)
    assert f"({public_points:g} / {public_points:g} points)" in data["output"]
    assert f"{FULL:g}" not in data["output"].replace(f"{public_points:g} / {public_points:g}", ""), \
        "the summary students see at once tells nothing of the hidden checks' points"


def test_stub_scores_zero_and_says_not_attempted(gradescope_root):
    stub_submission(gradescope_root / "submission", CH)
    data = run_autograder(gradescope_root)
    assert data["score"] == 0
    graded = [t for t in data["tests"] if t["max_score"] > 0]
    assert graded and all(t["status"] == "failed" and "not attempted" in t["output"] for t in graded)


def test_broken_notebook_costs_only_the_broken_exercises(gradescope_root):
    make_submission(gradescope_root / "submission", CH, {
        "standardize": "def standardize(x_train, x_test)\n    return x_train",           # syntax error
        "partial_dependence_1d": "def partial_dependence_1d(predict, X, feature, grid):\n    raise ValueError('oops')",
        "ice_curves": WRONG["ice_curves"]["centred on the last grid value"],
    })
    data = run_autograder(gradescope_root)
    tests = by_name(data)
    std = [t for n, t in tests.items() if n.startswith("standardize:")]
    assert std and all(t["score"] == 0 and "syntax error" in t["output"] for t in std)
    pd1 = [t for n, t in tests.items() if n.startswith("partial_dependence_1d:")]
    assert all(t["score"] == 0 and "ValueError: oops" in t["output"] for t in pd1)
    assert sum(t["score"] for n, t in tests.items() if n.startswith("partial_dependence_2d:")) == \
        max_points("partial_dependence_2d")
    ice = sum(t["score"] for n, t in tests.items() if n.startswith("ice_curves:"))
    assert 0 < ice < max_points("ice_curves")


def test_a_file_that_is_not_a_notebook_gets_a_message(gradescope_root):
    (gradescope_root / "submission" / "pdp_ice.ipynb").write_text("{ not json")
    data = run_autograder(gradescope_root)
    assert data["score"] == 0 and "not a valid notebook" in data["output"]


def test_no_notebook_gets_a_clear_message(gradescope_root):
    (gradescope_root / "submission" / "pdp_ice.py").write_text("print('hi')")
    data = run_autograder(gradescope_root)
    assert data["score"] == 0
    assert "No Jupyter notebook (.ipynb)" in data["output"] and "`pdp_ice.py`" in data["output"]
    assert data["tests"][0]["visibility"] == "visible" and data["tests"][0]["status"] == "failed"


def test_several_notebooks(gradescope_root):
    sub = gradescope_root / "submission"
    make_submission(sub, CH, name="draft.ipynb")
    make_submission(sub, CH, name="final.ipynb")
    data = run_autograder(gradescope_root)
    assert data["score"] == 0 and "2 notebooks" in data["output"] and "`pdp_ice.ipynb`" in data["output"]
    # with one of them named like the released notebook, that one is graded and the student is told
    stub_submission(sub, CH)
    data = run_autograder(gradescope_root)
    assert data["score"] == 0 and "graded `pdp_ice.ipynb` and ignored the others" in data["output"]
    assert data["extra_data"]["graded_notebook"] == "pdp_ice.ipynb"


def test_a_broken_installation_still_writes_results(gradescope_root):
    make_submission(gradescope_root / "submission", CH)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(gradescope_root), IMLBOOK_GRADER_PYTHON=str(gradescope_root / "no-python"))
    proc = subprocess.run([str(gradescope_root / "run_autograder")], cwd=gradescope_root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "setup.sh did not complete" in proc.stdout
    data = json.loads((gradescope_root / "results" / "results.json").read_text())
    validate(data)
    assert data["score"] == 0 and "not caused by your submission" in data["output"]


def test_hidden_visibility_is_an_option(tmp_path):
    from autograder.gradescope import build_zip
    out = build_zip(CH, tmp_path / "ag.zip", hidden_visibility="after_due_date")
    with zipfile.ZipFile(out) as zf:
        assert json.loads(zf.read("gradescope.json"))["hidden_visibility"] == "after_due_date"


def test_chapter_two_zip_installs_its_libraries(tmp_path):
    from autograder.gradescope import build_zip
    with zipfile.ZipFile(build_zip("ch02_lime", tmp_path / "ag.zip")) as zf:
        names = zf.namelist()
        reqs = zf.read("requirements.txt").decode()
    assert "autograder/hidden/ch02_lime.py" in names and "autograder/hidden/ch01_pdp_ice.py" not in names
    assert "lime==" in reqs and "scikit-image==" in reqs


@pytest.mark.parametrize("chapter", sorted(chapters()))
def test_every_chapter_builds_a_zip_with_only_its_own_files(chapter, tmp_path):
    """Every chapter's zip builds (every import of its notebook pinned) and holds no file or package
    of another chapter (e.g. imlbook/ch06_deploy/ only in chapter 6's)."""
    from autograder.gradescope import build_zip
    with zipfile.ZipFile(build_zip(chapter, tmp_path / "ag.zip")) as zf:
        names = zf.namelist()
    assert f"autograder/hidden/{chapter}.py" in names
    others = [ch for ch in chapters() if ch != chapter]
    assert not [n for n in names if any(ch in n for ch in others)]
