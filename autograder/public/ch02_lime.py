"""Public checks for chapter 2 (LIME): shipped to students with the notebook.

No check needs a download, TensorFlow or a trained network: the inputs are the
small stand-ins of :mod:`autograder.testmodels.ch02_lime`, whose right answers are
known from how they are built (which words or regions drive them), so the
checks test properties of a correct answer rather than compare with a stored
reference. Random sampling is never compared draw for draw: a check asks for
the same result with the same seed and for what any correct sampler gives.
"""
import numpy as np

from autograder.checks import CheckFailed, StudentError, check, expect, expect_close, expect_shape
from autograder.testmodels.ch02_lime import (RegionBrightnessClassifier, WordPresenceClassifier, WordSigmoidModel,
                                        WordVectorizer, block_segments, coin_flip_samples, distinct_words,
                                        quadrant_image, textured_image)

# The modules this chapter's grading workers import before the fork (the fork server in autograder.sandbox):
# every submission's worker starts with them loaded instead of paying for the imports again.
WORKER_PRELOAD = ("re", "numpy", "sklearn.linear_model", "skimage.segmentation", "lime.lime_text",
                  "lime.lime_image")

# ---------------------------------------------------------------------------
# predict_proba
# ---------------------------------------------------------------------------
PROBA = "predict_proba"
GLOBALS_HINT = ("predict_proba(texts) must use the notebook's globals `vectorizer` (texts -> token ids) and "
                "`text_model` (token ids -> probability of positive), under exactly these names")


def sentiment_stand_in(max_calls=None, length=12):
    """A vectorizer and a 'model' whose probability of *positive* is known for every text."""
    vectorizer = WordVectorizer(["love", "great", "happy", "hate", "awful", "sad", "the", "day", "movie",
                                 "not", "today", "so"], length=length)
    model = WordSigmoidModel(vectorizer, {"love": 2.0, "great": 1.5, "happy": 1.0, "hate": -2.5,
                                          "awful": -1.8, "sad": -1.2, "not": -0.4, "today": 0.2},
                             bias=0.3, max_calls=max_calls)
    return vectorizer, model


def call_proba(call, texts, vectorizer, model):
    try:
        return call(texts=texts, _inject={"vectorizer": vectorizer, "text_model": model})
    except StudentError as exc:
        if exc.summary.startswith("NameError"):
            raise CheckFailed(f"your function raised {exc.summary}", hint=GLOBALS_HINT) from None
        if "was called" in exc.summary:
            raise CheckFailed("the model was called more than once for one batch of texts",
                              hint="LIME sends thousands of texts at a time: vectorize them all and call "
                                   "text_model.predict once") from None
        raise


def expect_proba(out, n, what="predict_proba(texts)"):
    if isinstance(out, np.ndarray) and out.shape == (n, 1):
        raise CheckFailed(f"{what} returned shape (n, 1): only one probability per text",
                          hint="LIME needs one column per class: stack [1 - p, p] into shape (n, 2)")
    if isinstance(out, np.ndarray) and out.shape == (n,):
        raise CheckFailed(f"{what} returned a flat array of {n} values",
                          hint="LIME needs one column per class: stack [1 - p, p] into shape (n, 2)")
    return expect_shape(out, (n, 2), what, hint="one row per text, column 0 = negative, column 1 = positive")


# Each exercise's public checks earn their points only when a hidden check of the same method on inputs the
# student bundle does not hold passes too (see `counts_with` in autograder/checks.py): a function that
# answers the public checks from a table of their recorded answers implements nothing and earns nothing.
# In a student's self-check the hidden checks are absent and every public check counts as usual.
TWIN = {
    "predict_proba": "another vocabulary, 40 texts with capitals and punctuation",
    "lime_text_weights": "removing a word removes every occurrence; other seeds give other samples",
    "explain_top_labels": "shuffled superpixel labels, a wide image and three labels",
    "segment_image": "the same superpixels as skimage's SLIC with the given parameters",
    "perturb_image": "shuffled labels, a colour per channel, one-channel images, input unchanged",
    "lime_image_weights": "recovers a model linear in the superpixels' mean brightness",
}

TEXTS = ["I love this movie", "what an awful, sad day", "not so great today"]


@check(PROBA, "returns a NumPy array of shape (n_texts, 2)", counts_with=TWIN[PROBA])
def _(call):
    vectorizer, model = sentiment_stand_in()
    out = call_proba(call, TEXTS, vectorizer, model)
    call.expect_array("predict_proba(texts)",
                      hint="return an array, e.g. np.column_stack([1 - p, p]): LimeTextExplainer and "
                           "predict_proba(texts)[:, 1] need one, a list of lists fails there")
    expect_proba(out, len(TEXTS))


@check(PROBA, "each row holds two probabilities that sum to 1", counts_with=TWIN[PROBA])
def _(call):
    vectorizer, model = sentiment_stand_in()
    out = expect_proba(call_proba(call, TEXTS, vectorizer, model), len(TEXTS))
    expect(((out >= 0) & (out <= 1)).all(), "some values are not probabilities (outside [0, 1])")
    expect_close(out.sum(axis=1), np.ones(len(TEXTS)), "the two columns of a row should sum to 1",
                 hint="column 0 is 1 - p and column 1 is p, where p is the model's probability of positive",
                 atol=1e-5)


@check(PROBA, "column 1 is the model's probability of positive, column 0 of negative", points=2, counts_with=TWIN[PROBA])
def _(call):
    vectorizer, model = sentiment_stand_in()
    texts = ["I love this great movie", "I hate this awful day", "the movie"]
    out = expect_proba(call_proba(call, texts, vectorizer, model), len(texts))
    p = model.positive_probability(vectorizer, texts)
    if np.allclose(out[:, 0], p, atol=1e-4) and not np.allclose(out[:, 1], p, atol=1e-4):
        raise CheckFailed("the columns are swapped: column 0 holds the probability of positive",
                          hint="the model's sigmoid output is P(positive); it belongs in column 1 (class 1)")
    expect_close(out[:, 1], p, "column 1 is not the model's probability of positive",
                 hint="vectorize the texts, call the model once, and use its output p as column 1", atol=1e-4)


@check(PROBA, "works on a list with a single text", counts_with=TWIN[PROBA])
def _(call):
    vectorizer, model = sentiment_stand_in()
    out = expect_proba(call_proba(call, ["so happy today"], vectorizer, model), 1,
                       "predict_proba(['so happy today'])")
    expect_close(out[:, 1], model.positive_probability(vectorizer, ["so happy today"]),
                 "wrong probability for a single text", atol=1e-4)


@check(PROBA, "works on an empty text and on a text longer than the sequence length", counts_with=TWIN[PROBA])
def _(call):
    vectorizer, model = sentiment_stand_in(length=8)
    texts = ["", " ".join(["love"] * 3 + ["the", "day"] * 10 + ["hate"] * 5), "!!!"]
    out = expect_proba(call_proba(call, texts, vectorizer, model), len(texts))
    expect_close(out[:, 1], model.positive_probability(vectorizer, texts),
                 "wrong probabilities for an empty or a very long text",
                 hint="let the vectorizer pad and truncate; do not drop empty texts", atol=1e-4)


@check(PROBA, "calls the model once for the whole batch of texts", counts_with=TWIN[PROBA])
def _(call):
    vectorizer, model = sentiment_stand_in(max_calls=1)
    texts = [f"{a} movie {b}" for a in ("love", "hate", "sad", "great") for b in ("today", "not", "so")]
    expect_proba(call_proba(call, texts, vectorizer, model), len(texts))


# ---------------------------------------------------------------------------
# lime_text_weights
# ---------------------------------------------------------------------------
TEXT_W = "lime_text_weights"
REVIEW = "the food was great, the view was great... but the service was slow!"


def expect_word_weights(out, text):
    words = distinct_words(text)
    if not isinstance(out, dict):
        raise CheckFailed(f"return a dict {{word: weight}}, got {type(out).__name__}",
                          hint="e.g. dict(zip(words, ridge.coef_))")
    missing = [w for w in words if w not in out]
    extra = [k for k in out if k not in words]
    if missing or extra:
        raise CheckFailed(f"the keys should be the distinct words of the text {words}; "
                          f"missing {missing[:5]}, unexpected {extra[:5]}",
                          hint='split like lime: re.findall(r"\\w+", text), keep each word once, keep its case')
    for w in words:
        v = out[w]
        if not (isinstance(v, np.ndarray) and v.shape == () and np.isfinite(v)):
            raise CheckFailed(f"the weight of {w!r} is not a finite number", hint="one float per word")
    return {w: float(out[w]) for w in words}


def ranked(weights):
    return sorted(weights, key=lambda w: -abs(weights[w]))


@check(TEXT_W, "returns {word: weight} for every distinct word of the text, in order of first appearance", counts_with=TWIN[TEXT_W])
def _(call):
    model = WordPresenceClassifier({"great": 0.2, "slow": -0.2}, bias=0.5)
    out = call(text=REVIEW, predict_proba=model, num_samples=300, seed=0)
    expect_word_weights(out, REVIEW)
    expect(list(out) == distinct_words(REVIEW),
           f"the words are in the order {list(out)}, expected their order of first appearance "
           f"{distinct_words(REVIEW)}",
           hint="words = list(dict.fromkeys(re.findall(r'\\w+', text))) keeps the first occurrence's order")


def call_text_weights(call, **kwargs):
    """``call(**kwargs)``, turning the stand-in model's tripwires (see WordPresenceClassifier) into messages."""
    try:
        return call(**kwargs)
    except StudentError as exc:
        if "was called" in exc.summary:
            raise CheckFailed("predict_proba was called more than once in one explanation",
                              hint="build the texts of all samples first, then call predict_proba(texts) once: "
                                   "a model answers a batch far faster than one text at a time") from None
        if "first text" in exc.summary or "empty batch" in exc.summary:
            raise CheckFailed("the first text sent to predict_proba is not the text being explained",
                              hint="row 0 of z is all ones (every word kept), so texts[0] is the text itself, "
                                   "as in lime") from None
        raise


@check(TEXT_W, "keeps each word's case ('The' and 'the' are two words)", counts_with=TWIN[TEXT_W])
def _(call):
    text = "The movie was GREAT, the acting was great too"
    coefs = {"GREAT": 0.3, "great": -0.1, "The": 0.15}
    model = WordPresenceClassifier(coefs, bias=0.4)
    w = expect_word_weights(call(text=text, predict_proba=model, num_samples=600, seed=4), text)
    for k, c in coefs.items():
        expect(abs(w[k] - c) < 0.05, f"the weight of {k!r} is {w[k]:.3f}, but the model adds {c} when {k!r} "
                                     "(with this case) is present",
               hint="do not lower-case the text: lime's features and the texts sent to predict_proba keep the case")


@check(TEXT_W, "calls predict_proba once, for all the samples together", counts_with=TWIN[TEXT_W])
def _(call):
    model = WordPresenceClassifier({"great": 0.2, "slow": -0.2}, bias=0.5, max_calls=1)
    expect_word_weights(call_text_weights(call, text=REVIEW, predict_proba=model, num_samples=300, seed=5),
                        REVIEW)


@check(TEXT_W, "row 0 is the text itself: the first text sent to predict_proba keeps every word", counts_with=TWIN[TEXT_W])
def _(call):
    model = WordPresenceClassifier({"great": 0.2, "slow": -0.2}, bias=0.5, first_text=REVIEW)
    expect_word_weights(call_text_weights(call, text=REVIEW, predict_proba=model, num_samples=300, seed=6),
                        REVIEW)


@check(TEXT_W, "the same seed gives the same weights", counts_with=TWIN[TEXT_W])
def _(call):
    model = WordPresenceClassifier({"great": 1.0, "slow": -1.5, "food": 0.5}, bias=0.2, link="sigmoid")
    a = expect_word_weights(call(text=REVIEW, predict_proba=model, num_samples=300, seed=7), REVIEW)
    b = expect_word_weights(call(text=REVIEW, predict_proba=model, num_samples=300, seed=7), REVIEW)
    expect(all(a[w] == b[w] for w in a), "two calls with seed=7 gave different weights",
           hint="draw every random number from one generator created from `seed`, "
                "e.g. rng = np.random.default_rng(seed)")


@check(TEXT_W, "a model that only reacts to one word gives that word the largest weight, with its sign", counts_with=TWIN[TEXT_W])
def _(call):
    model = WordPresenceClassifier({"slow": -3.0}, bias=1.5, link="sigmoid")
    w = expect_word_weights(call(text=REVIEW, predict_proba=model, num_samples=500, seed=1), REVIEW)
    top = ranked(w)[0]
    expect(top == "slow", f"the largest |weight| went to {top!r}, but the model only reacts to 'slow'",
           hint="features are 1 where a word is KEPT; explain column 1 (positive) of predict_proba")
    expect(w["slow"] < 0, "'slow' lowers the probability of positive, so its weight should be negative",
           hint="regress column 1 of predict_proba on the 0/1 matrix of kept words")


@check(TEXT_W, "on a model linear in word presence the weights follow its coefficients", points=2, counts_with=TWIN[TEXT_W])
def _(call):
    coefs = {"great": 0.3, "slow": -0.2, "view": 0.1, "food": -0.05}
    model = WordPresenceClassifier(coefs, bias=0.5)
    w = expect_word_weights(call(text=REVIEW, predict_proba=model, num_samples=800, seed=2), REVIEW)
    wrong_sign = [k for k, c in coefs.items() if np.sign(w[k]) != np.sign(c)]
    expect(not wrong_sign, f"wrong sign for {wrong_sign}: the model's coefficients are {coefs}",
           hint="a word whose presence raises P(positive) must get a positive weight")
    expect(ranked(w)[:4] == list(coefs),
           f"the words ranked by |weight| are {ranked(w)[:4]}, the model's coefficients rank them {list(coefs)}",
           hint="fit the weighted ridge on the 0/1 kept-word matrix against column 1 of predict_proba")
    for k, c in coefs.items():
        expect(abs(w[k] - c) < 0.05, f"the weight of {k!r} is {w[k]:.3f}, but the model adds {c} when it is present",
               hint="for a model that is exactly linear in word presence, LIME recovers its coefficients")


@check(TEXT_W, "samples far from the original text count less (LIME's kernel on cosine distance)", counts_with=TWIN[TEXT_W])
def _(call):
    # Near the text (5 or more of its 10 words kept) 'slow' lowers P(positive) and 'great' raises it;
    # far from it, with most words removed, the effects are reversed. Weighted by LIME's kernel, the
    # near samples dominate; unweighted, the two halves cancel out.
    text = "the food was great but the service was slow and the room cold"
    model = WordPresenceClassifier({"slow": -0.3, "great": 0.2}, bias=0.5,
                                   far={"words": distinct_words(text), "min_present": 5, "sign": -1.0})
    w = expect_word_weights(call(text=text, predict_proba=model, num_samples=2000, seed=3), text)
    expect(ranked(w)[:2] == ["slow", "great"] and w["slow"] < -0.13 and w["great"] > 0.05,
           f"weights slow={w['slow']:.3f}, great={w['great']:.3f}: the explanation does not describe "
           "the model near the text being explained",
           hint="weight each sample by sqrt(exp(-d**2 / 25**2)), d = 100 * cosine distance between its "
                "0/1 row and the all-ones row, and pass these as sample_weight to Ridge.fit")


# ---------------------------------------------------------------------------
# explain_top_labels
# ---------------------------------------------------------------------------
EXPLAIN = "explain_top_labels"


def regions_case(seed=1, size=48):
    """A 4 x 4 grid of superpixels; class 0 looks at the top-left 2 x 2 blocks, class 1 at the
    bottom-right ones, class 2 at nothing (a constant score). Order of probabilities: 0, 2, 1."""
    seg = block_segments(size, size, 4, 4)
    image = textured_image(size, size, seed)
    r0, r1 = np.isin(seg, [0, 1, 4, 5]), np.isin(seg, [10, 11, 14, 15])
    clf = RegionBrightnessClassifier([r0, r1, None], gains=[6.0, 4.0, 0.0], biases=[0.0, 0.0, 2.5])
    return image, seg, clf


def unpack_explanation(out, k, shape, call=None):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed("return a tuple (labels, masks)", hint="end with `return labels, masks`")
    if call is not None:  # the types as returned, before coercion
        call.expect_array("labels", item=0, kind="integer", hint="an integer NumPy array of the explained labels: np.array(explanation.top_labels[:top_labels])")
        call.expect_array("masks", item=1, hint="masks = np.stack([...]), one (H, W) mask per label")
    labels, masks = out
    expect_shape(labels, (k,), "labels", hint=f"the {k} class indices explained, most probable first")
    expect_shape(masks, (k,) + shape, "masks", hint="one (H, W) mask per label, stacked: np.stack(masks)")
    return [int(v) for v in labels], masks


def segments_marked(seg, mask, value):
    return sorted(int(s) for s in np.unique(seg[mask == value]))


@check(EXPLAIN, "returns arrays (labels, masks) of shapes (top_labels,) and (top_labels, H, W)", counts_with=TWIN[EXPLAIN])
def _(call):
    image, seg, clf = regions_case()
    unpack_explanation(call(image=image, classifier_fn=clf, segments=seg, top_labels=2, num_features=4,
                            num_samples=200, seed=0), 2, seg.shape, call)


@check(EXPLAIN, "labels are the most probable classes, most probable first", counts_with=TWIN[EXPLAIN])
def _(call):
    image, seg, clf = regions_case()
    labels, _ = unpack_explanation(call(image=image, classifier_fn=clf, segments=seg, top_labels=2,
                                        num_features=4, num_samples=200, seed=0), 2, seg.shape)
    expect(labels == [0, 2], f"labels are {labels}, but the classifier's two most probable "
                                   f"classes are [0, 2] (probabilities {np.round(clf(image[None])[0], 3)})",
           hint="pass top_labels to explain_instance and use explanation.top_labels (most probable first)")


@check(EXPLAIN, "asks the classifier about num_samples images, the original included", counts_with=TWIN[EXPLAIN])
def _(call):
    image, seg, clf = regions_case()
    clf = RegionBrightnessClassifier(clf.regions, clf.gains, clf.biases, max_images=120)
    try:
        out = call(image=image, classifier_fn=clf, segments=seg, top_labels=2, num_features=4, num_samples=120,
                   seed=0)
    except StudentError as exc:
        if "was asked about" in exc.summary:
            raise CheckFailed(f"with num_samples=120 the classifier was asked about more images ({exc.summary})",
                              hint="pass num_samples=num_samples to explain_instance") from None
        raise
    unpack_explanation(out, 2, seg.shape)


@check(EXPLAIN, "the top label's mask marks the superpixels the classifier looks at, as positive", counts_with=TWIN[EXPLAIN])
def _(call):
    image, seg, clf = regions_case()
    _, masks = unpack_explanation(call(image=image, classifier_fn=clf, segments=seg, top_labels=2,
                                       num_features=4, num_samples=300, seed=0), 2, seg.shape)
    pos, neg = segments_marked(seg, masks[0], 1), segments_marked(seg, masks[0], -1)
    expect(pos == [0, 1, 4, 5] and not neg,
           f"class 0 only looks at superpixels [0, 1, 4, 5], but its mask marks {pos} as positive and {neg} as "
           "negative",
           hint="use the segments you are given (segmentation_fn=lambda img: segments), hide superpixels in "
                "black (hide_color=0), and get the mask with get_image_and_mask(label, positive_only=False, "
                "num_features=num_features)")


@check(EXPLAIN, "evidence against a label is marked -1 in its mask", counts_with=TWIN[EXPLAIN])
def _(call):
    image, seg, clf = regions_case()
    _, masks = unpack_explanation(call(image=image, classifier_fn=clf, segments=seg, top_labels=2,
                                       num_features=4, num_samples=300, seed=0), 2, seg.shape)
    # Class 2 looks at nothing: showing class 0's region only makes class 2 less probable.
    neg = segments_marked(seg, masks[1], -1)
    expect(neg == [0, 1, 4, 5] and not segments_marked(seg, masks[1], 1),
           f"for class 2 the mask should mark superpixels [0, 1, 4, 5] as -1 (they count against it), "
           f"it marks {neg}",
           hint="positive_only=False keeps both signs: 1 for evidence for the label, -1 against")


@check(EXPLAIN, "the same seed gives the same explanation", counts_with=TWIN[EXPLAIN])
def _(call):
    image, seg, clf = regions_case(seed=2)
    clf = RegionBrightnessClassifier(clf.regions, gains=[2.0, 1.5, 0.0], biases=[0.0, 0.0, 1.0])
    # 10 of 16 superpixels from 40 samples: the last picks are sampling noise, so an unseeded explainer
    # gave two equal explanations in 0 of 400 tries (6 from 60: 3 of 300), and three calls must agree.
    kwargs = dict(image=image, classifier_fn=clf, segments=seg, top_labels=3, num_features=10, num_samples=40,
                  seed=5)
    a, b, c = (unpack_explanation(call(**kwargs), 3, seg.shape) for _ in range(3))
    expect(all(np.array_equal(a[0], x[0]) and np.array_equal(a[1], x[1]) for x in (b, c)),
           "three calls with the same seed gave different explanations",
           hint="create the explainer with LimeImageExplainer(random_state=seed)")


# ---------------------------------------------------------------------------
# segment_image
# ---------------------------------------------------------------------------
SEGMENT = "segment_image"


def expect_labels(seg, shape):
    seg = expect_shape(seg, shape, "the segmentation", hint="one superpixel label per pixel: shape (H, W)")
    expect(np.array_equal(seg, np.round(seg)), "superpixel labels should be integers")
    labels = np.unique(seg)
    expect(labels[0] == 0 and np.array_equal(labels, np.arange(len(labels))),
           f"labels should be 0, 1, ..., k-1; got {labels[:3].astype(int).tolist()} ... "
           f"{labels[-2:].astype(int).tolist()}",
           hint="skimage's slic starts at 1 by default: pass start_label=0")
    return seg.astype(int)


@check(SEGMENT, "returns an integer array of labels 0..k-1, shape (H, W)", counts_with=TWIN[SEGMENT])
def _(call):
    image = textured_image(40, 56, 11)
    seg = call(image=image, n_segments=20)
    call.expect_array("the segmentation", kind="integer", hint="slic returns an integer array: return it as it is")
    expect_labels(seg, (40, 56))


@check(SEGMENT, "makes about n_segments superpixels", counts_with=TWIN[SEGMENT])
def _(call):
    image = textured_image(64, 64, 12)
    few = expect_labels(call(image=image, n_segments=16), (64, 64)).max() + 1
    many = expect_labels(call(image=image, n_segments=100), (64, 64)).max() + 1
    expect(8 <= few <= 24 and 50 <= many <= 150,
           f"asked for 16 and 100 superpixels, got {few} and {many}", hint="pass n_segments to slic")


@check(SEGMENT, "superpixels follow colour edges (compactness=10, sigma=0)", counts_with=TWIN[SEGMENT])
def _(call):
    image = quadrant_image(64, 64)
    seg = expect_labels(call(image=image, n_segments=50, compactness=10, sigma=0), (64, 64))
    quadrant = np.zeros((64, 64), int)
    quadrant[:32, 32:], quadrant[32:, :32], quadrant[32:, 32:] = 1, 2, 3
    straddle = [k for k in np.unique(seg) if len(np.unique(quadrant[seg == k])) > 1]
    expect(not straddle, f"{len(straddle)} superpixel(s) cover two differently coloured quadrants",
           hint="pass compactness and sigma through to slic (lower compactness follows colour more closely)")


# ---------------------------------------------------------------------------
# perturb_image
# ---------------------------------------------------------------------------
PERTURB = "perturb_image"
# z copied from one pattern (all ones) matches its images too: the images count only with real sampling
SAMPLED = "each superpixel is shown with probability 1/2, independently"


def perturb_case(seed=0, size=(24, 30), grid=(3, 4)):
    seg = block_segments(size[0], size[1], *grid)
    return textured_image(size[0], size[1], seed), seg


def unpack_perturbed(out, num_samples, image, n_segments, call=None):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed("return a tuple (images, z)", hint="end with `return images, z`")
    if call is not None:  # the types as returned, before coercion
        call.expect_array("images", item=0, hint="build all samples as one array (num_samples, H, W, C)")
        call.expect_array("z", item=1, hint="z = rng.integers(0, 2, size=(num_samples, n_segments))")
    images, z = out
    expect_shape(images, (num_samples,) + image.shape, "images", hint="one perturbed copy of the image per sample")
    expect_shape(z, (num_samples, n_segments), "z", hint="one row per sample, one column per superpixel")
    expect(np.isin(z, (0, 1)).all(), "z should only hold 0 (hidden) and 1 (visible)")
    return images, z


def mismatches(images, z, image, seg, hide_color):
    """Samples whose pixels do not show exactly the superpixels z says are visible."""
    hide = np.broadcast_to(np.asarray(hide_color, dtype=float), image.shape)
    bad = []
    for i in range(len(z)):
        visible = z[i][seg].astype(bool)  # (H, W)
        expected = np.where(visible[..., None], image, hide)
        if not np.allclose(images[i], expected, atol=1e-6):
            bad.append(i)
    return bad


@check(PERTURB, "returns arrays (images, z) with z a 0/1 array of shape (num_samples, n_segments)", counts_with=(TWIN[PERTURB], SAMPLED))
def _(call):
    image, seg = perturb_case()
    unpack_perturbed(call(image=image, segments=seg, num_samples=20, seed=0), 20, image, 12, call)


@check(PERTURB, "each image shows exactly the superpixels that z marks visible; the rest is hide_color",
       points=2, counts_with=(TWIN[PERTURB], SAMPLED))
def _(call):
    image, seg = perturb_case(1)
    images, z = unpack_perturbed(call(image=image, segments=seg, num_samples=40, seed=1), 40, image, 12)
    bad = mismatches(images, z, image, seg, 0.0)
    if bad and not mismatches(images, 1 - z, image, seg, 0.0):
        raise CheckFailed("z marks the hidden superpixels with 1: it should mark the VISIBLE ones",
                          hint="z[i, j] = 1 means superpixel j is shown in images[i]")
    expect(not bad, f"{len(bad)} of 40 images do not match their row of z (e.g. sample {bad[:1]})",
           hint="images[i] = image where z[i][segments] == 1, hide_color elsewhere")
    image, seg = perturb_case(2)
    images, z = unpack_perturbed(call(image=image, segments=seg, num_samples=10, seed=2, hide_color=0.5),
                                 10, image, 12)
    bad = mismatches(images, z, image, seg, 0.5)
    expect(not bad, "with hide_color=0.5 the hidden superpixels should be 0.5", hint="use the hide_color argument")


@check(PERTURB, "the first sample is the original image (z[0] all ones)", counts_with=(TWIN[PERTURB], SAMPLED))
def _(call):
    image, seg = perturb_case(3)
    images, z = unpack_perturbed(call(image=image, segments=seg, num_samples=15, seed=3), 15, image, 12)
    expect(z[0].all() and np.allclose(images[0], image), "sample 0 should be the unperturbed image",
           hint="like lime, set z[0] = 1 so the instance itself is part of the neighbourhood")


@check(PERTURB, "each superpixel is shown with probability 1/2, independently", counts_with=TWIN[PERTURB])
def _(call):
    image, seg = perturb_case(4, size=(20, 20), grid=(4, 5))
    _, z = unpack_perturbed(call(image=image, segments=seg, num_samples=500, seed=4), 500, image, 20)
    rate, per_seg = z[1:].mean(), z[1:].mean(axis=0)
    expect(0.45 < rate < 0.55 and per_seg.min() > 0.35 and per_seg.max() < 0.65,
           f"superpixels are visible in {rate:.0%} of the samples (from {per_seg.min():.0%} to "
           f"{per_seg.max():.0%} per superpixel); expected about 50 % each",
           hint="draw z[1:] as independent fair coin flips, e.g. rng.integers(0, 2, size=(num_samples, n_segments))")
    sizes = z[1:].sum(axis=1)
    expect(sizes.std() > 1.0, "every sample shows about the same number of superpixels",
           hint="flip a coin per superpixel and per sample")


@check(PERTURB, "the same seed gives the same samples, another seed other samples", counts_with=(TWIN[PERTURB], SAMPLED))
def _(call):
    image, seg = perturb_case(5)
    a = unpack_perturbed(call(image=image, segments=seg, num_samples=30, seed=11), 30, image, 12)
    b = unpack_perturbed(call(image=image, segments=seg, num_samples=30, seed=11), 30, image, 12)
    c = unpack_perturbed(call(image=image, segments=seg, num_samples=30, seed=12), 30, image, 12)
    expect(np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0]), "seed=11 twice gave different samples",
           hint="rng = np.random.default_rng(seed), and draw everything from rng")
    expect(not np.array_equal(a[1], c[1]), "seed=11 and seed=12 gave the same samples",
           hint="create the random generator from the `seed` argument")


# ---------------------------------------------------------------------------
# lime_image_weights
# ---------------------------------------------------------------------------
IMG_W = "lime_image_weights"


def weights_linear_case(seed, n_samples=300, n_segments=12):
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, size=(n_samples, n_segments)).astype(float)
    z[0] = 1
    coefs = np.round(rng.normal(0, 0.08, n_segments), 3)
    coefs[2], coefs[5], coefs[-1] = 0.3, -0.2, 0.0
    return z, 0.2 + z @ coefs, coefs


def weights_far_case(seed, n_samples=400, n_segments=16):
    """Near rows (1-4 superpixels hidden) follow a linear model; far rows (1-4 visible) the reverse."""
    rng = np.random.default_rng(seed)
    coefs = rng.normal(0, 0.05, n_segments)
    coefs[3], coefs[7] = 0.35, -0.25
    near = np.ones((n_samples // 2, n_segments))
    far = np.zeros((n_samples // 2, n_segments))
    for row in near:
        row[rng.choice(n_segments, rng.integers(1, 5), replace=False)] = 0
    for row in far:
        row[rng.choice(n_segments, rng.integers(1, 5), replace=False)] = 1
    z = np.vstack([np.ones((1, n_segments)), near, far])
    target = np.where(z.sum(axis=1) >= n_segments / 2, 0.3 + z @ coefs, 0.3 - z @ coefs)
    return z, target, coefs


@check(IMG_W, "returns an array with one weight per superpixel", counts_with=TWIN[IMG_W])
def _(call):
    z, target, _ = weights_linear_case(1)
    w = call(z=z, target_probs=target)
    call.expect_array("the weights", hint="return ridge.coef_, an array of shape (n_segments,)")
    expect_shape(w, (z.shape[1],), "the weights", hint="return ridge.coef_ for a 1-D target: shape (n_segments,)")


@check(IMG_W, "recovers the coefficients of a model linear in the visible superpixels", points=2, counts_with=TWIN[IMG_W])
def _(call):
    z, target, coefs = weights_linear_case(2)
    w = expect_shape(call(z=z, target_probs=target), (z.shape[1],), "the weights")
    if np.allclose(w, -coefs, atol=0.03):
        raise CheckFailed("the weights have the opposite sign: z marks VISIBLE superpixels",
                          hint="regress on z itself, not on 1 - z")
    expect_close(w, coefs, "the weights do not match the linear model's coefficients",
                 hint="fit Ridge(alpha=1) on z (features) and target_probs with the kernel weights as "
                      "sample_weight", atol=0.03, rtol=0)


@check(IMG_W, "samples far from the original image count less (kernel on cosine distance)", points=2, counts_with=TWIN[IMG_W])
def _(call):
    z, target, coefs = weights_far_case(3)
    w = expect_shape(call(z=z, target_probs=target), (z.shape[1],), "the weights")
    top = list(np.argsort(-np.abs(w))[:2])
    expect(top == [3, 7] and w[3] > 0.15 and w[7] < -0.1,
           f"superpixels 3 and 7 drive the model near the original image (+0.35, -0.25), but the weights "
           f"are {w[3]:.3f} and {w[7]:.3f} and the largest are {top}",
           hint="d = cosine distance between each row of z and the all-ones row; "
                "sample_weight = sqrt(exp(-d**2 / kernel_width**2))")


def region_samples_case(seed=4, n_samples=300):
    """A 48 x 48 image, a shuffled 4 x 4 grid of superpixels and a classifier that reads brightness.

    Class 0 looks at superpixels [3, 8, 12], class 1 at [1, 14], class 2 at nothing. The targets are
    class 0's probabilities on the perturbed images (hidden superpixels black) that z describes,
    computed from z without building the images.
    """
    seg = block_segments(48, 48, 4, 4, shuffle_seed=5)
    image = textured_image(48, 48, 21)
    region, other = [3, 8, 12], [1, 14]
    clf = RegionBrightnessClassifier([np.isin(seg, region), np.isin(seg, other), None], gains=[6.0, 4.0, 0.0],
                                     biases=[0.0, 0.0, 1.5])
    z = coin_flip_samples(n_samples, seg.max() + 1, seed)
    return z, clf.on_samples(image, seg, z)[:, 0], region, other


@check(IMG_W, "a classifier that reads one region's brightness gets its top superpixels inside that region",
       points=2, counts_with=TWIN[IMG_W])
def _(call):
    z, target, region, other = region_samples_case()
    w = expect_shape(call(z=z, target_probs=target), (z.shape[1],), "the weights")
    top = [int(k) for k in np.argsort(-w)[:len(region)]]
    expect(sorted(top) == region and w[top[0]] > 0.05,
           f"the class only looks at the brightness of superpixels {region}, but the largest weights go to "
           f"{top} (largest weight {w[top[0]]:.3f})",
           hint="z marks VISIBLE superpixels: fit the kernel-weighted ridge on z itself, so that a superpixel "
                "whose showing raises the probability gets a positive weight")
    expect((w[other] < 0).all(),
           f"superpixels {other} make a competing class more probable, so they count against this one, "
           f"but their weights are {np.round(w[other], 3).tolist()}",
           hint="regress target_probs on z with the kernel weights as sample_weight")
