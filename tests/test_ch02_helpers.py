"""The chapter-2 helpers in imlbook and the stand-in models of the checks: offline, no TensorFlow."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder.testmodels.ch02_lime import (RegionBrightnessClassifier, SuperpixelMeanModel,  # noqa: E402
                                        WordPresenceClassifier, WordSigmoidModel, WordVectorizer, block_segments,
                                        coin_flip_samples, distinct_words, textured_image)
from imlbook import images  # noqa: E402
from imlbook.plots import ch02_lime as lime_plots  # noqa: E402


def test_sample_images_are_224_rgb_in_unit_range():
    names, imgs = images.sample_images()
    assert names == ["cat", "coffee", "astronaut", "rocket"]
    assert imgs.shape == (4, 224, 224, 3) and imgs.dtype == np.float32
    assert imgs.min() >= 0 and imgs.max() <= 1 and imgs.std() > 0.1
    with pytest.raises(KeyError, match="unknown sample image"):
        images.sample_images(["dog"])


def test_center_crop_keeps_the_middle_square():
    img = np.zeros((100, 300, 3), dtype=np.uint8)
    img[:, 100:200] = 255  # the centred square is white, the sides black
    out = images.center_crop_resize(img, 50)
    assert out.shape == (50, 50, 3) and out.min() > 0.99


def test_mobilenet_offline_returns_none_and_says_what_is_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("IMLBOOK_OFFLINE", "1")
    assert images.load_mobilenet_v2() is None
    out = capsys.readouterr().out
    assert images.MOBILENET_V2_WEIGHTS in out and str(tmp_path / "models") in out and "skipped" in out


def test_colour_classifier_and_its_known_answer():
    clf = images.ColourClassifier()
    img = np.zeros((20, 20, 3))
    img[:10, :, 0] = 1.0  # top half red
    img[10:, :, 2] = 0.5  # bottom half dim blue
    p = clf(img[None])
    assert p.shape == (1, 3) and np.isclose(p.sum(), 1) and p.argmax() == 0
    seg = block_segments(20, 20, 2, 1)
    ev = clf.evidence(img, seg, label=0)
    assert ev[0] > 0 > ev[1]  # the red half supports class R, the blue half counts against it
    # it is the first-order change of P(R): compare with a small change of one pixel's red value
    tiny = img.copy()
    tiny[0, 0, 0] = 0.0
    one_pixel = clf.evidence(img, np.arange(400).reshape(20, 20), label=0)[0]
    assert np.isclose(one_pixel, clf(img[None])[0, 0] - clf(tiny[None])[0, 0], rtol=0.02)


def test_plots_draw_without_error():
    import matplotlib.pyplot as plt

    _, imgs = images.sample_images(["coffee"], size=32)
    seg = block_segments(32, 32, 4, 4)
    masks = np.stack([np.where(seg < 3, 1, 0), np.where(seg > 12, -1, 0)])
    axes = lime_plots.plot_top_labels(imgs[0], [0, 2], masks, images.ColourClassifier.class_names, [0.7, 0.1, 0.2])
    assert axes[1].get_title() == "predicted P(R) = 0.700" and axes[2].get_title() == "predicted P(B) = 0.200"
    assert axes[-1].get_legend() is not None  # the red/blue code is explained on the figure
    weights = np.linspace(-1, 0.5, 16)
    ax = lime_plots.plot_superpixel_weights(imgs[0], seg, weights, top_k=3)
    assert ax.get_title() == "superpixel weights"
    shown = ax.get_images()[1]  # the weight map: diverging, centred at 0, with a colour bar
    assert shown.norm.vmin == -shown.norm.vmax == -1.0 and shown.colorbar is not None
    ax = lime_plots.plot_word_weights({"good": 0.3, "bad": -0.2}, {"good": 0.25})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bad", "good"]
    bars = [p.get_facecolor()[:3] for p in ax.patches[:2]]
    assert np.allclose(bars[0], matplotlib.colors.to_rgb(lime_plots.style.DOWN))  # 'bad' is blue
    assert np.allclose(bars[1], matplotlib.colors.to_rgb(lime_plots.style.UP))    # 'good' is red
    assert ax.get_legend() is not None and ax.get_title()
    plt.close("all")


def test_stand_in_vectorizer_behaves_like_text_vectorization():
    vec = WordVectorizer(["love", "it"], length=4)
    ids = vec(["I LOVE it!!", "", "love love love love love"])
    assert ids.tolist() == [[1, 2, 3, 0], [0, 0, 0, 0], [2, 2, 2, 2]]
    assert vec(np.array(["it"])).tolist() == vec(("it",)).tolist() == [[3, 0, 0, 0]]


def test_stand_in_model_counts_calls_and_knows_its_answer():
    vec = WordVectorizer(["good", "bad"], length=3)
    model = WordSigmoidModel(vec, {"good": 2.0, "bad": -1.0}, bias=0.5, max_calls=1)
    p = model.predict(vec(["good", "bad good", ""]))
    assert p.shape == (3, 1)
    assert np.allclose(p[:, 0], 1 / (1 + np.exp(-np.array([2.5, 1.5, 0.5]))))
    assert np.allclose(p[:, 0], model.positive_probability(vec, ["good", "bad good", ""]))
    with pytest.raises(RuntimeError, match="called 2 times"):
        model(vec(["good"]))
    import pickle
    assert pickle.loads(pickle.dumps(model)).table.tolist() == model.table.tolist()


def test_word_presence_classifier_and_words():
    assert distinct_words("good, good... but BAD good") == ["good", "but", "BAD"]
    clf = WordPresenceClassifier({"good": 0.3}, bias=0.4, far={"words": ["a", "b", "c"], "min_present": 2, "sign": -1})
    p = clf(["a b good", "a good", "nothing"])
    assert np.allclose(p[:, 1], [0.7, 0.1, 0.4]) and np.allclose(p.sum(axis=1), 1)


def test_region_brightness_classifier():
    seg = block_segments(8, 8, 2, 2)
    clf = RegionBrightnessClassifier([seg == 0, None], gains=[4.0, 0.0], biases=[0.0, 1.0])
    bright, dark = np.ones((8, 8, 3)), np.zeros((8, 8, 3))
    p = clf(np.stack([bright, dark]))
    assert p[0].argmax() == 0 and p[1].argmax() == 1 and np.allclose(p.sum(axis=1), 1)


def test_image_stand_ins_on_samples_equal_their_output_on_the_perturbed_images():
    # on_samples computes from z what the model returns on the images z describes (hidden = black):
    # the checks of lime_image_weights rely on it instead of building the images.
    seg = block_segments(12, 18, 3, 4, shuffle_seed=2)
    image = textured_image(12, 18, 5)
    z = coin_flip_samples(40, 12, 1)
    assert z[0].all() and set(np.unique(z[1:])) == {0, 1}
    perturbed = np.where(z[:, seg].astype(bool)[..., None], image, 0.0)
    region = np.zeros((12, 18), bool)
    region[2:9, 3:11] = True  # a region that cuts across superpixels
    clf = RegionBrightnessClassifier([region, np.isin(seg, [0, 7]), None], gains=[5.0, 3.0, 0.0],
                                     biases=[0.0, 0.0, 1.0])
    assert np.allclose(clf.on_samples(image, seg, z), clf(perturbed))
    model = SuperpixelMeanModel(seg, np.linspace(-0.3, 0.3, 12), bias=0.2)
    assert np.allclose(model.on_samples(image, z), model(perturbed))
    assert np.allclose(model.on_samples(image, z[:1]), model.bias + model.effects(image).sum())
