"""Chapter 6 benchmark: how well and how fast the scoring explainer stands in for the full one.

    OMP_NUM_THREADS=1 python scripts/benchmark_ch06.py [--rows 60] [--serve --requests 300 --clients 6]

Builds :func:`imlbook.ch06_deploy.demo.deployment_example` (full explainer: exact Kernel SHAP
against 200 training rows; scoring explainer: 32 weighted medoids), explains the first ``--rows``
test rows with both, and prints the agreement (absolute differences of local values, in units of
predicted probability; relative L1 difference per row; agreement of the top feature) and the
time ratio. With ``--serve`` it also registers the model and the scoring explainer in a temporary
MLflow store, starts the service on a free 127.0.0.1 port and runs a load test (``--requests``
requests of 1 to 3 rows from ``--clients`` concurrent clients), printing throughput and latency
percentiles and checking every answer against the reference ``score`` (the notebook's solution) computed here. Numbers go to the README;
tests assert agreement and correctness, never time.
"""
import argparse
import json
import time

import numpy as np

from imlbook.ch06_deploy.demo import deployment_example


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--serve", action="store_true", help="also load-test the service")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=6)
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
    if args.serve:
        print(json.dumps(serve_and_load(model, light, test, args.requests, args.clients), indent=1))


def reference_score():
    """The notebook's reference ``score`` (the library has none: it is the chapter's exercise)."""
    from tests.ch06_reference import namespace

    return namespace()["score"]


def serve_and_load(model, light, test, n_requests, clients):
    import tempfile

    import mlflow

    from imlbook.ch06_deploy import scoring, service
    from imlbook.ch06_deploy.store import use_local_store

    with tempfile.TemporaryDirectory() as folder:
        use_local_store(folder)
        version = scoring.register_model(model, light, "census", "benchmark").version
        mlflow.set_tracking_uri(None)
        rows = test.iloc[:24].astype(object).where(test.iloc[:24].notna(), None).to_dict("records")
        bodies = [rows[i:i + 1 + i % 3] for i in range(16)]
        score = reference_score()
        expected = [score(body, model, light) for body in bodies]
        with service.background_service(folder, "census", version, score) as url:
            report = service.load_test(url, bodies, expected, n_requests=n_requests, clients=clients)
    report["rows_per_request"] = "1 to 3"
    return report


if __name__ == "__main__":
    main()
