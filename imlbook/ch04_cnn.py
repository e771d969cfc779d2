"""Scenes with a known answer and a small CNN for chapter 4 (inside the CNN).

* :func:`make_scenes` — generated 32 x 32 colour images: a textured grey background with one planted
  object (a square or a disc) whose **colour is the class** (red, green or blue), plus the object's mask.
  Where the evidence for the class lies is therefore known for every image: inside the mask.
* :func:`build_scene_cnn` / :func:`train_scene_cnn` — a small convolutional network that outputs
  **logits** (no softmax), trained on such scenes in a few seconds on a laptop CPU, seeded.
* :func:`centred_gaussian` — the baseline "explanation" that ignores the image: a blob in the centre.
* :func:`upsample` — a map resized to the image's size with bilinear interpolation (``tf.image.resize``).

No download: this is the chapter's offline path. With MobileNetV2's ImageNet weights (see
:func:`imlbook.images.load_mobilenet_v2`) the notebook also explains real photos.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

SCENE_SIZE = 32
CLASS_NAMES = ("red", "green", "blue")
COLOURS = np.array([[0.85, 0.15, 0.15], [0.15, 0.75, 0.2], [0.2, 0.3, 0.9]])


def make_scenes(n: int, seed: int = 0, size: int = SCENE_SIZE) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images, labels, masks)`` of ``n`` generated scenes.

    images: float32 ``(n, size, size, 3)`` in [0, 1]; labels: int ``(n,)``, the object's colour
    (0 red, 1 green, 2 blue); masks: bool ``(n, size, size)``, True on the object's pixels.
    The background is a grey texture (random stripes and noise, no saturated colour); the object, a
    square or a disc 7 to 11 pixels across, sits anywhere fully inside the image.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.empty((n, size, size, 3), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=bool)
    labels = rng.integers(0, len(CLASS_NAMES), size=n)
    for i in range(n):
        angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(0.2, 0.8), rng.uniform(0, 2 * np.pi)
        stripes = 0.5 + 0.18 * np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
        grey = stripes + rng.normal(0.0, 0.06, (size, size))
        background = grey[..., None] + rng.normal(0.0, 0.03, (size, size, 3))  # barely coloured
        d = int(rng.integers(7, 12))
        top, left = rng.integers(0, size - d + 1, size=2)
        if rng.random() < 0.5:
            mask = (yy >= top) & (yy < top + d) & (xx >= left) & (xx < left + d)
        else:
            r = d / 2.0
            mask = (yy + 0.5 - top - r) ** 2 + (xx + 0.5 - left - r) ** 2 <= r * r
        colour = COLOURS[labels[i]] * rng.uniform(0.85, 1.1) + rng.normal(0.0, 0.04, (size, size, 3))
        image = np.where(mask[..., None], colour, background)
        images[i] = np.clip(image, 0.0, 1.0)
        masks[i] = mask
    return images, labels.astype(np.int64), masks


def build_scene_cnn(size: int = SCENE_SIZE, n_classes: int = len(CLASS_NAMES), seed: int = 0):
    """A small Functional CNN: three 3x3 conv layers (``conv1``..``conv3``, ReLU), two max-poolings, global
    average pooling and a dense layer ``logits`` with **no softmax** (8 x 8 feature maps at ``conv3``)."""
    import keras

    keras.utils.set_random_seed(seed)
    L = keras.layers
    inputs = keras.Input((size, size, 3), name="image")
    x = L.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = L.Conv2D(32, 3, padding="same", activation="relu", name="conv3")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    outputs = L.Dense(n_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="scene_cnn")


def train_scene_cnn(images: np.ndarray, labels: np.ndarray, epochs: int = 6, seed: int = 0, verbose: int = 0):
    """:func:`build_scene_cnn` trained on ``(images, labels)`` with Adam and a cross-entropy on the logits."""
    import keras

    from imlbook.reproducible import fix_thread_pools

    fix_thread_pools()  # the pool's size changes how gradients are summed: the same on every core count
    model = build_scene_cnn(images.shape[1], int(labels.max()) + 1, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    keras.utils.set_random_seed(seed)
    model.fit(images, labels, epochs=epochs, batch_size=32, verbose=verbose, shuffle=True)
    return model


def centred_gaussian(shape: Tuple[int, int], sigma: float = 0.25) -> np.ndarray:
    """A map that ignores the image: a Gaussian blob in the centre, ``sigma`` in units of the side."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-(((yy + 0.5) / h - 0.5) ** 2 + ((xx + 0.5) / w - 0.5) ** 2) / (2 * sigma ** 2))


def upsample(heatmap: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """``heatmap`` (h, w) resized to ``shape`` (H, W) with bilinear interpolation (``tf.image.resize``)."""
    import tensorflow as tf

    return tf.image.resize(np.asarray(heatmap, dtype=np.float32)[..., None], shape).numpy()[..., 0]
