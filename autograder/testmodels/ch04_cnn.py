"""Small networks with known answers for the chapter-4 checks (inside the CNN).

The checks need real Keras models (the exercises call ``tf.GradientTape``, ``keras.Model``...), but the
grader's own process never imports TensorFlow and a model is not plain data. So a check passes a
:class:`KerasNet` — a picklable description (architecture name + NumPy weights) — and the model is built
where the student's function runs (see :class:`autograder.checks.BuiltArgument`): in the sandboxed worker,
or in the student's kernel for a self-check. Every call gets a freshly built model.

Every architecture is small (inputs of 6 x 6 to 32 x 32 pixels) and its right answers follow from the
weights in closed form (:mod:`autograder.answers.ch04_cnn`):

* ``linear``: Flatten -> Dense ``logits``. The logit is linear in the input: its gradient is the weight vector.
* ``patch``: a 4x4, stride-4 convolution ``patches`` (no activation) -> Flatten -> Dense ``logits``: still
  linear, with a 4 x 4 feature map for Grad-CAM.
* ``relu_head``: a 3x3 convolution ``features`` (no activation) -> ReLU ``relu`` -> Flatten -> Dense
  ``logits``: the gradient reaching ``features`` is the dense weight times the ReLU's on/off pattern.
* ``gap``: ``conv1`` (ReLU) -> max-pool ``pool`` -> ``conv2`` (ReLU) -> global average pooling -> Dense
  ``logits``: Grad-CAM at ``conv2`` is the class activation map (CAM) of Zhou et al. (2016).
* ``detector``: a hand-wired colour detector for :func:`imlbook.ch04_cnn.make_scenes` scenes
  (``colour`` 1x1 conv, ``conv2`` 3x3 conv, GAP, ``logits``): its evidence for a class is the object.
* ``fingerprint``: ``conv_a`` -> ``conv_b`` -> ``dense_c`` -> ``logits``, all kernels initialised with
  ``RandomUniform(2, 3)`` (their own initialiser) but set to weights in [-1, 1]; used with
  :class:`FingerprintMap` to see which layers a randomisation check re-initialised.

Each can be built Functional (default) or Sequential (``style="sequential"``), or wrapped as a nested
model (``style="nested"``: a Sequential outer model whose second layer is the Functional base, behind a
``Rescaling`` layer that maps [0, 1] to [-1, 1] as MobileNetV2's preprocessing does, so an answer that skips
the outer model's first layer gets other values).
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from autograder.checks import BuiltArgument

REINIT_RANGE = (2.0, 3.0)  # the fingerprint net's own kernel initialiser: RandomUniform(2, 3)
BIAS_RANGE = (4.0, 5.0)    # and its own bias initialiser: RandomUniform(4, 5)
NESTED_PREPROCESS = (2.0, -1.0)  # the nested style's Rescaling(scale, offset): [0, 1] -> [-1, 1]

ARCHITECTURES = {
    # name: (input shape, [(layer name, layer kind, config)], ...)
    "linear": lambda p: [("flatten", "Flatten", {}), ("logits", "Dense", {"units": p["classes"]})],
    "patch": lambda p: [("patches", "Conv2D", {"filters": p["filters"], "kernel_size": 4, "strides": 4}),
                        ("flatten", "Flatten", {}), ("logits", "Dense", {"units": p["classes"]})],
    "relu_head": lambda p: [("features", "Conv2D", {"filters": p["filters"], "kernel_size": 3, "padding": "same"}),
                            ("relu", "ReLU", {}), ("flatten", "Flatten", {}),
                            ("logits", "Dense", {"units": p["classes"]})],
    "gap": lambda p: [("conv1", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}),
                      ("pool", "MaxPooling2D", {"pool_size": 2}),
                      ("conv2", "Conv2D", {"filters": 6, "kernel_size": 3, "padding": "same",
                                           "activation": "relu"}),
                      ("gap", "GlobalAveragePooling2D", {}), ("logits", "Dense", {"units": p["classes"]})],
    "detector": lambda p: [("colour", "Conv2D", {"filters": 3, "kernel_size": 1, "activation": "relu"}),
                           ("conv2", "Conv2D", {"filters": 3, "kernel_size": 3, "padding": "same",
                                                "activation": "relu"}),
                           ("gap", "GlobalAveragePooling2D", {}), ("logits", "Dense", {"units": 3})],
    "fingerprint": lambda p: [("conv_a", "Conv2D", {"filters": 2, "kernel_size": 3, "activation": "relu"}),
                              ("conv_b", "Conv2D", {"filters": 2, "kernel_size": 3}),
                              ("flatten", "Flatten", {}), ("dense_c", "Dense", {"units": 4}),
                              ("logits", "Dense", {"units": 3})],
}


class KerasNet(BuiltArgument):
    """A picklable description of a small Keras network; :meth:`build` makes the model.

    ``weights`` maps a layer name to its weight arrays (as ``layer.set_weights`` takes them). ``style``:
    ``"functional"``, ``"sequential"`` or ``"nested"``.
    """

    def __init__(self, arch: str, input_shape: Sequence[int], weights: Dict[str, List[np.ndarray]],
                 style: str = "functional", classes: int = 3, filters: int = 4, seeded_initialisers: bool = True):
        self.arch, self.input_shape, self.style = arch, tuple(int(s) for s in input_shape), style
        self.weights = {k: [np.asarray(w, dtype=np.float32) for w in v] for k, v in weights.items()}
        self.params = {"classes": int(classes), "filters": int(filters)}
        # the fingerprint net's initialisers: seeded (the same draws whatever ran before) or, as Keras' defaults,
        # unseeded (their seed is taken from Python's `random` when the layer is created, e.g. by clone_model)
        self.seeded_initialisers = bool(seeded_initialisers)

    def layer_specs(self):
        return ARCHITECTURES[self.arch](self.params)

    def build(self):
        import keras

        L = keras.layers
        extra = {}
        if self.arch == "fingerprint":
            seeds = (7, 8) if self.seeded_initialisers else (None, None)
            extra = {"kernel_initializer": keras.initializers.RandomUniform(*REINIT_RANGE, seed=seeds[0]),
                     "bias_initializer": keras.initializers.RandomUniform(*BIAS_RANGE, seed=seeds[1])}
        layers = []
        for name, kind, cfg in self.layer_specs():
            kw = dict(cfg, **(extra if kind in ("Conv2D", "Dense") else {}))
            layers.append(getattr(L, kind)(name=name, **kw))
        if self.style == "sequential":
            model = keras.Sequential([keras.Input(self.input_shape, name="image")] + layers, name=self.arch)
        else:
            inputs = keras.Input(self.input_shape, name="image")
            x = inputs
            for layer in layers:
                x = layer(x)
            model = keras.Model(inputs, x, name=self.arch)
        for name, values in self.weights.items():
            model.get_layer(name).set_weights(values)
        if self.style == "nested":  # the base model sits inside a Sequential, behind a preprocessing layer
            scale, offset = NESTED_PREPROCESS
            model = keras.Sequential([keras.Input(self.input_shape, name="photo"),
                                      L.Rescaling(scale, offset=offset, name="to_minus_one_one"), model],
                                     name="outer")
        return model


# ---------------------------------------------------------------------------- the networks' weights
def _rng(seed):
    return np.random.default_rng(seed)


def linear_net(seed: int = 0, shape=(6, 5, 3), classes: int = 3, style: str = "functional") -> KerasNet:
    r = _rng(seed)
    n = int(np.prod(shape))
    return KerasNet("linear", shape, {"logits": [r.normal(0, 1, (n, classes)), r.normal(0, 0.5, classes)]},
                    style=style, classes=classes)


def patch_net(seed: int = 0, shape=(16, 16, 3), filters: int = 5, classes: int = 3,
              style: str = "functional") -> KerasNet:
    r = _rng(seed)
    h, w = shape[0] // 4, shape[1] // 4
    return KerasNet("patch", shape, {"patches": [r.normal(0, 0.3, (4, 4, 3, filters)), r.normal(0, 0.1, filters)],
                                     "logits": [r.normal(0, 0.3, (h * w * filters, classes)),
                                                r.normal(0, 0.1, classes)]},
                    style=style, classes=classes, filters=filters)


def relu_head_net(seed: int = 0, shape=(10, 12, 3), filters: int = 4, classes: int = 3,
                  style: str = "functional") -> KerasNet:
    r = _rng(seed)
    n = shape[0] * shape[1] * filters
    return KerasNet("relu_head", shape, {"features": [r.normal(0, 0.4, (3, 3, 3, filters)), r.normal(0, 0.2, filters)],
                                         "logits": [r.normal(0, 0.3, (n, classes)), r.normal(0, 0.1, classes)]},
                    style=style, classes=classes, filters=filters)


def gap_net(seed: int = 0, shape=(16, 16, 3), classes: int = 3, style: str = "functional") -> KerasNet:
    r = _rng(seed)
    return KerasNet("gap", shape, {"conv1": [r.normal(0, 0.5, (3, 3, 3, 4)), r.normal(0, 0.1, 4)],
                                   "conv2": [r.normal(0, 0.4, (3, 3, 4, 6)), r.normal(0.05, 0.1, 6)],
                                   "logits": [r.normal(0, 1.0, (6, classes)), r.normal(0, 0.1, classes)]},
                    style=style, classes=classes)


def detector_net(style: str = "functional", size: int = 32) -> KerasNet:
    """Hand-wired: ``colour`` filter c fires where channel c exceeds the mean of the other two by 0.25;
    ``conv2`` smooths each detector map; the logits read the averaged maps."""
    colour = np.full((1, 1, 3, 3), -1.0)
    colour[0, 0, np.arange(3), np.arange(3)] = 2.0
    colour_bias = np.full(3, -0.5)
    smooth = np.zeros((3, 3, 3, 3))
    for c in range(3):
        smooth[:, :, c, c] = [[0.5, 1.0, 0.5], [1.0, 2.0, 1.0], [0.5, 1.0, 0.5]]
    dense = 20.0 * np.eye(3) - 5.0
    return KerasNet("detector", (size, size, 3), {"colour": [colour, colour_bias], "conv2": [smooth, np.zeros(3)],
                                                  "logits": [dense, np.zeros(3)]}, style=style)


def fingerprint_net(seed: int = 0, shape=(8, 7, 3), seeded_initialisers: bool = True) -> KerasNet:
    r = _rng(seed)
    h, w = shape[0] - 4, shape[1] - 4
    u = lambda *s: r.uniform(-1.0, 1.0, s)  # noqa: E731 - outside the initialisers' ranges [2, 3] and [4, 5]
    return KerasNet("fingerprint", shape, {"conv_a": [u(3, 3, 3, 2), u(2)], "conv_b": [u(3, 3, 2, 2), u(2)],
                                           "dense_c": [u(h * w * 2, 4), u(4)], "logits": [u(4, 3), u(3)]},
                    seeded_initialisers=seeded_initialisers)


FINGERPRINT_LAYERS = ("logits", "dense_c", "conv_b", "conv_a")


# ---------------------------------------------------------------------------- objects the checks send
class FingerprintMap:
    """A stand-in explanation method for ``randomisation_check``: its map shows which layers were changed.

    ``method(model, image, class_index)`` returns a fixed signed map (``shape``) of which the block
    belonging to each layer of ``FINGERPRINT_LAYERS`` is permuted in one way when that layer's kernel was
    re-initialised with its own initialiser (values in [2, 3]) and in another, with its signs flipped,
    when it was changed any other way. The correlations a correct check returns are therefore known
    exactly (:func:`autograder.answers.ch04_cnn.fingerprint_correlations`).
    """
    SANDBOX_LOCAL = True  # a stand-in explanation method the student's code calls with a real Keras model

    def __init__(self, original: Dict[str, np.ndarray], seed: int = 0, shape=(8, 8)):
        self.original = {k: np.asarray(v, dtype=np.float32) for k, v in original.items()}
        self.seed, self.shape = seed, tuple(shape)
        self.seen: List[str] = []  # a digest of every weight of each model this method was called with

    def record(self, model) -> None:
        import hashlib

        digest = hashlib.sha256()
        for weight in model.get_weights():
            digest.update(np.ascontiguousarray(np.asarray(weight, dtype=np.float32)).tobytes())
        self.seen.append(digest.hexdigest())

    def states(self, model) -> List[int]:
        """Per layer of FINGERPRINT_LAYERS: 0 unchanged, 1 re-initialised with its own initialiser, 2 other."""
        out = []
        for name in FINGERPRINT_LAYERS:
            kernel = np.asarray(model.get_layer(name).get_weights()[0], dtype=np.float32)
            if np.array_equal(kernel, self.original[name]):
                out.append(0)
            elif kernel.min() >= REINIT_RANGE[0] and kernel.max() <= REINIT_RANGE[1]:
                out.append(1)
            else:
                out.append(2)
        return out

    def __call__(self, model=None, image=None, class_index=None):
        self.record(model)
        return fingerprint_map(self.states(model), self.seed, self.shape)


class BiasFingerprintMap(FingerprintMap):
    """:class:`FingerprintMap` that also reads the biases: a layer counts as re-initialised with its own
    initialisers (state 1) only when its kernel was re-drawn from ``RandomUniform(2, 3)`` *and* its bias
    from ``RandomUniform(4, 5)``; a layer whose kernel alone was re-drawn is state 2 (changed another way).
    ``original`` maps a layer name to its bias."""

    def __init__(self, original: Dict[str, np.ndarray], original_bias: Dict[str, np.ndarray], seed: int = 0,
                 shape=(8, 8)):
        super().__init__(original, seed, shape)
        self.original_bias = {k: np.asarray(v, dtype=np.float32) for k, v in original_bias.items()}

    def states(self, model) -> List[int]:
        out = []
        for name, kernel_state in zip(FINGERPRINT_LAYERS, super().states(model)):
            bias = np.asarray(model.get_layer(name).get_weights()[1], dtype=np.float32)
            bias_same = np.array_equal(bias, self.original_bias[name])
            bias_own = bias.min() >= BIAS_RANGE[0] and bias.max() <= BIAS_RANGE[1]
            if kernel_state == 0 and bias_same:
                out.append(0)
            elif kernel_state == 1 and bias_own:
                out.append(1)
            else:
                out.append(2)
        return out


class ConstantOriginalMap(FingerprintMap):
    """A stand-in method whose map of the *unchanged* model is constant (all ones), and the fingerprint
    once any layer was changed: every correlation is then undefined, and 0.0 by the exercise's rule."""

    def __call__(self, model=None, image=None, class_index=None):
        states = self.states(model)
        self.record(model)
        if not any(states):
            return np.ones(self.shape)
        return fingerprint_map(states, self.seed, self.shape)


class RepeatableFingerprint(BuiltArgument):
    """The ``method`` argument of a reproducibility check: built where the student's function runs, as a
    :class:`FingerprintMap` that records the weights it is shown and knows the student's function, so that
    :class:`CallAgain` can call it a second time on the same model object. Building it sets Python's
    ``random`` to ``random_seed`` (the state "whatever ran before" the first call)."""

    def __init__(self, original: Dict[str, np.ndarray], random_seed: int = 1):
        self.original = {k: np.asarray(v, dtype=np.float32) for k, v in original.items()}
        self.random_seed = int(random_seed)

    def build_for(self, fn):
        import random

        method = FingerprintMap(self.original)
        method.function = fn
        random.seed(self.random_seed)
        return method


class CallAgain:
    """``then`` for a reproducibility check: call the student's function a second time with the *same*
    arguments (the same model object), after setting Python's ``random`` to another state, and return
    ``(first result, second result, 1.0 if the method was shown the same weights at every step of both
    calls else 0.0, number of maps computed in the first call)``."""

    def __init__(self, random_seed: int = 2):
        self.random_seed = int(random_seed)

    def __call__(self, value, kwargs):
        import random

        method = kwargs["method"]
        first = list(method.seen)
        method.seen.clear()
        random.seed(self.random_seed)
        again = method.function(**kwargs)
        if again is None:
            return None
        return (value, again, float(first == method.seen), float(len(first)))


def fingerprint_map(states: Sequence[int], seed: int = 0, shape=(8, 8)) -> np.ndarray:
    """The map :class:`FingerprintMap` returns for given layer states (also used for the expected answer)."""
    r = _rng(seed)
    n = int(np.prod(shape))
    base = r.uniform(0.1, 1.0, n) * r.choice([-1.0, 1.0], n)
    blocks = np.array_split(np.arange(n), len(FINGERPRINT_LAYERS) + 1)  # the last block never changes
    perms = [(r.permutation(len(b)), r.permutation(len(b))) for b in blocks]
    out = base.copy()
    for j, state in enumerate(states):
        if state:
            idx = blocks[j]
            out[idx] = base[idx][perms[j][state - 1]] * (1.0 if state == 1 else -1.0)
    return out.reshape(shape)


class LinearSaliency:
    """A stand-in method for ``randomisation_check``: |gradient| of a ``linear`` net's logit, from its
    current weights (so it changes with every re-initialised layer, randomly)."""
    SANDBOX_LOCAL = True  # a stand-in explanation method the student's code calls with a real Keras model

    def __call__(self, model=None, image=None, class_index=None):
        w = np.asarray(model.get_layer("logits").get_weights()[0])[:, int(class_index)]
        return np.abs(w).reshape(np.shape(image)[:2] + (-1,)).max(axis=-1)


# ---------------------------------------------------------------------------- post-processing (THEN)
class DescribeArray:
    """``then``: the result as ``(dtype name, values)`` so a check can see that it was ``uint8``."""

    def __call__(self, value, kwargs):
        kind = getattr(value, "dtype", None)
        return (str(kind) if kind is not None else type(value).__name__, value)


class EvaluateModel:
    """``then``: ``(1.0 if the result is a keras.Model else 0.0, result(x))`` for a returned model."""

    def __init__(self, x: np.ndarray):
        self.x = np.asarray(x, dtype=np.float32)

    def __call__(self, value, kwargs):
        import keras

        out = value(self.x)
        if isinstance(out, (list, tuple)):
            out = out[0]
        return (float(isinstance(value, keras.Model)), np.asarray(out))


class ModelUnchanged:
    """``then``: ``(result, 1.0 if the model argument's weights are as they were built else 0.0)``."""

    def __init__(self, weights: Dict[str, List[np.ndarray]]):
        self.weights = {k: [np.asarray(w, dtype=np.float32) for w in v] for k, v in weights.items()}

    def __call__(self, value, kwargs):
        model = kwargs["model"]
        same = all(np.array_equal(np.asarray(a, dtype=np.float32), b)
                   for name, ws in self.weights.items()
                   for a, b in zip(model.get_layer(name).get_weights(), ws))
        return (value, float(same))


class VanishingMap(FingerprintMap):
    """A stand-in method whose map becomes all zeros once ``conv_b`` was changed (like a Grad-CAM whose ReLU
    removes everything once enough layers are random): from then on every correlation is undefined. Before
    that it is the fingerprint, so the first correlations are known and not zero."""

    def __call__(self, model=None, image=None, class_index=None):
        states = self.states(model)
        self.record(model)
        if states[FINGERPRINT_LAYERS.index("conv_b")]:
            return np.zeros(self.shape)
        return fingerprint_map(states, self.seed, self.shape)
