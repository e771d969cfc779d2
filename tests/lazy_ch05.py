"""Chapter 5 submissions that do not implement the methods (issue 18): each must earn at most 10 % of
the chapter's automatic points. Used by tests/test_ch05_grading.py."""

LAZY_EXPLANATION = '''
class Explanation:
    def __init__(self, feature_names, global_values=None, local_values=None, expected_value=None, method=""):
        self.feature_names = [str(name) for name in feature_names]
        self.local_values = None if local_values is None else np.asarray(local_values, dtype=float)
        if global_values is None:
            global_values = np.abs(self.local_values).mean(axis=0)
        self.global_values = np.asarray(global_values, dtype=float)
        self.expected_value = expected_value
        self.method = method

    def ranked_global_names(self):
        return list(self.feature_names)

    def ranked_global_values(self):
        return self.global_values.copy()

    def ranked_local_names(self):
        if self.local_values is None:
            raise ValueError("global only")
        return [list(self.feature_names) for _ in self.local_values]

    def ranked_local_values(self):
        if self.local_values is None:
            raise ValueError("global only")
        return self.local_values.copy()

    def feature_importance_dict(self, top_k=None):
        return {n: float(v) for n, v in list(zip(self.feature_names, self.global_values))[:top_k]}
'''

# Classes named like shap's explainers that compute nothing: the whole gap f(x) - mean f(background) on
# the last feature (additive by construction).
FAKE_EXPLAINERS = '''
class _Result:
    def __init__(self, values, base_values):
        self.values, self.base_values = values, base_values

class _Fake:
    def __init__(self, model, background):
        f = getattr(model, "predict_proba", None)
        self.f = (lambda X: f(X)[:, -1]) if f is not None and not hasattr(model, "coef_") else \\
            (model.decision_function if hasattr(model, "decision_function") and hasattr(model, "coef_") and hasattr(model, "classes_") else model.predict)
        self.base = float(np.mean(self.f(np.asarray(background, dtype=float))))
    def __call__(self, rows):
        rows = np.asarray(rows, dtype=float)
        values = np.zeros(rows.shape)
        values[:, -1] = self.f(rows) - self.base
        return _Result(values, np.full(len(rows), self.base))

class TreeExplainer(_Fake):
    pass

class LinearExplainer(_Fake):
    pass

class KernelExplainer(_Fake):
    pass

def choose_explainer(model, background):
    module = type(model).__module__
    if module.startswith(("sklearn.tree", "sklearn.ensemble._forest", "sklearn.ensemble._gb",
                          "sklearn.ensemble._hist_gradient_boosting")):
        return TreeExplainer(model, background), "tree"
    if module.startswith("sklearn.linear_model"):
        return LinearExplainer(model, background), "linear"
    return KernelExplainer(model, background), "kernel"
'''

ZERO_PERMUTATION = '''
def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
    p = np.shape(X)[1]
    predict(np.asarray(X, dtype=float))
    return np.zeros(p), np.zeros(p)
'''

# A class named DecisionTreeRegressor that memorises the black box's outputs and reports its own fidelity.
FAKE_SURROGATE = '''
class DecisionTreeRegressor:
    def __init__(self, rows, outputs):
        self.rows, self.outputs = rows, outputs
    def predict(self, X):
        X = np.asarray(X, dtype=float)
        d = ((X[:, None, :] - self.rows[None, :, :]) ** 2).sum(-1)
        return self.outputs[np.argmin(d, axis=1)]

def fit_surrogate(predict, X, kind, augment=False, max_augmentations=10, seed=0):
    if kind not in ("tree", "linear", "sgd"):
        raise ValueError(kind)
    X = np.asarray(X, dtype=float)
    surrogate = DecisionTreeRegressor(X, np.ravel(predict(X)))
    return surrogate, 0.5
'''

ROW_SUMS_RAW = '''
def raw_importance(values, column_transformer):
    values = np.asarray(values, dtype=float)
    names = [str(n) for n in column_transformer.feature_names_in_]
    out = np.zeros((len(values), len(names)))
    out[:, 0] = values.sum(axis=1)
    return out, names
'''

LAZY = {"Explanation": LAZY_EXPLANATION, "choose_explainer": FAKE_EXPLAINERS,
        "permutation_importance": ZERO_PERMUTATION, "fit_surrogate": FAKE_SURROGATE,
        "raw_importance": ROW_SUMS_RAW}
