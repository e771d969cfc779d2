"""Hidden checks for chapter 4: the instructor's copy only, never shipped to students.

More cases of the public checks' properties on other networks, seeds, classes and layers (a nested base
model, a nonlinear network for feature visualisation, a hand-wired colour detector on the chapter's scenes
for the pointing game), so that an answer tuned to the public cases fails.
"""
import numpy as np

from autograder.answers import ch04_cnn as answers
from autograder.checks import check, expect, expect_close, expect_shape
from autograder.public.ch04_cnn import (ACT, CAM, GUIDED, PATTERN, POINT, RAND, SAL, call_pattern, check_activations,
                                        check_cam, check_guided, check_saliency, expect_correlations,
                                        expect_map, fingerprint_case, image_for, pointing_case)
from autograder.testmodels.ch04_cnn import detector_net, gap_net, linear_net, patch_net, relu_head_net
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
        "finds a layer inside a nested base model": ["finds a layer inside a nested base model"],
    },
    PATTERN: {
        "returns an image (H, W, 3) at the network's input size, uint8, x255 and clipped": [
            "returns a uint8 image (H, W, 3) at the network's input size"],
        "gradient ascent on the mean activation of the filter, gradient normalised by its RMS": [
            "climbs the filter's gradient: the image moves towards the filter's preferred input",
            "another filter of another network: the image follows that filter"],
        "the filter's activation rises": ["the filter's mean activation rises (a network with ReLUs)"],
        "starts from a uniform random image seeded with `seed`": [
            "is reproducible: the same seed gives the same image", "another seed gives another start"],
    },
    SAL: {
        "returns an array (H, W) in [0, 1]": [
            "a model whose logit is linear in the image: the map is |weights|, max over channels, in [0, 1]"],
        "absolute gradient of the class logit w.r.t. the input, maximum over channels, min-max normalised": [
            "a model whose logit is linear in the image: the map is |weights|, max over channels, in [0, 1]",
            "a linear convnet (Functional and Sequential), other classes", "another linear model and class"],
        "leaves the image unchanged": ["leaves the image unchanged"],
    },
    CAM: {
        "returns an array (h, w) at the layer's resolution": [
            "a global-average-pooling network: Grad-CAM equals the class activation map A W[:, c]",
            "another GAP network, another class, a nested model"],
        "weights = spatial mean of the gradients of the class logit w.r.t. the layer's output": [
            "a convnet with a ReLU after the layer: gradients differ across positions",
            "a global-average-pooling network: Grad-CAM equals the class activation map A W[:, c]"],
        "weighted sum of the feature maps, ReLU, divided by its maximum": [
            "a convnet with a ReLU after the layer: gradients differ across positions",
            "a linear convnet, another class, a Sequential model"],
        "a map that is all zeros stays zeros": ["a map that is zero everywhere stays zero (no division by zero)"],
        "the requested layer": ["another GAP network, another class, a nested model",
                                "points inside the object on the detector's scenes"],
    },
    GUIDED: {
        "Grad-CAM upsampled to the input size with bilinear interpolation (tf.image.resize)": [
            "Grad-CAM upsampled bilinearly to the input size, times the saliency map",
            "a non-square input and another class"],
        "times the saliency map, array (H, W)": [
            "Grad-CAM upsampled bilinearly to the input size, times the saliency map",
            "a Sequential network and another layer size"],
    },
    RAND: {
        "re-initialises the listed layers cumulatively, in the order given, with their own initialisers": [
            "re-initialises the layers cumulatively, in the order given, with their own initialisers",
            "another list of layers, in another order"],
        "Spearman rank correlation of the absolute maps, one value per listed layer": [
            "re-initialises the layers cumulatively, in the order given, with their own initialisers",
            "another list of layers, in another order"],
        "seeded": ["is seeded: the same call gives the same correlations"],
        "a constant map gives 0.0": ["a map that becomes constant (all zeros) gives a correlation of 0.0, not NaN"],
        "works on a copy: the caller's model is left unchanged": ["leaves the caller's model unchanged"],
    },
    POINT: {
        "the fraction of maps whose maximum falls inside the mask": [
            "returns the fraction of maps whose maximum lies inside the mask", "other maps, 0/1 masks"],
        "inputs unchanged": ["leaves maps and masks unchanged"],
    },
}


# ---------------------------------------------------------------------------- activation_model
@check(ACT, "finds a layer inside a nested base model", hidden=True)
def _(call):
    check_activations(call, gap_net(seed=21, style="nested"), "conv2", seed=100)


@check(ACT, "a layer in the middle of the network", hidden=True)
def _(call):
    check_activations(call, gap_net(seed=22), "pool", seed=101)


# ---------------------------------------------------------------------------- filter_pattern
@check(PATTERN, "another filter of another network: the image follows that filter", hidden=True)
def _(call):
    net = relu_head_net(seed=23, shape=(9, 11, 3), filters=5)
    _, img = call_pattern(call, net, "features", 4, steps=15, step_size=0.25, seed=7)
    g = answers.filter_direction(net, "features", 4)
    r = float(np.corrcoef(img.ravel(), g.ravel())[0, 1])
    expect(r > 0.7, f"the pattern of filter 4 does not follow that filter's gradient (correlation {r:.2f}, "
                    "expected > 0.7)", hint="use the requested layer and filter_index")


@check(PATTERN, "the filter's mean activation rises (a network with ReLUs)", points=2, hidden=True)
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


@check(PATTERN, "another seed gives another start", hidden=True)
def _(call):
    net = relu_head_net(seed=3)
    _, a = call_pattern(call, net, "features", 0, steps=0, step_size=0.1, seed=1)
    _, b = call_pattern(call, net, "features", 0, steps=0, step_size=0.1, seed=2)
    expect(not np.array_equal(a, b), "seeds 1 and 2 gave the same image", hint="seed the random start with `seed`")
    expect(a.std() > 40 and abs(a.mean() - 127) < 20,
           f"with 0 steps the image should be the random start, uniform in [0, 1) times 255 (mean {a.mean():.0f}, "
           f"std {a.std():.0f}; expected about 127 and 74)", hint="the seed's start: uniform random values in [0, 1)")


# ---------------------------------------------------------------------------- saliency_map
@check(SAL, "another linear model and class", hidden=True)
def _(call):
    check_saliency(call, linear_net(seed=25, shape=(7, 4, 3), classes=4), 3, seed=102,
                   what="for another linear model")
    check_saliency(call, patch_net(seed=26, style="nested"), 1, seed=103, what="for a nested model")


# ---------------------------------------------------------------------------- grad_cam
@check(CAM, "another GAP network, another class, a nested model", hidden=True)
def _(call):
    net = gap_net(seed=27, classes=4)
    image = image_for(net, 104)
    check_cam(call, net, "conv2", 3, 104, expected=answers.class_activation_map(net, image, 3),
              what="for another GAP network")


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


# ---------------------------------------------------------------------------- guided_grad_cam
@check(GUIDED, "a Sequential network and another layer size", hidden=True)
def _(call):
    check_guided(call, patch_net(seed=28, shape=(20, 12, 3), style="sequential"), "patches", 2, 105,
                 what="(Sequential, 5 x 3 Grad-CAM, 20 x 12 input)")


# ---------------------------------------------------------------------------- randomisation_check
@check(RAND, "another list of layers, in another order", points=2, hidden=True)
def _(call):
    net, method, image = fingerprint_case()
    order = ["dense_c", "logits", "conv_a"]
    out = expect_correlations(call(model=net, image=image, class_index=2, method=method, layers=order), 3)
    expect_close(out, answers.fingerprint_correlations(order),
                 f"wrong correlations when re-initialising {order} cumulatively",
                 hint="follow the order of `layers`; keep the earlier steps' layers random", atol=1e-6)


# ---------------------------------------------------------------------------- pointing_game
@check(POINT, "other maps, 0/1 masks", hidden=True)
def _(call):
    maps, masks, hits = pointing_case(62, n=33, shape=(11, 6))
    out = expect_shape(call(maps=maps, masks=masks.astype(np.int64)), (), "the score")
    expect_close(out, hits.mean(), "wrong pointing-game score with 0/1 integer masks", atol=1e-9,
                 hint="treat the masks as booleans; the maximum of each map, not of its absolute value")
