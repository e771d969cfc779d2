"""Images and image classifiers for the LIME chapter, with an offline path for everything.

* :func:`sample_images` — a few real photos that ship with scikit-image (no download), centre-cropped
  and resized to 224 x 224, values in [0, 1];
* :func:`load_mobilenet_v2` — Keras' MobileNetV2 with its ImageNet weights, or ``None`` with a clear
  message when the weights are not cached and cannot be downloaded;
* :func:`mobilenet_classifier` — wraps the model as ``classifier_fn(images in [0, 1]) -> probabilities``,
  the interface LIME expects, with MobileNetV2's own input scaling;
* :class:`ColourClassifier` — a transparent stand-in classifier (classes "R", "G", "B" from the average
  colour) whose explanation is known in advance, to test explanation code without any download;
* :func:`load_imagenet_v2` — opt-in: the ImageNetV2 test images through ``tensorflow_datasets``
  (about 1.26 GB to download, not installed by default).
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

IMAGE_SIZE = 224
# name shown in the notebook -> function of skimage.data (all ship with scikit-image itself)
SAMPLE_IMAGES = {"cat": "chelsea", "coffee": "coffee", "astronaut": "astronaut", "rocket": "rocket"}
MOBILENET_V2_WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
MOBILENET_V2_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" + MOBILENET_V2_WEIGHTS


def center_crop_resize(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """The largest centred square of ``image``, resized to ``size x size``, as float RGB in [0, 1]."""
    from skimage.color import gray2rgb
    from skimage.transform import resize

    image = np.asarray(image)
    if image.ndim == 2:
        image = gray2rgb(image)
    image = image[..., :3]
    if image.dtype == np.uint8:
        image = image / 255.0
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top:top + side, left:left + side]
    return np.clip(resize(square, (size, size), anti_aliasing=True), 0.0, 1.0).astype(np.float32)


def sample_images(names: Optional[Sequence[str]] = None, size: int = IMAGE_SIZE) -> Tuple[List[str], np.ndarray]:
    """``(names, images)``: photos from ``skimage.data``, images of shape ``(k, size, size, 3)``, float32 in [0, 1].

    ``names`` picks among ``SAMPLE_IMAGES`` (default: all of them: cat, coffee, astronaut, rocket).
    """
    from skimage import data

    names = list(SAMPLE_IMAGES) if names is None else list(names)
    unknown = [n for n in names if n not in SAMPLE_IMAGES]
    if unknown:
        raise KeyError(f"unknown sample image(s) {unknown}; choose from {list(SAMPLE_IMAGES)}")
    images = np.stack([center_crop_resize(getattr(data, SAMPLE_IMAGES[n])(), size) for n in names])
    return names, images


# ---------------------------------------------------------------------------- MobileNetV2
def keras_models_dir() -> Path:
    """Where Keras caches downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "models"


def _reachable(host: str, port: int = 443, timeout: float = 5.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def load_mobilenet_v2(verbose: bool = True, classifier_activation="softmax"):
    """MobileNetV2 with ImageNet weights, or ``None`` (with a printed explanation) if they are unavailable.

    The weights are used from Keras' cache when present; otherwise they are downloaded once (14 MB),
    unless ``IMLBOOK_OFFLINE`` is set or the download host cannot be reached within 5 s. A model with
    random weights is never returned: its explanations would mean nothing. ``classifier_activation=None``
    gives the logits (what gradient-based explanations need) instead of the softmax probabilities.
    """
    cached = keras_models_dir() / MOBILENET_V2_WEIGHTS
    offline = os.environ.get("IMLBOOK_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    reason = ""
    if not cached.is_file():
        if offline:
            reason = "IMLBOOK_OFFLINE is set"
        elif not _reachable("storage.googleapis.com"):
            reason = "storage.googleapis.com cannot be reached (no network?)"
    if not reason:
        try:
            import keras

            return keras.applications.MobileNetV2(weights="imagenet", classifier_activation=classifier_activation)
        except Exception as exc:  # download or file errors of many kinds
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
    if verbose:
        print("MobileNetV2's ImageNet weights are not available, so the ImageNet demonstrations are skipped.\n"
              f"  reason: {reason}\n"
              f"  missing file: {cached}\n"
              f"  fix: run this notebook once with network access (Keras downloads {MOBILENET_V2_URL}\n"
              f"       into {keras_models_dir()}), or copy that file there by hand.\n"
              "  The exercises do not need it: their checks use small stand-in models.")
    return None


def mobilenet_classifier(model) -> Callable[[np.ndarray], np.ndarray]:
    """``classifier_fn(images) -> (n, 1000)`` class probabilities for images in [0, 1] of shape (n, 224, 224, 3).

    MobileNetV2 expects inputs scaled to [-1, 1] (``keras.applications.mobilenet_v2.preprocess_input``
    on 0..255 values); the workshop fed it [0, 1] images, which lowers its accuracy.
    """

    def classifier_fn(images):
        x = np.asarray(images, dtype=np.float32) * 2.0 - 1.0
        return np.asarray(model.predict(x, batch_size=64, verbose=0), dtype=np.float64)

    return classifier_fn


def load_imagenet_v2(n: int = 50, size: int = IMAGE_SIZE):
    """Opt-in: ``(images, labels)`` of the first ``n`` ImageNetV2 test images via ``tensorflow_datasets``.

    Needs ``pip install tensorflow-datasets`` and downloads about 1.26 GB on first use.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as exc:
        raise RuntimeError("ImageNetV2 needs tensorflow-datasets: pip install tensorflow-datasets "
                           "(and about 1.26 GB of download)") from exc
    ds = tfds.load("imagenet_v2", split="test", as_supervised=True)
    images, labels = [], []
    for img, label in ds.take(n):
        images.append(center_crop_resize(img.numpy(), size))
        labels.append(int(label.numpy()))
    return np.stack(images), np.array(labels)


# ---------------------------------------------------------------------------- a transparent classifier
class ColourClassifier:
    """A 'classifier' whose reasons we know: P(R), P(G), P(B) from the image's average colour.

    ``p = softmax(temperature * (mean R, mean G, mean B))`` over the whole image. Hiding a superpixel
    (painting it black) removes its colour from the average, so LIME should name the reddest
    superpixels as the evidence for class "R". Use it to test explanation code offline.
    """

    #: class k wins when channel k (R, G, B) dominates the average colour. Deliberately not named
    #: "red"/"blue": in the workbook's plots red and blue mean evidence for and against a class.
    class_names = ["R", "G", "B"]

    def __init__(self, temperature: float = 10.0):
        self.temperature = float(temperature)

    def __call__(self, images) -> np.ndarray:
        x = np.asarray(images)
        if x.ndim == 3:
            x = x[None]
        # average colour per image, accumulated in float64 without copying a large batch
        s = self.temperature * x.reshape(len(x), -1, x.shape[-1])[..., :3].mean(axis=1, dtype=np.float64)
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def evidence(self, image: np.ndarray, segments: np.ndarray, label: int) -> np.ndarray:
        """The known answer: how much showing each superpixel (rather than black) raises P(label).

        To first order, ``dP_k = T * P_k * (dS_k - sum_c P_c dS_c)`` where showing superpixel ``j`` adds
        ``share_j * colour_j`` to the average colour; this returns that change for every superpixel.
        """
        image = np.asarray(image, dtype=np.float64)[..., :3]
        flat = np.asarray(segments).ravel()
        n = int(flat.max()) + 1
        counts = np.bincount(flat, minlength=n)
        colour = np.stack([np.bincount(flat, weights=image[..., c].ravel(), minlength=n) for c in range(3)],
                          axis=1) / np.maximum(counts, 1)[:, None]
        p = self(image[None])[0]
        share = counts / flat.size
        return self.temperature * p[label] * share * (colour[:, label] - colour @ p)
