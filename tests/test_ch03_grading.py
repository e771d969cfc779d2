"""The chapter-3 grader grades: reference full marks, stub zero, wrong answers lose marks, other correct answers pass.

Every submission is the real release notebook with its exercise cells filled in, graded by the real
grader (extraction, sandboxed worker, checks computed in the grader's process).
"""
import pytest

from tests import grading_proofs as proofs

CH = "ch03_shap"

# -- wrong Shapley values ---------------------------------------------------------------------------
_COALITIONS = """
def _values(f, x, background):
    p, m = len(x), len(background)
    masks = ((np.arange(2 ** p)[:, None] >> np.arange(p)) & 1).astype(bool)
    rows = np.where(masks[:, None, :], x, background[None])
    return masks, np.ravel(f(rows.reshape(-1, p))).reshape(2 ** p, m).mean(axis=1)
"""

WRONG = {
    "shapley_values": {
        "unweighted average of marginal contributions (Banzhaf)": _COALITIONS + """
def shapley_values(f, x, background):
    masks, v = _values(f, np.asarray(x, float), np.asarray(background, float))
    p = len(x)
    codes = np.arange(2 ** p)
    return np.array([np.mean(v[codes[~masks[:, j]] | (1 << j)] - v[codes[~masks[:, j]]]) for j in range(p)])""",
        "contributions against the empty coalition only": """
def shapley_values(f, x, background):
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    rows = np.repeat(B[None], p + 1, axis=0)
    for j in range(p):
        rows[j + 1, :, j] = x[j]
    v = np.ravel(f(rows.reshape(-1, p))).reshape(p + 1, m).mean(axis=1)
    return v[1:] - v[0]""",
        "the background's mean row instead of the mean prediction": """
def shapley_values(f, x, background):
    x, ref = np.asarray(x, float), np.asarray(background, float).mean(axis=0)
    p = len(x)
    masks = ((np.arange(2 ** p)[:, None] >> np.arange(p)) & 1).astype(bool)
    v = np.ravel(f(np.where(masks, x, ref)))
    w = [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)]
    codes = np.arange(2 ** p)
    return np.array([sum(w[masks[S].sum()] * (v[S | (1 << j)] - v[S]) for S in codes[~masks[:, j]]) for j in range(p)])""",
        "only the first background row": _COALITIONS + """
def shapley_values(f, x, background):
    x, B = np.asarray(x, float), np.asarray(background, float)[:1]
    masks, v = _values(f, x, B)
    p = len(x)
    w = [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)]
    codes = np.arange(2 ** p)
    return np.array([sum(w[masks[S].sum()] * (v[S | (1 << j)] - v[S]) for S in codes[~masks[:, j]]) for j in range(p)])""",
        "weights 1/p over sizes but not over coalitions of a size": _COALITIONS + """
def shapley_values(f, x, background):
    masks, v = _values(f, np.asarray(x, float), np.asarray(background, float))
    p = len(x)
    codes = np.arange(2 ** p)
    return np.array([sum((v[S | (1 << j)] - v[S]) / p for S in codes[~masks[:, j]]) for j in range(p)])""",
        "returns a list instead of a NumPy array": _COALITIONS + """
def shapley_values(f, x, background):
    masks, v = _values(f, np.asarray(x, float), np.asarray(background, float))
    p = len(x)
    w = [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)]
    codes = np.arange(2 ** p)
    return [float(sum(w[masks[S].sum()] * (v[S | (1 << j)] - v[S]) for S in codes[~masks[:, j]])) for j in range(p)]""",
        "one model call per coalition": """
def shapley_values(f, x, background):
    x, B = np.asarray(x, float), np.asarray(background, float)
    p = len(x)
    v = {}
    for S in range(2 ** p):
        mask = ((S >> np.arange(p)) & 1).astype(bool)
        v[S] = np.mean(f(np.where(mask, x, B)))
    w = [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)]
    return np.array([sum(w[bin(S).count("1")] * (v[S | (1 << j)] - v[S]) for S in range(2 ** p) if not S >> j & 1)
                     for j in range(p)])""",
        "overwrites the caller's background (no copy)": """
def shapley_values(f, x, background):
    x = np.asarray(x, float)
    p, m = len(x), len(background)
    batch = []
    for code in range(2 ** p):
        mask = ((code >> np.arange(p)) & 1).astype(bool)
        rows = background          # not a copy: x's values stay in the caller's array
        rows[:, mask] = x[mask]
        batch.append(rows.copy())
    v = np.ravel(f(np.vstack(batch))).reshape(2 ** p, m).mean(axis=1)
    w = [factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)]
    return np.array([sum(w[bin(S).count("1")] * (v[S | (1 << j)] - v[S]) for S in range(2 ** p) if not S >> j & 1)
                     for j in range(p)])""",
    },
    "kernel_shap": {
        "uniform kernel weights": """
def kernel_shap(f, x, background, nsamples, seed):
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    rng = np.random.default_rng(seed)
    if nsamples >= 2 ** p - 2:
        codes = np.arange(1, 2 ** p - 1)
        Z = ((codes[:, None] >> np.arange(p)) & 1).astype(bool)
    else:
        s = rng.integers(1, p, nsamples)
        Z = np.argsort(rng.random((nsamples, p)), axis=1) < s[:, None]
    out = np.ravel(f(np.vstack([x[None], B, np.where(Z[:, None, :], x, B[None]).reshape(-1, p)])))
    fx, base = out[0], out[1:m + 1].mean()
    v = out[m + 1:].reshape(len(Z), m).mean(axis=1)
    Zf = Z.astype(float)
    A, y = Zf[:, :-1] - Zf[:, -1:], v - base - Zf[:, -1] * (fx - base)
    head = np.linalg.lstsq(A, y, rcond=None)[0]
    return base, np.append(head, fx - base - head.sum())""",
        "efficiency not enforced (intercept fitted freely)": """
def kernel_shap(f, x, background, nsamples, seed):
    from math import comb
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    rng = np.random.default_rng(seed)
    if nsamples >= 2 ** p - 2:
        codes = np.arange(1, 2 ** p - 1)
        Z = ((codes[:, None] >> np.arange(p)) & 1).astype(bool)
        s = Z.sum(axis=1)
        w = (p - 1) / (np.array([comb(p, k) for k in s]) * s * (p - s))
    else:
        sizes = np.arange(1, p)
        pr = (p - 1) / (sizes * (p - sizes))
        s = rng.choice(sizes, nsamples, p=pr / pr.sum())
        Z = np.argsort(rng.random((nsamples, p)), axis=1) < s[:, None]
        w = np.ones(nsamples)
    out = np.ravel(f(np.vstack([x[None], B, np.where(Z[:, None, :], x, B[None]).reshape(-1, p)])))
    base = out[1:m + 1].mean()
    v = out[m + 1:].reshape(len(Z), m).mean(axis=1)
    A = np.hstack([np.ones((len(Z), 1)), Z.astype(float)]) * np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(A, (v - base) * np.sqrt(w), rcond=None)[0]
    return base, coef[1:]""",
        "base value from the background's mean row": """
def kernel_shap(f, x, background, nsamples, seed):
    from math import comb
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    rng = np.random.default_rng(seed)
    if nsamples >= 2 ** p - 2:
        codes = np.arange(1, 2 ** p - 1)
        Z = ((codes[:, None] >> np.arange(p)) & 1).astype(bool)
        s = Z.sum(axis=1)
        w = (p - 1) / (np.array([comb(p, k) for k in s]) * s * (p - s))
    else:
        sizes = np.arange(1, p)
        pr = (p - 1) / (sizes * (p - sizes))
        s = rng.choice(sizes, nsamples, p=pr / pr.sum())
        Z = np.argsort(rng.random((nsamples, p)), axis=1) < s[:, None]
        w = np.ones(nsamples)
    ref = B.mean(axis=0)
    out = np.ravel(f(np.vstack([x[None], ref[None], np.where(Z, x, ref)])))
    fx, base, v = out[0], out[1], out[2:]
    Zf = Z.astype(float)
    A, y = Zf[:, :-1] - Zf[:, -1:], v - base - Zf[:, -1] * (fx - base)
    sw = np.sqrt(w)
    head = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)[0]
    return base, np.append(head, fx - base - head.sum())""",
        "ignores the seed (always seed 0)": None,  # filled below from the reference with the seed replaced
        "one model call per coalition": None,     # filled below
        "returns phi only": None,                 # filled below
        "phi as a list": None,                    # filled below
        "base_value as a one-element array": None,  # filled below
    },
    "global_importance": {
        "ties in np.argsort's default (unstable) order": """
def global_importance(values, feature_names):
    imp = np.abs(np.asarray(values, float)).mean(axis=0)
    return [(feature_names[j], float(imp[j])) for j in np.argsort(-imp)]""",
        "ties broken by name": """
def global_importance(values, feature_names):
    imp = np.abs(np.asarray(values, float)).mean(axis=0)
    order = sorted(range(len(imp)), key=lambda j: (-imp[j], feature_names[j]))
    return [(feature_names[j], float(imp[j])) for j in order]""",
        "NumPy strings from an array of names": """
def global_importance(values, feature_names):
    imp = np.abs(np.asarray(values, float)).mean(axis=0)
    order = np.argsort(-imp, kind="stable")
    return list(zip(np.asarray(feature_names)[order], imp[order].tolist()))""",
        "pairs as lists, not tuples": """
def global_importance(values, feature_names):
    imp = np.abs(np.asarray(values, float)).mean(axis=0)
    order = sorted(range(len(imp)), key=lambda j: -imp[j])
    return [[feature_names[j], float(imp[j])] for j in order]""",
        "signed mean (positive and negative values cancel)": """
def global_importance(values, feature_names):
    imp = np.asarray(values, float).mean(axis=0)
    order = sorted(range(len(imp)), key=lambda j: -imp[j])
    return [(feature_names[j], float(imp[j])) for j in order]""",
        "sorted from the least important": """
def global_importance(values, feature_names):
    imp = np.abs(np.asarray(values, float)).mean(axis=0)
    order = sorted(range(len(imp)), key=lambda j: imp[j])
    return [(feature_names[j], float(imp[j])) for j in order]""",
        "sum instead of mean": """
def global_importance(values, feature_names):
    imp = np.abs(np.asarray(values, float)).sum(axis=0)
    order = sorted(range(len(imp)), key=lambda j: -imp[j])
    return [(feature_names[j], float(imp[j])) for j in order]""",
        "ties in reverse order (unstable sort)": """
def global_importance(values, feature_names):
    imp = np.abs(np.asarray(values, float)).mean(axis=0)
    order = np.argsort(imp)[::-1]
    return [(feature_names[j], float(imp[j])) for j in order]""",
        "mean over features instead of rows": """
def global_importance(values, feature_names):
    v = np.abs(np.asarray(values, float))
    imp = v.mean(axis=1)[:v.shape[1]] if v.shape[0] >= v.shape[1] else np.resize(v.mean(axis=1), v.shape[1])
    order = sorted(range(v.shape[1]), key=lambda j: -imp[j])
    return [(feature_names[j], float(imp[j])) for j in order]""",
    },
}

CORRECT = {
    "shapley_values": {
        "loops over subsets (itertools.combinations)": """
from itertools import combinations

def shapley_values(f, x, background):
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    subsets = [S for k in range(p + 1) for S in combinations(range(p), k)]
    batch = []
    for S in subsets:
        rows = B.copy()
        rows[:, list(S)] = x[list(S)]
        batch.append(rows)
    preds = np.ravel(f(np.vstack(batch))).reshape(len(subsets), m).mean(axis=1)
    v = dict(zip(subsets, preds))
    phi = np.zeros(p)
    for j in range(p):
        for S in subsets:
            if j in S:
                continue
            w = factorial(len(S)) * factorial(p - len(S) - 1) / factorial(p)
            phi[j] += w * (v[tuple(sorted(S + (j,)))] - v[S])
    return phi""",
        "all p! orderings": """
from itertools import permutations

def shapley_values(f, x, background):
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    masks = ((np.arange(2 ** p)[:, None] >> np.arange(p)) & 1).astype(bool)
    v = np.ravel(f(np.where(masks[:, None, :], x, B[None]).reshape(-1, p))).reshape(2 ** p, m).mean(axis=1)
    phi, count = np.zeros(p), 0
    for order in permutations(range(p)):
        code = 0
        for j in order:
            phi[j] += v[code | (1 << j)] - v[code]
            code |= 1 << j
        count += 1
    return phi / count""",
        "bit-mask vectorisation with a weight matrix": """
def shapley_values(f, x, background):
    x, B = np.asarray(x, dtype=np.float64), np.asarray(background, dtype=np.float64)
    p, m = x.shape[0], B.shape[0]
    n = 1 << p
    bits = (np.arange(n)[:, None] >> np.arange(p)) & 1
    X = np.where(bits[:, None, :] == 1, x[None, None, :], B[None, :, :]).reshape(n * m, p)
    v = np.asarray(f(X)).reshape(n, m).mean(1)
    s = bits.sum(1)
    fact = np.array([factorial(k) for k in range(p + 1)], dtype=float)
    # W[S, j] = +w(|S|-1) if j in S, -w(|S|) if j not in S
    w_in = np.where(s > 0, fact[np.maximum(s - 1, 0)] * fact[np.maximum(p - s, 0)] / fact[p], 0.0)
    w_out = np.where(s < p, fact[s] * fact[np.maximum(p - s - 1, 0)] / fact[p], 0.0)
    W = np.where(bits == 1, w_in[:, None], -w_out[:, None])
    return v @ W""",
    },
    "kernel_shap": {
        "scipy least squares with a KKT system, loops": """
import scipy.linalg
from itertools import combinations

def kernel_shap(f, x, background, nsamples, seed):
    from math import comb
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    rng = np.random.default_rng(seed)
    Z, w = [], []
    if nsamples >= 2 ** p - 2:
        for s in range(1, p):
            for S in combinations(range(p), s):
                z = np.zeros(p); z[list(S)] = 1
                Z.append(z); w.append((p - 1) / (comb(p, s) * s * (p - s)))
    else:
        sizes = list(range(1, p))
        pr = np.array([(p - 1) / (s * (p - s)) for s in sizes]); pr /= pr.sum()
        for _ in range(nsamples):
            s = rng.choice(sizes, p=pr)
            z = np.zeros(p); z[rng.choice(p, s, replace=False)] = 1
            Z.append(z); w.append(1.0)
    Z, w = np.array(Z).reshape(-1, p), np.array(w)
    batch = [x[None], B] + [np.where(z.astype(bool), x, B) for z in Z]
    out = np.ravel(f(np.vstack(batch)))
    fx, base = out[0], out[1:m + 1].mean()
    v = out[m + 1:].reshape(len(Z), m).mean(axis=1)
    if p == 1:
        return base, np.array([fx - base])
    M = Z.T @ (w[:, None] * Z)
    K = np.block([[2 * M, np.ones((p, 1))], [np.ones((1, p)), np.zeros((1, 1))]])
    rhs = np.concatenate([2 * Z.T @ (w * (v - base)), [fx - base]])
    sol = scipy.linalg.lstsq(K, rhs)[0]
    return float(base), sol[:p]""",
        "scikit-learn LinearRegression with sample weights": """
from sklearn.linear_model import LinearRegression

def kernel_shap(f, x, background, nsamples, seed):
    from math import comb
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    rng = np.random.default_rng(seed)
    if nsamples >= 2 ** p - 2:
        codes = np.arange(1, 2 ** p - 1)
        Z = ((codes[:, None] >> np.arange(p)) & 1).astype(bool)
        s = Z.sum(axis=1)
        w = (p - 1) / (np.array([comb(p, k) for k in s]) * s * (p - s))
    else:
        sizes = np.arange(1, p)
        pr = (p - 1) / (sizes * (p - sizes))
        s = rng.choice(sizes, nsamples, p=pr / pr.sum())
        Z = np.zeros((nsamples, p), dtype=bool)
        for i, k in enumerate(s):
            Z[i, rng.permutation(p)[:k]] = True
        w = np.ones(nsamples)
    out = np.ravel(f(np.vstack([x[None], B, np.where(Z[:, None, :], x, B[None]).reshape(-1, p)])))
    fx, base = out[0], out[1:m + 1].mean()
    if p == 1:
        return base, np.array([fx - base])
    v = out[m + 1:].reshape(len(Z), m).mean(axis=1)
    Zf = Z.astype(float)
    reg = LinearRegression(fit_intercept=False).fit(Zf[:, 1:] - Zf[:, :1], v - base - Zf[:, 0] * (fx - base),
                                                   sample_weight=w)
    return base, np.concatenate([[fx - base - reg.coef_.sum()], reg.coef_])""",
        "duplicates merged with counts as weights (paired sampling)": """
def kernel_shap(f, x, background, nsamples, seed):
    from math import comb
    x, B = np.asarray(x, float), np.asarray(background, float)
    p, m = len(x), len(B)
    rng = np.random.default_rng(seed)
    if nsamples >= 2 ** p - 2:
        codes = np.arange(1, 2 ** p - 1)
        Z = ((codes[:, None] >> np.arange(p)) & 1).astype(bool)
        s = Z.sum(axis=1)
        w = (p - 1) / (np.array([comb(p, k) for k in s]) * s * (p - s))
    else:
        sizes = np.arange(1, p)
        pr = (p - 1) / (sizes * (p - sizes))
        half = (nsamples + 1) // 2
        s = rng.choice(sizes, half, p=pr / pr.sum())
        Z = np.argsort(rng.random((half, p)), axis=1) < s[:, None]
        Z = np.vstack([Z, ~Z])[:nsamples]                 # each coalition with its complement
        Z, w = np.unique(Z, axis=0, return_counts=True)
        w = w.astype(float)
    out = np.ravel(f(np.vstack([x[None], B, np.where(Z[:, None, :], x, B[None]).reshape(-1, p)])))
    fx, base = out[0], out[1:m + 1].mean()
    if p == 1:
        return base, np.array([fx - base])
    v = out[m + 1:].reshape(len(Z), m).mean(axis=1)
    Zf = Z.astype(float)
    A, y = Zf[:, :-1] - Zf[:, -1:], v - base - Zf[:, -1] * (fx - base)
    sw = np.sqrt(w)
    head = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)[0]
    return base, np.append(head, fx - base - head.sum())""",
    },
    "global_importance": {
        "pandas, stable sort": """
import pandas as pd

def global_importance(values, feature_names):
    s = pd.Series(np.abs(values).mean(axis=0), index=list(feature_names))
    s = s.sort_values(ascending=False, kind="stable")
    return list(zip(s.index, s.values.tolist()))""",
        "a loop, returns lists as pairs": """
def global_importance(values, feature_names):
    n, p = len(values), len(feature_names)
    totals = [0.0] * p
    for row in values:
        for j in range(p):
            totals[j] += abs(row[j]) / n
    ranked = sorted(zip(feature_names, totals), key=lambda t: t[1], reverse=True)  # sorted() is stable
    return [(name, value) for name, value in ranked]""",
    },
}


def _reference(name):
    from tests.submissions import reference_answers
    return reference_answers(CH)[name]


_ks = _reference("kernel_shap")
WRONG["kernel_shap"]["ignores the seed (always seed 0)"] = _ks.replace(
    "np.random.default_rng(seed)", "np.random.default_rng(0)")
WRONG["kernel_shap"]["one model call per coalition"] = _ks.replace(
    "out = np.ravel(f(np.vstack([x[None, :], background, rows])))",
    "out = np.concatenate([np.ravel(f(chunk)) for chunk in "
    "[x[None, :], background] + list(rows.reshape(-1, m, p))])")
WRONG["kernel_shap"]["returns phi only"] = _ks.replace(
    "return base, np.append(head, total - head.sum())", "return np.append(head, total - head.sum())")
WRONG["kernel_shap"]["phi as a list"] = _ks.replace(
    "return base, np.append(head, total - head.sum())", "return base, np.append(head, total - head.sum()).tolist()")
WRONG["kernel_shap"]["base_value as a one-element array"] = _ks.replace(
    "return base, np.append(head, total - head.sum())", "return np.array([base]), np.append(head, total - head.sum())")
for name, text in WRONG["kernel_shap"].items():
    assert text != _ks, name


def test_reference_solution_scores_full_marks(tmp_path):
    proofs.reference_scores_full_marks(tmp_path, CH, ["answer_decision_plot", "answer_grouped", "answer_image"])


def test_untouched_stub_scores_zero_and_says_not_attempted(tmp_path):
    proofs.stub_scores_zero(tmp_path, CH)


@pytest.mark.parametrize("exercise,variant", [(ex, v) for ex, vs in WRONG.items() for v in vs])
def test_wrong_variant_loses_marks(tmp_path, exercise, variant):
    proofs.wrong_variant_loses_marks(tmp_path, CH, exercise, WRONG[exercise][variant], variant)


@pytest.mark.parametrize("exercise,variant", [(ex, v) for ex, vs in CORRECT.items() for v in vs])
def test_correct_variant_keeps_full_marks(tmp_path, exercise, variant):
    proofs.correct_variant_keeps_full_marks(tmp_path, CH, exercise, CORRECT[exercise][variant])


def test_grading_is_reproducible(tmp_path):
    wrong = {"shapley_values": WRONG["shapley_values"]["unweighted average of marginal contributions (Banzhaf)"],
             "kernel_shap": WRONG["kernel_shap"]["uniform kernel weights"],
             "global_importance": WRONG["global_importance"]["signed mean (positive and negative values cancel)"]}
    proofs.graded_reproducibly(tmp_path, CH, wrong)


# -- submissions without the method (issue 18): at most 10 % of the chapter's automatic points ---------------
LAZY = {
    "shapley_values": """
def shapley_values(f, x, background):
    x, B = np.asarray(x, float), np.asarray(background, float)
    out = np.ravel(f(np.vstack([x[None], B])))
    phi = np.zeros(len(x))
    phi[-1] = out[0] - out[1:].mean()   # one call, the whole gap on the last feature
    return phi""",
    "kernel_shap": """
def kernel_shap(f, x, background, nsamples, seed):
    x, B = np.asarray(x, float), np.asarray(background, float)
    out = np.ravel(f(np.vstack([x[None], B])))
    phi = np.zeros(len(x))
    phi[-1] = out[0] - out[1:].mean()
    return float(out[1:].mean()), phi""",
    "global_importance": """
def global_importance(values, feature_names):
    return [(name, 0.0) for name in feature_names]""",
}


def test_a_submission_without_the_method_scores_at_most_a_tenth(tmp_path):
    """One model call and the whole gap f(x) - mean f(background) on the last feature (11 of 24 points on
    the first two exercises before issue 18), and zeros for the ranking."""
    proofs.lazy_scores_at_most_a_tenth(tmp_path, CH, LAZY, "the whole gap on the last feature")


def test_answers_looked_up_from_the_public_checks_score_at_most_a_tenth(tmp_path):
    """Every public check's answer recorded offline from the bundle (16 of 24 points before issue 18)."""
    proofs.lookup_scores_at_most_a_tenth(tmp_path, CH)


def test_the_answers_agree_with_brute_force_enumeration():
    """The grader's analytic answers (per-term small games) equal a plain enumeration of all coalitions."""
    import numpy as np
    from itertools import combinations
    from math import factorial

    from autograder.answers.ch03_shap import evaluate, exact_shapley
    from autograder.public.ch03_shap import interaction_model
    from autograder.testmodels.ch03_shap import random_background, random_row

    model, x, B = interaction_model(p=6), random_row(1, 6), random_background(2, 9, 6)

    def v(S):
        rows = B.copy()
        rows[:, list(S)] = x[list(S)]
        return evaluate(model, rows).mean()

    brute = np.zeros(6)
    for j in range(6):
        others = [i for i in range(6) if i != j]
        for k in range(6):
            for S in combinations(others, k):
                brute[j] += factorial(k) * factorial(5 - k) / factorial(6) * (v(S + (j,)) - v(S))
    np.testing.assert_allclose(exact_shapley(model, x, B), brute, atol=1e-12)


def test_a_list_of_records_reaches_the_checks_as_tuples():
    """global_importance returns [(name, value), ...]: coerce turns such a list into a tuple of coerced
    pairs (it used to refuse it as 'not numbers'), and the worker's wire format carries it unchanged."""
    import numpy as np

    from autograder import wire
    from autograder.checks import CheckFailed, coerce

    out = coerce([("age", np.float32(0.5)), ("sex", 1)])
    assert type(out) is tuple and all(type(pair) is tuple and len(pair) == 2 for pair in out)
    assert [n for n, _ in out] == ["age", "sex"] and [float(v) for _, v in out] == [0.5, 1.0]
    assert all(type(v) is np.ndarray for _, v in out)
    again = wire.check_plain(wire.loads(wire.dumps(out)))
    assert [n for n, _ in again] == ["age", "sex"] and [float(v) for _, v in again] == [0.5, 1.0]
    assert type(coerce([1.0, 2.0])) is np.ndarray  # plain numeric lists are still arrays
    try:
        coerce([("x", object())])
    except CheckFailed:
        pass
    else:
        raise AssertionError("an object inside a record must be refused")
