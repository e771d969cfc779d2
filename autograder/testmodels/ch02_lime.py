"""Small stand-ins with known answers for the LIME checks (chapter 2).

Like :mod:`autograder.testmodels.ch01_pdp_ice` they are plain, picklable, module-level
classes (the grader sends them to its worker process) and need no download,
no TensorFlow and no training:

* :class:`WordVectorizer` and :class:`WordSigmoidModel` replace the notebook's
  ``vectorizer`` (a ``keras.layers.TextVectorization``) and ``model`` (the
  BiLSTM) when ``predict_proba(texts)`` is checked;
* :class:`WordPresenceClassifier` is a ``predict_proba`` whose answer depends
  only on which words a text contains, for ``lime_text_weights``;
* :class:`RegionBrightnessClassifier` is an image classifier that looks at the
  brightness of fixed regions, for ``explain_top_labels`` and (through
  :meth:`~RegionBrightnessClassifier.on_samples`) ``lime_image_weights``;
* :class:`SuperpixelMeanModel` is an image model linear in the mean brightness
  of each superpixel, for ``lime_image_weights``;
* :func:`block_segments`, :func:`textured_image` build small images and
  segmentations for the image checks.
"""
from __future__ import annotations

import re
import string
from typing import Dict, Optional, Sequence

import numpy as np

WORD = re.compile(r"\w+")
_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]")


def _as_text_list(texts) -> list:
    """A batch of texts as a list of str: accepts lists, tuples, arrays, and tensors of str or bytes."""
    if hasattr(texts, "numpy") and not isinstance(texts, np.ndarray):
        texts = texts.numpy()
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    out = []
    for t in np.asarray(texts, dtype=object).reshape(-1):
        out.append(t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t))
    return out


class _Tensorish(np.ndarray):
    """What ``model(x)`` returns: a NumPy array that also has ``.numpy()``, like an eager tensor."""

    def numpy(self):
        return np.asarray(self).copy()


# ---------------------------------------------------------------------------
# predict_proba: a vectorizer and a model with the interface of the notebook's
# ---------------------------------------------------------------------------
class WordVectorizer:
    """Mimics ``keras.layers.TextVectorization(output_sequence_length=length)``.

    Lower-cases, strips punctuation, splits on whitespace; token 0 is padding,
    1 is out-of-vocabulary, ``vocabulary[i]`` is token ``i + 2``. Every text
    becomes exactly ``length`` token ids (padded with 0 or truncated).
    """

    REMOTE_METHODS = ("vocabulary_size", "get_vocabulary")  # what the grader's stand-in answers (autograder.remote)

    def __init__(self, vocabulary: Sequence[str], length: int = 12):
        self.vocabulary = [str(w) for w in vocabulary]
        self.index = {w: i + 2 for i, w in enumerate(self.vocabulary)}
        self.length = int(length)

    def vocabulary_size(self) -> int:
        return len(self.vocabulary) + 2

    def get_vocabulary(self):
        return ["", "[UNK]"] + list(self.vocabulary)

    def tokens(self, text: str) -> list:
        words = _PUNCTUATION.sub("", text.lower()).split()
        return [self.index.get(w, 1) for w in words][: self.length]

    def __call__(self, texts, *args, **kwargs) -> np.ndarray:
        batch = _as_text_list(texts)
        out = np.zeros((len(batch), self.length), dtype=np.int64)
        for i, text in enumerate(batch):
            ids = self.tokens(text)
            out[i, : len(ids)] = ids
        return out


class WordSigmoidModel:
    """Mimics the notebook's Keras model: token ids ``(n, L)`` -> ``(n, 1)`` probability of *positive*.

    ``p = sigmoid(bias + sum of weights of the tokens present)`` (padding and unknown words add 0).
    ``predict(x)`` and ``model(x)`` both work. With ``max_calls`` set, calling the
    model more often than that in one exercise call raises, to catch one call per text.
    """

    REMOTE_METHODS = ("predict",)  # like a Keras model: model(x) and model.predict(x) (autograder.remote)

    def __init__(self, vectorizer: WordVectorizer, weights: Dict[str, float], bias: float = 0.0,
                 max_calls: Optional[int] = None):
        self.table = np.zeros(vectorizer.vocabulary_size())
        for word, w in weights.items():
            self.table[vectorizer.index[word]] = float(w)
        self.bias = float(bias)
        self.max_calls = max_calls
        self.calls = 0

    def _run(self, x) -> np.ndarray:
        self.calls += 1
        if self.max_calls is not None and self.calls > self.max_calls:
            raise RuntimeError(f"the model was called {self.calls} times for one batch of texts: "
                               "call it once on all the texts together")
        if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
            x = x.numpy()
        ids = np.asarray(x)
        if ids.ndim == 1:
            raise ValueError(f"the model expects a 2-D batch of token ids (n_texts, length), got shape {ids.shape}")
        ids = ids.astype(np.int64)
        if ids.min(initial=0) < 0 or ids.max(initial=0) >= self.table.size:
            raise ValueError("token ids out of range: pass the output of `vectorizer(texts)` to the model")
        score = self.bias + self.table[ids].sum(axis=1)
        return (1.0 / (1.0 + np.exp(-score))).astype(np.float32)[:, None]

    def predict(self, x, *args, **kwargs) -> np.ndarray:
        return self._run(x)

    def __call__(self, x, *args, **kwargs):
        return self._run(x).view(_Tensorish)

    # -- the answer a correct predict_proba gives ------------------------------
    def positive_probability(self, vectorizer: WordVectorizer, texts) -> np.ndarray:
        ids = vectorizer(texts)
        score = self.bias + self.table[ids].sum(axis=1)
        return 1.0 / (1.0 + np.exp(-score))


# ---------------------------------------------------------------------------
# lime_text_weights: a predict_proba that only looks at which words are present
# ---------------------------------------------------------------------------
class WordPresenceClassifier:
    """``predict_proba(texts) -> (n, 2)``; column 1 depends only on which of the words in ``weights`` occur.

    ``score = bias + sum(weights[w] for the words w present)`` (words are ``\\w+`` runs,
    case-sensitive, as lime splits text). ``link="linear"`` gives ``p1 = score``
    (clipped to [0, 1]); ``link="sigmoid"`` gives ``p1 = sigmoid(score)``.

    ``far`` (optional) makes texts far from the original behave differently: when
    fewer than ``far["min_present"]`` of the words in ``far["words"]`` remain, every
    word's effect is multiplied by ``far["sign"]`` (e.g. -1: reversed). LIME's kernel
    gives such samples, far from the text being explained, a small weight.
    ``interactions`` adds ``c`` when both words ``a`` and ``b`` are present.

    Two optional tripwires make rules about *how* it is called visible: with
    ``max_calls`` set, calling it more often than that raises; with ``first_text``
    set, a batch whose first text does not hold exactly the words of ``first_text``
    raises (LIME's row 0 is the text being explained, every word kept).
    """

    def __init__(self, weights: Dict[str, float], bias: float = 0.5, link: str = "linear",
                 far: Optional[dict] = None, interactions: Sequence = (), max_calls: Optional[int] = None,
                 first_text: Optional[str] = None):
        self.weights = {str(k): float(v) for k, v in weights.items()}
        self.bias = float(bias)
        self.link = link
        self.far = far
        self.interactions = [(str(a), str(b), float(c)) for a, b, c in interactions]
        self.max_calls = max_calls
        self.first_text = first_text
        self.calls = 0

    def score_words(self, present: set) -> float:
        sign = 1.0
        if self.far is not None and sum(w in present for w in self.far["words"]) < self.far["min_present"]:
            sign = float(self.far["sign"])
        effect = sum(v for w, v in self.weights.items() if w in present)
        effect += sum(c for a, b, c in self.interactions if a in present and b in present)
        return self.bias + sign * effect

    def positive(self, present: set) -> float:
        s = self.score_words(present)
        if self.link == "sigmoid":
            return float(1.0 / (1.0 + np.exp(-s)))
        return float(min(1.0, max(0.0, s)))

    def __call__(self, texts) -> np.ndarray:
        self.calls += 1
        if self.max_calls is not None and self.calls > self.max_calls:
            raise RuntimeError(f"predict_proba was called {self.calls} times in one explanation: "
                               "call it once, on the texts of all the samples together")
        batch = _as_text_list(texts)
        if self.first_text is not None:
            first = sorted(set(WORD.findall(batch[0]))) if batch else []
            if first != sorted(set(WORD.findall(self.first_text))):
                raise RuntimeError(f"the first text predict_proba received, {batch[0][:80]!r}, is not the text "
                                   "being explained with every word kept" if batch else
                                   "predict_proba received an empty batch")
        p1 = np.array([self.positive(set(WORD.findall(t))) for t in batch], dtype=float)
        return np.column_stack([1.0 - p1, p1])


def distinct_words(text: str) -> list:
    """The features LIME uses for a text: distinct ``\\w+`` words, in order of first appearance."""
    return list(dict.fromkeys(WORD.findall(text)))


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------
def block_segments(height: int, width: int, rows: int, cols: int, shuffle_seed: Optional[int] = None) -> np.ndarray:
    """A ``rows x cols`` grid of rectangular superpixels labelled 0..rows*cols-1 (optionally in shuffled order)."""
    r = np.minimum(np.arange(height) * rows // height, rows - 1)
    c = np.minimum(np.arange(width) * cols // width, cols - 1)
    seg = r[:, None] * cols + c[None, :]
    if shuffle_seed is not None:
        perm = np.random.default_rng(shuffle_seed).permutation(rows * cols)
        seg = perm[seg]
    return seg.astype(np.int64)


def coin_flip_samples(num_samples: int, n_segments: int, seed: int) -> np.ndarray:
    """A 0/1 ``z`` like lime_image draws: row 0 all ones, then each superpixel visible with probability 1/2."""
    z = np.random.default_rng(seed).integers(0, 2, size=(num_samples, n_segments))
    z[0] = 1
    return z


def textured_image(height: int, width: int, seed: int, channels: int = 3, low: float = 0.3,
                   high: float = 0.9) -> np.ndarray:
    """A reproducible noisy image with values in [low, high]: no superpixel is uniform."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=(height, width, channels))


def quadrant_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Four flat, very different colours in the four quadrants, plus a little noise."""
    rng = np.random.default_rng(seed)
    colours = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.9], [0.9, 0.9, 0.2]])
    img = np.empty((height, width, 3))
    h2, w2 = height // 2, width // 2
    img[:h2, :w2], img[:h2, w2:], img[h2:, :w2], img[h2:, w2:] = colours
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)


class RegionBrightnessClassifier:
    """``classifier_fn(images) -> (n, k)`` softmax probabilities for a batch ``(n, H, W, C)``.

    Class ``j`` scores ``gains[j] * (mean brightness inside regions[j]) + biases[j]``;
    a class without a region (``None``) scores its bias only. Hiding the superpixels of
    region ``j`` (painting them black) therefore lowers the probability of class ``j``.

    With ``max_images`` set, being asked about more images than that in total raises (a tripwire
    for an explanation that ignores its ``num_samples``).
    """

    def __init__(self, regions: Sequence[Optional[np.ndarray]], gains: Sequence[float],
                 biases: Optional[Sequence[float]] = None, max_images: Optional[int] = None):
        self.regions = [None if r is None else np.asarray(r, dtype=bool) for r in regions]
        self.gains = np.asarray(gains, dtype=float)
        self.biases = np.zeros(len(self.regions)) if biases is None else np.asarray(biases, dtype=float)
        self.max_images = max_images
        self.images_seen = 0

    def scores(self, images) -> np.ndarray:
        x = np.asarray(images, dtype=float)
        if x.ndim == 3:
            raise ValueError(f"classifier_fn expects a batch of images (n, H, W, C), got shape {x.shape}")
        bright = x.mean(axis=-1)  # (n, H, W)
        s = np.tile(self.biases, (len(x), 1))
        for j, region in enumerate(self.regions):
            if region is not None:
                s[:, j] += self.gains[j] * bright[:, region].mean(axis=1)
        return s

    @staticmethod
    def _softmax(s: np.ndarray) -> np.ndarray:
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def __call__(self, images) -> np.ndarray:
        self.images_seen += len(images)
        if self.max_images is not None and self.images_seen > self.max_images:
            raise RuntimeError(f"classifier_fn was asked about {self.images_seen} images, more than the "
                               f"{self.max_images} samples requested")
        return self._softmax(self.scores(images))

    def on_samples(self, image: np.ndarray, segments: np.ndarray, z) -> np.ndarray:
        """What ``self(perturbed images)`` returns, computed from ``z`` alone, without building any image.

        Sample ``i`` shows superpixel ``j`` where ``z[i, j] == 1`` and black (0) elsewhere. A region's
        mean brightness is then ``sum_j z[i, j] * B[j] / (pixels in the region)``, where ``B[j]`` is the
        brightness of superpixel ``j`` summed over the region's pixels (0 outside the region).
        """
        z = np.asarray(z, dtype=float)
        flat = np.asarray(segments).ravel()
        n = int(flat.max()) + 1
        bright = np.asarray(image, dtype=float).mean(axis=-1).ravel()
        s = np.tile(self.biases, (len(z), 1))
        for j, region in enumerate(self.regions):
            if region is not None:
                inside = region.ravel()
                sums = np.bincount(flat[inside], weights=bright[inside], minlength=n)
                s[:, j] += self.gains[j] * (z @ sums) / inside.sum()
        return self._softmax(s)


class SuperpixelMeanModel:
    """An image 'model' linear in the mean brightness of each superpixel: ``bias + sum_j coefs[j] * m_j``.

    ``m_j`` is the mean brightness of superpixel ``j`` of ``segments`` in the image it is given. On a
    sample that paints the hidden superpixels black, ``m_j = z_j * mean_j`` (``mean_j`` of the original
    image), so the model is linear in ``z`` with the coefficients :meth:`effects`, which LIME recovers.
    """

    def __init__(self, segments: np.ndarray, coefs: Sequence[float], bias: float = 0.0):
        self.segments = np.asarray(segments)
        self.coefs = np.asarray(coefs, dtype=float)
        self.bias = float(bias)

    def _means(self, image: np.ndarray) -> np.ndarray:
        flat = self.segments.ravel()
        n = len(self.coefs)
        bright = np.asarray(image, dtype=float).mean(axis=-1).ravel()
        return np.bincount(flat, weights=bright, minlength=n) / np.maximum(np.bincount(flat, minlength=n), 1)

    def __call__(self, images) -> np.ndarray:
        return np.array([self.bias + self.coefs @ self._means(img) for img in np.asarray(images, dtype=float)])

    def effects(self, image: np.ndarray) -> np.ndarray:
        """How much showing each superpixel (rather than black) adds to the output: ``coefs * mean_j``."""
        return self.coefs * self._means(image)

    def on_samples(self, image: np.ndarray, z) -> np.ndarray:
        """What ``self(perturbed images)`` returns when ``z`` marks the visible superpixels (hidden: black)."""
        return self.bias + np.asarray(z, dtype=float) @ self.effects(image)
