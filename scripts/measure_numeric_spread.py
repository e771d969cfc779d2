#!/usr/bin/env python3
"""How much the numbers a solution notebook prints move between numeric environments.

A model answer quotes numbers the notebook prints; a student's laptop prints its own. This script runs
one solution notebook start to finish (as ``tests/notebook_runner.py`` does) once per numeric
environment this machine can produce, and prints, for every printed line whose numbers differ between
the environments, the numbers of each run side by side (lines that agree everywhere are counted, not
shown). Use it to set the tolerances of the notebook claim tests (``tests/test_chNN_notebooks.py``) and
the ranges a model answer states; ``docs/numeric-spread.md`` records what was measured.

The environments (``--list`` shows them) change, through environment variables of the kernel:

* thread counts: TensorFlow's intra-/inter-op pools (``TF_NUM_INTRAOP_THREADS``,
  ``TF_NUM_INTEROP_THREADS``), OpenMP and OpenBLAS; more threads than cores is allowed and is how a
  2-core machine reproduces the work split of a bigger one;
* TensorFlow's oneDNN kernels on or off (``TF_ENABLE_ONEDNN_OPTS``), and the instruction set oneDNN may
  use (``ONEDNN_MAX_CPU_ISA``: an AVX2 machine, an AVX machine, SSE4.1);
* OpenBLAS's kernel (``OPENBLAS_CORETYPE``: Haswell, Sandybridge, Prescott; NumPy, SciPy and
  scikit-learn use it; Zen runs Haswell's kernels, Prescott the generic "Katmai" one); the run prints
  the kernel threadpoolctl reports, so a core type OpenBLAS ignores is visible.

``--perturb N`` adds N runs in which every Keras model starts from its weights times (1 + 1e-6 noise): a
few float32 roundings, a stand-in for the kernels of CPUs this machine cannot imitate. A trained network
settles into one of a few outcomes; these runs show which others exist.

What it cannot produce: another CPU family's code paths in TensorFlow's own (Eigen) kernels, e.g. ARM
(Apple silicon), or other library versions. The spread measured here is a lower bound: tests add a margin.

    python scripts/measure_numeric_spread.py ch01_pdp_ice                     # every environment
    python scripts/measure_numeric_spread.py ch05_practice --envs default threads1 blas-haswell
    python scripts/measure_numeric_spread.py ch01_pdp_ice --json spread.json  # also every printed line
    python scripts/measure_numeric_spread.py ch01_pdp_ice --envs default perturb-6 perturb-10
    python scripts/measure_numeric_spread.py --list

One notebook run at a time (a trained network uses every core); runs take as long as the notebook does.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}

# name -> environment variables set for the kernel (on top of the caller's environment)
ENVIRONMENTS: Dict[str, Dict[str, str]] = {
    "default": {},
    "threads1": dict(_ONE_THREAD),
    "tf-threads8": {"TF_NUM_INTRAOP_THREADS": "8", "TF_NUM_INTEROP_THREADS": "8", "OMP_NUM_THREADS": "8"},
    "onednn-off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn-avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "onednn-sse41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "blas-haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "blas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "blas-prescott": {"OPENBLAS_CORETYPE": "Prescott"},
    # an older 1-core AVX2 laptop, as far as this machine can pretend to be one
    "avx2-laptop": {**_ONE_THREAD, "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"},
}

# inserted after the notebook's first code cell: with IMLBOOK_SPREAD_PERTURB=K, every Keras model's weights are
# multiplied by (1 + 1e-6 * N(0, 1)) (generator seeded with K) just before it is first trained. A relative
# change of 1e-6 is a few float32 roundings: what another CPU's kernels do to a training step. It samples
# the networks another machine may train where this machine cannot produce that machine's kernels.
_PERTURB_CELL = '''
import os as _os, sys as _sys
if _os.environ.get("IMLBOOK_SPREAD_PERTURB") and "keras" in _sys.modules:
    import numpy as _np
    _keras = _sys.modules["keras"]
    _fit = _keras.Model.fit
    def _perturbed_fit(self, *args, **kwargs):
        if not getattr(self, "_spread_perturbed", False):
            self._spread_perturbed = True
            _rng = _np.random.default_rng(int(_os.environ["IMLBOOK_SPREAD_PERTURB"]))
            for _v in self.weights:
                _w = _np.asarray(_v.numpy())
                _v.assign((_w * (1 + 1e-6 * _rng.standard_normal(_w.shape))).astype(_w.dtype))
        return _fit(self, *args, **kwargs)
    _keras.Model.fit = _perturbed_fit
'''

# appended to the notebook: what the kernel really used (a core type OpenBLAS ignores shows here)
_REPORT_CELL = '''
import json as _json, os as _os
try:
    import threadpoolctl as _tpc
    _blas = sorted({f"{i.get('internal_api')}:{i.get('architecture', '-')}x{i.get('num_threads')}"
                    for i in _tpc.threadpool_info()})
except Exception as _error:  # the report must never fail the run
    _blas = [repr(_error)]
_tf = {}
try:
    import sys as _sys
    if "tensorflow" in _sys.modules:
        _tf = {"intra": _sys.modules["tensorflow"].config.threading.get_intra_op_parallelism_threads(),
               "inter": _sys.modules["tensorflow"].config.threading.get_inter_op_parallelism_threads()}
except Exception as _error:
    _tf = {"error": repr(_error)}
print("NUMERIC-ENVIRONMENT " + _json.dumps({"blas": _blas, "tensorflow_threads": _tf}))
'''

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
TIMING = re.compile(r"[-+]?\d+(?:\.\d+)?\s*(?:s|ms|seconds)\b")  # wall-clock times are not numeric results


def solution_notebook(chapter: str) -> Path:
    notebook, = (ROOT / "solutions" / chapter).glob("*.ipynb")
    return notebook


def run(chapter: str, env: Dict[str, str], workdir: Path) -> tuple:
    """Execute ``chapter``'s solution notebook with ``env`` added to the kernel's environment.
    Returns (printed lines, the NUMERIC-ENVIRONMENT report)."""
    import nbformat

    from tests.notebook_runner import execute
    nb = nbformat.read(solution_notebook(chapter), as_version=4)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code + 1, nbformat.v4.new_code_cell(_PERTURB_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(_REPORT_CELL))
    copy = workdir / f"{chapter}.ipynb"
    nbformat.write(nb, copy)
    for extra in solution_notebook(chapter).parent.iterdir():  # data files next to the notebook
        if extra.is_file() and extra.suffix != ".ipynb":
            (workdir / extra.name).write_bytes(extra.read_bytes())
    saved = dict(os.environ)
    os.environ.setdefault("IMLBOOK_OFFLINE", "1")  # as the tests run it
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.update(env)
    try:
        executed, _ = execute(copy, workdir / "run")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    lines = ["".join(o.get("text", "")) for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if o.get("output_type") == "stream" and o.get("name") == "stdout"]
    lines = "\n".join(lines).splitlines()  # stdout only: stderr is log noise (timestamps, ids)
    report = next((json.loads(line.split(" ", 1)[1]) for line in lines if line.startswith("NUMERIC-ENVIRONMENT ")), {})
    return [line for line in lines if line.strip() and not line.startswith("NUMERIC-ENVIRONMENT ")], report


def template(line: str) -> tuple:
    """(the line with every number replaced by #, its numbers); times are kept as text."""
    kept = TIMING.sub("<time>", line)
    return " ".join(NUMBER.sub("#", kept).split()), NUMBER.findall(kept)  # column padding may vary with a time


def compare(results: Dict[str, List[str]]) -> tuple:
    """Rows (template, {env: numbers}) for the lines whose numbers differ; count of equal lines; problems."""
    names = list(results)
    base = [template(line) for line in results[names[0]]]
    differing, equal, problems = [], 0, []
    for name in names[1:]:
        if len(results[name]) != len(base):
            problems.append(f"{name}: {len(results[name])} printed lines, {names[0]}: {len(base)}")
    for i, (shape, numbers) in enumerate(base):
        per_env = {names[0]: numbers}
        for name in names[1:]:
            if i < len(results[name]):
                other_shape, other_numbers = template(results[name][i])
                if other_shape != shape:
                    problems.append(f"line {i} differs in wording under {name}: {results[name][i]!r}")
                    other_numbers = ["?"]
                per_env[name] = other_numbers
        if len({tuple(v) for v in per_env.values()}) > 1:
            differing.append((shape, per_env))
        else:
            equal += 1
    return differing, equal, problems


def print_table(chapter: str, differing: list, equal: int, reports: Dict[str, dict]) -> None:
    names = list(reports)
    print(f"\n{chapter}: {equal} printed lines identical in every environment; {len(differing)} differ\n")
    print("environments:")
    for name in names:
        print(f"  {name:18s} {ENVIRONMENTS.get(name, {})}  -> {reports[name]}")
    width = max([len(n) for n in names] + [8])
    for shape, per_env in differing:
        print(f"\n{shape.strip()}")
        for name in names:
            print(f"  {name:{width}s} {' '.join(per_env.get(name, ['-']))}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapter", nargs="?", help="e.g. ch01_pdp_ice (its solutions/ notebook runs)")
    parser.add_argument("--envs", nargs="+", default=list(ENVIRONMENTS), help="environment names (see --list)")
    parser.add_argument("--perturb", type=int, default=0, metavar="N",
                        help="add N runs whose Keras models start from weights perturbed by 1e-6 (perturb-1..N)")
    parser.add_argument("--json", type=Path, help="write every run's printed lines and reports here")
    parser.add_argument("--list", action="store_true", help="list the environments and exit")
    args = parser.parse_args(argv)
    if args.list or not args.chapter:
        for name, env in ENVIRONMENTS.items():
            print(f"{name:18s} {env}")
        return 0
    for k in range(1, args.perturb + 1):
        args.envs.append(f"perturb-{k}")
    for name in args.envs:  # perturb-K for any K, also named directly in --envs
        if re.fullmatch(r"perturb-\d+", name):
            ENVIRONMENTS[name] = {"IMLBOOK_SPREAD_PERTURB": name.split("-")[1]}
    unknown = [n for n in args.envs if n not in ENVIRONMENTS]
    if unknown:
        parser.error(f"unknown environments {unknown}; see --list")
    results, reports = {}, {}
    with tempfile.TemporaryDirectory(prefix="numeric-spread-") as tmp:
        for name in args.envs:
            workdir = Path(tmp) / name
            workdir.mkdir()
            print(f"running {args.chapter} under {name} {ENVIRONMENTS[name]} ...", file=sys.stderr, flush=True)
            results[name], reports[name] = run(args.chapter, ENVIRONMENTS[name], workdir)
            if args.json:  # after every run: a long measurement keeps what it has
                args.json.write_text(json.dumps({"chapter": args.chapter, "lines": results,
                                                 "reports": reports, "environments": ENVIRONMENTS}, indent=1))
    differing, equal, problems = compare(results)
    print_table(args.chapter, differing, equal, reports)
    for problem in problems:
        print("note:", problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
