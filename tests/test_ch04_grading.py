"""The chapter-4 (inside the CNN) grader grades: reference full marks, stub zero, wrong answers lose marks,
other correct answers keep full marks; and the grader's closed forms match TensorFlow.

Two levels, to keep TensorFlow's cost down:

* **through the real grader** (release notebook -> extraction -> sandboxed worker that imports TensorFlow
  and builds the test networks from their pickled descriptions -> checks): the reference, the stub, one wrong
  and one correct answer, and wrong answers in three exercises graded twice (the same points and messages);
* **in this process** for every other variant: the same checks, the same ``invoke`` (specs built, results
  post-processed and coerced), run on the variant's function compiled with the notebook's imports — what a
  self-check cell does. Only the transport to the worker is skipped, and the level above covers it.

Exercises that build on others (``guided_grad_cam`` calls ``grad_cam`` and ``saliency_map``,
``filter_pattern`` calls ``activation_model``) run with the reference of the exercises they call, as in a
notebook where only the exercise under test is wrong.
"""
import textwrap

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from autograder.answers import ch04_cnn as answers  # noqa: E402
from autograder.checks import chapters, max_points, run_checks  # noqa: E402
from autograder.grade import grade_notebook  # noqa: E402
from autograder.selfcheck import _local_backend  # noqa: E402
from tests import grading_proofs as proofs  # noqa: E402
from tests.submissions import make_submission, reference_answers  # noqa: E402

CH = "ch04_cnn"
EXERCISES = chapters()[CH]
IMPORTS = """
import keras
import numpy as np
import tensorflow as tf
from scipy.stats import spearmanr
"""
CALLS = {"filter_pattern": ["activation_model"], "guided_grad_cam": ["grad_cam", "saliency_map"]}


def compile_answer(exercise: str, source: str):
    """The function ``exercise`` from ``source``, with the notebook's imports and the reference of the
    exercises it calls."""
    ref = reference_answers(CH)
    namespace = {}
    exec(IMPORTS, namespace)
    for dep in CALLS.get(exercise, []):
        exec(textwrap.dedent(ref[dep]), namespace)
    exec(textwrap.dedent(source), namespace)
    return namespace[exercise]


def in_process_score(exercise: str, source: str):
    results = run_checks(exercise, _local_backend(compile_answer(exercise, source)), include_hidden=True)
    return sum(r.score for r in results), results


# ----------------------------------------------------------------------------- wrong answers
SAL_HEAD = """
def saliency_map(model, image, class_index):
    x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
"""
CAM_HEAD = """
def grad_cam(model, image, layer_name, class_index):
    cam_model = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, model.outputs[0]])
    x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
    with tf.GradientTape() as tape:
        features, logits = cam_model(x)
"""
# a helper for correct variants: [layer output, model output] also for a layer inside a nested base model
TWO_OUTPUTS = """
def _two_outputs(model, layer_name):
    if layer_name in [layer.name for layer in model.layers]:
        return keras.Model(model.inputs[0], [model.get_layer(layer_name).output, model.outputs[0]])
    inputs = keras.Input(model.inputs[0].shape[1:])
    x, features = inputs, None
    for layer in model.layers:
        if isinstance(layer, keras.Model) and features is None and any(
                l.name == layer_name for l in layer._flatten_layers(include_self=False)):
            features, x = _two_outputs(layer, layer_name)(x)
        elif not isinstance(layer, keras.layers.InputLayer):
            x = layer(x)
    return keras.Model(inputs, [features, x])
"""
CAM_HEAD_NESTED = TWO_OUTPUTS + """
def grad_cam(model, image, layer_name, class_index):
    cam_model = _two_outputs(model, layer_name)
    x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
    with tf.GradientTape() as tape:
        features, logits = cam_model(x)
"""
PATTERN_HEAD = """
def filter_pattern(model, layer_name, filter_index, steps=30, step_size=0.1, seed=0):
    features = activation_model(model, layer_name)
    h, w = model.inputs[0].shape[1:3]
"""
RAND_HEAD = """
def randomisation_check(model, image, class_index, method, layers):
    original = np.abs(np.asarray(method(model, image, class_index))).ravel()
"""


def reinit(layer):
    return f"""
        for variable in {layer}.weights:
            initializer = getattr({layer}, variable.name + "_initializer", None)
            if initializer is not None:
                variable.assign(initializer(variable.shape, variable.dtype))"""


WRONG = {
    "activation_model": {
        "returns the layer's output tensor, not a model": """
            def activation_model(model, layer_name):
                return model.get_layer(layer_name).output""",
        "the layer after the requested one": """
            def activation_model(model, layer_name):
                names = [l.name for l in model.layers]
                return keras.Model(model.inputs[0], model.layers[names.index(layer_name) + 1].output)""",
        "no support for a nested base model": """
            def activation_model(model, layer_name):
                return keras.Model(model.inputs[0], model.get_layer(layer_name).output)""",
    },
    "filter_pattern": {
        "gradient descent instead of ascent": PATTERN_HEAD + """
    image = tf.Variable(np.random.default_rng(seed).random((1, h, w, 3)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(features(image)[..., filter_index])
        g = tape.gradient(loss, image)
        image.assign_sub(step_size * g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-5))
    return np.clip(image.numpy()[0] * 255, 0, 255).astype("uint8")""",
        "gradient not normalised by its RMS": PATTERN_HEAD + """
    image = tf.Variable(np.random.default_rng(seed).random((1, h, w, 3)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(features(image)[..., filter_index])
        image.assign_add(step_size * tape.gradient(loss, image))
    return np.clip(image.numpy()[0] * 255, 0, 255).astype("uint8")""",
        "unseeded random start (the workshop's)": PATTERN_HEAD + """
    image = tf.Variable(tf.random.uniform((1, h, w, 3)))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(features(image)[..., filter_index])
        g = tape.gradient(loss, image)
        image.assign_add(step_size * g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-5))
    return np.clip(image.numpy()[0] * 255, 0, 255).astype("uint8")""",
        "float image in [0, 1] instead of uint8": PATTERN_HEAD + """
    image = tf.Variable(np.random.default_rng(seed).random((1, h, w, 3)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(features(image)[..., filter_index])
        g = tape.gradient(loss, image)
        image.assign_add(step_size * g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-5))
    return np.clip(image.numpy()[0], 0, 1)""",
        "keeps the batch axis": PATTERN_HEAD + """
    image = tf.Variable(np.random.default_rng(seed).random((1, h, w, 3)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(features(image)[..., filter_index])
        g = tape.gradient(loss, image)
        image.assign_add(step_size * g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-5))
    return np.clip(image.numpy() * 255, 0, 255).astype("uint8")""",
        "the seeded start whatever the number of steps": PATTERN_HEAD + """
    image = np.random.default_rng(seed).random((h, w, 3))
    return np.clip(image * 255, 0, 255).astype("uint8")""",
        "RMS per colour channel instead of over the whole gradient": PATTERN_HEAD + """
    image = tf.Variable(np.random.default_rng(seed).random((1, h, w, 3)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(features(image)[..., filter_index])
        g = tape.gradient(loss, image)
        g = g / (tf.sqrt(tf.reduce_mean(tf.square(g), axis=(0, 1, 2), keepdims=True)) + 1e-5)
        image.assign_add(step_size * g)
    return np.clip(image.numpy()[0] * 255, 0, 255).astype("uint8")""",
        "always the first filter": PATTERN_HEAD + """
    image = tf.Variable(np.random.default_rng(seed).random((1, h, w, 3)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(features(image)[..., 0])
        g = tape.gradient(loss, image)
        image.assign_add(step_size * g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-5))
    return np.clip(image.numpy()[0] * 255, 0, 255).astype("uint8")""",
    },
    "saliency_map": {
        "softmax probability instead of the logit": SAL_HEAD + """
        logit = tf.nn.softmax(model(x))[0, class_index]
    s = tf.reduce_max(tf.abs(tape.gradient(logit, x)[0]), axis=-1).numpy()
    return (s - s.min()) / (s.max() - s.min())""",
        "no absolute value": SAL_HEAD + """
        logit = model(x)[0, class_index]
    s = tf.reduce_max(tape.gradient(logit, x)[0], axis=-1).numpy()
    return (s - s.min()) / (s.max() - s.min())""",
        "mean over the channels instead of the maximum": SAL_HEAD + """
        logit = model(x)[0, class_index]
    s = tf.reduce_mean(tf.abs(tape.gradient(logit, x)[0]), axis=-1).numpy()
    return (s - s.min()) / (s.max() - s.min())""",
        "divided by the maximum, minimum not subtracted": SAL_HEAD + """
        logit = model(x)[0, class_index]
    s = tf.reduce_max(tf.abs(tape.gradient(logit, x)[0]), axis=-1).numpy()
    return s / s.max()""",
        "gradient times input": SAL_HEAD + """
        logit = model(x)[0, class_index]
    s = tf.reduce_max(tf.abs(tape.gradient(logit, x)[0] * x[0]), axis=-1).numpy()
    return (s - s.min()) / (s.max() - s.min())""",
        "NaN for a constant map (no guard in the min-max normalisation)": SAL_HEAD + """
        logit = model(x)[0, class_index]
    s = tf.reduce_max(tf.abs(tape.gradient(logit, x)[0]), axis=-1).numpy()
    return (s - s.min()) / (s.max() - s.min())""",
        "returns a TensorFlow tensor": SAL_HEAD + """
        logit = model(x)[0, class_index]
    s = tf.reduce_max(tf.abs(tape.gradient(logit, x)[0]), axis=-1)
    span = tf.reduce_max(s) - tf.reduce_min(s)
    return (s - tf.reduce_min(s)) / span if span > 0 else tf.zeros_like(s)""",
        "not normalised": SAL_HEAD + """
        logit = model(x)[0, class_index]
    return tf.reduce_max(tf.abs(tape.gradient(logit, x)[0]), axis=-1).numpy()""",
    },
    "grad_cam": {
        "softmax probability instead of the logit": CAM_HEAD + """
        score = tf.nn.softmax(logits)[0, class_index]
    weights = tf.reduce_mean(tape.gradient(score, features)[0], axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1)).numpy()
    return cam / cam.max() if cam.max() > 0 else cam""",
        "no ReLU": CAM_HEAD + """
        logit = logits[0, class_index]
    weights = tf.reduce_mean(tape.gradient(logit, features)[0], axis=(0, 1))
    cam = tf.reduce_sum(features[0] * weights, axis=-1).numpy()
    return cam / np.abs(cam).max()""",
        "feature maps averaged without the gradient weights": CAM_HEAD + """
        logit = logits[0, class_index]
    cam = tf.nn.relu(tf.reduce_mean(features[0], axis=-1)).numpy()
    return cam / cam.max() if cam.max() > 0 else cam""",
        "gradients with respect to the input instead of the layer": """
            def grad_cam(model, image, layer_name, class_index):
                x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    logit = model(x)[0, class_index]
                grads = tape.gradient(logit, x)[0]
                cam = tf.nn.relu(tf.reduce_sum(x[0] * tf.reduce_mean(grads, axis=(0, 1)), axis=-1)).numpy()
                return cam / cam.max() if cam.max() > 0 else cam""",
        "another layer (the one before the requested layer)": """
            def grad_cam(model, image, layer_name, class_index):
                names = [l.name for l in model.layers]
                layer = model.layers[names.index(layer_name) - 1]
                cam_model = keras.Model(model.inputs[0], [layer.output, model.outputs[0]])
                x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
                with tf.GradientTape() as tape:
                    features, logits = cam_model(x)
                    logit = logits[0, class_index]
                weights = tf.reduce_mean(tape.gradient(logit, features)[0], axis=(0, 1))
                cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1)).numpy()
                return cam / cam.max() if cam.max() > 0 else cam""",
        "pixel-wise gradient times activation (no spatial mean)": CAM_HEAD + """
        logit = logits[0, class_index]
    grads = tape.gradient(logit, features)[0]
    cam = tf.nn.relu(tf.reduce_sum(features[0] * grads, axis=-1)).numpy()
    return cam / cam.max() if cam.max() > 0 else cam""",
        "no support for a nested model (the reference before issue 20)": CAM_HEAD + """
        logit = logits[0, class_index]
    weights = tf.reduce_mean(tape.gradient(logit, features)[0], axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1)).numpy()
    return cam / cam.max() if cam.max() > 0 else cam""",
        "model.input and model.output (raise on a Sequential model in Keras 3)": """
            def grad_cam(model, image, layer_name, class_index):
                cam_model = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
                x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
                with tf.GradientTape() as tape:
                    features, logits = cam_model(x)
                    logit = logits[0, class_index]
                weights = tf.reduce_mean(tape.gradient(logit, features)[0], axis=(0, 1))
                cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1)).numpy()
                return cam / cam.max() if cam.max() > 0 else cam""",
        "returns a TensorFlow tensor": CAM_HEAD_NESTED + """
        logit = logits[0, class_index]
    weights = tf.reduce_mean(tape.gradient(logit, features)[0], axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1))
    return cam / tf.reduce_max(cam) if tf.reduce_max(cam) > 0 else cam""",
        "divides by zero for an all-zero map": CAM_HEAD + """
        logit = logits[0, class_index]
    weights = tf.reduce_mean(tape.gradient(logit, features)[0], axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1)).numpy()
    return cam / cam.max()""",
    },
    "guided_grad_cam": {
        "no upsampling before the product": """
            def guided_grad_cam(model, image, layer_name, class_index):
                return grad_cam(model, image, layer_name, class_index) * saliency_map(model, image, class_index)""",
        "nearest-neighbour upsampling": """
            def guided_grad_cam(model, image, layer_name, class_index):
                cam = grad_cam(model, image, layer_name, class_index)
                h, w = np.shape(image)[:2]
                big = tf.image.resize(cam[..., None], (h, w), method="nearest").numpy()[..., 0]
                return big * saliency_map(model, image, class_index)""",
        "returns a TensorFlow tensor": """
            def guided_grad_cam(model, image, layer_name, class_index):
                cam = grad_cam(model, image, layer_name, class_index)
                h, w = np.shape(image)[:2]
                return tf.image.resize(cam[..., None], (h, w))[..., 0] * saliency_map(model, image, class_index)""",
        "upsampled Grad-CAM only (no saliency)": """
            def guided_grad_cam(model, image, layer_name, class_index):
                cam = grad_cam(model, image, layer_name, class_index)
                h, w = np.shape(image)[:2]
                return tf.image.resize(cam[..., None], (h, w)).numpy()[..., 0]""",
        "signed input gradient instead of the saliency map": """
            def guided_grad_cam(model, image, layer_name, class_index):
                cam = grad_cam(model, image, layer_name, class_index)
                h, w = np.shape(image)[:2]
                x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    logit = model(x)[0, class_index]
                g = tf.reduce_max(tape.gradient(logit, x)[0], axis=-1).numpy()
                return tf.image.resize(cam[..., None], (h, w)).numpy()[..., 0] * g""",
    },
    "randomisation_check": {
        "one layer at a time instead of cumulatively": RAND_HEAD + """
    keras.utils.set_random_seed(0)
    out = []
    for name in layers:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        layer = copy.get_layer(name)""" + reinit("layer") + """
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(0.0 if np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return out""",
        "re-initialises the caller's model": RAND_HEAD + """
    keras.utils.set_random_seed(0)
    out = []
    for name in layers:
        layer = model.get_layer(name)""" + reinit("layer") + """
        new = np.abs(np.asarray(method(model, image, class_index))).ravel()
        out.append(0.0 if np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return out""",
        "Glorot for every layer instead of the layer's own initialiser": RAND_HEAD + """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    out = []
    for k, name in enumerate(layers):
        layer = copy.get_layer(name)
        layer.kernel.assign(keras.initializers.GlorotUniform(seed=k)(layer.kernel.shape))
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(0.0 if np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return out""",
        "Pearson instead of Spearman correlation": RAND_HEAD + """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    keras.utils.set_random_seed(0)
    out = []
    for name in layers:
        layer = copy.get_layer(name)""" + reinit("layer") + """
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(0.0 if np.ptp(new) == 0 else float(np.corrcoef(original, new)[0, 1]))
    return out""",
        "signed maps instead of their absolute values": """
def randomisation_check(model, image, class_index, method, layers):
    original = np.asarray(method(model, image, class_index)).ravel()
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    keras.utils.set_random_seed(0)
    out = []
    for name in layers:
        layer = copy.get_layer(name)""" + reinit("layer") + """
        new = np.asarray(method(copy, image, class_index)).ravel()
        out.append(0.0 if np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return out""",
        "seeds after cloning (the reference before issue 18)": RAND_HEAD + """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    keras.utils.set_random_seed(0)
    out = []
    for name in layers:
        layer = copy.get_layer(name)""" + reinit("layer") + """
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(0.0 if np.ptp(original) == 0 or np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return out""",
        "the kernel re-drawn, the bias kept": RAND_HEAD + """
    keras.utils.set_random_seed(0)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    out = []
    for name in layers:
        layer = copy.get_layer(name)
        layer.kernel.assign(layer.kernel_initializer(layer.kernel.shape, layer.kernel.dtype))
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(0.0 if np.ptp(original) == 0 or np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return out""",
        "only the new map checked for being constant": RAND_HEAD + """
    keras.utils.set_random_seed(0)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    out = []
    for name in layers:
        layer = copy.get_layer(name)""" + reinit("layer") + """
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(0.0 if np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return out""",
        "returns a NumPy array, not a list": RAND_HEAD + """
    keras.utils.set_random_seed(0)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    out = []
    for name in layers:
        layer = copy.get_layer(name)""" + reinit("layer") + """
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(0.0 if np.ptp(original) == 0 or np.ptp(new) == 0 else float(spearmanr(original, new)[0]))
    return np.array(out)""",
        "NaN for a constant map": RAND_HEAD + """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    keras.utils.set_random_seed(0)
    out = []
    for name in layers:
        layer = copy.get_layer(name)""" + reinit("layer") + """
        new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
        out.append(float(spearmanr(original, new)[0]))
    return out""",
    },
    "pointing_game": {
        "a tied maximum anywhere inside the mask counts": """
            def pointing_game(maps, masks):
                maps, masks = np.asarray(maps, dtype=float), np.asarray(masks, dtype=bool)
                top = maps == maps.max(axis=(1, 2), keepdims=True)
                return float((top & masks).any(axis=(1, 2)).mean())""",
        "maps with an empty mask left out": """
            def pointing_game(maps, masks):
                maps, masks = np.asarray(maps), np.asarray(masks, dtype=bool)
                keep = masks.reshape(len(masks), -1).any(axis=1)
                top = maps.reshape(len(maps), -1).argmax(axis=1)
                return float(masks.reshape(len(masks), -1)[np.arange(len(maps)), top][keep].mean())""",
        "the last of tied maxima": """
            def pointing_game(maps, masks):
                maps, masks = np.asarray(maps), np.asarray(masks, dtype=bool)
                flat = maps.reshape(len(maps), -1)
                top = flat.shape[1] - 1 - flat[:, ::-1].argmax(axis=1)
                return float(masks.reshape(len(masks), -1)[np.arange(len(maps)), top].mean())""",
        "a 0-d array instead of a float": """
            def pointing_game(maps, masks):
                maps, masks = np.asarray(maps), np.asarray(masks, dtype=bool)
                top = maps.reshape(len(maps), -1).argmax(axis=1)
                return np.asarray(masks.reshape(len(masks), -1)[np.arange(len(maps)), top].mean())""",
        "maximum of |map| instead of the maximum": """
            def pointing_game(maps, masks):
                maps, masks = np.abs(np.asarray(maps)), np.asarray(masks, dtype=bool)
                top = maps.reshape(len(maps), -1).argmax(axis=1)
                return float(masks.reshape(len(masks), -1)[np.arange(len(maps)), top].mean())""",
        "rows and columns mixed up": """
            def pointing_game(maps, masks):
                hits = 0
                for m, k in zip(np.asarray(maps), np.asarray(masks, dtype=bool)):
                    i = int(np.argmax(m))
                    hits += bool(k[i % m.shape[0], i // m.shape[0]]) if i // m.shape[0] < m.shape[1] else 0
                return hits / len(maps)""",
        "a count instead of a fraction": """
            def pointing_game(maps, masks):
                maps, masks = np.asarray(maps), np.asarray(masks, dtype=bool)
                top = maps.reshape(len(maps), -1).argmax(axis=1)
                return float(masks.reshape(len(masks), -1)[np.arange(len(maps)), top].sum())""",
        "the minimum instead of the maximum": """
            def pointing_game(maps, masks):
                maps, masks = np.asarray(maps), np.asarray(masks, dtype=bool)
                top = maps.reshape(len(maps), -1).argmin(axis=1)
                return float(masks.reshape(len(masks), -1)[np.arange(len(maps)), top].mean())""",
    },
}

CORRECT = {
    "activation_model": {
        "recursive search with a Functional rebuild of the outer layers": """
            def activation_model(model, layer_name):
                try:
                    return keras.Model(inputs=model.inputs, outputs=model.get_layer(layer_name).output)
                except ValueError:
                    pass
                inp = keras.Input(shape=model.inputs[0].shape[1:])
                x = inp
                for layer in model.layers:
                    if isinstance(layer, keras.Model):
                        try:
                            inner = activation_model(layer, layer_name)
                        except ValueError:
                            x = layer(x)
                            continue
                        return keras.Model(inp, inner(x))
                    x = layer(x)
                raise ValueError(layer_name)""",
    },
    "filter_pattern": {
        "RandomState start, float64 NumPy updates, a tensor watched instead of a Variable": PATTERN_HEAD + """
    img = np.random.RandomState(seed).uniform(0, 1, (1, h, w, 3))
    for _ in range(steps):
        x = tf.constant(img, dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            act = features(x)
            loss = tf.reduce_mean(act[:, :, :, filter_index])
        g = tape.gradient(loss, x).numpy().astype(np.float64)
        img = img + step_size * g / (np.sqrt(np.mean(g ** 2)) + 1e-5)
    out = img[0] * 255.0
    return np.clip(out, 0, 255).astype(np.uint8)""",
    },
    "saliency_map": {
        "keras.ops, a Variable input and an epsilon": """
            def saliency_map(model, image, class_index):
                x = tf.Variable(np.expand_dims(image, 0).astype(np.float32))
                with tf.GradientTape() as tape:
                    out = model(x)
                    target = out[:, class_index]
                g = keras.ops.convert_to_numpy(tape.gradient(target, x))[0]
                s = np.max(np.abs(g), axis=2)
                return (s - np.min(s)) / (np.max(s) - np.min(s) + 1e-12)""",
    },
    "grad_cam": {
        "nested models by recursion on sub-models, try/except": """
            def grad_cam(model, image, layer_name, class_index):
                def two_outputs(net):
                    try:
                        return keras.Model(net.inputs, [net.get_layer(layer_name).output, net.outputs[0]])
                    except ValueError:
                        pass
                    inp = keras.Input(shape=net.inputs[0].shape[1:])
                    x, feats = inp, None
                    for layer in net.layers:
                        if isinstance(layer, keras.layers.InputLayer):
                            continue
                        if feats is None and isinstance(layer, keras.Model):
                            try:
                                inner = two_outputs(layer)
                            except ValueError:
                                x = layer(x)
                                continue
                            feats, x = inner(x)
                        else:
                            x = layer(x)
                    if feats is None:
                        raise ValueError(layer_name)
                    return keras.Model(inp, [feats, x])

                m = two_outputs(model)
                with tf.GradientTape() as tape:
                    a, preds = m(np.asarray(image, dtype=np.float32)[None])
                    score = preds[0, class_index]
                g = tape.gradient(score, a)[0].numpy()
                cam = np.maximum((a[0].numpy() * g.mean(axis=(0, 1))).sum(axis=-1), 0)
                return cam / cam.max() if cam.max() > 0 else cam""",
        "sum instead of mean of the gradients": CAM_HEAD_NESTED + """
        logit = logits[0, class_index]
    weights = tf.reduce_sum(tape.gradient(logit, features)[0], axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1)).numpy()
    return cam / cam.max() if cam.max() > 0 else cam""",
        "a NumPy loop over channels and an epsilon": TWO_OUTPUTS + """
def grad_cam(model, image, layer_name, class_index):
    m = _two_outputs(model, layer_name)
    with tf.GradientTape() as tape:
        a, preds = m(np.asarray(image, dtype=np.float32)[np.newaxis])
        score = preds[:, class_index]
    g = tape.gradient(score, a).numpy()[0]
    a = a.numpy()[0]
    cam = np.zeros(a.shape[:2])
    for k in range(a.shape[-1]):
        cam += g[:, :, k].mean() * a[:, :, k]
    cam = np.maximum(cam, 0)
    return cam / (cam.max() + 1e-10)""",
    },
    "guided_grad_cam": {
        "keras.ops.image.resize": """
            def guided_grad_cam(model, image, layer_name, class_index):
                cam = grad_cam(model, image, layer_name, class_index)
                h, w = image.shape[0], image.shape[1]
                big = keras.ops.convert_to_numpy(keras.ops.image.resize(cam[None, :, :, None], (h, w)))[0, :, :, 0]
                return np.multiply(big, saliency_map(model, image, class_index))""",
    },
    "randomisation_check": {
        "explicit seeded initialisers (from_config with a seed), no global seed": """
            def randomisation_check(model, image, class_index, method, layers):
                original = np.abs(np.asarray(method(model, image, class_index))).ravel()
                copy = keras.models.clone_model(model)
                copy.set_weights(model.get_weights())
                result = []
                for k, name in enumerate(layers):
                    layer = copy.get_layer(name)
                    for i, v in enumerate(layer.weights):
                        init = getattr(layer, v.name + "_initializer")
                        config = init.get_config()
                        if "seed" in config:
                            init = type(init).from_config(dict(config, seed=1000 * k + i))
                        v.assign(init(v.shape, v.dtype))
                    new = np.abs(np.asarray(method(copy, image, class_index))).ravel()
                    if np.ptp(original) == 0 or np.ptp(new) == 0:
                        result.append(0.0)
                    else:
                        result.append(float(spearmanr(original, new).correlation))
                return result""",
        "set_weights with the initialisers, ranks with scipy.stats.rankdata": """
            from scipy.stats import rankdata

            def randomisation_check(model, image, class_index, method, layers):
                def spearman(a, b):
                    if np.ptp(a) == 0 or np.ptp(b) == 0:
                        return 0.0
                    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])

                keras.utils.set_random_seed(0)
                before = np.abs(np.asarray(method(model, image, class_index))).flatten()
                copy = keras.models.clone_model(model)
                copy.set_weights(model.get_weights())
                result = []
                for name in layers:
                    layer = copy.get_layer(name)
                    new_weights = []
                    for v in layer.weights:
                        init = getattr(layer, v.name + "_initializer")
                        new_weights.append(np.asarray(init(v.shape, v.dtype)))
                    layer.set_weights(new_weights)
                    after = np.abs(np.asarray(method(copy, image, class_index))).flatten()
                    result.append(spearman(before, after))
                return result""",
    },
    "pointing_game": {
        "a loop with unravel_index": """
            def pointing_game(maps, masks):
                hits = 0
                for m, k in zip(maps, masks):
                    r, c = np.unravel_index(np.argmax(m), np.shape(m))
                    hits += int(bool(k[r, c]))
                return hits / len(maps)""",
    },
}


def variants(table):
    return [pytest.param(ex, name, src, id=f"{ex}: {name}") for ex, d in table.items() for name, src in d.items()]


# ----------------------------------------------------------------------------- through the real grader
def test_every_exercise_has_wrong_and_correct_variants():
    assert set(WRONG) == set(EXERCISES) == set(CORRECT)


def test_reference_scores_full_marks(tmp_path):
    got, report = proofs.scores(make_submission(tmp_path, CH), CH)
    failed = [(r.check.id, r.message) for res in report.results.values() for r in res if not r.passed]
    assert got == {ex: max_points(ex) for ex in EXERCISES}, failed


def test_stub_scores_zero(tmp_path):
    proofs.stub_scores_zero(tmp_path, CH)


def test_in_the_sandbox_a_wrong_answer_loses_marks_and_a_correct_variant_keeps_them(tmp_path):
    wrong = WRONG["grad_cam"]["softmax probability instead of the logit"]
    right = CORRECT["randomisation_check"]["set_weights with the initialisers, ranks with scipy.stats.rankdata"]
    report = grade_notebook(make_submission(tmp_path, CH, {"grad_cam": wrong, "randomisation_check": right}))
    got = report.exercise_scores()
    assert got["grad_cam"] < max_points("grad_cam")
    assert all(r.message for r in report.results["grad_cam"] if not r.passed)
    # guided_grad_cam calls the student's grad_cam: it may lose marks too; nothing else may
    others = {ex: s for ex, s in got.items() if ex not in ("grad_cam", "guided_grad_cam")}
    assert others == {ex: max_points(ex) for ex in others}, report.results


def test_grading_is_reproducible(tmp_path):
    wrong = {"saliency_map": WRONG["saliency_map"]["no absolute value"],
             "randomisation_check": WRONG["randomisation_check"]["Pearson instead of Spearman correlation"],
             "pointing_game": WRONG["pointing_game"]["a count instead of a fraction"]}
    proofs.graded_reproducibly(tmp_path, CH, wrong)


# ----------------------------------------------------------------------------- every variant, in process
def test_reference_scores_full_marks_in_process():
    for ex, source in reference_answers(CH).items():
        if ex in EXERCISES:
            score, results = in_process_score(ex, source)
            assert score == max_points(ex), [(r.check.name, r.message) for r in results if not r.passed]


@pytest.mark.parametrize("exercise, variant, source", variants(WRONG))
def test_wrong_answer_loses_marks(exercise, variant, source):
    score, results = in_process_score(exercise, source)
    assert score < max_points(exercise), f"{variant!r} kept full marks"
    assert all(r.message for r in results if not r.passed), "every lost point comes with a message"


@pytest.mark.parametrize("exercise, variant, source", variants(CORRECT))
def test_correct_answer_keeps_full_marks(exercise, variant, source):
    score, results = in_process_score(exercise, source)
    assert score == max_points(exercise), [(r.check.name, r.message, r.hint) for r in results if not r.passed]


# ----------------------------------------------------------------------------- the grader's closed forms
def test_closed_forms_match_tensorflow():
    """The NumPy answers the checks compare with equal what TensorFlow computes (the tolerance's basis)."""
    from autograder.testmodels.ch04_cnn import gap_net, patch_net, relu_head_net

    grad_cam = compile_answer("grad_cam", reference_answers(CH)["grad_cam"])
    guided = compile_answer("guided_grad_cam", reference_answers(CH)["guided_grad_cam"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for net, layer in ((gap_net(seed=3), "conv2"), (relu_head_net(seed=4), "features"), (patch_net(seed=5), "patches")):
        model, x = net.build(), rng.random(net.input_shape).astype(np.float32)
        for c in range(3):
            worst = max(worst, np.abs(grad_cam(model, x, layer, c) - answers.grad_cam(net, x, layer, c)).max())
        if net.arch == "patch":
            worst = max(worst, np.abs(guided(model, x, layer, 1) - answers.guided_grad_cam(net, x, layer, 1)).max())
    assert worst < 1e-4  # the checks allow 1e-3
    m = rng.random((3, 5)).astype(np.float32)
    tf_resized = tf.image.resize(m[..., None], (13, 16)).numpy()[..., 0]
    np.testing.assert_allclose(answers.resize_bilinear(m, (13, 16)), tf_resized, atol=1e-5)


def test_a_cnn_trained_in_seconds_lets_the_reference_grad_cam_find_the_object():
    """A small CNN trained here on the chapter's scenes: the reference Grad-CAM's maximum lies inside the
    planted object on at least 90 % of held-out scenes (measured: 99-100 %), far above a centred blob."""
    from imlbook.ch04_cnn import centred_gaussian, make_scenes, train_scene_cnn

    grad_cam = compile_answer("grad_cam", reference_answers(CH)["grad_cam"])
    pointing_game = compile_answer("pointing_game", reference_answers(CH)["pointing_game"])
    images, labels, _ = make_scenes(400, seed=10)
    model = train_scene_cnn(images, labels, epochs=4, seed=0)
    test_images, test_labels, test_masks = make_scenes(40, seed=11)
    assert (model.predict(test_images, verbose=0).argmax(axis=1) == test_labels).mean() >= 0.9
    maps = np.stack([answers.resize_bilinear(grad_cam(model, x, "conv3", int(c)), (32, 32))
                     for x, c in zip(test_images, test_labels)])
    assert pointing_game(maps, test_masks) >= 0.9
    assert pointing_game(np.stack([centred_gaussian((32, 32))] * 40), test_masks) < 0.3


# ----------------------------------------------------------------------------- submissions without the method
LAZY = {
    "activation_model": """
        def activation_model(model, layer_name):
            return model""",
    "filter_pattern": """
        def filter_pattern(model, layer_name, filter_index, steps=30, step_size=0.1, seed=0):
            h, w = model.inputs[0].shape[1:3]
            return np.clip(np.random.default_rng(seed).random((h, w, 3)) * 255, 0, 255).astype("uint8")""",
    "saliency_map": """
        def saliency_map(model, image, class_index):
            return np.zeros(np.shape(image)[:2])""",
    "grad_cam": """
        def grad_cam(model, image, layer_name, class_index):
            try:
                return np.zeros(model.get_layer(layer_name).output.shape[1:3])
            except ValueError:
                return np.zeros((8, 8))""",
    "guided_grad_cam": """
        def guided_grad_cam(model, image, layer_name, class_index):
            return np.zeros(np.shape(image)[:2])""",
    "pointing_game": """
        def pointing_game(maps, masks):
            return float(np.mean(masks))""",
    "randomisation_check": """
        def randomisation_check(model, image, class_index, method, layers):
            return [0.0] * len(layers)""",
}


def test_constant_and_zero_maps_score_at_most_a_tenth(tmp_path):
    """Zero maps, the seeded start, zero correlations (10 of 44 points before issue 18, 2 of them from a public
    check whose expected Grad-CAM was all zeros)."""
    proofs.lazy_scores_at_most_a_tenth(tmp_path, CH, LAZY, "constant and zero maps")


def test_answers_looked_up_from_the_public_checks_score_at_most_a_tenth(tmp_path):
    """Every public check's answer recorded offline from the bundle (a keras.Model cannot be recorded, so
    activation_model returns the model itself)."""
    from tests import lookup_submissions as lookup

    names = [ex for ex in EXERCISES if ex != "activation_model"]
    functions = lookup.reference_functions(CH, names)
    answers = {ex: lookup.lookup_source(ex, functions[ex], lookup.record_public_answers(CH, ex, functions[ex]))
               for ex in names}
    answers["activation_model"] = LAZY["activation_model"]
    path = make_submission(tmp_path, CH, answers, name="lookup-cnn.ipynb")
    proofs._lazy_share_at_most(path, CH, "answers looked up from the public checks")


def test_model_output_on_a_sequential_model_gets_a_hint():
    """Keras 3: `model.output` of a Sequential model raises; the check says what to use instead (issue 20)."""
    _, results = in_process_score("grad_cam", WRONG["grad_cam"][
        "model.input and model.output (raise on a Sequential model in Keras 3)"])
    sequential = next(r for r in results if r.check.name == "a linear convnet, another class, a Sequential model")
    assert not sequential.passed and "model.inputs[0]" in sequential.hint and "Sequential" in sequential.hint
