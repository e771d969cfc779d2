"""Make a notebook's training reproducible: seeds, deterministic TensorFlow ops, fixed thread counts.

What this fixes and what it cannot (measured with ``scripts/measure_numeric_spread.py``, see
``docs/numeric-spread.md``):

* the same machine gives the same numbers on every run (seeds for Python, NumPy and Keras; TensorFlow's
  deterministic ops);
* the number of cores does not change a training run: TensorFlow's thread pools get a fixed size, so
  a reduction is split the same way on a 2-core laptop and a 64-core server;
* another CPU (AVX2 or AVX-512 kernels of oneDNN, ARM) or another library version may still round a
  float32 training step differently, and 100 epochs turn that into a different network. Model answers
  therefore quote numbers with a range, and the tests allow the measured spread.
"""
from __future__ import annotations

import os
import random
from typing import Optional

import numpy as np

TRAINING_THREADS = 1  # the network of chapter 1 trains in ~10 s on one core; more threads gain little


def seed_everything(seed: int = 42) -> None:
    """Seed Python's ``random``, NumPy's global generator and, if Keras is installed, Keras/TensorFlow."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import keras
    except ImportError:
        return
    keras.utils.set_random_seed(seed)


def reproducible_training(seed: int = 42, threads: Optional[int] = TRAINING_THREADS) -> dict:
    """Seed everything and make TensorFlow deterministic before a model is trained.

    ``threads``: the size of TensorFlow's intra-op and inter-op thread pools (``None`` leaves them as
    they are). The pools can only be sized before TensorFlow runs its first operation; called later
    (a notebook cell run twice), the sizes stay as they were and ``"threads"`` in the result says so.
    Returns what was set: ``{"seed": int, "deterministic_ops": bool, "threads": int or None}``.
    """
    import tensorflow as tf

    done = {"seed": seed, "deterministic_ops": False, "threads": None}
    if threads is not None:
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        if (intra, inter) == (threads, threads):
            done["threads"] = threads
        else:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
                done["threads"] = threads
            except RuntimeError:  # TensorFlow already started its pools
                pass
    tf.config.experimental.enable_op_determinism()
    done["deterministic_ops"] = True
    os.environ.setdefault("PYTHONHASHSEED", str(seed))  # for processes started from here
    seed_everything(seed)
    return done
