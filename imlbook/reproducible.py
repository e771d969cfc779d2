"""Make a notebook's training reproducible: seeds, deterministic TensorFlow ops, fixed thread counts.

What this fixes and what it cannot (measured with ``scripts/measure_numeric_spread.py``, see
``docs/numeric-spread.md``):

* the same machine gives the same numbers on every run (seeds for Python, NumPy and Keras; TensorFlow's
  deterministic ops);
* the number of cores does not change a training run: TensorFlow's thread pools get a fixed size
  (:data:`TRAINING_THREADS`), so a reduction is split the same way on a 1-core laptop and a 64-core
  server;
* another CPU (AVX2 or AVX-512 kernels of oneDNN, ARM) or another library version may still round a
  float32 training step differently, and 100 epochs turn that into a different network. Model answers
  therefore quote numbers with a range, and the tests allow the measured spread.
"""
from __future__ import annotations

import os
import random
from typing import Optional

import numpy as np

# TensorFlow splits a reduction (a bias gradient over a batch, a convolution's filter gradient) into one
# part per thread of its pool, so the pool's size changes the rounding: chapter 4's CNN trained with 1
# thread points the Guided Grad-CAM pointing game at 0.72 instead of 0.62. A fixed size makes a 1-core
# laptop and a 64-core server split the same way. Two: what the model answers were checked with.
TRAINING_THREADS = 2


def seed_everything(seed: int = 42) -> None:
    """Seed Python's ``random``, NumPy's global generator and, if Keras is installed, Keras/TensorFlow."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import keras
    except ImportError:
        return
    keras.utils.set_random_seed(seed)


def fix_thread_pools(threads: int = TRAINING_THREADS) -> bool:
    """Size TensorFlow's intra-op and inter-op thread pools to ``threads``, if TensorFlow has not started
    them yet (they can only be sized before its first operation). Returns whether the pools now have
    that size."""
    import tensorflow as tf

    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()) == (threads, threads):
        return True
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already started (a cell run twice, or TensorFlow used before): keep its pools
        return False
    return True


def reproducible_training(seed: int = 42, threads: Optional[int] = TRAINING_THREADS) -> dict:
    """Seed everything and make TensorFlow deterministic before a model is trained.

    ``threads``: the size of TensorFlow's thread pools (see :func:`fix_thread_pools`; ``None`` leaves
    them as they are). Returns what was set: ``{"seed": int, "deterministic_ops": True, "threads": int or
    None}``, ``threads`` None when the pools could not be sized.
    """
    import tensorflow as tf

    fixed = threads is not None and fix_thread_pools(threads)
    tf.config.experimental.enable_op_determinism()
    os.environ.setdefault("PYTHONHASHSEED", str(seed))  # for processes started from here
    seed_everything(seed)
    return {"seed": seed, "deterministic_ops": True, "threads": threads if fixed else None}
