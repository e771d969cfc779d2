"""Time the reference `kernel_shap` (chapter 3) against `shap.KernelExplainer` on the same work.

    python scripts/benchmark_ch03_shap.py [--rows 50] [--nsamples 500] [--background 50] [--features 87]

The work is the notebook's: explain `rows` rows with `nsamples` coalitions against a `background`-row
background, i.e. rows x nsamples x background model rows. The model is a fixed random two-layer ReLU
network in NumPy with a sigmoid output (the same shape as the notebook's Keras model), so no data or
training is needed and the model's own cost is small and identical for both. KernelExplainer runs with
`l1_reg=False` (plain weighted least squares, as the exercise). Prints both times and the total run time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def reference_kernel_shap():
    from tests.submissions import reference_answers

    namespace = {"np": np}
    exec("from math import comb, factorial\n" + reference_answers("ch03_shap")["kernel_shap"], namespace)
    return namespace["kernel_shap"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--nsamples", type=int, default=500)
    parser.add_argument("--background", type=int, default=50)
    parser.add_argument("--features", type=int, default=87)
    args = parser.parse_args(argv)
    started_all = time.perf_counter()
    import shap

    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(0, 0.3, (args.features, 64)), rng.normal(0, 0.3, (64, 1))

    def f(X):
        return np.ravel(1 / (1 + np.exp(-(np.maximum(np.asarray(X, dtype=float) @ W1, 0) @ W2))))

    # sparse binary columns after 5 numeric ones, like a one-hot table
    def table(n):
        return np.hstack([rng.normal(size=(n, 5)), (rng.random((n, args.features - 5)) < 0.08).astype(float)])

    background, rows = table(args.background), table(args.rows)
    kernel_shap = reference_kernel_shap()
    t = time.perf_counter()
    mine = np.array([kernel_shap(f, r, background, args.nsamples, i)[1] for i, r in enumerate(rows)])
    mine_s = time.perf_counter() - t
    np.random.seed(0)
    t = time.perf_counter()
    theirs = shap.KernelExplainer(f, background).shap_values(rows, nsamples=args.nsamples, l1_reg=False, silent=True)
    shap_s = time.perf_counter() - t
    print(json.dumps({"model_rows": args.rows * args.nsamples * args.background, "kernel_shap_s": round(mine_s, 2),
                      "shap_KernelExplainer_s": round(shap_s, 2),
                      "largest_abs_difference": float(np.abs(mine - theirs).max()),
                      "total_s": round(time.perf_counter() - started_all, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
