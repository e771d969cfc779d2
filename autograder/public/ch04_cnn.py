"""Public checks for chapter 4 (inside the CNN): shipped to students with the notebook.

No pretrained weights and no training: every check runs the student's function on a tiny Keras network
whose right answer follows from its weights (:mod:`autograder.testmodels.ch04_cnn`), and compares with that
closed form, computed in NumPy in the grader's own process (:mod:`autograder.answers.ch04_cnn`). The
network travels to the grader's worker as a picklable description and is built there, fresh for each call.

Tolerances: the closed forms and the reference (float32 TensorFlow) agree to within 2e-6 on every case here
(measured with the reference, the loop and the sum-of-gradients variants in tests/test_ch04_grading.py); the
checks allow 1e-3 (float64 answers, an epsilon in a denominator, other TensorFlow APIs all stay far inside).
"""
import numpy as np

from autograder.reference import reference
from autograder.checks import THEN, CheckFailed, StudentError, check, expect, expect_close, expect_shape
from autograder.testmodels.ch04_cnn import (FINGERPRINT_LAYERS, DescribeArray, EvaluateModel, FingerprintMap,
                                            LinearSaliency, ModelUnchanged, VanishingMap, fingerprint_net, gap_net,
                                            linear_net, patch_net, relu_head_net)

answers = reference("ch04_cnn")  # the reference values; the student bundle holds them, not the method


# The grader's worker imports these before any submission (a fork server may preload them).
WORKER_PRELOAD = ("tensorflow", "keras")

ATOL = 1e-3

# The inputs of these checks ship with the student bundle, so their answers can be computed offline and
# looked up: each public check is worth little, and the hidden checks, on networks, images and cases that are
# not in the bundle, carry nearly all of each exercise's points (issue 18; proven in tests/test_ch04_grading.py).
PUBLIC_POINTS = 0.125


def image_for(net, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(net.input_shape).astype(np.float32)


def expect_map(out, shape, what, hint=""):
    """A float array of ``shape``; a batch axis of 1 in front or a trailing channel of 1 is refused with a hint."""
    if isinstance(out, np.ndarray) and out.shape != tuple(shape) and out.size == int(np.prod(shape)):
        raise CheckFailed(f"{what} has shape {out.shape}, expected {tuple(shape)}",
                          hint="drop the batch axis and any channel axis of size 1 (e.g. `m[0]` or `np.squeeze`)")
    return expect_shape(out, shape, what, hint)


# ---------------------------------------------------------------------------
# activation_model
# ---------------------------------------------------------------------------
ACT = "activation_model"


def check_activations(call, net, layer, seed):
    x = np.stack([image_for(net, seed), image_for(net, seed + 1)])
    is_model, out = call(model=net, layer_name=layer, **{THEN: EvaluateModel(x)})
    expect(float(is_model) == 1.0, "activation_model should return a keras.Model",
           hint="keras.Model(inputs=..., outputs=...)")
    expected = np.stack([answers.layer_output(net, xi, layer) for xi in x])
    out = expect_shape(out, expected.shape, f"the activations of layer {layer!r} for a batch of 2 images",
                       hint="the model's outputs must be that layer's output, for the whole batch")
    expect_close(out, expected, f"the model's output is not the output of layer {layer!r}",
                 hint="outputs=model.get_layer(layer_name).output, with the network's own input as inputs",
                 atol=ATOL, rtol=1e-4)


@check(ACT, "returns a keras.Model whose output is that layer's output (Functional network)", points=PUBLIC_POINTS)
def _(call):
    check_activations(call, gap_net(seed=1), "conv1", seed=10)
    check_activations(call, gap_net(seed=1), "conv2", seed=11)


@check(ACT, "works for a Sequential network", points=PUBLIC_POINTS)
def _(call):
    check_activations(call, relu_head_net(seed=2, style="sequential"), "features", seed=12)


# ---------------------------------------------------------------------------
# filter_pattern
# ---------------------------------------------------------------------------
PATTERN = "filter_pattern"


def call_pattern(call, net, layer, filter_index, steps, step_size, seed):
    dtype, img = call(model=net, layer_name=layer, filter_index=filter_index, steps=steps, step_size=step_size,
                      seed=seed, **{THEN: DescribeArray()})
    return dtype, expect_map(img, net.input_shape, "the pattern",
                             hint="one image (H, W, 3) at the network's input size, without the batch axis")


@check(PATTERN, "returns a uint8 image (H, W, 3) at the network's input size", points=PUBLIC_POINTS)
def _(call):
    net = relu_head_net(seed=3)
    dtype, img = call_pattern(call, net, "features", 0, steps=5, step_size=0.1, seed=0)
    expect(dtype == "uint8", f"the pattern should be a uint8 array (like deprocess_image returns), got {dtype}",
           hint="np.clip(x * 255, 0, 255).astype('uint8')")


@check(PATTERN, "climbs the filter's gradient: the image moves towards the filter's preferred input", points=PUBLIC_POINTS)
def _(call):
    # features is a linear convolution: the mean activation of filter f is <g_f, x> + b with g_f known, and
    # 20 RMS-normalised steps of 0.15 move every pixel by 3 gradient-RMS along g_f, so the returned image
    # is strongly correlated with g_f. Measured with the reference over seeds 0-4: filter 1 0.90-0.91,
    # filter 3 0.82 (hidden case, filter 4 of another net: 0.91); a random image gives about 0, descent < 0.
    net = relu_head_net(seed=3)
    for f in (1, 3):
        _, img = call_pattern(call, net, "features", f, steps=20, step_size=0.15, seed=f)
        g = answers.filter_direction(net, "features", f)
        r = float(np.corrcoef(img.ravel(), g.ravel())[0, 1])
        expect(r > 0.7, f"after 20 steps the pattern of filter {f} should follow that filter's gradient "
                        f"(correlation {r:.2f}, expected > 0.7)",
               hint="gradient *ascent* on tf.reduce_mean(activation[..., filter_index]), the gradient divided by "
                    "its RMS (sqrt(mean(g**2)) + 1e-5), x += step_size * g")


@check(PATTERN, "is reproducible: the same seed gives the same image", points=PUBLIC_POINTS)
def _(call):
    net = relu_head_net(seed=3)
    _, a = call_pattern(call, net, "features", 2, steps=3, step_size=0.05, seed=4)
    _, b = call_pattern(call, net, "features", 2, steps=3, step_size=0.05, seed=4)
    expect(np.array_equal(a, b), "two calls with the same seed returned different images",
           hint="start from a uniform random image drawn with a generator seeded with `seed`, e.g. "
                "np.random.default_rng(seed).random(...)")


# ---------------------------------------------------------------------------
# saliency_map
# ---------------------------------------------------------------------------
SAL = "saliency_map"


def check_saliency(call, net, class_index, seed, what):
    image = image_for(net, seed)
    out = expect_map(call(model=net, image=image, class_index=class_index), net.input_shape[:2],
                     "the saliency map", hint="one value per pixel: (H, W)")
    expected = answers.saliency(net, class_index)
    expect(out.min() >= -1e-6 and out.max() <= 1 + 1e-6, f"the map should lie in [0, 1], got "
           f"[{out.min():.3g}, {out.max():.3g}]", hint="min-max normalise: (s - s.min()) / (s.max() - s.min())")
    expect_close(out, expected, f"wrong saliency map {what}",
                 hint="the gradient of the class *logit* (model output, no softmax) w.r.t. the input image, "
                      "its absolute value, the maximum over the colour channels, then min-max normalised",
                 atol=ATOL, rtol=0)
    return image


@check(SAL, "a model whose logit is linear in the image: the map is |weights|, max over channels, in [0, 1]", points=PUBLIC_POINTS)
def _(call):
    check_saliency(call, linear_net(seed=4), 1, seed=20, what="for a linear model (gradient = weight vector)")


@check(SAL, "a linear convnet (Functional and Sequential), other classes", points=PUBLIC_POINTS)
def _(call):
    check_saliency(call, patch_net(seed=5), 0, seed=21, what="for the convnet's class 0")
    check_saliency(call, patch_net(seed=5, style="sequential"), 2, seed=22, what="for a Sequential convnet")


@check(SAL, "leaves the image unchanged", points=PUBLIC_POINTS)
def _(call):
    net = linear_net(seed=4)
    image = image_for(net, 23)
    before = image.copy()
    call(model=net, image=image, class_index=0)
    call.expect_unchanged("image", before)


# ---------------------------------------------------------------------------
# grad_cam
# ---------------------------------------------------------------------------
CAM = "grad_cam"


def call_explaining_keras3(call, **kwargs):
    """``call(**kwargs)``; an error from ``model.input`` / ``model.output`` of a Sequential model (Keras 3 raises
    until the model was called) is failed with a hint that says what to use instead."""
    try:
        return call(**kwargs)
    except StudentError as exc:
        if "has never been called and thus has no defined" in exc.summary:
            raise CheckFailed(f"your function raised {exc.summary}" + (f" ({exc.where})" if exc.where else ""),
                              hint="in Keras 3 a Sequential model's `.input` and `.output` raise until the model has "
                                   "been called: use `model.inputs[0]` and `model.outputs[0]`") from None
        raise


def check_cam(call, net, layer, class_index, seed, expected=None, what=""):
    image = image_for(net, seed)
    expected = answers.grad_cam(net, image, layer, class_index) if expected is None else expected
    out = expect_map(call_explaining_keras3(call, model=net, image=image, layer_name=layer, class_index=class_index),
                     expected.shape,
                     f"the Grad-CAM map at layer {layer!r}",
                     hint=f"one value per position of that layer's feature maps: {expected.shape}; the gradient "
                          "must be taken w.r.t. that layer's output, not the input")
    expect_close(out, expected, f"wrong Grad-CAM map {what}".strip(),
                 hint="weights = spatial mean of d logit / d A (A = the layer's output, logit = model output "
                      "without softmax); map = ReLU(sum_k weight_k * A_k), divided by its maximum",
                 atol=ATOL, rtol=0)


@check(CAM, "a global-average-pooling network: Grad-CAM equals the class activation map A W[:, c]", points=PUBLIC_POINTS)
def _(call):
    net = gap_net(seed=6)
    image = image_for(net, 30)
    check_cam(call, net, "conv2", 0, 30, expected=answers.class_activation_map(net, image, 0),
              what="(for this network it is the CAM, ReLU(A @ W[:, c]) / max)")


@check(CAM, "a convnet with a ReLU after the layer: gradients differ across positions", points=PUBLIC_POINTS)
def _(call):
    net = relu_head_net(seed=7)
    check_cam(call, net, "features", 1, 31, what="for the convnet with a ReLU after the layer")


@check(CAM, "a linear convnet, another class, a Sequential model", points=PUBLIC_POINTS)
def _(call):
    check_cam(call, patch_net(seed=8, style="sequential"), "patches", 2, 32, what="for the Sequential convnet")


@check(CAM, "a map that is zero everywhere stays zero (no division by zero)", points=PUBLIC_POINTS)
def _(call):
    net = relu_head_net(seed=7)
    image = np.zeros(net.input_shape, dtype=np.float32)
    # with a zero image the features are the biases; pick a class whose weighted sum is negative everywhere
    a = answers.layer_output(net, image, "features")
    c = next(k for k in range(3)
             if answers.cam_from(a, answers.layer_gradient(net, image, "features", k), relu_on=False).max() < 0)
    out = expect_map(call(model=net, image=image, layer_name="features", class_index=c), a.shape[:2],
                     "the Grad-CAM map")
    expect_close(out, np.zeros(a.shape[:2]), "a map whose ReLU is zero everywhere should stay all zeros "
                 "(no NaN from 0/0)", hint="divide by the maximum only when it is > 0", atol=ATOL)
    # and the same class on an image whose map is not all zeros: zeros everywhere are not the answer
    check_cam(call, net, "features", c, 33, what=f"for class {c} of a random image (its map is not all zeros)")


# ---------------------------------------------------------------------------
# guided_grad_cam
# ---------------------------------------------------------------------------
GUIDED = "guided_grad_cam"


def check_guided(call, net, layer, class_index, seed, what):
    image = image_for(net, seed)
    expected = answers.guided_grad_cam(net, image, layer, class_index)
    out = expect_map(call(model=net, image=image, layer_name=layer, class_index=class_index), expected.shape,
                     "the Guided Grad-CAM map", hint="the input's size (H, W): upsample Grad-CAM first")
    expect_close(out, expected, f"wrong Guided Grad-CAM map {what}",
                 hint="tf.image.resize(cam[..., None], (H, W)) (bilinear) times saliency_map(...)",
                 atol=ATOL, rtol=0)


@check(GUIDED, "Grad-CAM upsampled bilinearly to the input size, times the saliency map", points=PUBLIC_POINTS)
def _(call):
    check_guided(call, patch_net(seed=9), "patches", 0, 40, what="(4 x 4 Grad-CAM, 16 x 16 input)")


@check(GUIDED, "a non-square input and another class", points=PUBLIC_POINTS)
def _(call):
    check_guided(call, patch_net(seed=10, shape=(12, 20, 3)), "patches", 1, 41, what="(3 x 5 Grad-CAM, 12 x 20 input)")


# ---------------------------------------------------------------------------
# randomisation_check
# ---------------------------------------------------------------------------
RAND = "randomisation_check"


def fingerprint_case():
    net = fingerprint_net(seed=0)
    method = FingerprintMap({k: v[0] for k, v in net.weights.items()})
    return net, method, np.zeros(net.input_shape, dtype=np.float32)


def expect_correlations(out, n):
    out = expect_shape(out, (n,), "the list of correlations", hint="one Spearman correlation per listed layer")
    expect(((out >= -1 - 1e-9) & (out <= 1 + 1e-9)).all(), f"correlations must lie in [-1, 1], got {out}")
    return out


@check(RAND, "re-initialises the layers cumulatively, in the order given, with their own initialisers", points=PUBLIC_POINTS)
def _(call):
    # FingerprintMap's map shows which layers were changed and how: the answer is known exactly.
    net, method, image = fingerprint_case()
    out = expect_correlations(call(model=net, image=image, class_index=0, method=method,
                                   layers=list(FINGERPRINT_LAYERS)), len(FINGERPRINT_LAYERS))
    expected = answers.fingerprint_correlations(FINGERPRINT_LAYERS)
    if np.allclose(out, answers.fingerprint_correlations(FINGERPRINT_LAYERS, cumulative=False), atol=1e-6):
        raise CheckFailed("each step re-initialised only one layer: the check must be cumulative",
                          hint="keep re-initialised layers random: step k has the first k listed layers random")
    expect_close(out, expected, "wrong correlations for the layers re-initialised cumulatively from the output down",
                 hint="a copy of the model (keras.models.clone_model, then the original's weights); for each listed layer in turn, every "
                      "weight re-drawn from the layer's own initialiser (layer.kernel_initializer, "
                      "layer.bias_initializer); Spearman correlation of |original map| and |new map|, flattened",
                 atol=1e-6)


@check(RAND, "leaves the caller's model unchanged", points=PUBLIC_POINTS)
def _(call):
    net, method, image = fingerprint_case()
    _, unchanged = call(model=net, image=image, class_index=0, method=method, layers=["logits", "dense_c"],
                        **{THEN: ModelUnchanged(net.weights)})
    expect(float(unchanged) == 1.0, "the caller's model was changed by the randomisation check",
           hint="work on a copy: keras.models.clone_model, then set_weights with the original model's weights")


@check(RAND, "is seeded: the same call gives the same correlations", points=PUBLIC_POINTS)
def _(call):
    net = linear_net(seed=11, shape=(6, 6, 3))
    image = image_for(net, 50)
    a = expect_correlations(call(model=net, image=image, class_index=0, method=LinearSaliency(),
                                 layers=["logits"]), 1)
    b = expect_correlations(call(model=net, image=image, class_index=0, method=LinearSaliency(),
                                 layers=["logits"]), 1)
    expect(np.array_equal(a, b), f"two identical calls gave {a} and {b}",
           hint="seed the re-initialisation once (keras.utils.set_random_seed) before drawing new weights")
    expect(abs(float(a[0])) < 0.9, f"re-initialising the only layer left the map almost unchanged (correlation "
                                   f"{float(a[0]):.2f})", hint="draw new random weights from the layer's initialiser")


@check(RAND, "a map that becomes constant (all zeros) gives a correlation of 0.0, not NaN", points=PUBLIC_POINTS)
def _(call):
    net, _, image = fingerprint_case()
    method = VanishingMap({k: v[0] for k, v in net.weights.items()})  # all zeros once conv_b was changed
    out = call(model=net, image=image, class_index=0, method=method, layers=["logits", "conv_b", "conv_a"])
    if isinstance(out, np.ndarray) and out.shape == (3,) and np.isnan(out).any():
        raise CheckFailed("a constant map gave NaN", hint="spearmanr is undefined for a constant map: record 0.0")
    out = expect_correlations(out, 3)
    expected = np.append(answers.fingerprint_correlations(["logits"]), [0.0, 0.0])
    expect_close(out, expected, "a map that became all zeros (from the second layer on) should give a correlation "
                 "of 0.0, the others their Spearman correlation",
                 hint="if np.ptp(map) == 0 for either map, record 0.0 instead of calling spearmanr", atol=1e-9)


# ---------------------------------------------------------------------------
# pointing_game
# ---------------------------------------------------------------------------
POINT = "pointing_game"


def pointing_case(seed, n=20, shape=(7, 9)):
    """Maps with their maximum in a known place; masks around it or elsewhere; half of the hits known."""
    r = np.random.default_rng(seed)
    maps = r.normal(0.0, 1.0, (n,) + shape)
    masks = np.zeros((n,) + shape, dtype=bool)
    hits = r.random(n) < 0.6
    for i in range(n):
        top = np.unravel_index(np.argmax(maps[i]), shape)
        y, x = r.integers(0, shape[0] - 2), r.integers(0, shape[1] - 2)
        masks[i, y:y + 3, x:x + 3] = True
        masks[i][top] = bool(hits[i])
        low = np.unravel_index(np.argmin(maps[i]), shape)
        masks[i][low] = not hits[i]  # the most negative value (largest |value|) lies on the other side
    return maps, masks, hits


@check(POINT, "returns the fraction of maps whose maximum lies inside the mask", points=PUBLIC_POINTS)
def _(call):
    maps, masks, hits = pointing_case(60)
    out = call(maps=maps, masks=masks)
    out = expect_shape(out, (), "the score", hint="one number: hits / number of maps")
    expect_close(out, hits.mean(), "wrong pointing-game score",
                 hint="for each map, the (row, column) of its largest value (not of its largest |value|): count "
                      "the maps where masks[i, row, column] is True, divide by the number of maps", atol=1e-9)


@check(POINT, "leaves maps and masks unchanged", points=PUBLIC_POINTS)
def _(call):
    maps, masks, _ = pointing_case(61, n=5)
    a, b = maps.copy(), masks.copy()
    call(maps=maps, masks=masks)
    call.expect_unchanged("maps", a)
    call.expect_unchanged("masks", b)
