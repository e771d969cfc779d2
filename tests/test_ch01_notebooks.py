"""Chapter 1's notebooks run, and the solution's model answers describe what the notebook really draws.

The solution notebook is executed once (offline: Boston comes from the copy `mlxtend` ships). The cells
above each "What do you see?" answer print the numbers it relies on; these tests parse them and fail when
a claim of a model answer stops holding (a new library version trains another model, a plot helper
changes...). Then update the answer's text and the numbers quoted here together.
"""
import re

import pytest

from tests.notebook_runner import count_images, execute, outputs_text
from tests.submissions import ROOT

CH = "ch01_pdp_ice"
pytestmark = pytest.mark.notebook

NUMBER = r"([-+]?\d+(?:\.\d+)?)"


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    """(executed solution notebook, its printed text, {grade_id: model answer text on one line})."""
    nb, _ = execute(ROOT / "solutions" / CH / "pdp_ice.ipynb", tmp_path_factory.mktemp("ch01"))
    # solutions/ keeps the cell ids of source/ (answer-pdp-1d for grade_id answer_pdp_1d), not the metadata
    answers = {c.id.replace("-", "_"): " ".join(c.source.split()) for c in nb.cells
               if c.cell_type == "markdown" and c.get("id", "").startswith("answer-")}
    return nb, outputs_text(nb), answers


def printed(text: str, pattern: str) -> float:
    """The number captured by ``pattern`` (a regex with NUMBER in it) in the notebook's printed output."""
    match = re.search(pattern.replace("NUMBER", NUMBER), text, re.M)
    assert match, f"the notebook no longer prints a line matching {pattern!r}"
    return float(match.group(1))


def quotes(answer: str, printed_value: float, quoted: str, tol: float, what: str, phrase: str = "") -> None:
    """The model answer quotes ``quoted`` for ``what`` (in ``phrase``, if given) and the notebook prints
    a value within ``tol`` of it."""
    phrase = phrase or quoted
    assert phrase in answer, f"the model answer should say {phrase!r} ({what})"
    assert abs(printed_value - float(quoted.replace("−", "-"))) <= tol, (
        f"the model answer says {quoted} for {what}, but the notebook now prints {printed_value}: "
        "update the answer to describe the figure that is drawn")


def test_solution_notebook_runs_offline_and_passes_its_checks(solution):
    nb, text, answers = solution
    for ex in ("standardize", "partial_dependence_1d", "partial_dependence_2d", "ice_curves"):
        assert f"{ex}: " in text and f"{ex}: not attempted" not in text
    assert "public checks passed" in text and "✗" not in text, text
    assert "20 x 20 grid over 404 rows" in text
    assert count_images(nb) == 5  # training curve, 1-D PDP on RM, 2-D PDP + interaction part, centred ICE, PDP on B
    errors_or_logs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                      if o.output_type == "error" or o.get("name") == "stderr"]
    assert not errors_or_logs, "the executed notebook shows errors or log noise on stderr"
    assert set(answers) == {"answer_pdp_1d", "answer_pdp_2d", "answer_ice"}


def test_rm_answer_describes_the_drawn_partial_dependence(solution):
    _, text, answers = solution
    answer = answers["answer_pdp_1d"]
    start = printed(text, r"^mean predicted price at 3\.6 rooms: NUMBER k\$")
    lowest = printed(text, r"^lowest: NUMBER k\$ at [\d.]+ rooms")
    lowest_at = printed(text, r"^lowest: [\d.]+ k\$ at NUMBER rooms")
    at6, at7, at85 = (printed(text, rf"^at {r} rooms: NUMBER k\$") for r in ("6", "7", "8.5"))
    few = printed(text, r"^training tracts with fewer than [\d.]+ rooms: NUMBER of 404")
    many = printed(text, r"^training tracts with more than 8 rooms: NUMBER of 404")
    # "dips from 20.6 k$ at 3.6 rooms to its lowest point, 18.8 k$ at 5.0 rooms"
    assert start - lowest >= 1.0 and 4.5 <= lowest_at <= 5.5, "the curve no longer dips to a low point near 5 rooms"
    quotes(answer, start, "20.6", 0.5, "the value at 3.6 rooms")
    quotes(answer, lowest, "18.8", 0.5, "the lowest value")
    quotes(answer, lowest_at, "5.0", 0.2, "where the lowest value lies")
    # "nearly flat up to about 6 rooms (20.0 k$) and then climbs ever more steeply"
    assert abs(at6 - lowest) <= 2.0 and (at85 - at7) / 1.5 > (at7 - at6) > 2.0, "no longer flat, then steeper"
    quotes(answer, at6, "20.0", 0.5, "the value at 6 rooms")
    quotes(answer, at7, "26.1", 0.5, "the value at 7 rooms")
    quotes(answer, at85, "38.9", 0.5, "the value at 8.5 rooms")
    quotes(answer, at85 - at6, "19", 1.0, "the rise from 6 to 8.5 rooms")
    # "only 14 of the 404 training tracts have fewer than 5.0 rooms": the dip is an extrapolation
    assert few <= 20, f"{few:.0f} tracts lie left of the low point: the dip is no longer on 'few tracts'"
    quotes(answer, few, "14", 0, "the tracts left of the low point", phrase="only 14 of the 404")
    quotes(answer, many, "10", 0, "the tracts with more than 8 rooms", phrase="10 tracts have more than 8")


def test_2d_answer_reads_the_interaction_from_the_drawn_surface(solution):
    _, text, answers = solution
    answer = answers["answer_pdp_2d"]
    # "falls as CRIM rises in every column (20 of 20) and rises with RM in every row, apart from a dip of
    # at most 0.2 k$"
    assert printed(text, r"^columns \(RM fixed\) in which the price falls as CRIM rises: NUMBER of 20") == 20
    quotes(answer, printed(text, r"largest dip along a row: NUMBER k\$"), "0.2", 0.2, "the largest dip along a row",
           phrase="a dip of at most 0.2 k$")
    drops = [printed(text, rf"^  at {r} rooms: NUMBER k\$") for r in ("4.9", "5.9", "6.2", "6.6", "8.0")]
    # "lowers the price by 9.3 k$ at 4.9 rooms but by 14.4 k$ at 8.0 rooms": rows differ by more than a constant
    assert all(d < 0 for d in drops), "crime no longer lowers the predicted price at every RM"
    assert drops[-1] - drops[0] <= -3.0 and drops == sorted(drops, reverse=True), \
        "the drop with crime no longer grows steadily with the number of rooms"
    quotes(answer, -drops[0], "9.3", 0.5, "the drop at 4.9 rooms")
    quotes(answer, -drops[-1], "14.4", 0.5, "the drop at 8.0 rooms")
    # "at most 2.9 k$ on a surface that spans 26.1 k$, largest in the top-right corner where there are no dots"
    departure = printed(text, r"^largest departure from the additive surface: NUMBER k\$")
    crim_at = printed(text, r"^largest departure .* at CRIM = NUMBER,")
    rm_at = printed(text, r"^largest departure .* RM = NUMBER ")
    spans = printed(text, r"the surface spans NUMBER k\$")
    assert crim_at > 10 and rm_at > 7.5, "the largest departure is no longer in the top-right corner"
    quotes(answer, abs(departure), "2.9", 0.3, "the largest departure from the additive surface")
    quotes(answer, spans, "26.1", 0.5, "the range of the surface")
    assert printed(text, r"^training tracts with CRIM > 10 and RM > 7\.5: NUMBER") == 0
    # "Friedman's H ... is 0.10 (H² = 0.011): about 1 % of the variance"
    h = printed(text, r"H = NUMBER, H²")
    quotes(answer, h, "0.10", 0.02, "Friedman's H")
    quotes(answer, h ** 2, "0.011", 0.005, "H²")


def test_ice_answer_describes_the_spread_and_the_falling_curves(solution):
    _, text, answers = solution
    answer = answers["answer_ice"]
    smallest = printed(text, r"smallest NUMBER k\$")
    median = printed(text, r"median NUMBER k\$")
    largest = printed(text, r"largest NUMBER k\$")
    p5 = printed(text, r"middle 90 %: NUMBER to")
    p95 = printed(text, r"middle 90 %: [-+\d.]+ to NUMBER k\$")
    fall = printed(text, r"curves that fall: NUMBER")
    below = printed(text, r"^curves that end below 0 \(.*\): NUMBER")
    dip = printed(text, r"^curves that dip more than 5 k\$ below their start: NUMBER")
    # "ranges from −12.9 to +31.3 k$": some tracts go the opposite way from the average
    assert smallest < 0 < median and fall >= 1 and below >= 1
    quotes(answer, smallest, "−12.9", 1.0, "the smallest change from 6 to 8.5 rooms")
    quotes(answer, largest, "+31.3", 1.0, "the largest change")
    quotes(answer, median, "20.6", 1.0, "the median change")
    quotes(answer, p5, "+7.1", 1.0, "the 5th percentile of the change")
    quotes(answer, p95, "+29.2", 1.0, "the 95th percentile of the change")
    assert "Six curves" in answer and fall == 6, f"the answer says six curves fall; the notebook prints {fall:.0f}"
    quotes(answer, below, "3", 0, "the curves that end below 0", phrase="and 3 end below 0")
    quotes(answer, dip, "64", 5, "the curves that dip more than 5 k$", phrase="64 of them dip")


def test_b_section_says_what_the_model_does_with_b(solution):
    nb, text, _ = solution
    reading = next(" ".join(c.source.split()) for c in nb.cells
                   if c.cell_type == "markdown" and "What this shows." in c.source)
    effect = printed(text, r"mean predicted price from [\d.]+ to [\d.]+ k\$ \(NUMBER k\$\)")
    rm_effect = printed(text, r"for comparison, RM from 6 to 8\.5 rooms: NUMBER k\$")
    below_100 = printed(text, r"training tracts with B below 100: NUMBER of 404")
    # "rises by 5.0 k$, roughly a quarter of what going from 6 to 8.5 rooms adds (18.9 k$)"
    assert effect > 0 and 0.15 <= effect / rm_effect <= 0.35, "the effect of B is no longer about a quarter of RM's"
    quotes(reading, effect, "5.0", 0.5, "the rise of the PDP on B")
    quotes(reading, rm_effect, "18.9", 0.5, "the rise of the PDP on RM from 6 to 8.5 rooms")
    quotes(reading, below_100, "26", 0, "the tracts with B below 100", phrase="only 26 of the 404")
    above_137 = printed(text, r"above 137 \(only possible with Bk < 0\.26\): NUMBER")
    assert above_137 >= 0.8 * 404, "'over most tracts' no longer holds: most tracts should have B above 137"


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
