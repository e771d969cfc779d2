"""imlbook.reproducible: seeds, deterministic ops and fixed TensorFlow thread pools (a fresh process:
TensorFlow's pools can only be sized before its first operation)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from imlbook.reproducible import seed_everything
from tests.submissions import ROOT

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
from imlbook.reproducible import TRAINING_THREADS, fix_thread_pools, reproducible_training

first = reproducible_training(seed=7)
pools = (tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())
a = tf.random.uniform((3,)).numpy().tolist()            # TensorFlow runs: the pools are started now
again = fix_thread_pools(TRAINING_THREADS)               # same size: nothing to change
other = fix_thread_pools(TRAINING_THREADS + 1)           # too late: the pools keep their size
second = reproducible_training(seed=7)
b = tf.random.uniform((3,)).numpy().tolist()
print(json.dumps({"first": first, "pools": pools, "again": again, "other": other, "second": second,
                  "same_draws": a == b, "threads": TRAINING_THREADS}))
"""


def test_seed_everything_repeats_numpy_and_python_draws():
    import random

    seed_everything(3)
    first = (np.random.rand(2).tolist(), random.random())
    seed_everything(3)
    assert (np.random.rand(2).tolist(), random.random()) == first


def test_reproducible_training_fixes_the_pools_once_and_seeds_tensorflow():
    pytest.importorskip("tensorflow")
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    threads = result["threads"]
    assert result["first"] == {"seed": 7, "deterministic_ops": True, "threads": threads}
    assert result["pools"] == [threads, threads] and result["again"] is True and result["other"] is False
    assert result["second"]["threads"] == threads  # the pools kept the size asked for
    assert result["same_draws"] is True  # seeded again: the same random draws
