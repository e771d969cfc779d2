"""scripts/measure_numeric_spread.py: which printed numbers differ between runs (no notebook is run here)."""
import importlib.util

from tests.submissions import ROOT

spec = importlib.util.spec_from_file_location("measure_numeric_spread", ROOT / "scripts" / "measure_numeric_spread.py")
spread = importlib.util.module_from_spec(spec)
spec.loader.exec_module(spread)


def test_times_and_padding_are_not_results():
    assert spread.template("trained in 16.3 s; error: 2.72 k$") == ("trained in <time>; error: # k$", ["2.72"])
    assert spread.template("p = 10:  7.2 ms")[0] == spread.template("p = 10:     13.3 ms")[0]


def test_only_lines_whose_numbers_differ_are_reported():
    runs = {"default": ["smallest -15.0 k$, median +20.3 k$", "train: (404, 13)", "trained in 9 s"],
            "onednn-sse41": ["smallest -12.9 k$, median +20.6 k$", "train: (404, 13)", "trained in 12 s"],
            "perturb-6": ["smallest -14.2 k$, median +20.3 k$", "train: (404, 13)"]}
    differing, equal, problems = spread.compare(runs)
    assert equal == 2 and len(differing) == 1
    shape, per_env = differing[0]
    assert shape == "smallest # k$, median # k$"
    assert per_env == {"default": ["-15.0", "+20.3"], "onednn-sse41": ["-12.9", "+20.6"], "perturb-6": ["-14.2", "+20.3"]}
    assert problems == ["perturb-6: 2 printed lines, default: 3"]


def test_every_environment_sets_only_environment_variables():
    assert spread.ENVIRONMENTS["default"] == {}
    assert all(isinstance(v, str) for env in spread.ENVIRONMENTS.values() for v in env.values())
    assert spread.main(["--list"]) == 0
