"""Chapter 6 benchmark: how well and how fast the scoring explainer stands in for the full one.

    OMP_NUM_THREADS=1 python scripts/benchmark_ch06.py [--rows 60]

Builds :func:`imlbook.ch06_deploy.demo.deployment_example` (full explainer: exact Kernel SHAP
against 200 training rows; scoring explainer: 32 weighted medoids), explains the first ``--rows``
test rows with both, and prints the agreement (absolute differences of local values, in units of
predicted probability; relative L1 difference per row; agreement of the top feature) and the
time ratio. Numbers go to the README; tests assert agreement, never time.
"""
import argparse
import json
import time

import numpy as np

from imlbook.ch06_deploy.demo import deployment_example


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=60)
    args = parser.parse_args()
    model, full, light, test = deployment_example()
    rows = test.iloc[: args.rows]
    full.explain(rows.iloc[:1]), light.explain(rows.iloc[:1])       # warm up (shap imports, explainer setup)
    start = time.perf_counter()
    reference = full.explain(rows)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    values = light.explain(rows)
    light_s = time.perf_counter() - start
    difference = np.abs(values - reference)
    relative = difference.sum(1) / np.abs(reference).sum(1)
    top1 = np.argmax(np.abs(values), 1) == np.argmax(np.abs(reference), 1)
    report = {
        "rows": len(rows), "full_background": len(full.background), "scoring_background": len(light.background),
        "full_s_per_row": full_s / len(rows), "scoring_s_per_row": light_s / len(rows),
        "speed_ratio": full_s / light_s,
        "max_abs_difference": float(difference.max()), "p95_abs_difference": float(np.quantile(difference, 0.95)),
        "median_row_relative_l1": float(np.median(relative)), "max_row_relative_l1": float(relative.max()),
        "top_feature_agreement": float(top1.mean()),
        "expected_value_full": full.expected_value, "expected_value_scoring": light.expected_value,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
