"""An explanation as the run store gives it back.

:class:`StoredExplanation` has the attributes of chapter 5's ``Explanation`` (``feature_names``,
``global_values``, ``local_values``, ``expected_value``, ``method``) and its ranking methods, so code
written for one works on the other. It adds ``top_k``: an explanation logged or loaded with
``top_k=k`` keeps only the k most important features (globally, and per row for the local values);
the values it did not keep are NaN and its ranking methods return k entries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Union

import numpy as np

ExpectedValue = Union[None, float, np.ndarray]


def rank_order(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Indices that sort ``values`` by decreasing absolute value; ties keep the feature order and
    NaN (a value that was not kept) comes last."""
    return np.argsort(-np.abs(values), axis=axis, kind="stable")


@dataclass(eq=False)
class StoredExplanation:
    """Feature attributions of one model.

    feature_names: p names; global_values: (p,); local_values: (n, p) or None for a global-only
    method; expected_value: the base value (a float, an array with one per output, or None);
    method: how the values were computed, e.g. ``"shap.KernelExplainer"``; top_k: None when every
    feature was kept, else the number of features kept (the rest are NaN).
    """

    feature_names: List[str]
    global_values: np.ndarray
    local_values: Optional[np.ndarray] = None
    expected_value: ExpectedValue = None
    method: str = ""
    top_k: Optional[int] = None
    comment: str = field(default="", compare=False)

    def __post_init__(self):
        self.feature_names = [str(name) for name in self.feature_names]
        self.global_values = np.asarray(self.global_values, dtype=float)
        p = len(self.feature_names)
        if self.global_values.shape != (p,):
            raise ValueError(f"{p} feature names but global values of shape {self.global_values.shape}")
        if self.local_values is not None:
            self.local_values = np.asarray(self.local_values, dtype=float)
            if self.local_values.ndim != 2 or self.local_values.shape[1] != p:
                raise ValueError(f"local values should have shape (n, {p}), got {self.local_values.shape}")
        if self.top_k is not None and not 1 <= self.top_k <= p:
            raise ValueError(f"top_k must be between 1 and {p}, got {self.top_k}")

    def __eq__(self, other) -> bool:
        """Same names, method, top_k, and the same values (NaN equal to NaN); the comment is ignored."""
        if not isinstance(other, StoredExplanation):
            return NotImplemented
        def same(a, b):
            if a is None or b is None:
                return a is None and b is None
            return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)
        return (self.feature_names == other.feature_names and self.method == other.method
                and self.top_k == other.top_k and same(self.global_values, other.global_values)
                and same(self.local_values, other.local_values) and same(self.expected_value, other.expected_value))

    def _kept(self) -> int:
        return len(self.feature_names) if self.top_k is None else self.top_k

    def _local(self) -> np.ndarray:
        if self.local_values is None:
            raise ValueError(f"{self.method or 'this method'} gives a global explanation only")
        return self.local_values

    def ranked_global_names(self) -> List[str]:
        """Feature names, most important first (largest |global value|; ties keep the feature order)."""
        return [self.feature_names[j] for j in rank_order(self.global_values)[: self._kept()]]

    def ranked_global_values(self) -> np.ndarray:
        """The global values in the order of :meth:`ranked_global_names`, signs kept."""
        return self.global_values[rank_order(self.global_values)[: self._kept()]]

    def ranked_local_names(self) -> List[List[str]]:
        """Per row, the feature names ranked by |local value|: n lists of p (or top_k) names."""
        order = rank_order(self._local(), axis=1)[:, : self._kept()]
        return [[self.feature_names[j] for j in row] for row in order]

    def ranked_local_values(self) -> np.ndarray:
        """Per row, the local values in the order of :meth:`ranked_local_names`: (n, p or top_k)."""
        local = self._local()
        return np.take_along_axis(local, rank_order(local, axis=1)[:, : self._kept()], axis=1)

    def feature_importance_dict(self, top_k: Optional[int] = None) -> dict:
        """{name: global value} for the top_k most important features (all kept ones with None)."""
        pairs = list(zip(self.ranked_global_names(), self.ranked_global_values()))
        return {name: float(value) for name, value in pairs[:top_k]}


def keep_top_k(explanation, top_k: Optional[int]) -> StoredExplanation:
    """A :class:`StoredExplanation` of any object with the Explanation attributes, keeping only the
    ``top_k`` most important features globally and per row (all of them with None). The kept
    values are the original ones, so the ranking of what is kept is unchanged."""
    names = [str(name) for name in explanation.feature_names]
    global_values = np.asarray(explanation.global_values, dtype=float).copy()
    local = getattr(explanation, "local_values", None)
    local = None if local is None else np.asarray(local, dtype=float).copy()
    p = len(names)
    already = getattr(explanation, "top_k", None)      # a StoredExplanation that already dropped features
    if top_k is None:
        top_k = already
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= p:
            raise ValueError(f"top_k must be None or an integer between 1 and {p}, got {top_k!r}")
        top_k = int(top_k)
        if top_k == p:
            top_k = None
    if top_k is not None:
        global_values[rank_order(global_values)[top_k:]] = np.nan
        if local is not None:
            np.put_along_axis(local, rank_order(local, axis=1)[:, top_k:], np.nan, axis=1)
    expected = getattr(explanation, "expected_value", None)
    if expected is not None:
        expected = np.asarray(expected, dtype=float)
        expected = float(expected) if expected.ndim == 0 else expected.copy()
    return StoredExplanation(names, global_values, local, expected, str(getattr(explanation, "method", "") or ""),
                             top_k)
