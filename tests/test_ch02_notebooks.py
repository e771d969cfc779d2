"""Chapter 2's notebooks run offline: the solution start to finish, the release up to its first exercise.

Both need the Sentiment140 file (CI: IMLBOOK_DATA=../shared/data); without it they are skipped.
Neither needs MobileNetV2's ImageNet weights nor the ImageNet class names: without the weights the
notebook skips the ImageNet demos and does not load the names.
"""
import re

import pytest

from imlbook import data
from tests.notebook_runner import count_images, execute, outputs_text
from tests.submissions import ROOT

CH = "ch02_lime"
EXERCISES = ("predict_proba", "lime_text_weights", "explain_top_labels", "segment_image", "perturb_image",
             "lime_image_weights")
# Every data file the notebook reads. The ImageNet class names are not among them: the notebook loads
# them only with MobileNetV2's weights and falls back to class numbers without them.
NEEDS = ("sentiment140",)
MISSING = [name for name in NEEDS if data.find(name) is None]
pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(bool(MISSING),
                       reason=f"data not found: {MISSING}; set IMLBOOK_DATA to the shared data folder "
                              "(CI: IMLBOOK_DATA=../shared/data) or run `python workbook.py fetch`"),
]


def errors(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


def only_the_needed_data(tmp_path, monkeypatch):
    """Offline, with a data folder holding just the files in NEEDS and an empty download cache."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in NEEDS:
        (folder / data.find(name).name).symlink_to(data.find(name))
    monkeypatch.setenv("IMLBOOK_DATA", str(folder))
    monkeypatch.setenv("IMLBOOK_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("IMLBOOK_OFFLINE", "1")


def test_solution_notebook_runs_offline_in_under_two_minutes(tmp_path, monkeypatch):
    only_the_needed_data(tmp_path, monkeypatch)  # e.g. no ImageNet class names
    nb, seconds = execute(ROOT / "solutions" / CH / "lime.ipynb", tmp_path / "run")
    assert not errors(nb)
    text = outputs_text(nb)
    for ex in EXERCISES:
        assert re.search(rf"^{ex}: (\d+)/\1 public checks passed", text, re.M), ex
    assert "✗" not in text, text
    assert "held-out accuracy" in text and "90 held-out tweets" in text and "269 training tweets" in text
    assert re.search(r"same sign on the top 5 words: (80|100)%", text), text
    rho = float(re.search(r"rank correlation between the two sets of weights: (-?[\d.]+)", text).group(1))
    assert rho > 0.8, f"from-scratch LIME and the lime package disagree (rank correlation {rho})"
    if "Using the colour classifier" in text:  # no ImageNet weights here: the known answer is checked
        assert "MobileNetV2's ImageNet weights are not available" in text
        known = float(re.search(r"with the colour classifier's known answer: (-?[\d.]+)", text).group(1))
        assert known > 0.8
    assert count_images(nb) >= 6


def test_release_notebook_runs_up_to_its_first_exercise_and_self_check(tmp_path):
    import nbformat

    src = nbformat.read(ROOT / "release" / CH / "lime.ipynb", as_version=4)
    first_check = next(i for i, c in enumerate(src.cells)
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "check_predict_proba")
    assert src.cells[first_check - 1].metadata["nbgrader"]["solution"]  # the first stub comes right before
    src.cells = src.cells[:first_check + 1]
    path = tmp_path / "partial.ipynb"
    nbformat.write(src, path)
    nb, _ = execute(path, tmp_path / "run")
    assert not errors(nb)
    text = outputs_text(nb)
    assert "held-out accuracy" in text
    assert "predict_proba: not attempted yet" in text
    assert "Traceback" not in outputs_text(nb, kind=None)
