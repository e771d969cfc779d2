"""Chapter 1's notebooks run: the solution start to finish, the release up to its first exercise."""
import pytest

from tests.notebook_runner import count_images, execute, outputs_text
from tests.submissions import ROOT

CH = "ch01_pdp_ice"
pytestmark = pytest.mark.notebook


def test_solution_notebook_runs_offline_in_under_a_minute(tmp_path):
    nb, seconds = execute(ROOT / "solutions" / CH / "pdp_ice.ipynb", tmp_path)
    text = outputs_text(nb)
    for ex in ("standardize", "partial_dependence_1d", "partial_dependence_2d", "ice_curves"):
        assert f"{ex}: " in text and "public checks passed" in text
        assert "✗" not in text, text
    assert "20 x 20 grid over 404 rows" in text
    assert count_images(nb) == 4  # training curve, 1-D PDP, 2-D heatmap, centred ICE
    assert seconds < 60, f"the solution notebook took {seconds:.0f} s"


def test_release_notebook_runs_up_to_its_first_exercise(tmp_path):
    nb, _ = execute(ROOT / "release" / CH / "pdp_ice.ipynb", tmp_path, stop_at_first_stub=True)
    assert "train: (404, 13) test: (102, 13)" in outputs_text(nb)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


def test_release_self_check_on_a_stub_says_not_attempted(tmp_path):
    """The untouched release notebook, run through its first self-check: a verdict, not a traceback."""
    import nbformat
    src = nbformat.read(ROOT / "release" / CH / "pdp_ice.ipynb", as_version=4)
    first_check = next(i for i, c in enumerate(src.cells)
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "check_standardize")
    src.cells = src.cells[:first_check + 1]
    path = tmp_path / "partial.ipynb"
    nbformat.write(src, path)
    nb, _ = execute(path, tmp_path / "run")
    text = outputs_text(nb)
    assert "standardize: not attempted yet" in text
    assert "Traceback" not in outputs_text(nb, kind=None)
