#!/usr/bin/env python3
"""How long the notebooks take, and how much faster the batched partial dependence is than the seed's loop.

Time belongs here, not in the tests (a loaded machine must not fail CI). Two measurements:

* **Solution notebooks**: every ``solutions/<chapter>/*.ipynb`` executed start to finish in a fresh
  kernel (as ``tests/notebook_runner.py`` does), wall clock. The baseline, measured in the same run, is
  a notebook made of the chapter's first code cell only (kernel start and imports: TensorFlow alone
  takes seconds), so the ratio says how much the notebook's own work costs beyond starting up.
* **PDP speed-up**: chapter 1's reference ``partial_dependence_1d`` / ``partial_dependence_2d`` (one
  batched ``predict`` call) against the seed workshop's loop (``model.predict`` once per grid value,
  Keras' default batch size), on the chapter's network (13-32-16-1) and Boston's 404 training rows,
  for a 30-point grid and a 20 x 20 grid. A third row loops over the grid with the notebook's own
  ``predict`` wrapper (large batches), to separate "fewer calls" from "bigger batches". The results of
  all three agree (the script checks); ratios are against the seed loop measured in the same run.

    python scripts/benchmark_notebooks.py                      # everything
    python scripts/benchmark_notebooks.py --skip-notebooks     # the PDP speed-up only
    python scripts/benchmark_notebooks.py --chapters ch01_pdp_ice --json times.json

The seed's 2-D loop makes 400 model calls: it took 4 minutes on a 2-core VM shared with other jobs
(load average 9). The loops run once; the batched calls are the best of ``--repeat``.
It prints the machine (host, cores, load average, Python, TensorFlow) with the numbers: compare
timings only between runs on the same machine. Offline, point ``IMLBOOK_DATA`` at the data folder.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)
sys.path.insert(0, str(ROOT))


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    from importlib import metadata
    tf_version = "not installed"
    for dist in ("tensorflow-cpu", "tensorflow"):  # the installed version, without importing it (seconds)
        try:
            tf_version = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    return (f"{platform.node() or 'this machine'}: {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.system()} {platform.release()}, load average {load}; Python {platform.python_version()}, "
            f"TensorFlow {tf_version}")


# ----------------------------------------------------------------------------
# Solution notebooks
# ----------------------------------------------------------------------------
def _execute(nb, workdir: Path, timeout: int) -> float:
    from nbclient import NotebookClient

    env_backup = dict(os.environ)
    os.environ.pop("MPLBACKEND", None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + env_backup["PYTHONPATH"] if env_backup.get("PYTHONPATH") else "")
    started = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    return time.perf_counter() - started


def bench_notebook(path: Path, timeout: int) -> Dict[str, object]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    baseline_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first_code.source)],
                                           metadata=nb.metadata)
    with tempfile.TemporaryDirectory(prefix="bench-nb-") as tmp:
        baseline = _execute(baseline_nb, Path(tmp), timeout)
        seconds = _execute(nb, Path(tmp), timeout)
    return {"notebook": str(path.relative_to(ROOT)), "seconds": seconds, "baseline_s": baseline,
            "ratio": seconds / baseline if baseline else float("nan")}


# ----------------------------------------------------------------------------
# PDP: one batched call against the seed's loop
# ----------------------------------------------------------------------------
def reference_function(name: str, chapter: str = "ch01_pdp_ice"):
    """The reference solution of exercise ``name`` from the source notebook, as a function."""
    import numpy as np

    source = json.loads(next((ROOT / "source" / chapter).glob("*.ipynb")).read_text(encoding="utf-8"))
    for cell in source["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade_id") == name:
            text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            namespace = {"np": np}
            exec(compile(MARKER.sub("", text), f"<reference {name}>", "exec"), namespace)  # noqa: S102
            return namespace[name]
    raise LookupError(f"no solution cell {name!r} in source/{chapter}")


def _best(fn, repeat: int) -> tuple:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return min(times), value


def bench_pdp(repeat: int) -> List[Dict[str, object]]:
    import keras
    import numpy as np

    from imlbook.data import load_boston
    from imlbook.grids import feature_grid

    keras.utils.set_random_seed(42)
    (x_train, _), _, names = load_boston()
    X = (x_train - x_train.mean(0)) / x_train.std(0)
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])

    def predict(rows):  # the notebook's wrapper: one call, large batches
        return model.predict(np.asarray(rows, dtype="float32"), batch_size=8192, verbose=0).ravel()

    rm, crim = names.index("RM"), names.index("CRIM")
    grid_rm, grid_crim = feature_grid(X, rm, num=30), feature_grid(X, crim, num=20, percentiles=(0.05, 0.95))
    grid_rm20 = feature_grid(X, rm, num=20)
    pd1, pd2 = reference_function("partial_dependence_1d"), reference_function("partial_dependence_2d")
    predict(X[:10])  # build the model's predict function once, outside the timings

    def seed_1d(call):  # the seed workshop's make_pdp: one model call per grid value
        out = []
        for v in grid_rm:
            modified = np.copy(X)
            modified[:, rm] = v
            out.append(np.mean(call(modified)))
        return np.array(out)

    def seed_2d(call):
        out = np.zeros((len(grid_crim), len(grid_rm20)))
        for i, u in enumerate(grid_crim):
            for j, v in enumerate(grid_rm20):
                modified = np.copy(X)
                modified[:, crim], modified[:, rm] = u, v
                out[i, j] = np.mean(call(modified))
        return out

    def seed_call(rows):
        return model.predict(rows, verbose=0)

    rows = []
    for label, loop, batched, calls in (
            ("1-D PDP, 30 grid values", seed_1d, lambda: pd1(predict, X, rm, grid_rm), 30),
            ("2-D PDP, 20 x 20 grid", seed_2d, lambda: pd2(predict, X, (crim, rm), (grid_crim, grid_rm20)), 400)):
        t_seed, v_seed = _best(lambda: loop(seed_call), 1)
        t_loop, v_loop = _best(lambda: loop(predict), 1)
        t_batch, v_batch = _best(batched, repeat)
        diff = float(max(np.max(np.abs(v_seed - v_batch)), np.max(np.abs(v_loop - v_batch))))
        rows.append({"case": label, "rows_per_call": len(X), "calls_in_loop": calls, "seed_loop_s": t_seed,
                     "loop_with_big_batches_s": t_loop, "batched_s": t_batch, "speedup_vs_seed": t_seed / t_batch,
                     "speedup_vs_loop": t_loop / t_batch, "max_abs_difference": diff})
    return rows


# ----------------------------------------------------------------------------
def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="*", help="default: every chapter in solutions/")
    parser.add_argument("--skip-notebooks", action="store_true", help="time the PDP speed-up only")
    parser.add_argument("--skip-pdp", action="store_true", help="time the notebooks only")
    parser.add_argument("--repeat", type=int, default=3, help="batched PDP: best of this many runs (default 3)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per notebook cell (default 900)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    report: Dict[str, object] = {"machine": machine()}
    print(f"machine: {report['machine']}\n", flush=True)
    if not args.skip_notebooks:
        chapters = args.chapters or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
        nb_rows = []
        for chapter in chapters:
            for path in sorted((ROOT / "solutions" / chapter).glob("*.ipynb")):
                print(f"executing {path.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
                nb_rows.append(bench_notebook(path, args.timeout))
        report["notebooks"] = nb_rows
        print("| solution notebook | start to finish, s | baseline: kernel + imports, s | ratio |")
        print("|---|---|---|---|")
        for r in nb_rows:
            print(f"| {r['notebook']} | {r['seconds']:.1f} | {r['baseline_s']:.1f} | {r['ratio']:.1f}x |")
        print()
    if not args.skip_pdp:
        print("timing the PDP (seed loop vs one batched call) ...", file=sys.stderr, flush=True)
        pdp = bench_pdp(args.repeat)
        report["pdp"] = pdp
        print(f"| partial dependence (404 rows) | seed loop, s | loop, big batches, s "
              f"| one batched call (best of {args.repeat}), s | speed-up vs seed loop | vs loop | max difference |")
        print("|---|---|---|---|---|---|---|")
        for r in pdp:
            print(f"| {r['case']} | {r['seed_loop_s']:.2f} | {r['loop_with_big_batches_s']:.2f} | "
                  f"{r['batched_s']:.3f} | {r['speedup_vs_seed']:.0f}x | {r['speedup_vs_loop']:.0f}x | "
                  f"{r['max_abs_difference']:.1e} |")
        if any(r["max_abs_difference"] > 1e-3 for r in pdp):
            print("WARNING: the batched and looped results differ: the comparison is not like for like",
                  file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
