"""The chapter-5 grader grades: reference full marks, stub zero, wrong answers lose marks, other
correct answers keep full marks, the same notebook always gets the same points.

Every submission is the real release notebook with its exercise cells filled in (the reference
solution from source/ except the one exercise under test), graded by the real grader: extraction,
sandboxed worker, checks. ``Explanation`` is a class: the grader extracts the class and the checks
read it through its methods (``autograder.checks.THEN``).
"""
import os
import re

import pytest

from autograder.checks import max_points
from autograder.grade import grade_notebook
from tests import grading_proofs as proofs
from tests.submissions import make_submission, reference_answers

CH = "ch05_practice"


def explanation_with(**bodies) -> str:
    """The reference ``Explanation`` with some methods' bodies replaced: ``name="code"``."""
    source = reference_answers(CH)["Explanation"]
    for name, body in bodies.items():
        pattern = re.compile(rf"(    def {name}\(self[^)]*\):\n        \"\"\"[^\n]*\"\"\"\n)(.*?)(?=\n    def |\Z)", re.S)
        assert pattern.search(source), name
        indented = "\n".join("        " + line if line else "" for line in body.strip("\n").splitlines())
        source = pattern.sub(lambda m: m.group(1) + indented + "\n", source, count=1)
    return source


WRONG = {
    "Explanation": {
        "ranked by the signed value": explanation_with(
            ranked_global_names="order = np.argsort(-self.global_values, kind='stable')\n"
                                "return [self.feature_names[j] for j in order]",
            ranked_global_values="return self.global_values[np.argsort(-self.global_values, kind='stable')]"),
        "ties in reverse order (reversed ascending sort)": explanation_with(
            ranked_global_names="order = np.argsort(np.abs(self.global_values), kind='stable')[::-1]\n"
                                "return [self.feature_names[j] for j in order]",
            ranked_global_values="return self.global_values[np.argsort(np.abs(self.global_values), kind='stable')[::-1]]",
            ranked_local_names="order = np.argsort(np.abs(self.local_values), axis=1, kind='stable')[:, ::-1]\n"
                               "return [[self.feature_names[j] for j in row] for row in order]"),
        "ranked values lose their signs": explanation_with(
            ranked_global_values="return -np.sort(-np.abs(self.global_values), kind='stable')"),
        "every row ranked in the global order": explanation_with(
            ranked_local_names="if self.local_values is None:\n    raise ValueError('global only')\n"
                               "return [self.ranked_global_names() for _ in self.local_values]",
            ranked_local_values="if self.local_values is None:\n    raise ValueError('global only')\n"
                                "order = np.argsort(-np.abs(self.global_values), kind='stable')\n"
                                "return self.local_values[:, order]"),
        "top_k ignored": explanation_with(
            feature_importance_dict="return {n: float(v) for n, v in zip(self.ranked_global_names(), "
                                    "self.ranked_global_values())}"),
        "global-only explanation returns empty local rankings": explanation_with(
            ranked_local_names="if self.local_values is None:\n    return []\n"
                               "order = np.argsort(-np.abs(self.local_values), axis=1, kind='stable')\n"
                               "return [[self.feature_names[j] for j in row] for row in order]",
            ranked_local_values="if self.local_values is None:\n    return np.zeros((0, len(self.feature_names)))\n"
                                "order = np.argsort(-np.abs(self.local_values), axis=1, kind='stable')\n"
                                "return np.take_along_axis(self.local_values, order, axis=1)"),
        "sorts the stored local values in place": explanation_with(
            ranked_local_values="if self.local_values is None:\n    raise ValueError('global only')\n"
                                "order = np.argsort(-np.abs(self.local_values), axis=1, kind='stable')\n"
                                "self.local_values[:] = np.take_along_axis(self.local_values, order, axis=1)\n"
                                "return self.local_values"),
    },
    "choose_explainer": {
        "tree explainer without the background (path-dependent)": """
            def choose_explainer(model, background):
                if type(model).__module__.startswith(("sklearn.tree", "sklearn.ensemble")):
                    return shap.TreeExplainer(model), "tree"
                if type(model).__module__.startswith("sklearn.linear_model"):
                    return shap.LinearExplainer(model, background), "linear"
                f = model.predict_proba if hasattr(model, "predict_proba") else model.predict
                return shap.KernelExplainer(f, background), "kernel\"""",
        "kernel explainer for every model": """
            def choose_explainer(model, background):
                f = model.predict_proba if hasattr(model, "predict_proba") else model.predict
                return shap.KernelExplainer(f, background), "kernel\"""",
        "decides by attributes (estimators_, coef_)": """
            def choose_explainer(model, background):
                if hasattr(model, "estimators_") or hasattr(model, "tree_"):
                    return shap.TreeExplainer(model, background), "tree"
                if hasattr(model, "coef_"):
                    return shap.LinearExplainer(model, background), "linear"
                f = model.predict_proba if hasattr(model, "predict_proba") else model.predict
                return shap.KernelExplainer(f, background), "kernel\"""",
        "linear models recognised by 'Regression' in the name": """
            def choose_explainer(model, background):
                name = type(model).__name__
                if "Forest" in name or "Tree" in name or "Boosting" in name:
                    return shap.TreeExplainer(model, background), "tree"
                if "Regression" in name:
                    return shap.LinearExplainer(model, background), "linear"
                f = model.predict_proba if hasattr(model, "predict_proba") else model.predict
                return shap.KernelExplainer(f, background), "kernel\"""",
    },
    "permutation_importance": {
        "shuffles the labels instead of a column": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                X = np.asarray(X, dtype=float); y = np.asarray(y)
                n, p = X.shape
                base = metric(y, predict(X))
                column_seed = np.random.RandomState(seed).randint(2**31)
                drops = np.zeros((p, n_repeats))
                for j in range(p):
                    rng = np.random.RandomState(column_seed); index = np.arange(n); labels = y.copy()
                    for r in range(n_repeats):
                        rng.shuffle(index); labels = labels[index]
                        drops[j, r] = base - metric(labels, predict(X))
                drops = drops if greater_is_better else -drops
                return drops.mean(axis=1), drops.std(axis=1)""",
        "sign inverted for an error metric (greater_is_better ignored)": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                X = np.asarray(X, dtype=float)
                n, p = X.shape
                base = metric(y, predict(X))
                column_seed = np.random.RandomState(seed).randint(2**31)
                drops = np.zeros((p, n_repeats))
                for j in range(p):
                    rng = np.random.RandomState(column_seed); index = np.arange(n); Z = X.copy()
                    for r in range(n_repeats):
                        rng.shuffle(index); Z[:, j] = Z[index, j]
                        drops[j, r] = base - metric(y, predict(Z))
                return drops.mean(axis=1), drops.std(axis=1)""",
        "std with ddof=1": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                X = np.asarray(X, dtype=float)
                n, p = X.shape
                base = metric(y, predict(X))
                column_seed = np.random.RandomState(seed).randint(2**31)
                drops = np.zeros((p, n_repeats))
                for j in range(p):
                    rng = np.random.RandomState(column_seed); index = np.arange(n); Z = X.copy()
                    for r in range(n_repeats):
                        rng.shuffle(index); Z[:, j] = Z[index, j]
                        drops[j, r] = base - metric(y, predict(Z))
                drops = drops if greater_is_better else -drops
                return drops.mean(axis=1), drops.std(axis=1, ddof=1)""",
        "its own random generator (not scikit-learn's shuffles)": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                X = np.asarray(X, dtype=float)
                n, p = X.shape
                rng = np.random.default_rng(seed)
                base = metric(y, predict(X))
                drops = np.zeros((p, n_repeats))
                for j in range(p):
                    for r in range(n_repeats):
                        Z = X.copy(); Z[:, j] = rng.permutation(X[:, j])
                        drops[j, r] = base - metric(y, predict(Z))
                drops = drops if greater_is_better else -drops
                return drops.mean(axis=1), drops.std(axis=1)""",
        "one predict call per row": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                X = np.asarray(X, dtype=float)
                n, p = X.shape
                base = metric(y, predict(X))
                column_seed = np.random.RandomState(seed).randint(2**31)
                drops = np.zeros((p, n_repeats))
                for j in range(p):
                    rng = np.random.RandomState(column_seed); index = np.arange(n); Z = X.copy()
                    for r in range(n_repeats):
                        rng.shuffle(index); Z[:, j] = Z[index, j]
                        preds = np.array([np.ravel(predict(Z[i:i + 1]))[0] for i in range(n)])
                        drops[j, r] = base - metric(y, preds)
                drops = drops if greater_is_better else -drops
                return drops.mean(axis=1), drops.std(axis=1)""",
        "shuffles the caller's X in place": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                n, p = X.shape
                base = metric(y, predict(X))
                column_seed = np.random.RandomState(seed).randint(2**31)
                drops = np.zeros((p, n_repeats))
                for j in range(p):
                    rng = np.random.RandomState(column_seed); index = np.arange(n)
                    for r in range(n_repeats):
                        rng.shuffle(index); X[:, j] = X[index, j]
                        drops[j, r] = base - metric(y, predict(X))
                drops = drops if greater_is_better else -drops
                return drops.mean(axis=1), drops.std(axis=1)""",
    },
    "fit_surrogate": {
        "fidelity scored against labels (the black box's thresholded classes)": """
            def fit_surrogate(predict, X, kind, augment=False, max_augmentations=10, seed=0):
                models = {"tree": DecisionTreeRegressor(random_state=seed), "linear": LinearRegression(),
                          "sgd": make_pipeline(StandardScaler(), SGDRegressor(random_state=seed))}
                if kind not in models:
                    raise ValueError(kind)
                X_fit, X_held = train_test_split(np.asarray(X, dtype=float), test_size=0.25, random_state=seed)
                surrogate = models[kind].fit(X_fit, np.ravel(predict(X_fit)))
                labels = (np.ravel(predict(X_held)) > 0.5).astype(float)
                return surrogate, r2_score(labels, surrogate.predict(X_held))""",
        "fitted on labels (the black box's thresholded classes)": """
            def fit_surrogate(predict, X, kind, augment=False, max_augmentations=10, seed=0):
                models = {"tree": DecisionTreeRegressor(random_state=seed), "linear": LinearRegression(),
                          "sgd": make_pipeline(StandardScaler(), SGDRegressor(random_state=seed))}
                if kind not in models:
                    raise ValueError(kind)
                X_fit, X_held = train_test_split(np.asarray(X, dtype=float), test_size=0.25, random_state=seed)
                surrogate = models[kind].fit(X_fit, (np.ravel(predict(X_fit)) > 0.5).astype(float))
                return surrogate, r2_score(np.ravel(predict(X_held)), surrogate.predict(X_held))""",
        "fidelity measured on the fitting rows": """
            def fit_surrogate(predict, X, kind, augment=False, max_augmentations=10, seed=0):
                models = {"tree": DecisionTreeRegressor(random_state=seed), "linear": LinearRegression(),
                          "sgd": make_pipeline(StandardScaler(), SGDRegressor(random_state=seed))}
                if kind not in models:
                    raise ValueError(kind)
                X_fit, X_held = train_test_split(np.asarray(X, dtype=float), test_size=0.25, random_state=seed)
                y_fit = np.ravel(predict(X_fit))
                surrogate = models[kind].fit(X_fit, y_fit)
                return surrogate, r2_score(y_fit, surrogate.predict(X_fit))""",
        "augmentation that permutes whole columns (the SDK's bug)": None,  # filled below
        "unknown kind falls back to a tree": None,  # filled below
    },
    "raw_importance": {
        "averages a one-hot group": None,  # filled below
        "raw names in the transformers' order": None,
        "ignores an encoder's dropped category": None,
    },
}

REFERENCE = reference_answers(CH)
WRONG["fit_surrogate"]["augmentation that permutes whole columns (the SDK's bug)"] = REFERENCE["fit_surrogate"].replace(
    "extra = [np.column_stack([shuffler.permutation(X_fit[:, j]) for j in range(p)])\n                 for _ in range(max(copies, 0))]",
    "extra = [X_fit[:, shuffler.permutation(p)] for _ in range(max(copies, 0))]")
WRONG["fit_surrogate"]["unknown kind falls back to a tree"] = REFERENCE["fit_surrogate"].replace(
    "if kind not in surrogates:\n        raise ValueError", "if kind not in surrogates:\n        kind = 'tree'\n    if False:\n        raise ValueError")
LOOP = ("        for offset, column in enumerate(owners):\n"
        "            values_raw[:, column] += values[:, block.start + offset]")
WRONG["raw_importance"]["averages a one-hot group"] = REFERENCE["raw_importance"].replace(
    LOOP, "        for column in sorted(set(owners)):\n"
          "            group = [block.start + o for o, c in enumerate(owners) if c == column]\n"
          "            values_raw[:, column] += values[:, group].mean(axis=1)")
WRONG["raw_importance"]["raw names in the transformers' order"] = REFERENCE["raw_importance"].replace(
    "raw_names = [str(name) for name in column_transformer.feature_names_in_]",
    "raw_names = [str(c) for _, t, cols in column_transformer.transformers_ if t != 'drop' for c in "
    "(cols if isinstance(cols, list) else column_transformer.feature_names_in_[cols])]").replace(
    LOOP, "        for offset, column in enumerate(owners):\n"
          "            values_raw[:, raw_names.index(column_transformer.feature_names_in_[column])] += "
          "values[:, block.start + offset]")
WRONG["raw_importance"]["ignores an encoder's dropped category"] = REFERENCE["raw_importance"].replace(
    "width = len(categories) - (dropped is not None and dropped[k] is not None)", "width = len(categories)")

# issue 18: types as returned, ties above 16 features with names out of alphabetical order, other models,
# raw columns with '_' / infrequent categories / indicators, augmentation counted exactly
WRONG["Explanation"].update({
    "names as a NumPy array of np.str_ (a list of str is promised)": explanation_with(
        ranked_global_names="order = np.argsort(-np.abs(self.global_values), kind='stable')\n"
                            "return np.array(self.feature_names)[order]",
        ranked_local_names="if self.local_values is None:\n    raise ValueError('global only')\n"
                           "order = np.argsort(-np.abs(self.local_values), axis=1, kind='stable')\n"
                           "return np.array(self.feature_names)[order]"),
    "ties ordered by name": explanation_with(
        ranked_global_names="return sorted(self.feature_names, key=lambda n: (-abs(self.global_values["
                            "self.feature_names.index(n)]), n))"),
    "NumPy's default (unstable) sort": explanation_with(
        ranked_global_names="order = np.argsort(-np.abs(self.global_values))\n"
                            "return [self.feature_names[j] for j in order]",
        ranked_global_values="return self.global_values[np.argsort(-np.abs(self.global_values))]",
        ranked_local_names="if self.local_values is None:\n    raise ValueError('global only')\n"
                           "order = np.argsort(-np.abs(self.local_values), axis=1)\n"
                           "return [[self.feature_names[j] for j in row] for row in order]"),
    "feature_importance_dict values as np.float64": explanation_with(
        feature_importance_dict="if top_k is not None and not 1 <= top_k <= len(self.feature_names):\n"
                                "    raise ValueError('top_k')\n"
                                "return dict(list(zip(self.ranked_global_names(), self.ranked_global_values()))[:top_k])"),
    "top_k=0 gives an empty dict, top_k=-1 drops the last feature (a plain slice)": explanation_with(
        feature_importance_dict="pairs = list(zip(self.ranked_global_names(), self.ranked_global_values()))\n"
                                "return {name: float(value) for name, value in pairs[:top_k]}"),
})
WRONG["choose_explainer"].update({
    "the kernel explainer of a classifier explains its labels (predict)": REFERENCE["choose_explainer"].replace(
        'predict = model.predict_proba if hasattr(model, "predict_proba") else model.predict',
        "predict = model.predict"),
    "only forests and gradient boosting are trees": REFERENCE["choose_explainer"].replace(
        "tree_models = (BaseDecisionTree, RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,\n"
        "                   ExtraTreesRegressor, GradientBoostingClassifier, GradientBoostingRegressor,\n"
        "                   HistGradientBoostingClassifier, HistGradientBoostingRegressor)",
        "tree_models = (BaseDecisionTree, RandomForestClassifier, RandomForestRegressor, "
        "GradientBoostingClassifier, GradientBoostingRegressor)"),
    "any model named Linear* is linear (a LinearSVR too)": REFERENCE["choose_explainer"].replace(
        'if type(model).__module__.startswith("sklearn.linear_model"):',
        'if type(model).__module__.startswith("sklearn.linear_model") or type(model).__name__.startswith("Linear"):'),
    "fake explainers named like shap's (the gap on the last feature)": None,  # filled below
})
WRONG["permutation_importance"]["returns lists"] = REFERENCE["permutation_importance"].replace(
    "return drops.mean(axis=1), drops.std(axis=1)", "return drops.mean(axis=1).tolist(), drops.std(axis=1).tolist()")
WRONG["fit_surrogate"].update({
    "one augmented copy whatever k": REFERENCE["fit_surrogate"].replace(
        "copies = min(p // n - 1, max_augmentations)", "copies = min(1, max_augmentations)"),
    "every copy shuffled the same way": REFERENCE["fit_surrogate"].replace(
        "extra = [np.column_stack([shuffler.permutation(X_fit[:, j]) for j in range(p)])\n"
        "                 for _ in range(max(copies, 0))]",
        "one = np.column_stack([shuffler.permutation(X_fit[:, j]) for j in range(p)])\n"
        "        extra = [one for _ in range(max(copies, 0))]"),
    "unseeded augmentation": REFERENCE["fit_surrogate"].replace(
        "shuffler = np.random.default_rng(seed)", "shuffler = np.random.default_rng()"),
    "new rows drawn from a normal with each column's mean and std": REFERENCE["fit_surrogate"].replace(
        "extra = [np.column_stack([shuffler.permutation(X_fit[:, j]) for j in range(p)])\n"
        "                 for _ in range(max(copies, 0))]",
        "extra = [X_fit.mean(axis=0) + X_fit.std(axis=0) * shuffler.standard_normal(X_fit.shape)\n"
        "                 for _ in range(max(copies, 0))]"),
    "a look-alike DecisionTreeRegressor that memorises the black box": None,  # filled below
})
WRONG["raw_importance"].update({
    "raw_names is feature_names_in_ itself": REFERENCE["raw_importance"].replace(
        "return values_raw, raw_names", "return values_raw, column_transformer.feature_names_in_"),
    "owners by splitting output names on '_'": """
        def raw_importance(values, column_transformer):
            values = np.asarray(values, dtype=float)
            raw = [str(c) for c in column_transformer.feature_names_in_]
            out = np.zeros((len(values), len(raw)))
            for j, name in enumerate(column_transformer.get_feature_names_out()):
                owner = name.split("__", 1)[1].split("_")[0]
                if owner in raw:
                    out[:, raw.index(owner)] += values[:, j]
            return out, raw""",
    "infrequent categories not grouped (one column per category)": REFERENCE["raw_importance"].replace(
        "                if infrequent[k] is not None:  # infrequent categories share one output column\n"
        "                    width -= len(infrequent[k]) - 1\n", ""),
    "missing-value indicators ignored": REFERENCE["raw_importance"].replace(
        "        if len(owners) != block.stop - block.start:\n"
        "            raise ValueError(f\"cannot map the {block.stop - block.start} outputs of {name!r} to its inputs\")\n",
        "").replace("owners += [raw[k] for k in indicator.features_]", "pass"),
})

from tests.lazy_ch05 import FAKE_EXPLAINERS, FAKE_SURROGATE, LAZY  # noqa: E402
WRONG["choose_explainer"]["fake explainers named like shap's (the gap on the last feature)"] = FAKE_EXPLAINERS
WRONG["fit_surrogate"]["a look-alike DecisionTreeRegressor that memorises the black box"] = FAKE_SURROGATE

for exercise, variants in WRONG.items():
    for name, text in variants.items():
        assert text and text != REFERENCE.get(exercise), (exercise, name)

CORRECT = {
    "Explanation": {
        "Python's sorted (stable, also with reverse=True) and dict comprehension": explanation_with(
            ranked_global_names="order = sorted(range(len(self.feature_names)), key=lambda j: abs(self.global_values[j]),"
                                " reverse=True)\nreturn [self.feature_names[j] for j in order]",
            ranked_global_values="return np.array([self.global_values[self.feature_names.index(n)] "
                                 "for n in self.ranked_global_names()])",
            ranked_local_names="if self.local_values is None:\n    raise ValueError('no local values')\n"
                               "return [[self.feature_names[j] for j in sorted(range(len(row)), key=lambda j: -abs(row[j]))]"
                               " for row in self.local_values]",
            ranked_local_values="if self.local_values is None:\n    raise ValueError('no local values')\n"
                                "return np.array([[row[j] for j in sorted(range(len(row)), key=lambda j: -abs(row[j]))]"
                                " for row in self.local_values])",
            feature_importance_dict="names = self.ranked_global_names()\nvalues = self.ranked_global_values()\n"
                                    "k = len(names) if top_k is None else top_k\n"
                                    "if not 1 <= k <= len(names):\n    raise ValueError(f'top_k={k}')\n"
                                    "return {names[i]: float(values[i]) for i in range(k)}"),
        "lexsort on (index, -|value|), feature_importance_dict by hand": explanation_with(
            ranked_global_names="order = np.lexsort((np.arange(len(self.global_values)), -np.abs(self.global_values)))\n"
                                "return [str(n) for n in np.array(self.feature_names)[order]]",
            ranked_local_names="if self.local_values is None:\n    raise ValueError('no local values')\n"
                               "order = np.argsort(-np.abs(self.local_values), axis=1, kind='mergesort')\n"
                               "return [[self.feature_names[j] for j in row] for row in order]",
            feature_importance_dict="if top_k is not None and top_k not in range(1, len(self.feature_names) + 1):\n"
                                    "    raise ValueError('top_k out of range')\n"
                                    "names = self.ranked_global_names()[:top_k]\n"
                                    "return {n: float(self.global_values[self.feature_names.index(n)]) for n in names}"),
    },
    "choose_explainer": {
        "type lists and shap's legacy explainers by module": """
            import sklearn.linear_model

            def choose_explainer(model, background):
                module = type(model).__module__
                if module.startswith("sklearn.tree") or module.startswith(("sklearn.ensemble._forest",
                                                                           "sklearn.ensemble._gb",
                                                                           "sklearn.ensemble._hist_gradient_boosting")):
                    return shap.explainers.Tree(model, data=background), "tree"
                if isinstance(model, tuple(c for c in vars(sklearn.linear_model).values() if isinstance(c, type))):
                    return shap.explainers.Linear(model, background), "linear"
                if hasattr(model, "predict_proba"):
                    return shap.KernelExplainer(model.predict_proba, background), "kernel"
                return shap.KernelExplainer(model.predict, background), "kernel\"""",
    },
    "permutation_importance": {
        "scikit-learn's own permutation_importance through a wrapper": """
            from sklearn.base import BaseEstimator, RegressorMixin

            class _Wrapped(RegressorMixin, BaseEstimator):
                def __init__(self, fn=None):
                    self.fn = fn
                def fit(self, X, y):
                    return self
                def predict(self, X):
                    return self.fn(X)

            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                result = sklearn_permutation_importance(_Wrapped(predict), X, y, n_repeats=n_repeats, random_state=seed,
                                                        scoring=make_scorer(metric, greater_is_better=greater_is_better))
                return result.importances_mean, result.importances_std""",
        "one predict call per repeat, loops": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                X = np.array(X, dtype=float)
                n, p = X.shape
                sign = 1.0 if greater_is_better else -1.0
                base = metric(y, predict(X))
                column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
                mean, std = np.zeros(p), np.zeros(p)
                for j in range(p):
                    rng = np.random.RandomState(column_seed)
                    index = np.arange(n)
                    Z = X.copy()
                    drops = []
                    for _ in range(n_repeats):
                        rng.shuffle(index)
                        Z[:, j] = Z[index, j]
                        drops.append(sign * (base - metric(y, predict(Z))))
                    mean[j], std[j] = np.mean(drops), np.std(drops)
                return mean, std""",
        "all columns and repeats in a single predict call": """
            def permutation_importance(predict, X, y, metric, n_repeats=5, seed=0, greater_is_better=True):
                X = np.asarray(X, dtype=float)
                n, p = X.shape
                column_seed = np.random.RandomState(seed).randint(2 ** 31)
                blocks = []
                for j in range(p):
                    rng = np.random.RandomState(column_seed)
                    index, column = np.arange(n), X[:, j].copy()
                    for _ in range(n_repeats):
                        rng.shuffle(index)
                        column = column[index]
                        Z = X.copy(); Z[:, j] = column
                        blocks.append(Z)
                predictions = np.asarray(predict(np.vstack([X] + blocks)))
                base = metric(y, predictions[:n])
                scores = np.array([metric(y, predictions[(k + 1) * n:(k + 2) * n]) for k in range(p * n_repeats)])
                drops = (base - scores).reshape(p, n_repeats) * (1 if greater_is_better else -1)
                return drops.mean(axis=1), drops.std(axis=1)""",
    },
    "fit_surrogate": {
        "two predict calls, a loop for augmentation, a scaled linear model": """
            def fit_surrogate(predict, X, kind, augment=False, max_augmentations=10, seed=0):
                if kind == "tree":
                    surrogate = DecisionTreeRegressor(random_state=seed)
                elif kind == "linear":
                    surrogate = make_pipeline(StandardScaler(), LinearRegression())
                elif kind == "sgd":
                    surrogate = make_pipeline(StandardScaler(), SGDRegressor(random_state=seed))
                else:
                    raise ValueError("unknown kind " + repr(kind))
                X_fit, X_held = train_test_split(np.array(X, dtype=float), test_size=0.25, random_state=seed)
                if augment:
                    rng = np.random.default_rng(seed + 1)
                    n, p = X_fit.shape
                    parts = [X_fit]
                    for _ in range(max(0, min(p // n - 1, max_augmentations))):
                        copy = X_fit.copy()
                        for j in range(p):
                            rng.shuffle(copy[:, j])
                        parts.append(copy)
                    X_fit = np.vstack(parts)
                surrogate.fit(X_fit, np.ravel(predict(X_fit)))
                held = np.ravel(predict(X_held))
                residual = np.sum((held - surrogate.predict(X_held)) ** 2)
                return surrogate, 1.0 - residual / np.sum((held - held.mean()) ** 2)""",
    },
    "raw_importance": {
        "owners found by parsing get_feature_names_out": """
            def raw_importance(values, column_transformer):
                values = np.asarray(values, dtype=float)
                raw = list(column_transformer.feature_names_in_)
                out = np.zeros((len(values), len(raw)))
                for j, name in enumerate(column_transformer.get_feature_names_out()):
                    rest = name.split("__", 1)[1]
                    rest = rest[len("missingindicator_"):] if rest.startswith("missingindicator_") else rest
                    owner = max((c for c in raw if rest == c or rest.startswith(c + "_")), key=len)
                    out[:, raw.index(owner)] += values[:, j]
                return out, raw""",
    },
}


# Every variant above lost (or kept) its marks in a full run. Each proof grades a whole notebook
# (~4-8 s a grading on 2 cores: the worker imports shap and scikit-learn), so by default the suite runs
# the variants the issue names plus one or two per exercise; IMLBOOK_FULL_PROOFS=1 runs them all.
CORE = {
    "Explanation": ["ranked by the signed value", "ties in reverse order (reversed ascending sort)",
                    "names as a NumPy array of np.str_ (a list of str is promised)", "NumPy's default (unstable) sort",
                    "global-only explanation returns empty local rankings",
                    "Python's sorted (stable, also with reverse=True) and dict comprehension"],
    "choose_explainer": ["tree explainer without the background (path-dependent)",
                         "fake explainers named like shap's (the gap on the last feature)",
                         "any model named Linear* is linear (a LinearSVR too)",
                         "decides by attributes (estimators_, coef_)",
                         "type lists and shap's legacy explainers by module"],
    "permutation_importance": ["shuffles the labels instead of a column",
                               "sign inverted for an error metric (greater_is_better ignored)", "std with ddof=1",
                               "its own random generator (not scikit-learn's shuffles)",
                               "scikit-learn's own permutation_importance through a wrapper",
                               "all columns and repeats in a single predict call"],
    "fit_surrogate": ["fidelity scored against labels (the black box's thresholded classes)",
                      "a look-alike DecisionTreeRegressor that memorises the black box", "every copy shuffled the same way",
                      "fidelity measured on the fitting rows", "augmentation that permutes whole columns (the SDK's bug)",
                      "two predict calls, a loop for augmentation, a scaled linear model"],
    "raw_importance": ["averages a one-hot group", "ignores an encoder's dropped category",
                       "raw_names is feature_names_in_ itself", "missing-value indicators ignored",
                       "owners found by parsing get_feature_names_out"],
}
FULL = os.environ.get("IMLBOOK_FULL_PROOFS") == "1"


def _cases(variants):
    return [(ex, v) for ex, vs in variants.items() for v in vs if FULL or v in CORE[ex]]


def _scores(path):
    return proofs.scores(path, CH)


def test_reference_solution_scores_full_marks(tmp_path):
    proofs.reference_scores_full_marks(tmp_path, CH, ["answer_dashboard", "answer_pfi", "answer_surrogate", "answer_raw"])


def test_untouched_stub_scores_zero_and_says_not_attempted(tmp_path):
    proofs.stub_scores_zero(tmp_path, CH)


@pytest.mark.parametrize("exercise,variant", _cases(WRONG))
def test_wrong_variant_loses_marks(tmp_path, exercise, variant):
    proofs.wrong_variant_loses_marks(tmp_path, CH, exercise, WRONG[exercise][variant], variant)


@pytest.mark.parametrize("exercise,variant", _cases(CORRECT))
def test_correct_variant_keeps_full_marks(tmp_path, exercise, variant):
    proofs.correct_variant_keeps_full_marks(tmp_path, CH, exercise, CORRECT[exercise][variant])


def test_a_submission_without_the_methods_earns_at_most_10_percent(tmp_path):
    """Fake explainers named like shap's, a look-alike tree, zeros, row sums in one column, unsorted
    rankings (issue 18): today 1.625 of 38 points, all from public checks."""
    proofs.lazy_scores_at_most(tmp_path, CH, LAZY)


def test_answers_looked_up_from_the_public_checks_earn_at_most_10_percent():
    proofs.public_points_at_most(CH)


def test_grading_is_reproducible(tmp_path):
    wrong = {"Explanation": WRONG["Explanation"]["ranked by the signed value"],
             "permutation_importance": WRONG["permutation_importance"]["std with ddof=1"],
             "fit_surrogate": WRONG["fit_surrogate"]["fidelity measured on the fitting rows"]}
    proofs.graded_reproducibly(tmp_path, CH, wrong)


def test_every_core_variant_exists():
    names = {v for vs in list(WRONG.values()) + list(CORRECT.values()) for v in vs}
    assert {v for vs in CORE.values() for v in vs} <= names


def test_a_class_exercise_is_extracted_with_its_methods(tmp_path):
    """The grader finds the class by name, keeps its imports, and a stub method reads "not attempted"."""
    from autograder.extract import extract
    path = make_submission(tmp_path, CH, {"Explanation": explanation_with(feature_importance_dict="#** EDIT ME **")})
    extraction = extract(path, ["Explanation"])
    assert "class Explanation" in extraction.source and "import numpy as np" in extraction.source
    report = grade_notebook(path)
    statuses = {r.check.name: r.status for r in report.results["Explanation"]}
    assert statuses["feature_importance_dict: the top_k features in ranked order"] == "not attempted"
    assert statuses["ranked_global_names: most important first, by absolute value"] == "passed"


def test_a_stub_first_method_costs_only_its_own_checks(tmp_path):
    """A class whose FIRST graded method is still the stub keeps the marks of the methods that work:
    only the checks that read the stub method say "not attempted"."""
    path = make_submission(tmp_path, CH, {"Explanation": explanation_with(ranked_global_names="#** EDIT ME **")})
    report = grade_notebook(path)
    results = {r.check.name: r for r in report.results["Explanation"]}
    first = results["ranked_global_names: most important first, by absolute value"]
    assert first.status == "not attempted" and "method" in first.message
    assert results["ranked_global_values: the values in ranked order, signs kept"].status == "passed"
    assert results["ranked_local_names and ranked_local_values rank every row by absolute value"].status == "passed"
    assert 0 < report.exercise_scores()["Explanation"] < max_points("Explanation")
