"""The chapter-2 (LIME) grader grades: reference full marks, stub zero, wrong answers lose marks,
other correct answers keep full marks, the same notebook always gets the same points.

Every submission is the real release notebook with its exercise cells filled in (the reference
solution from source/ except the one exercise under test), graded by the real grader: extraction,
sandboxed worker, checks. No network, no shared data, no TensorFlow in the worker.
"""
import pytest

from autograder.checks import chapters, max_points
from autograder.grade import grade_notebook
from tests import grading_proofs as proofs
from tests.submissions import make_submission

CH = "ch02_lime"
EXERCISES = chapters()[CH]

WRONG = {
    "predict_proba": {
        "columns swapped": """
            def predict_proba(texts):
                p = np.asarray(text_model.predict(vectorizer(list(texts)), verbose=0)).reshape(-1)
                return np.column_stack([p, 1 - p])""",
        "only P(positive), shape (n, 1)": """
            def predict_proba(texts):
                return text_model.predict(vectorizer(list(texts)), verbose=0)""",
        "one model call per text": """
            def predict_proba(texts):
                rows = []
                for t in texts:
                    p = float(np.ravel(text_model.predict(vectorizer([t]), verbose=0))[0])
                    rows.append([1 - p, p])
                return np.array(rows)""",
        "reads a global called `model`": """
            def predict_proba(texts):
                p = np.asarray(model.predict(vectorizer(list(texts)), verbose=0)).reshape(-1)
                return np.column_stack([1 - p, p])""",
        "a list of lists instead of an array": """
            def predict_proba(texts):
                p = np.asarray(text_model.predict(vectorizer(list(texts)), verbose=0)).reshape(-1)
                return [[1.0 - float(v), float(v)] for v in p]""",
        "a tuple of two columns instead of an (n, 2) array": """
            def predict_proba(texts):
                p = np.asarray(text_model.predict(vectorizer(list(texts)), verbose=0)).reshape(-1)
                return 1 - p, p""",
        "hard 0/1 labels instead of probabilities": """
            def predict_proba(texts):
                p = (np.asarray(text_model.predict(vectorizer(list(texts)), verbose=0)).reshape(-1) > 0.5) * 1.0
                return np.column_stack([1 - p, p])""",
    },
    "lime_text_weights": {
        "no kernel weights": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p).coef_))""",
        "kernel on Euclidean distance": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                distance = np.sqrt(((z - 1) ** 2).sum(axis=1))
                w = np.sqrt(np.exp(-distance ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "explains the negative class": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 0]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "features mark the removed words": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(1 - z, p, sample_weight=w).coef_))""",
        "ignores the seed": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng()
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "lower-cases the text": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                text = text.lower()
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "lower-cased keys, original text sent to the model": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                coef = Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_
                return {word.lower(): c for word, c in zip(words, coef)}""",
        "kernel without the square root, exp(-d**2 / 25**2)": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2)
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "calls predict_proba once per sample": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                p = np.empty(num_samples)
                for i in range(num_samples):
                    if i:
                        z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                    p[i] = predict_proba([" ".join(t for t in tokens if z[i, words.index(t)])])[0, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "row 0 is a random sample, not the text itself": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "words in alphabetical order (a sorted set)": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = sorted(set(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    z[i, rng.choice(d, rng.integers(1, d + 1), replace=False)] = 0
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "each word kept with probability 1/2 (the image sampler)": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = list(dict.fromkeys(tokens))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = rng.integers(0, 2, size=(num_samples, d)).astype(float)
                z[0] = 1
                texts = [" ".join(t for t in tokens if row[words.index(t)]) for row in z]
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
        "removes only one occurrence of a word": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                words = list(dict.fromkeys(re.findall(r"\\w+", text)))
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                texts = [text]
                for i in range(1, num_samples):
                    off = rng.choice(d, rng.integers(1, d + 1), replace=False)
                    z[i, off] = 0
                    t = text
                    for j in off:
                        t = re.sub(rf"\\b{words[j]}\\b", "", t, count=1)
                    texts.append(t)
                p = predict_proba(texts)[:, 1]
                w = np.sqrt(np.exp(-(100 * (1 - np.sqrt(z.sum(1) / d))) ** 2 / 25 ** 2))
                return dict(zip(words, Ridge(alpha=1.0).fit(z, p, sample_weight=w).coef_))""",
    },
    "explain_top_labels": {
        "hide_color left at lime's default (superpixel mean)": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer(random_state=seed)
                exp = explainer.explain_instance(image, classifier_fn, top_labels=top_labels,
                                                 num_samples=num_samples,
                                                 segmentation_fn=None if segments is None else (lambda i: segments))
                labels = np.array(exp.top_labels[:top_labels])
                return labels, np.stack([exp.get_image_and_mask(l, positive_only=False,
                                                                num_features=num_features)[1] for l in labels])""",
        "positive evidence only": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer(random_state=seed)
                exp = explainer.explain_instance(image, classifier_fn, top_labels=top_labels, hide_color=0,
                                                 num_samples=num_samples,
                                                 segmentation_fn=None if segments is None else (lambda i: segments))
                labels = np.array(exp.top_labels[:top_labels])
                return labels, np.stack([exp.get_image_and_mask(l, positive_only=True,
                                                                num_features=num_features)[1] for l in labels])""",
        "ignores the given segments": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer(random_state=seed)
                exp = explainer.explain_instance(image, classifier_fn, top_labels=top_labels, hide_color=0,
                                                 num_samples=num_samples, random_seed=seed)
                labels = np.array(exp.top_labels[:top_labels])
                return labels, np.stack([exp.get_image_and_mask(l, positive_only=False,
                                                                num_features=num_features)[1] for l in labels])""",
        "no random_state": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer()
                exp = explainer.explain_instance(image, classifier_fn, top_labels=top_labels, hide_color=0,
                                                 num_samples=num_samples,
                                                 segmentation_fn=None if segments is None else (lambda i: segments))
                labels = np.array(exp.top_labels[:top_labels])
                return labels, np.stack([exp.get_image_and_mask(l, positive_only=False,
                                                                num_features=num_features)[1] for l in labels])""",
        "ignores num_samples (lime's default, 1000)": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer(random_state=seed)
                exp = explainer.explain_instance(image, classifier_fn, top_labels=top_labels, hide_color=0,
                                                 segmentation_fn=None if segments is None else (lambda i: segments))
                labels = np.array(exp.top_labels[:top_labels])
                return labels, np.stack([exp.get_image_and_mask(l, positive_only=False,
                                                                num_features=num_features)[1] for l in labels])""",
        "labels and masks returned as lists": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer(random_state=seed)
                exp = explainer.explain_instance(image, classifier_fn, top_labels=top_labels, hide_color=0,
                                                 num_samples=num_samples,
                                                 segmentation_fn=None if segments is None else (lambda i: segments))
                labels = list(exp.top_labels[:top_labels])
                return labels, [exp.get_image_and_mask(l, positive_only=False, num_features=num_features)[1]
                                for l in labels]""",
        "least probable label first": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer(random_state=seed)
                exp = explainer.explain_instance(image, classifier_fn, top_labels=top_labels, hide_color=0,
                                                 num_samples=num_samples,
                                                 segmentation_fn=None if segments is None else (lambda i: segments))
                labels = np.array(exp.top_labels[:top_labels])[::-1]
                return labels, np.stack([exp.get_image_and_mask(l, positive_only=False,
                                                                num_features=num_features)[1] for l in labels])""",
    },
    "segment_image": {
        "labels start at 1 (slic's default)": """
            def segment_image(image, n_segments=50, compactness=20, sigma=1):
                return slic(image, n_segments=n_segments, compactness=compactness, sigma=sigma)""",
        "ignores compactness and sigma": """
            def segment_image(image, n_segments=50, compactness=20, sigma=1):
                return slic(image, n_segments=n_segments, compactness=20, sigma=1, start_label=0)""",
        "float labels": """
            def segment_image(image, n_segments=50, compactness=20, sigma=1):
                return slic(image, n_segments=n_segments, compactness=compactness, sigma=sigma,
                            start_label=0).astype(float)""",
        "ignores n_segments": """
            def segment_image(image, n_segments=50, compactness=20, sigma=1):
                return slic(image, n_segments=50, compactness=compactness, sigma=sigma, start_label=0)""",
    },
    "perturb_image": {
        "z marks the hidden superpixels": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                n = segments.max() + 1
                rng = np.random.default_rng(seed)
                z = rng.integers(0, 2, size=(num_samples, n)); z[0] = 1
                visible = z[:, segments].astype(bool)[..., None]
                return np.where(visible, image, hide_color), 1 - z""",
        "the workshop's sampler (hides 1 to n/2 superpixels)": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                n = segments.max() + 1
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, n), dtype=int)
                for i in range(1, num_samples):
                    z[i, rng.choice(n, size=rng.integers(1, max(2, n // 2)), replace=False)] = 0
                visible = z[:, segments].astype(bool)[..., None]
                return np.where(visible, image, hide_color), z""",
        "images drawn from another sample than z": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                n = segments.max() + 1
                rng = np.random.default_rng(seed)
                z = rng.integers(0, 2, size=(num_samples, n)); z[0] = 1
                other = rng.integers(0, 2, size=(num_samples, n)); other[0] = 1
                visible = other[:, segments].astype(bool)[..., None]
                return np.where(visible, image, hide_color), z""",
        "ignores the seed": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                n = segments.max() + 1
                z = np.random.randint(0, 2, size=(num_samples, n)); z[0] = 1
                visible = z[:, segments].astype(bool)[..., None]
                return np.where(visible, image, hide_color), z""",
        "float64 images for a float32 image": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                n = segments.max() + 1
                rng = np.random.default_rng(seed)
                z = rng.integers(0, 2, size=(num_samples, n)); z[0] = 1
                visible = z[:, segments].astype(bool)[..., None]
                return np.where(visible, image.astype(float), np.asarray(hide_color, dtype=float)), z""",
        "hides superpixels in the caller's image (no copy)": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                n = segments.max() + 1
                rng = np.random.default_rng(seed)
                z = rng.integers(0, 2, size=(num_samples, n)); z[0] = 1
                work = np.asarray(image)
                images = []
                for i in range(num_samples):
                    out = work if i else work.copy()
                    out[~z[i].astype(bool)[segments]] = hide_color
                    images.append(out.copy())
                return np.array(images), z""",
        "first sample not the original image": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                n = segments.max() + 1
                rng = np.random.default_rng(seed)
                z = rng.integers(0, 2, size=(num_samples, n))
                visible = z[:, segments].astype(bool)[..., None]
                return np.where(visible, image, hide_color), z""",
    },
    "lime_image_weights": {
        "no kernel weights": """
            def lime_image_weights(z, target_probs, kernel_width=0.25):
                return Ridge(alpha=1.0).fit(z, target_probs).coef_""",
        "features mark the hidden superpixels (1 - z)": """
            def lime_image_weights(z, target_probs, kernel_width=0.25):
                k = z.sum(axis=1)
                d = 1 - k / np.sqrt(np.maximum(k, 1) * z.shape[1])
                w = np.sqrt(np.exp(-d ** 2 / kernel_width ** 2))
                return Ridge(alpha=1.0).fit(1 - z, target_probs, sample_weight=w).coef_""",
        "kernel on Euclidean distance": """
            def lime_image_weights(z, target_probs, kernel_width=0.25):
                d = np.sqrt(((1 - z) ** 2).sum(axis=1))
                w = np.sqrt(np.exp(-d ** 2 / kernel_width ** 2))
                return Ridge(alpha=1.0).fit(z, target_probs, sample_weight=w).coef_""",
        "kernel without the square root": """
            def lime_image_weights(z, target_probs, kernel_width=0.25):
                k = z.sum(axis=1)
                d = 1 - k / np.sqrt(np.maximum(k, 1) * z.shape[1])
                w = np.exp(-d ** 2 / kernel_width ** 2)
                return Ridge(alpha=1.0).fit(z, target_probs, sample_weight=w).coef_""",
        "weights returned as a list": """
            def lime_image_weights(z, target_probs, kernel_width=0.25):
                k = z.sum(axis=1)
                d = 1 - k / np.sqrt(np.maximum(k, 1) * z.shape[1])
                w = np.sqrt(np.exp(-d ** 2 / kernel_width ** 2))
                return Ridge(alpha=1.0).fit(z, target_probs, sample_weight=w).coef_.tolist()""",
        "ignores kernel_width": """
            def lime_image_weights(z, target_probs, kernel_width=0.25):
                k = z.sum(axis=1)
                d = 1 - k / np.sqrt(np.maximum(k, 1) * z.shape[1])
                w = np.sqrt(np.exp(-d ** 2 / 0.25 ** 2))
                return Ridge(alpha=1.0).fit(z, target_probs, sample_weight=w).coef_""",
    },
}

CORRECT = {
    "predict_proba": {
        "model called directly, np.hstack": """
            def predict_proba(texts):
                p = text_model(vectorizer(texts)).numpy()
                return np.hstack([1 - p, p])""",
        "np.concatenate of two (n, 1) columns": """
            def predict_proba(texts):
                p = np.asarray(text_model.predict(vectorizer(texts), verbose=0), dtype=np.float64).reshape(-1, 1)
                return np.concatenate([1.0 - p, p], axis=1)""",
        "array of texts, batch_size, np.stack": """
            def predict_proba(texts):
                ids = vectorizer(np.array(texts))
                p = text_model.predict(ids, batch_size=256, verbose=0)[:, 0]
                return np.stack([1 - p, p], axis=1)""",
    },
    "lime_text_weights": {
        "loops, RandomState, lime-style text, sklearn cosine distance": """
            from sklearn.metrics.pairwise import cosine_distances

            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                pieces = re.split(r"(\\W+)", text)
                words = []
                for piece in pieces:
                    if re.fullmatch(r"\\w+", piece) and piece not in words:
                        words.append(piece)
                d = len(words)
                rs = np.random.RandomState(seed)
                z = np.ones((num_samples, d))
                texts = [text]
                for i in range(1, num_samples):
                    off = rs.choice(d, rs.randint(1, d + 1), replace=False)
                    z[i, off] = 0
                    removed = {words[j] for j in off}
                    texts.append("".join(p for p in pieces if p not in removed))
                probs = np.asarray(predict_proba(texts))[:, 1]
                dist = cosine_distances(z, np.ones((1, d))).ravel() * 100
                w = np.sqrt(np.exp(-dist ** 2 / 25 ** 2))
                model = Ridge(alpha=1).fit(z, probs, sample_weight=w)
                return {word: float(c) for word, c in zip(words, model.coef_)}""",
        "the lime package itself": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                words = list(dict.fromkeys(re.findall(r"\\w+", text)))
                explainer = LimeTextExplainer(random_state=seed)
                explanation = explainer.explain_instance(text, predict_proba, labels=(1,),
                                                         num_features=len(words), num_samples=num_samples)
                found = dict(explanation.as_list(label=1))
                return {w: float(found.get(w, 0.0)) for w in words}""",
        "weighted least squares by hand": """
            def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):
                tokens = re.findall(r"\\w+", text)
                words = sorted(set(tokens), key=tokens.index)
                d = len(words)
                rng = np.random.default_rng(seed)
                z = np.ones((num_samples, d))
                for i in range(1, num_samples):
                    k = rng.integers(1, d, endpoint=True)
                    z[i, rng.permutation(d)[:k]] = 0
                texts = [" ".join(t for t in tokens if z[i, words.index(t)]) for i in range(num_samples)]
                y = predict_proba(texts)[:, 1]
                cos = z.sum(1) / (np.linalg.norm(z, axis=1) * np.sqrt(d) + 1e-12)
                pi = np.sqrt(np.exp(-(100 * (1 - cos)) ** 2 / 625.0))
                X = np.column_stack([np.ones(num_samples), z])
                penalty = np.eye(d + 1); penalty[0, 0] = 0
                beta = np.linalg.solve(X.T @ (pi[:, None] * X) + penalty, X.T @ (pi * y))
                return {w: beta[j + 1] for j, w in enumerate(words)}""",
    },
    "explain_top_labels": {
        "default batch size, masks collected in a loop": """
            def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,
                                   num_samples=300, seed=0):
                explainer = lime_image.LimeImageExplainer(random_state=seed)
                kwargs = {} if segments is None else {"segmentation_fn": lambda img: segments}
                explanation = explainer.explain_instance(image, classifier_fn, top_labels=top_labels,
                                                         hide_color=0, num_samples=num_samples, **kwargs)
                labels, masks = [], []
                for label in explanation.top_labels:
                    _, mask = explanation.get_image_and_mask(label, positive_only=False,
                                                             num_features=num_features, hide_rest=False)
                    labels.append(label)
                    masks.append(mask)
                return np.array(labels), np.array(masks)""",
    },
    "segment_image": {
        "skimage's 1-based labels shifted": """
            def segment_image(image, n_segments=50, compactness=20, sigma=1):
                return slic(image, n_segments=n_segments, compactness=compactness, sigma=sigma, start_label=1) - 1""",
        "relabelled with np.unique": """
            import skimage.segmentation

            def segment_image(image, n_segments=50, compactness=20, sigma=1):
                seg = skimage.segmentation.slic(image, n_segments=n_segments, compactness=compactness, sigma=sigma)
                _, inverse = np.unique(seg, return_inverse=True)
                return inverse.reshape(seg.shape)""",
    },
    "perturb_image": {
        "loops and RandomState": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                rs = np.random.RandomState(seed)
                n = segments.max() + 1
                z = rs.randint(0, 2, size=(num_samples, n))
                z[0] = 1
                images = np.empty((num_samples,) + image.shape, dtype=image.dtype)
                for i in range(num_samples):
                    out = image.copy()
                    for j in range(n):
                        if z[i, j] == 0:
                            out[segments == j] = hide_color
                    images[i] = out
                return images, z""",
        "fancy indexing and np.where": """
            def perturb_image(image, segments, num_samples, seed, hide_color=0):
                rng = np.random.default_rng(seed)
                z = (rng.random((num_samples, segments.max() + 1)) < 0.5).astype(int)
                z[0] = 1
                visible = z[:, segments].astype(bool)
                return np.where(visible[..., None], image, np.asarray(hide_color, dtype=image.dtype)), z""",
    },
    "lime_image_weights": {
        "sklearn cosine distances": """
            from sklearn.metrics import pairwise_distances

            def lime_image_weights(z, target_probs, kernel_width=0.25):
                d = pairwise_distances(z, np.ones((1, z.shape[1])), metric="cosine").ravel()
                w = np.sqrt(np.exp(-(d ** 2) / kernel_width ** 2))
                return Ridge(alpha=1.0).fit(z, target_probs, sample_weight=w).coef_""",
        "weighted least squares by hand": """
            def lime_image_weights(z, target_probs, kernel_width=0.25):
                Z = np.array(z, dtype=float)
                n, m = Z.shape
                norms = np.linalg.norm(Z, axis=1)
                cos = np.divide(Z.sum(axis=1), norms * np.sqrt(m), out=np.zeros(n), where=norms > 0)
                pi = np.sqrt(np.exp(-((1 - cos) ** 2) / kernel_width ** 2))
                X = np.hstack([np.ones((n, 1)), Z])
                penalty = np.diag([0.0] + [1.0] * m)
                beta = np.linalg.solve(X.T @ (X * pi[:, None]) + penalty, X.T @ (pi * np.asarray(target_probs)))
                return beta[1:]""",
    },
}


def _scores(path):
    return proofs.scores(path, CH)


def test_exercises_and_points():
    assert EXERCISES == ["predict_proba", "lime_text_weights", "explain_top_labels", "segment_image",
                         "perturb_image", "lime_image_weights"]
    assert {ex: max_points(ex) for ex in EXERCISES} == {
        "predict_proba": 8, "lime_text_weights": 12, "explain_top_labels": 8, "segment_image": 4,
        "perturb_image": 8, "lime_image_weights": 11}


def test_reference_solution_scores_full_marks(tmp_path):
    # graded once: test_wrong_answers_are_graded_reproducibly grades a submission twice (reference answers
    # in three exercises, wrong ones in the other three) and proves both kinds come back the same
    first = grade_notebook(make_submission(tmp_path, CH))
    assert first.chapter == CH and not first.problem
    assert first.exercise_scores() == {ex: max_points(ex) for ex in EXERCISES}, \
        [(r.check.id, r.message) for rs in first.results.values() for r in rs if not r.passed]
    assert first.score == first.max_score == 51
    assert [m.grade_id for m in first.manual] == ["answer_text_lime", "answer_text_weights", "answer_image_lime"]


def test_untouched_stub_scores_zero_and_says_not_attempted(tmp_path):
    proofs.stub_scores_zero(tmp_path, CH)


def rounds(variants):
    """Group the variants into submissions: round k holds the k-th variant of every exercise.

    Each exercise is graded on its own (its own worker call and checks), so one notebook can carry a
    wrong or correct variant of every exercise at once: about 14 gradings instead of one per variant.
    """
    width = max(len(v) for v in variants.values())
    return [{ex: list(vs.items())[k] for ex, vs in variants.items() if k < len(vs)} for k in range(width)]


def round_ids(variants):
    return [" | ".join(r[ex][0] for ex in r) for r in rounds(variants)]


@pytest.mark.parametrize("answers", rounds(WRONG), ids=round_ids(WRONG))
def test_wrong_variants_lose_marks(tmp_path, answers):
    report = grade_notebook(make_submission(tmp_path, CH, {ex: src for ex, (_, src) in answers.items()}))
    assert report.chapter == CH and not report.problem, report.problem
    got = report.exercise_scores()
    kept = [f"{ex}: {name!r}" for ex, (name, _) in answers.items() if got[ex] >= max_points(ex)]
    assert not kept, f"wrong variants kept full marks: {kept}"
    silent = [r.check.id for ex in answers for r in report.results[ex] if not r.passed and not r.message]
    assert not silent, f"lost points without a message: {silent}"
    untouched = {ex: s for ex, s in got.items() if ex not in answers}
    assert untouched == {ex: max_points(ex) for ex in untouched}, "a wrong answer must not cost other exercises"


@pytest.mark.parametrize("answers", rounds(CORRECT), ids=round_ids(CORRECT))
def test_correct_variants_keep_full_marks(tmp_path, answers):
    report = grade_notebook(make_submission(tmp_path, CH, {ex: src for ex, (_, src) in answers.items()}))
    assert report.chapter == CH and not report.problem, report.problem
    failed = [(answers[ex][0], r.check.id, r.message) for ex in answers for r in report.results[ex] if not r.passed]
    assert not failed
    assert report.score == report.max_score


def test_wrong_answers_are_graded_reproducibly(tmp_path):
    wrong = {"lime_text_weights": WRONG["lime_text_weights"]["no kernel weights"],
             "perturb_image": WRONG["perturb_image"]["the workshop's sampler (hides 1 to n/2 superpixels)"],
             "lime_image_weights": WRONG["lime_image_weights"]["kernel without the square root"]}
    proofs.graded_reproducibly(tmp_path, CH, wrong)


def test_a_wrong_predict_proba_is_told_which_globals_to_use(tmp_path):
    _, report = _scores(make_submission(tmp_path, CH, {"predict_proba": WRONG["predict_proba"][
        "reads a global called `model`"]}))
    first = report.results["predict_proba"][0]
    assert not first.passed and "NameError" in first.message and "text_model" in first.hint


def test_public_only_grading_runs_no_hidden_check(tmp_path):
    report = grade_notebook(make_submission(tmp_path, CH), include_hidden=False)
    checks = [r.check for rs in report.results.values() for r in rs]
    assert checks and not any(c.hidden for c in checks)
    assert report.score == report.max_score < sum(max_points(ex) for ex in EXERCISES)


# ----------------------------------------------------------------------------- lazy submissions
LAZY = {
    "predict_proba": "def predict_proba(texts):\n    return np.full((len(texts), 2), 0.5)",
    "lime_text_weights": "def lime_text_weights(text, predict_proba, num_samples=1000, seed=0):\n"
                         "    return {w: 0.0 for w in dict.fromkeys(re.findall(r'\\w+', text))}",
    "explain_top_labels": "def explain_top_labels(image, classifier_fn, segments=None, top_labels=2, num_features=5,\n"
                          "                       num_samples=300, seed=0):\n"
                          "    p = np.asarray(classifier_fn(image[None]))[0]\n"
                          "    return np.argsort(-p)[:top_labels], np.zeros((top_labels,) + image.shape[:2], int)",
    "segment_image": "def segment_image(image, n_segments=50, compactness=20, sigma=1):\n"
                     "    return np.zeros(image.shape[:2], np.int64)",
    "perturb_image": "def perturb_image(image, segments, num_samples, seed, hide_color=0):\n"
                     "    k = int(segments.max()) + 1\n"
                     "    return np.repeat(np.asarray(image)[None], num_samples, 0), np.ones((num_samples, k), int)",
    "lime_image_weights": "def lime_image_weights(z, target_probs, kernel_width=0.25):\n"
                          "    return np.zeros(np.asarray(z).shape[1])",
}


def test_a_lazy_submission_scores_at_most_a_tenth(tmp_path):
    """Constants and zeros of the right shapes, labels from one classifier call, every superpixel always
    visible: right types, right shapes, one call, nothing computed."""
    proofs.lazy_scores_at_most_a_tenth(tmp_path, CH, LAZY, "constants, zeros and one model call")


def test_answers_looked_up_from_the_public_checks_score_at_most_a_tenth(tmp_path):
    proofs.lookup_scores_at_most_a_tenth(tmp_path, CH)
