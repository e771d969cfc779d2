"""Chapter 6's notebook runs: the solution start to finish (offline, demo data; its MLflow store in a
temporary folder; the service on 127.0.0.1), every self-check passes, and the claims of its model
answers hold on the numbers it prints. (The release's cells before the first exercise are the
solution's: tests/test_course.py checks that release/ is generated from the same source.)"""
import json
import re

import pytest

pytest.importorskip("mlflow", reason="mlflow-skinny is not installed (see requirements.txt)")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.notebook_runner import execute, model_answer, outputs_text, printed_number  # noqa: E402
from tests.submissions import ROOT  # noqa: E402

CH = "ch06_deploy"
pytestmark = pytest.mark.notebook


def answer_of(grade_id):
    return model_answer(CH, grade_id, normalise_spaces=True)


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    nb, _ = execute(ROOT / "solutions" / CH / "deploy.ipynb", tmp_path_factory.mktemp("ch06"))
    return nb, outputs_text(nb)


def test_solution_notebook_runs_and_every_self_check_passes(solution):
    nb, text = solution
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert "✗" not in text and text.count("public checks passed") == 3
    for exercise in ("log_explanation", "load_explanation", "score"):
        assert f"{exercise}: 3/3 public checks passed" in text
    # the reference chapter 5 (tests/conftest.py sets IMLBOOK_CH05_NOTEBOOK), never a student's work/
    assert f"Explanation from {ROOT / 'solutions' / 'ch05_practice' / 'practice.ipynb'}\n" in text


def test_store_answer_claims(solution):
    _, text = solution
    answer = answer_of("answer_store")
    assert "same global ranking: True" in text and "same ranking in every row: True" in text
    # exact by design, on any CPU: a JSON number keeps every digit of a float (the answer says so)
    assert printed_number(text, r"largest change of a local value: (\S+)") == 0.0
    assert "method and expected value kept: True True" in text
    first3 = re.search(r"original's first 3: \[(.*)\]", text).group(1)
    assert first3 == "'education_num', 'marital_status', 'age'"
    assert f"top 3 stored: [{first3}] | top 2 of the full run: ['education_num', 'marital_status']" in text
    ranking = re.findall(r"^  (\w+)\s+(0\.\d{4})$", text, re.M)
    values = dict(ranking)
    assert [n for n, _ in ranking][3:] == ["capital_gain", "hours_per_week", "sex", "workclass"]
    for name in ("capital_gain", "hours_per_week", "sex", "workclass"):
        assert name in answer
    for value in (values["capital_gain"], values["hours_per_week"]):
        assert value in answer, value
    assert f"workclass and sex (which play no part in the rule behind the labels) get almost\nnothing " \
           f"({values['workclass']} and {values['sex']})" in model_answer(CH, "answer_store"), "workclass, sex values"
    base = printed_number(text, r"expected value \(mean predicted P\(>50K\) on the background\): (\S+)")
    assert f"expected value ({base:.3f})" in answer
    assert "RunNotFoundError: no run with id '00000000000000000000000000000000'" in text
    assert "NoExplanationError: run " in text


def test_scoring_answer_claims(solution):
    _, text = solution
    answer = answer_of("answer_scoring")
    largest = printed_number(text, r"largest \|difference\| of a local value: (\S+)")
    mean = printed_number(text, r"mean \|difference\|: (\S+)")
    assert f"at most {largest:.4f}" in answer and f"({mean:.4f} on average)" in answer
    assert largest <= 0.06                                 # the tolerance the answer and the tests state
    same = re.search(r"same top feature on (\d+) of (\d+) rows", text).groups()
    assert f"the top feature is the same on {same[0]} of the {same[1]} rows" in answer and int(same[0]) >= 11
    full, light = re.search(r"expected values: full (\S+), scoring (\S+)", text).groups()
    assert f"{float(light):.3f} instead of {float(full):.3f}" in answer
    for name in ("full", "scoring"):
        assert printed_number(text, rf"{name}: largest \|expected value \+ row sum - prediction\|: (\S+)") < 1e-15
    assert "both explainers are exactly additive (both printed residuals" in answer and "below 1e-15" in answer
    counts = re.search(r"model evaluations per explained row: full 128 x (\d+) = (\d+), scoring 128 x (\d+) = (\d+) "
                       r"\((\S+) times fewer\)", text)
    assert counts, "the model evaluations per row are not printed"
    full_bg, full_n, light_bg, light_n, fewer = counts.groups()
    assert (full_bg, light_bg) == ("200", "32") and f"{light_bg} background rows" in answer and f"instead of {full_bg}" in answer
    assert f"{fewer} times fewer model evaluations per row ({light_n} instead of {full_n}" in answer
    assert printed_number(text, r"speed ratio \(full / scoring\) on this machine: (\S+)x") > 1   # faster: never a timing claim


def test_service_answer_claims(solution):
    _, text = solution
    answer = answer_of("answer_service")
    assert "POST /score with 2 rows -> 200" in text and "predictions: [0, 0]" in text
    names = re.search(r"feature_names: \[(.*)\]", text).group(1).replace("'", "").split(", ")
    values = json.loads(re.search(r"local_importance_values: (\[\[.*?\]\])", text).group(1))[0]
    row = dict(zip(names, values))
    for name in ("education_num", "age", "marital_status", "hours_per_week"):
        assert f"{name} pushes" in answer or f"{name} down" in answer or f"and {name}" in answer
        assert f"{row[name]:+.3f}" in answer, (name, row[name])
    assert row["education_num"] == max(row.values()) and row["marital_status"] == min(row.values())
    assert max(abs(row[n]) for n in ("workclass", "sex", "capital_gain")) <= 0.012
    base, total, probability = re.search(r"row 0: base value (\S+) \+ sum of its values (\S+) = P\(>50K\) (\S+)",
                                         text).groups()
    assert f"base value {base}" in answer and f"add up to {total}" in answer and f"P(>50K) = {probability}" in answer
    assert float(probability) < 0.5
    assert "a missing column -> 422" in text and "row 0: missing columns ['age']" in text
    assert "a wrong type -> 422" in text and "column 'age' must be a number, got str" in text
    assert "not JSON -> 400" in text and "still answering: 200" in text
    assert re.search(r"load test: 40 requests from 4 clients, 0 wrong answers", text)
    assert "40 answers from 4 concurrent clients were all correct (0 wrong)" in answer
    assert "after the with block: ConnectError (the service is stopped)" in text


def test_the_dashboard_is_built_on_the_held_out_rows(solution):
    """The dashboard cell runs: it says how many rows it explains and displays a live widget (the
    browser test, tests/test_ch06_dashboard_browser.py, moves its controls)."""
    nb, text = solution
    assert re.search(r"Explaining 200 of 1000 rows \(one batched pass\)", text)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "build_dashboard(" in c.source)
    assert not [o for o in cell.outputs if o.output_type == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)
