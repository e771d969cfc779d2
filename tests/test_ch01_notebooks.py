"""Chapter 1's notebooks run, and the solution's model answers describe what the notebook really draws.

The solution notebook is executed once (offline: Boston comes from the copy `mlxtend` ships). The cells
above each "What do you see?" answer print the numbers it relies on; these tests parse them and fail when
a claim of a model answer stops holding (a new library version trains another model, a plot helper
changes...). Then update the answer's text and the ranges here together.

The network is trained in float32, and which network comes out depends on the CPU: the kernels oneDNN
picks (SSE4.1 or AVX and above) round some training steps differently, and 100 epochs turn that into a
network whose printed numbers differ by a few tenths of a k$ (and one falling ICE curve more or less).
So the answers quote "about" values and the tests assert ranges, never one machine's digits. Spread
measured with scripts/measure_numeric_spread.py (docs/numeric-spread.md) on a 2-core Intel Xeon
(AVX-512): 1, 2 and 8 threads, oneDNN off, oneDNN limited to AVX2 and to SSE4.1, OpenBLAS Haswell kernels
with one thread; and 20 trainings whose initial weights were perturbed by one part in a million (what
another rounding does). Two networks came out of the environments: "AVX" (every environment but SSE4.1:
the issue's Intel numbers) and "SSE4.1" (the numbers the answers were first written with); the
perturbed trainings added a third. Each range below holds all of them, with a margin.
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


def within(value: float, low: float, high: float, what: str) -> None:
    """A printed number lies in the range its claim allows (the measured spread with a margin)."""
    assert low <= value <= high, (f"the notebook prints {value} for {what}, outside [{low}, {high}], the range "
                                  "measured across numeric environments: check the model answer's claim")


def says(answer: str, phrase: str, what: str) -> None:
    assert phrase in answer, f"the model answer should say {phrase!r} ({what})"


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
    # "dips from about 21 k$ at 3.6 rooms to its lowest point, about 19 k$ at 5.0 rooms"
    # measured: start 20.8 (AVX) / 20.6 (SSE4.1), lowest 18.9 / 18.8 at 5.0 rooms in both
    assert start - lowest >= 1.0 and 4.5 <= lowest_at <= 5.5, "the curve no longer dips to a low point near 5 rooms"
    says(answer, "about 21 k$ at 3.6 rooms", "the value at 3.6 rooms")
    within(start, 20.0, 21.5, "the value at 3.6 rooms")
    says(answer, "about 19 k$ at 5.0 rooms", "the lowest value")
    within(lowest, 18.0, 19.8, "the lowest value")
    # "nearly flat up to about 6 rooms (20.2 k$) and then climbs ever more steeply: about 26 k$ at 7 rooms
    # and 39 k$ at 8.5 rooms, roughly +19 k$": measured 20.2 / 20.0, 26.1 / 26.1, 39.0 / 38.9 (third network:
    # 20.1, 25.9, 38.3, a rise of 18.2)
    assert abs(at6 - lowest) <= 2.0 and (at85 - at7) / 1.5 > (at7 - at6) > 2.0, "no longer flat, then steeper"
    quotes(answer, at6, "20.2", 0.6, "the value at 6 rooms", phrase="about 6 rooms (20.2 k$)")
    says(answer, "about 26 k$ at 7 rooms and 39 k$ at 8.5 rooms", "the values at 7 and 8.5 rooms")
    within(at7, 25.3, 26.8, "the value at 7 rooms")
    within(at85, 37.6, 39.8, "the value at 8.5 rooms")
    says(answer, "roughly +19 k$ between 6 and 8.5 rooms", "the rise from 6 to 8.5 rooms")
    within(at85 - at6, 17.8, 20.2, "the rise from 6 to 8.5 rooms")
    says(answer, "your digits may differ by a few tenths", "that another CPU prints other digits")
    # "only 14 of the 404 training tracts have fewer than 5.0 rooms": counts of the data (the same in every run)
    assert few <= 20, f"{few:.0f} tracts lie left of the low point: the dip is no longer on 'few tracts'"
    quotes(answer, few, "14", 0, "the tracts left of the low point", phrase="only 14 of the 404")
    quotes(answer, many, "10", 0, "the tracts with more than 8 rooms", phrase="10 tracts have more than 8")


def test_2d_answer_reads_the_interaction_from_the_drawn_surface(solution):
    _, text, answers = solution
    answer = answers["answer_pdp_2d"]
    # "falls as CRIM rises in every column (20 of 20) and rises with RM in almost every row, apart from a dip
    # of at most about 0.3 k$": measured 20 of 20 everywhere; rows rising 15 / 14 of 20, dip 0.3 / 0.2
    assert printed(text, r"^columns \(RM fixed\) in which the price falls as CRIM rises: NUMBER of 20") == 20
    says(answer, "a dip of at most about 0.3 k$", "the largest dip along a row")
    within(printed(text, r"largest dip along a row: NUMBER k\$"), 0.0, 0.5, "the largest dip along a row")
    within(printed(text, r"in which the price rises with RM: NUMBER of 20"), 12, 20, "the rows rising with RM")
    drops = [printed(text, rf"^  at {r} rooms: NUMBER k\$") for r in ("4.9", "5.9", "6.2", "6.6", "8.0")]
    # "lowers the price by about 9 k$ at 4.9 rooms but by about 14 k$ at 8.0 rooms (9.0 and 14.1 k$ in the run
    # this answer was checked on; the drop grows steadily...)": measured -9.0 / -9.3 and -14.1 / -14.4
    assert all(d < 0 for d in drops), "crime no longer lowers the predicted price at every RM"
    assert drops[-1] - drops[0] <= -3.0 and drops == sorted(drops, reverse=True), \
        "the drop with crime no longer grows steadily with the number of rooms"
    says(answer, "by about 9 k$ at 4.9 rooms but by about 14 k$ at 8.0 rooms", "the drops at 4.9 and 8.0 rooms")
    quotes(answer, -drops[0], "9.0", 0.6, "the drop at 4.9 rooms", phrase="9.0 and 14.1 k$")
    quotes(answer, -drops[-1], "14.1", 0.6, "the drop at 8.0 rooms", phrase="9.0 and 14.1 k$")
    # "at most about 3 k$ (2.7 k$) on a surface that spans about 26 k$, largest in the top-right corner where
    # there are no dots": measured -2.7 / -2.9 on 25.7 / 26.1, at CRIM 16.7 and RM 8.0 in both
    departure = printed(text, r"^largest departure from the additive surface: NUMBER k\$")
    crim_at = printed(text, r"^largest departure .* at CRIM = NUMBER,")
    rm_at = printed(text, r"^largest departure .* RM = NUMBER ")
    spans = printed(text, r"the surface spans NUMBER k\$")
    assert crim_at > 10 and rm_at > 7.5, "the largest departure is no longer in the top-right corner"
    says(answer, "at most about 3 k$ (2.7 k$)", "the largest departure from the additive surface")
    within(abs(departure), 2.3, 3.4, "the largest departure from the additive surface")
    says(answer, "spans about 26 k$", "the range of the surface")
    within(spans, 25.0, 27.0, "the range of the surface")
    assert printed(text, r"^training tracts with CRIM > 10 and RM > 7\.5: NUMBER") == 0
    # "Friedman's H ... is 0.10 (H² = 0.011): about 1 % of the variance": 0.10 and 0.011 in every environment
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
    # "ranges from about −15 to +31 k$": some tracts go the opposite way from the average.
    # measured (AVX / SSE4.1): smallest -15.0 / -12.9, median +20.3 / +20.6, largest +30.7 / +31.3,
    # middle 90 % +7.6 to +28.4 / +7.1 to +29.2, falling curves 7 / 6, ending below 0 3 / 3, dipping 80 / 64;
    # the third network (perturbed weights): -14.2 / +19.8 / +30.4, +6.9 to +28.2, 7, 6 and 66
    assert smallest < 0 < median and fall >= 1 and below >= 1
    says(answer, "ranges from about −15 to +31 k$", "the smallest and largest change")
    within(smallest, -17.0, -11.0, "the smallest change from 6 to 8.5 rooms")
    within(largest, 29.5, 32.5, "the largest change")
    says(answer, "rises by about 20 k$ for the median tract", "the median change")
    within(median, 19.0, 21.5, "the median change")
    says(answer, "the middle 90 % from about +7 to +29 k$", "the middle 90 % of the change")
    within(p5, 6.5, 8.5, "the 5th percentile of the change")
    within(p95, 27.5, 30.0, "the 95th percentile of the change")
    says(answer, "A handful of curves", "the falling curves")
    within(fall, 4, 9, "the curves that fall between 6 and 8.5 rooms")
    says(answer, "a few curves (3 in that run, up to 6 on other CPUs) end below 0", "the curves that end below 0")
    within(below, 1, 8, "the curves that end below 0")
    says(answer, "dozens of them (80 in that run, 64 on another CPU) dip", "the curves that dip more than 5 k$")
    within(dip, 50, 95, "the curves that dip more than 5 k$")
    assert "Quote your own printed numbers" in answer


def test_b_section_says_what_the_model_does_with_b(solution):
    nb, text, _ = solution
    reading = next(" ".join(c.source.split()) for c in nb.cells
                   if c.cell_type == "markdown" and "What this shows." in c.source)
    effect = printed(text, r"mean predicted price from [\d.]+ to [\d.]+ k\$ \(NUMBER k\$\)")
    rm_effect = printed(text, r"for comparison, RM from 6 to 8\.5 rooms: NUMBER k\$")
    below_100 = printed(text, r"training tracts with B below 100: NUMBER of 404")
    # "rises by about 5 k$, roughly a quarter of what going from 6 to 8.5 rooms adds (about 19 k$)":
    # measured +5.5 / +5.0 and +18.8 / +18.9 (AVX / SSE4.1)
    assert effect > 0 and 0.15 <= effect / rm_effect <= 0.35, "the effect of B is no longer about a quarter of RM's"
    says(reading, "rises by about 5 k$", "the rise of the PDP on B")
    within(effect, 4.3, 6.2, "the rise of the PDP on B")
    says(reading, "rooms adds (about 19 k$)", "the rise of the PDP on RM from 6 to 8.5 rooms")
    within(rm_effect, 17.8, 20.2, "the rise of the PDP on RM from 6 to 8.5 rooms")
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
