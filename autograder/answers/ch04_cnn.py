"""Closed-form answers for the chapter-4 test networks, in NumPy (no TensorFlow in the grader).

Each function takes a :class:`autograder.testmodels.ch04_cnn.KerasNet` (its weights) and an input image
and returns what a correct exercise returns, derived by hand:

* ``linear`` / ``patch`` nets are linear in the input, so d logit_c / d x is a constant weight image;
* Grad-CAM at a layer A with gradients G (same shape): ``relu(sum_k mean_ij(G[..., k]) * A[..., k])``,
  divided by its maximum; for the ``gap`` net G = W[k, c] / (h w) everywhere, which gives the CAM;
  for the ``relu_head`` net G = W_dense[:, c] (reshaped) * [A > 0]; for ``patch`` G = W_dense[:, c].
* ``tf.image.resize`` (bilinear, half-pixel centres, no antialiasing when enlarging) in NumPy.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from autograder.testmodels.ch04_cnn import FINGERPRINT_LAYERS, NESTED_PREPROCESS, fingerprint_map


def _conv_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """2-D convolution (Keras: cross-correlation) with 'same' zero padding, stride 1. x (H, W, C)."""
    kh, kw = kernel.shape[:2]
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)))
    h, w = x.shape[:2]
    out = np.zeros((h, w, kernel.shape[-1])) + bias
    for i in range(kh):
        for j in range(kw):
            out += xp[i:i + h, j:j + w, :] @ kernel[i, j]
    return out


def _conv_valid(x, kernel, bias, stride=1):
    kh, kw = kernel.shape[:2]
    h = (x.shape[0] - kh) // stride + 1
    w = (x.shape[1] - kw) // stride + 1
    out = np.zeros((h, w, kernel.shape[-1])) + bias
    for i in range(kh):
        for j in range(kw):
            out += x[i:i + stride * h:stride, j:j + stride * w:stride, :] @ kernel[i, j]
    return out


def _w(net, name):
    return [np.asarray(a, dtype=np.float64) for a in net.weights[name]]


def relu(x):
    return np.maximum(x, 0.0)


def normalise_max(cam: np.ndarray) -> np.ndarray:
    """Divided by its maximum; a map whose maximum is 0 (all zeros after the ReLU) stays as it is."""
    if cam.max() <= 0:
        return cam
    return cam / cam.max()


def minmax(values: np.ndarray) -> np.ndarray:
    """Rescaled to [0, 1]; a constant map becomes zeros."""
    lo, hi = values.min(), values.max()
    if hi == lo:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)


# ---------------------------------------------------------------------------- forward passes
def layer_output(net, image: np.ndarray, layer: str) -> np.ndarray:
    """The output of ``layer`` for one image (H, W, 3), by a NumPy forward pass (a nested net's outer
    ``Rescaling`` first)."""
    x = model_input(net, image)
    for name, kind, cfg in net.layer_specs():
        ws = _w(net, name) if name in net.weights else None
        if kind == "Conv2D":
            if cfg.get("padding") == "same":
                x = _conv_same(x, *ws)
            else:
                x = _conv_valid(x, *ws, stride=cfg.get("strides", 1))
            if cfg.get("activation") == "relu":
                x = relu(x)
        elif kind == "Dense":
            x = x @ ws[0] + ws[1]
            if cfg.get("activation") == "relu":
                x = relu(x)
        elif kind == "Flatten":
            x = x.reshape(-1)
        elif kind == "ReLU":
            x = relu(x)
        elif kind == "MaxPooling2D":
            h, w = x.shape[0] // 2, x.shape[1] // 2
            x = x[:2 * h, :2 * w].reshape(h, 2, w, 2, -1).max(axis=(1, 3))
        elif kind == "GlobalAveragePooling2D":
            x = x.mean(axis=(0, 1))
        if name == layer:
            return x
    raise KeyError(layer)


def model_input(net, image) -> np.ndarray:
    """What the base network sees: the image, rescaled by the nested style's preprocessing layer."""
    x = np.asarray(image, dtype=np.float64)
    if net.style == "nested":
        scale, offset = NESTED_PREPROCESS
        x = x * scale + offset
    return x


def _conv_same_transpose(grad_out: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The gradient w.r.t. the input of :func:`_conv_same` (stride 1), given the gradient of its output."""
    kh, kw = kernel.shape[:2]
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    h, w = grad_out.shape[:2]
    padded = np.zeros((h + kh - 1, w + kw - 1, kernel.shape[2]))
    for i in range(kh):
        for j in range(kw):
            padded[i:i + h, j:j + w, :] += grad_out @ kernel[i, j].T
    return padded[ph:ph + h, pw:pw + w]


def logits(net, image):
    return layer_output(net, image, "logits")


def input_gradient(net, class_index: int) -> np.ndarray:
    """d logit_c / d input (H, W, 3) of a ``linear`` or ``patch`` net (a constant: the nets are linear)."""
    if net.arch == "linear":
        return _w(net, "logits")[0][:, class_index].reshape(net.input_shape)
    if net.arch == "patch":
        kernel = _w(net, "patches")[0]                       # (4, 4, 3, k)
        h, w = net.input_shape[0] // 4, net.input_shape[1] // 4
        dense = _w(net, "logits")[0][:, class_index].reshape(h, w, -1)  # d logit / d A
        grad = np.einsum("ijk,uvck->iujvc", dense, kernel)   # (h, 4, w, 4, 3)
        return grad.reshape(net.input_shape)
    raise ValueError(f"no closed-form input gradient for {net.arch}")


def saliency(net, class_index: int) -> np.ndarray:
    return minmax(np.abs(input_gradient(net, class_index)).max(axis=-1))


def layer_gradient(net, image, layer: str, class_index: int) -> np.ndarray:
    """d logit_c / d (output of ``layer``), same shape as that output."""
    if net.arch == "gap" and layer == "conv2":
        a = layer_output(net, image, "conv2")
        return np.broadcast_to(_w(net, "logits")[0][:, class_index] / (a.shape[0] * a.shape[1]), a.shape)
    if net.arch == "gap" and layer == "conv1":
        # back through GAP, conv2's ReLU, conv2 and the 2x2 max-pool. The pool sends each cell's gradient to
        # one position of its block (which one, for tied zeros, is TensorFlow's choice): only the channel
        # means of this gradient are right, which is all Grad-CAM uses.
        a2 = layer_output(net, image, "conv2")
        d2 = np.broadcast_to(_w(net, "logits")[0][:, class_index] / (a2.shape[0] * a2.shape[1]), a2.shape) * (a2 > 0)
        d_pool = _conv_same_transpose(d2, _w(net, "conv2")[0])
        a1 = layer_output(net, image, "conv1")
        g = np.zeros_like(a1)
        g[:2 * d_pool.shape[0]:2, :2 * d_pool.shape[1]:2] = d_pool
        return g
    if net.arch == "relu_head" and layer == "features":
        a = layer_output(net, image, "features")
        return _w(net, "logits")[0][:, class_index].reshape(a.shape) * (a > 0)
    if net.arch == "patch" and layer == "patches":
        a = layer_output(net, image, "patches")
        return _w(net, "logits")[0][:, class_index].reshape(a.shape)
    if net.arch == "detector" and layer == "conv2":
        a = layer_output(net, image, "conv2")
        return np.broadcast_to(_w(net, "logits")[0][:, class_index] / (a.shape[0] * a.shape[1]), a.shape)
    raise ValueError(f"no closed-form gradient for {net.arch} at {layer}")


def cam_from(a: np.ndarray, g: np.ndarray, relu_on: bool = True) -> np.ndarray:
    raw = (a * g.mean(axis=(0, 1))).sum(axis=-1)
    return normalise_max(relu(raw)) if relu_on else raw


def grad_cam(net, image, layer: str, class_index: int) -> np.ndarray:
    return cam_from(layer_output(net, image, layer), layer_gradient(net, image, layer, class_index))


def class_activation_map(net, image, class_index: int) -> np.ndarray:
    """Zhou et al.'s CAM of the ``gap`` net: relu(A @ W[:, c]) / max, with A the conv2 feature maps."""
    a = layer_output(net, image, "conv2")
    return normalise_max(relu(a @ _w(net, "logits")[0][:, class_index]))


def resize_bilinear(m: np.ndarray, shape) -> np.ndarray:
    """``tf.image.resize(m[..., None], shape)[..., 0]``: bilinear, half-pixel centres, edges clamped."""
    h, w = m.shape
    H, W = shape

    def axis(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, src - lo

    y0, y1, fy = axis(h, H)
    x0, x1, fx = axis(w, W)
    top = m[y0][:, x0] * (1 - fx) + m[y0][:, x1] * fx
    bottom = m[y1][:, x0] * (1 - fx) + m[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def guided_grad_cam(net, image, layer, class_index):
    cam = grad_cam(net, image, layer, class_index)
    return resize_bilinear(cam, net.input_shape[:2]) * saliency(net, class_index)


# ---------------------------------------------------------------------------- randomisation check
def fingerprint_correlations(order, cumulative: bool = True, seed: int = 0, shape=(8, 8), state: int = 1) -> np.ndarray:
    """What ``randomisation_check`` returns with :class:`~autograder.testmodels.ch04_cnn.FingerprintMap`
    for layers re-initialised (own initialiser) in ``order``: Spearman of |maps|, one per step. ``state=2``:
    the layers were changed another way (e.g. the kernel re-drawn but not the bias)."""
    original = np.abs(fingerprint_map([0] * len(FINGERPRINT_LAYERS), seed, shape)).ravel()
    out, done = [], set()
    for name in order:
        done = (done | {name}) if cumulative else {name}
        states = [state if n in done else 0 for n in FINGERPRINT_LAYERS]
        new = np.abs(fingerprint_map(states, seed, shape)).ravel()
        out.append(spearmanr(original, new)[0])
    return np.array(out)


def filter_direction(net, layer: str, filter_index: int) -> np.ndarray:
    """d mean(activation of one filter) / d input (H, W, 3) when ``layer`` is a linear 'same' convolution of
    the input: every output position adds the filter's kernel once over its (zero-padded) window."""
    kernel = _w(net, layer)[0][..., filter_index]
    kh, kw = kernel.shape[:2]
    h, w = net.input_shape[:2]
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    padded = np.zeros((h + kh - 1, w + kw - 1, net.input_shape[2]))
    for i in range(h):
        for j in range(w):
            padded[i:i + kh, j:j + kw] += kernel
    return padded[ph:ph + h, pw:pw + w] / (h * w)
