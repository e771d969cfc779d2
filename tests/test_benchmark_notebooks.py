"""scripts/benchmark_notebooks.py runs (its timings are not tested: time belongs in the benchmark)."""
import importlib.util

import numpy as np

from tests.submissions import ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("benchmark_notebooks", ROOT / "scripts" / "benchmark_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_compares_the_reference_pdp_with_the_seed_loop_on_equal_terms(capsys):
    bench = load_script()
    pd1 = bench.reference_function("partial_dependence_1d")
    X = np.arange(12.0).reshape(4, 3)
    weights = np.array([1.0, 2.0, -1.0])
    grid = np.array([0.0, 5.0])
    expected = [np.mean((np.where(np.arange(3) == 1, v, X)) @ weights) for v in grid]
    np.testing.assert_allclose(pd1(lambda rows: rows @ weights, X, 1, grid), expected)
    assert bench.main(["--skip-notebooks", "--skip-pdp"]) == 0
    assert capsys.readouterr().out.startswith("machine: ")
