"""Hidden checks for chapter 4: the instructor's copy only, never shipped to students.

More cases of the public checks' properties on other networks, seeds, classes and layers (a nested base
model behind a preprocessing layer, a layer before the last convolution, a nonlinear network for feature
visualisation, a hand-wired colour detector on the chapter's scenes for the pointing game), so that an
answer tuned to the public cases fails.

Points (issue 18): the public checks' inputs ship with the student bundle, so their answers can be looked
up; they are worth ``PUBLIC_POINTS`` each, and these checks carry the rest. A property that a function
computing nothing also has (inputs unchanged, the same seed giving the same answer, a map that stays zero,
a constant map's correlation of 0.0) is checked here only together with right values, and no expected
answer is all zeros or constant.
"""
import numpy as np

from autograder.answers import ch04_cnn as answers
from autograder.checks import THEN, CheckFailed, check, expect, expect_close, expect_shape
from autograder.public.ch04_cnn import (ACT, ATOL, CAM, GUIDED, PATTERN, POINT, RAND, SAL, call_pattern,
                                        check_activations, check_cam, check_guided, check_saliency,
                                        expect_correlations, expect_map, fingerprint_case, image_for, pointing_case)
from autograder.testmodels.ch04_cnn import (BiasFingerprintMap, CallAgain, ConstantOriginalMap, FingerprintMap,
                                            KerasNet, ModelUnchanged, RepeatableFingerprint, detector_net,
                                            fingerprint_net, gap_net, linear_net, patch_net, relu_head_net)
from imlbook.ch04_cnn import make_scenes

# Every rule the exercises' text states -> the checks that cover it.
CONTRACT = {
    ACT: {
        "returns a keras.Model from the network's input to the layer's output": [
            "returns a keras.Model whose output is that layer's output (Functional network)",
            "a layer in the middle of the network"],
        "works for Functional and Sequential models": [
            "returns a keras.Model whose output is that layer's output (Functional network)",
            "works for a Sequential network"],
        "finds a layer inside a nested base model (behind a preprocessing layer)": [
            "finds a layer inside a nested base model"],
    },
    PATTERN: {
        "returns an image (H, W, 3) at the network's input size, uint8, x255 and clipped": [
            "returns a uint8 image (H, W, 3) at the network's input size",
            "steps=0 gives the seeded uniform start; 3 steps add exactly 3 step_size g / RMS(g)"],
        "gradient ascent on the mean activation of the filter, gradient normalised by its RMS": [
            "climbs the filter's gradient: the image moves towards the filter's preferred input",
            "another filter of another network: the image follows that filter",
            "steps=0 gives the seeded uniform start; 3 steps add exactly 3 step_size g / RMS(g)"],
        "the filter's activation rises": ["the filter's mean activation rises (a network with ReLUs)"],
        "starts from a uniform random image seeded with `seed`; steps=0 returns it": [
            "is reproducible: the same seed gives the same image",
            "steps=0 gives the seeded uniform start; 3 steps add exactly 3 step_size g / RMS(g)"],
    },
    SAL: {
        "returns an array (H, W) in [0, 1]": [
            "a model whose logit is linear in the image: the map is |weights|, max over channels, in [0, 1]"],
        "absolute gradient of the class logit w.r.t. the input, maximum over channels, min-max normalised": [
            "a model whose logit is linear in the image: the map is |weights|, max over channels, in [0, 1]",
            "a linear convnet (Functional and Sequential), other classes",
            "another linear model and class, and a nested model"],
        "an all-equal map becomes zeros": ["a class the image cannot change gives zeros; another class does not"],
        "leaves the image unchanged": ["leaves the image unchanged",
                                       "leaves the image unchanged, returns a NumPy array, with the right map"],
        "returns a NumPy array": ["leaves the image unchanged, returns a NumPy array, with the right map"],
    },
    CAM: {
        "returns an array (h, w) at the layer's resolution": [
            "a global-average-pooling network: Grad-CAM equals the class activation map A W[:, c]",
            "a layer before the last convolution (conv1, before a max-pool)"],
        "weights = spatial mean of the gradients of the class logit w.r.t. the layer's output": [
            "a convnet with a ReLU after the layer: gradients differ across positions",
            "a global-average-pooling network: Grad-CAM equals the class activation map A W[:, c]",
            "a layer before the last convolution (conv1, before a max-pool)"],
        "weighted sum of the feature maps, ReLU, divided by its maximum": [
            "a convnet with a ReLU after the layer: gradients differ across positions",
            "a linear convnet, another class, a Sequential model"],
        "a map that is all zeros stays zeros": [
            "a map that is zero everywhere stays zero (no division by zero)",
            "another network: an all-zero map stays zero, another class's map does not (NumPy arrays)"],
        "returns a NumPy array": [
            "another network: an all-zero map stays zero, another class's map does not (NumPy arrays)"],
        "the requested layer, also inside a nested model": [
            "a layer before the last convolution (conv1, before a max-pool)",
            "a nested model: the layer sits in a base model behind a preprocessing layer",
            "points inside the object on the detector's scenes"],
        "works for Sequential models (model.inputs / model.outputs)": [
            "a linear convnet, another class, a Sequential model"],
        "another GAP network and class": ["another GAP network, another class"],
    },
    GUIDED: {
        "Grad-CAM upsampled to the input size with bilinear interpolation (tf.image.resize)": [
            "Grad-CAM upsampled bilinearly to the input size, times the saliency map",
            "a non-square input and another class"],
        "times the saliency map, array (H, W)": [
            "Grad-CAM upsampled bilinearly to the input size, times the saliency map",
            "a Sequential network and another layer size", "a nested model, another class"],
        "returns a NumPy array": ["returns a NumPy array (H, W), with the right values"],
    },
    RAND: {
        "re-initialises the listed layers cumulatively, in the order given, with their own initialisers": [
            "re-initialises the layers cumulatively, in the order given, with their own initialisers",
            "another list of layers, in another order"],
        "every weight of a layer is re-drawn: kernel and bias": [
            "the biases are re-drawn too, from the layer's bias initialiser"],
        "Spearman rank correlation of the absolute maps, one value per listed layer": [
            "re-initialises the layers cumulatively, in the order given, with their own initialisers",
            "another list of layers, in another order"],
        "seed 0 first, then clone: two calls on the same model give the same answer, whatever ran before": [
            "is seeded: the same call gives the same correlations",
            "two calls on the same model object re-draw the same weights, whatever ran before"],
        "a constant map gives 0.0": [
            "a map that becomes constant (all zeros) gives a correlation of 0.0, not NaN",
            "a constant original map gives 0.0 at every step"],
        "works on a copy: the caller's model is left unchanged": [
            "leaves the caller's model unchanged",
            "leaves the caller's model unchanged, with the right correlations"],
        "returns a list of floats": ["leaves the caller's model unchanged, with the right correlations"],
    },
    POINT: {
        "the fraction of maps whose maximum falls inside the mask": [
            "returns the fraction of maps whose maximum lies inside the mask", "other maps, 0/1 masks"],
        "the maximum's first position, as np.argmax gives it (ties, constant maps); an empty mask is a miss": [
            "tied maxima, constant maps and empty masks, as a float"],
        "returns a float": ["tied maxima, constant maps and empty masks, as a float"],
        "inputs unchanged": ["leaves maps and masks unchanged",
                             "leaves maps and masks unchanged, with the right score"],
    },
}


# ---------------------------------------------------------------------------- activation_model
@check(ACT, "finds a layer inside a nested base model", points=2.5, hidden=True)
def _(call):
    check_activations(call, gap_net(seed=21, style="nested"), "conv2", seed=100)


@check(ACT, "a layer in the middle of the network", points=2.25, hidden=True)
def _(call):
    check_activations(call, gap_net(seed=22), "pool", seed=101)


# ---------------------------------------------------------------------------- filter_pattern
@check(PATTERN, "another filter of another network: the image follows that filter", points=2, hidden=True)
def _(call):
    net = relu_head_net(seed=23, shape=(9, 11, 3), filters=5)
    _, img = call_pattern(call, net, "features", 4, steps=15, step_size=0.25, seed=7)
    g = answers.filter_direction(net, "features", 4)
    r = float(np.corrcoef(img.ravel(), g.ravel())[0, 1])
    expect(r > 0.7, f"the pattern of filter 4 does not follow that filter's gradient (correlation {r:.2f}, "
                    "expected > 0.7)", hint="use the requested layer and filter_index")


@check(PATTERN, "the filter's mean activation rises (a network with ReLUs)", points=2.25, hidden=True)
def _(call):
    net = gap_net(seed=24)
    for f in (0, 3):
        _, start = call_pattern(call, net, "conv2", f, steps=0, step_size=0.1, seed=3)
        _, end = call_pattern(call, net, "conv2", f, steps=10, step_size=0.1, seed=3)
        before = answers.layer_output(net, start / 255.0, "conv2")[..., f].mean()
        after = answers.layer_output(net, end / 255.0, "conv2")[..., f].mean()
        expect(after > before + 0.05, f"filter {f}'s mean activation went from {before:.3f} (start image) to "
                                      f"{after:.3f} after 10 steps: it should rise",
               hint="gradient ascent: x += step_size * g / (sqrt(mean(g**2)) + 1e-5), g = d mean(activation) / dx")


@check(PATTERN, "steps=0 gives the seeded uniform start; 3 steps add exactly 3 step_size g / RMS(g)", points=3.375,
       hidden=True)
def _(call):
    # `features` is a linear convolution of the input, so d mean(activation) / dx is the same g at every step:
    # 3 steps move x by exactly 3 * step_size * g / (RMS(g) + 1e-5). The start is only known through the
    # uint8 image of steps=0 (x * 255 rounded down), so each pixel of the 3-step image lies between
    # floor(start + d) and floor(start + 1 + d), d = 255 * that move; 1 more either side for float32.
    net = relu_head_net(seed=29, shape=(7, 9, 3), filters=3)
    dtype, start = call_pattern(call, net, "features", 2, steps=0, step_size=0.02, seed=5)
    expect(dtype == "uint8", f"the pattern should be a uint8 array, got {dtype}",
           hint="np.clip(x * 255, 0, 255).astype('uint8')")
    _, other = call_pattern(call, net, "features", 2, steps=0, step_size=0.02, seed=6)
    expect(not np.array_equal(start, other), "seeds 5 and 6 gave the same start image",
           hint="seed the random start with `seed`")
    expect(start.std() > 40 and abs(start.mean() - 127) < 25 and start.min() < 30 and start.max() > 225,
           f"with 0 steps the image should be the random start, uniform in [0, 1) times 255 (mean {start.mean():.0f}, "
           f"std {start.std():.0f}, range {start.min()}..{start.max()}; expected about 127, 74, 0..254)",
           hint="the start: uniform random values in [0, 1), e.g. np.random.default_rng(seed).random((1, H, W, 3))")
    _, end = call_pattern(call, net, "features", 2, steps=3, step_size=0.02, seed=5)
    g = answers.filter_direction(net, "features", 2)
    d = 255.0 * 3 * 0.02 * g / (np.sqrt(np.mean(g ** 2)) + 1e-5)
    start = start.astype(float)
    lo = np.clip(np.floor(start + d) - 1, 0, 255)
    hi = np.clip(np.floor(start + 1 + d) + 1, 0, 255)
    outside = (end < lo) | (end > hi)
    expect(not outside.any(), f"after 3 steps of 0.02 from the start that steps=0 returns, {int(outside.sum())} of "
                              f"{end.size} pixels are not where 3 gradient-ascent steps put them (e.g. "
                              f"{int(end.flat[np.argmax(outside)])}, expected {int(lo.flat[np.argmax(outside)])}.."
                              f"{int(hi.flat[np.argmax(outside)])})",
           hint="the same seeded start as steps=0, then `steps` times: g = gradient of the filter's mean activation, "
                "g / (sqrt(mean(g**2)) + 1e-5), x += step_size * g (ascent); finally clip(x * 255) as uint8")


# ---------------------------------------------------------------------------- saliency_map
@check(SAL, "another linear model and class, and a nested model", points=3.5, hidden=True)
def _(call):
    check_saliency(call, linear_net(seed=25, shape=(7, 4, 3), classes=4), 3, seed=102,
                   what="for another linear model")
    check_saliency(call, patch_net(seed=26, style="nested"), 1, seed=103, what="for a nested model")


@check(SAL, "a class the image cannot change gives zeros; another class does not", points=1.5, hidden=True)
def _(call):
    base = linear_net(seed=30, shape=(5, 6, 3), classes=3)
    kernel, bias = base.weights["logits"]
    kernel = kernel.copy()
    kernel[:, 2] = 0.0  # class 2's logit is its bias: the gradient is zero everywhere
    net = KerasNet("linear", base.input_shape, {"logits": [kernel, bias]}, classes=3)
    image = image_for(net, 104)
    out = call(model=net, image=image, class_index=2)
    if isinstance(out, np.ndarray) and out.shape == net.input_shape[:2] and np.isnan(out).any():
        raise CheckFailed("a constant saliency map became NaN (0 / 0 in the min-max normalisation)",
                          hint="an all-equal map becomes zeros: divide only when max - min > 0")
    out = expect_map(out, net.input_shape[:2], "the saliency map")
    expect_close(out, np.zeros(net.input_shape[:2]), "a class whose logit does not depend on the image should get "
                 "an all-zero map", hint="an all-equal map becomes zeros", atol=ATOL, rtol=0)
    check_saliency(call, net, 1, seed=105, what="for class 1 of the same model")


@check(SAL, "leaves the image unchanged, returns a NumPy array, with the right map", points=0.625, hidden=True)
def _(call):
    net = patch_net(seed=31, shape=(8, 12, 3), style="sequential")
    image = image_for(net, 106)
    before = image.copy()
    out = call(model=net, image=image, class_index=2)
    call.expect_array("the saliency map", kind="float", hint="return a NumPy array: tensor.numpy() or np.asarray(...)")
    out = expect_map(out, net.input_shape[:2], "the saliency map")
    call.expect_unchanged("image", before)
    expect_close(out, answers.saliency(net, 2), "wrong saliency map", atol=ATOL, rtol=0)


# ---------------------------------------------------------------------------- grad_cam
@check(CAM, "another GAP network, another class", points=1.5, hidden=True)
def _(call):
    net = gap_net(seed=27, classes=4)
    image = image_for(net, 104)
    check_cam(call, net, "conv2", 3, 104, expected=answers.class_activation_map(net, image, 3),
              what="for another GAP network")


@check(CAM, "a nested model: the layer sits in a base model behind a preprocessing layer", points=2, hidden=True)
def _(call):
    # the base network is the second layer of a Sequential whose first layer maps [0, 1] to [-1, 1]
    net = gap_net(seed=32, style="nested")
    for c, seed in ((0, 107), (2, 108)):
        check_cam(call, net, "conv2", c, seed, what=f"for class {c} of a nested model (Sequential: Rescaling, base)")


@check(CAM, "a layer before the last convolution (conv1, before a max-pool)", points=2, hidden=True)
def _(call):
    net = gap_net(seed=33)
    check_cam(call, net, "conv1", 2, 109, what="at conv1 (16 x 16), whose gradients come back through a max-pool, "
                                               "conv2 and its ReLU")
    check_cam(call, gap_net(seed=34, style="nested"), "conv1", 0, 110, what="at conv1 of a nested model")


@check(CAM, "points inside the object on the detector's scenes", points=2, hidden=True)
def _(call):
    # A hand-wired colour detector: its evidence for a class is the planted object. The reference's
    # Grad-CAM (upsampled) points inside the object on 12/12 of these scenes; 11 (90 %) are required.
    net = detector_net()
    images, labels, masks = make_scenes(12, seed=1234)
    hits = 0
    for image, label, mask in zip(images, labels, masks):
        out = expect_map(call(model=net, image=image, layer_name="conv2", class_index=int(label)), (32, 32),
                         "the Grad-CAM map at conv2")
        big = answers.resize_bilinear(out, (32, 32))
        hits += bool(mask.ravel()[np.argmax(big)])
    expect(hits >= 11, f"the Grad-CAM maximum lies inside the object on {hits} of 12 scenes (expected at least 11)",
           hint="use the class logit and the requested layer; ReLU(sum_k weight_k * A_k)")


@check(CAM, "another network: an all-zero map stays zero, another class's map does not (NumPy arrays)", points=1,
       hidden=True)
def _(call):
    # a zero image: the feature maps are the biases, and class 0's weighted sum is negative everywhere
    net = relu_head_net(seed=49, shape=(6, 8, 3))
    image = np.zeros(net.input_shape, dtype=np.float32)
    a = answers.layer_output(net, image, "features")
    assert answers.cam_from(a, answers.layer_gradient(net, image, "features", 0), relu_on=False).max() < -0.02
    out = call(model=net, image=image, layer_name="features", class_index=0)
    call.expect_array("the Grad-CAM map", kind="float", hint="return a NumPy array: tensor.numpy()")
    out = expect_map(out, a.shape[:2], "the Grad-CAM map")
    expect_close(out, np.zeros(a.shape[:2]), "class 0's map is zero everywhere after the ReLU and should stay all "
                 "zeros (no NaN from 0/0)", hint="divide by the maximum only when it is > 0", atol=ATOL)
    # class 1 on a random image: a map that is not all zeros (all 48 positions > 0, not constant)
    check_cam(call, net, "features", 1, 111, what="for class 1 of a random image")
    call.expect_array("the Grad-CAM map", kind="float", hint="return a NumPy array: tensor.numpy()")


# ---------------------------------------------------------------------------- guided_grad_cam
@check(GUIDED, "a Sequential network and another layer size", points=2, hidden=True)
def _(call):
    check_guided(call, patch_net(seed=28, shape=(20, 12, 3), style="sequential"), "patches", 2, 105,
                 what="(Sequential, 5 x 3 Grad-CAM, 20 x 12 input)")


@check(GUIDED, "a nested model, another class", points=1.25, hidden=True)
def _(call):
    check_guided(call, patch_net(seed=36, shape=(12, 16, 3), style="nested"), "patches", 0, 112,
                 what="(nested model, 3 x 4 Grad-CAM, 12 x 16 input)")


@check(GUIDED, "returns a NumPy array (H, W), with the right values", points=0.5, hidden=True)
def _(call):
    net = patch_net(seed=37, shape=(8, 8, 3))
    image = image_for(net, 113)
    out = call(model=net, image=image, layer_name="patches", class_index=1)
    call.expect_array("the Guided Grad-CAM map", kind="float", hint="return a NumPy array: tensor.numpy()")
    expect_close(expect_map(out, (8, 8), "the Guided Grad-CAM map"), answers.guided_grad_cam(net, image, "patches", 1),
                 "wrong Guided Grad-CAM map (2 x 2 Grad-CAM, 8 x 8 input)", atol=ATOL, rtol=0)


# ---------------------------------------------------------------------------- randomisation_check
def kernels(net):
    return {k: v[0] for k, v in net.weights.items()}


@check(RAND, "another list of layers, in another order", points=2, hidden=True)
def _(call):
    net, method, image = fingerprint_case()
    order = ["dense_c", "logits", "conv_a"]
    out = expect_correlations(call(model=net, image=image, class_index=2, method=method, layers=order), 3)
    expect_close(out, answers.fingerprint_correlations(order),
                 f"wrong correlations when re-initialising {order} cumulatively",
                 hint="follow the order of `layers`; keep the earlier steps' layers random", atol=1e-6)


@check(RAND, "the biases are re-drawn too, from the layer's bias initialiser", points=1.75, hidden=True)
def _(call):
    net = fingerprint_net(seed=5)
    method = BiasFingerprintMap(kernels(net), {k: v[1] for k, v in net.weights.items()})
    order = ["logits", "conv_b", "dense_c"]
    out = expect_correlations(call(model=net, image=np.zeros(net.input_shape, dtype=np.float32), class_index=1,
                                   method=method, layers=order), 3)
    if np.allclose(out, answers.fingerprint_correlations(order, state=2), atol=1e-6):
        raise CheckFailed("the maps changed as if only part of each layer's weights was re-drawn from its own "
                          "initialisers (e.g. the kernel but not the bias)",
                          hint="re-draw every weight of the layer: for each v in layer.weights, "
                               "getattr(layer, v.name + '_initializer')(v.shape, v.dtype) (the bias too)")
    expect_close(out, answers.fingerprint_correlations(order), "wrong correlations for a method whose map also "
                 "depends on the biases", atol=1e-6,
                 hint="the kernel from layer.kernel_initializer and the bias from layer.bias_initializer")


@check(RAND, "two calls on the same model object re-draw the same weights, whatever ran before", points=2,
       hidden=True)
def _(call):
    # Keras 3: an initialiser without a seed takes one from Python's `random` when its layer is created, i.e.
    # inside clone_model. This network's initialisers are unseeded, and Python's `random` is set to another
    # state before each of the two calls: seeding after cloning re-draws other weights on the second call.
    net = fingerprint_net(seed=6, seeded_initialisers=False)
    order = ["logits", "dense_c", "conv_b"]
    first, second, same_weights, maps = call(model=net, image=np.zeros(net.input_shape, dtype=np.float32),
                                             class_index=0, method=RepeatableFingerprint(kernels(net), 1),
                                             layers=order, **{THEN: CallAgain(2)})
    first = expect_correlations(first, 3)
    expect_close(first, answers.fingerprint_correlations(order), "wrong correlations", atol=1e-6,
                 hint="re-initialise the listed layers cumulatively with their own initialisers")
    expect(float(same_weights) == 1.0,
           "two calls on the same model re-drew different random weights (Python's random was in another state "
           "before each call): the result depends on what ran before",
           hint="call keras.utils.set_random_seed(0) *before* keras.models.clone_model: the clone's initialisers "
                "take their seeds from Python's random when they are created")
    expect_close(expect_correlations(second, 3), first, "the second call on the same model gave other correlations",
                 atol=0)


@check(RAND, "a constant original map gives 0.0 at every step", points=1, hidden=True)
def _(call):
    net = fingerprint_net(seed=7)
    order = ["conv_b", "logits"]
    image = np.zeros(net.input_shape, dtype=np.float32)
    out = call(model=net, image=image, class_index=0, method=ConstantOriginalMap(kernels(net)), layers=order)
    if isinstance(out, np.ndarray) and out.shape == (2,) and np.isnan(out).any():
        raise CheckFailed("a constant original map gave NaN",
                          hint="check both maps: if np.ptp(original) == 0 or np.ptp(new) == 0, record 0.0")
    expect_close(expect_correlations(out, 2), [0.0, 0.0], "the original map is constant: every correlation is "
                 "undefined and should be 0.0", atol=1e-9,
                 hint="check both maps: if np.ptp(original) == 0 or np.ptp(new) == 0, record 0.0")
    # and the same layers with the fingerprint itself: the correlations are not 0
    out = expect_correlations(call(model=net, image=image, class_index=0, method=FingerprintMap(kernels(net)),
                                   layers=order), 2)
    expect_close(out, answers.fingerprint_correlations(order), "wrong correlations", atol=1e-6)


@check(RAND, "leaves the caller's model unchanged, with the right correlations", points=0.75, hidden=True)
def _(call):
    net = fingerprint_net(seed=8)
    order = ["dense_c", "conv_a"]
    out, unchanged = call(model=net, image=np.zeros(net.input_shape, dtype=np.float32), class_index=2,
                          method=FingerprintMap(kernels(net)), layers=order, **{THEN: ModelUnchanged(net.weights)})
    expect(float(unchanged) == 1.0, "the caller's model was changed by the randomisation check",
           hint="work on a copy: keras.models.clone_model, then set_weights with the original model's weights")
    expect_close(expect_correlations(out, 2), answers.fingerprint_correlations(order), "wrong correlations",
                 atol=1e-6)
    returned = call.returned_type
    expect(returned == "list", f"the result should be a list of floats, got a {returned}",
           hint="e.g. correlations.append(float(rho)); return correlations")


# ---------------------------------------------------------------------------- pointing_game
@check(POINT, "other maps, 0/1 masks", points=1.25, hidden=True)
def _(call):
    maps, masks, hits = pointing_case(62, n=33, shape=(11, 6))
    out = expect_shape(call(maps=maps, masks=masks.astype(np.int64)), (), "the score")
    expect_close(out, hits.mean(), "wrong pointing-game score with 0/1 integer masks", atol=1e-9,
                 hint="treat the masks as booleans; the maximum of each map, not of its absolute value")


def tie_case():
    """10 maps (5 x 6): tied maxima, constant maps, empty masks; 4 hits by the rule of the text."""
    r = np.random.default_rng(63)
    shape = (5, 6)
    maps = r.normal(0.0, 1.0, (10,) + shape)
    masks = np.zeros((10,) + shape, dtype=bool)
    for i in (0, 1):                      # the maximum at flat positions 3 and 20
        maps[i].flat[[3, 20]] = maps[i].max() + 1.0
    masks[0].flat[3] = True               # the first tied maximum inside: a hit
    masks[1].flat[20] = True              # only the second inside: a miss
    maps[2] = maps[3] = 0.5               # constant maps: np.argmax gives position (0, 0)
    masks[2, 0, 0] = True                 # a hit
    masks[3, 2:4, 2:4] = True             # a miss
    # maps 4 and 5: empty masks, misses
    for i, hit in zip(range(6, 10), (True, True, False, False)):
        top = np.unravel_index(np.argmax(maps[i]), shape)
        masks[i, max(top[0] - 1, 0):top[0] + 2, max(top[1] - 1, 0):top[1] + 2] = True
        masks[i][top] = hit
    return maps, masks


def tie_variants(maps, masks):
    """Scores some plausible misreadings give on :func:`tie_case`, to name the mistake."""
    flat_maps, flat_masks = maps.reshape(len(maps), -1), masks.reshape(len(masks), -1)
    first = flat_masks[np.arange(len(maps)), flat_maps.argmax(axis=1)]
    any_max = ((flat_maps == flat_maps.max(axis=1, keepdims=True)) & flat_masks).any(axis=1)
    last = flat_masks[np.arange(len(maps)), flat_maps.shape[1] - 1 - flat_maps[:, ::-1].argmax(axis=1)]
    nonempty = flat_masks.any(axis=1)
    return {
        "a tied maximum anywhere inside the mask counts as a hit": any_max.mean(),
        "the last of tied maxima is used": last.mean(),
        "maps with an empty mask are left out instead of counting as misses": first[nonempty].mean(),
    }, first.mean()


@check(POINT, "tied maxima, constant maps and empty masks, as a float", points=2, hidden=True)
def _(call):
    maps, masks = tie_case()
    variants, expected = tie_variants(maps, masks)
    out = expect_shape(call(maps=maps, masks=masks), (), "the score")
    for why, score in variants.items():
        if not np.isclose(score, expected) and np.isclose(out, score, atol=1e-9):
            raise CheckFailed(f"wrong pointing-game score {float(out):.3f} (expected {expected:.3f}): {why}",
                              hint="the maximum's first position, as np.argmax gives it (a constant map: (0, 0)); "
                                   "an empty mask is a miss, and every map counts")
    expect_close(out, expected, "wrong pointing-game score with tied maxima, constant maps and empty masks",
                 atol=1e-9, hint="the maximum's first position, as np.argmax gives it; an empty mask is a miss")
    returned = call.returned_type
    expect(returned in ("float", "float64"), f"the score should be a float, got a {returned}",
           hint="return float(hits / n)")


@check(POINT, "leaves maps and masks unchanged, with the right score", points=0.5, hidden=True)
def _(call):
    maps, masks, hits = pointing_case(64, n=9, shape=(6, 5))
    a, b = maps.copy(), masks.copy()
    out = expect_shape(call(maps=maps, masks=masks), (), "the score")
    call.expect_unchanged("maps", a)
    call.expect_unchanged("masks", b)
    expect_close(out, hits.mean(), "wrong pointing-game score", atol=1e-9)
