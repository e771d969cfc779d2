"""The explanation dashboard of chapter 6, interactive: chapter 5's views wired with ipywidgets.

Three layers, so that everything but the wiring is tested without a browser:

* **views** — plain functions from values to a matplotlib Figure (or a DataFrame for the table):
  :func:`data_view`, :func:`global_view`, :func:`summary_view`, :func:`dependence_view`,
  :func:`local_view`, :func:`ice_view`. They reuse chapter 5's plots
  (:mod:`imlbook.plots.ch05_practice`) and chapter 1's ICE plot (:mod:`imlbook.plots.ch01_pdp_ice`).
* **state** — :class:`Dashboard` holds the model, the rows, the explanations (computed once, batched,
  on at most ``max_explained`` rows) and what the user picked (row, edits, top k, features); its
  methods (:meth:`~Dashboard.select_row`, :meth:`~Dashboard.set_value`, :meth:`~Dashboard.set_top_k`,
  ...) change the state and its ``*_figure`` methods draw the current views.
* **widgets** — :func:`build_dashboard` returns an ``ipywidgets`` box whose controls call the state's
  methods and show its figures as PNG images (each figure is closed once drawn, so moving a slider
  does not accumulate figures; a figure is drawn when its tab is shown, not while it is hidden).

All attributions are local importances of the model's positive-class probability in the raw feature
space (one value per raw column) from a :class:`~imlbook.ch06_deploy.scoring.ScoringExplainer`.
Colours follow :mod:`imlbook.style`: red pushes the prediction up, blue pushes it down.
"""
from __future__ import annotations

import io
import math
from typing import Dict, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from imlbook import style
from imlbook.grids import feature_grid
from imlbook.plots.ch01_pdp_ice import LEGEND_OUTSIDE, PDP_COLOUR, plot_ice
from imlbook.plots.ch05_practice import (plot_dependence, plot_global_importance, plot_local_importance,
                                         plot_summary)

MAX_EXPLAINED = 200      # rows explained when the dashboard is built (exact Shapley values: ~50 ms a row)
MAX_TABLE_ROWS = 15      # rows of the data table drawn at once
ICE_POINTS = 25          # grid points of a numeric ICE sweep
ICE_CONTEXT_ROWS = 40    # other explained rows whose ICE curves are drawn, faintly, beside the chosen one


# ----------------------------------------------------------------------------------------------- views
def data_view(rows: pd.DataFrame, probabilities: Sequence[float], predicted: Sequence, feature: Optional[str] = None,
              keep=None, max_shown: int = MAX_TABLE_ROWS, target_name: str = "predicted probability"):
    """The rows with the model's predictions, filtered on one feature.

    ``rows``: raw rows (n, p); ``probabilities``: (n,) the positive-class probability; ``predicted``:
    (n,) the predicted labels. ``feature`` and ``keep`` filter: for a categorical column ``keep`` is a
    collection of values kept, for a numeric one a ``(low, high)`` range (inclusive; a missing value is
    kept only when ``keep`` is None). Returns ``(table, note)``: a DataFrame of at most ``max_shown``
    matching rows (index = row number in ``rows``) with the columns ``predicted label`` and
    ``target_name`` added, and a sentence saying how many rows match and how many are shown.
    """
    table = rows.copy()
    table["predicted label"] = np.asarray(predicted)
    table[target_name] = np.round(np.asarray(probabilities, dtype=float), 3)
    what = "all rows"
    if feature is not None and keep is not None:
        column = rows[feature]
        if pd.api.types.is_numeric_dtype(column):
            low, high = keep
            mask = column.between(low, high).to_numpy()
            what = f"{feature} between {low:g} and {high:g}"
        else:
            keep = list(keep)
            mask = column.isin(keep).to_numpy()
            what = f"{feature} in {{{', '.join(map(str, keep))}}}"
        table = table[mask]
    note = f"{what}: {len(table)} of {len(rows)} rows match"
    if len(table) > max_shown:
        note += f"; the first {max_shown} are shown"
    return table.head(max_shown), note


def global_view(names: Sequence[str], local_values: np.ndarray, top_k: Optional[int] = 10,
                target_name: str = "predicted probability", rows_note: str = ""):
    """Global importance: the mean |local importance| of each feature over the explained rows
    ((n, p) ``local_values``), its ``top_k`` largest as bars (chapter 5's plot)."""
    importance = np.abs(np.asarray(local_values, dtype=float)).mean(axis=0)
    return plot_global_importance(names, importance, top_k=top_k,
                                  value_label=f"mean |local importance| (effect on the {target_name})",
                                  title="Global importance", rows_note=rows_note)


def summary_view(local_values: np.ndarray, feature_values: np.ndarray, names: Sequence[str],
                 top_k: Optional[int] = 10, target_name: str = "predicted probability", rows_note: str = "",
                 categorical: Optional[Sequence[bool]] = None):
    """Summary importance: chapter 5's beeswarm of the local importances (n, p), each dot coloured by
    the feature's value ((n, p) numbers; missing values drawn as the column's median). Columns flagged
    in ``categorical`` (p booleans) are nominal: their dots are grey, not on the low-high scale."""
    feature_values = np.array(feature_values, dtype=float)
    for j in range(feature_values.shape[1]):
        column = feature_values[:, j]
        if np.isnan(column).any():
            column[np.isnan(column)] = np.nanmedian(column) if (~np.isnan(column)).any() else 0.0
    return plot_summary(local_values, feature_values, names, top_k=top_k, target_name=target_name,
                        rows_note=rows_note, categorical=categorical)


def dependence_view(feature_values: Sequence[float], attributions: Sequence[float], feature_name: str,
                    categories: Optional[Sequence[str]] = None, colour_values=None, colour_name: str = "",
                    colour_categories: Optional[Sequence[str]] = None,
                    target_name: str = "predicted probability", rows_note: str = ""):
    """Explanation exploration: one feature's local importance against its value (chapter 5's plot).
    A categorical feature is passed as category indices with its ``categories``, which label the x axis
    (the dots are jittered sideways so that they do not hide each other); likewise a categorical
    colour feature with ``colour_categories``, which label the colour bar."""
    x = np.asarray(feature_values, dtype=float)
    if categories is not None:
        x = x + np.random.default_rng(0).uniform(-0.15, 0.15, len(x))
    fig = plot_dependence(x, attributions, feature_name, colour_values=colour_values, colour_name=colour_name,
                          target_name=target_name, rows_note=rows_note)
    if categories is not None:
        fig.axes[0].set_xticks(range(len(categories)), list(categories))
    if colour_values is not None:
        dots = fig.axes[0].collections[0]
        dots.set_edgecolor("0.35")                 # a thin outline: dots near the map's white centre stay visible
        dots.set_linewidth(0.4)
        if colour_categories is not None:         # every category on the bar, even one absent from these rows
            dots.set_cmap(style.category_cmap(len(colour_categories)))   # one colour each: categories have no order
            dots.set_clim(-0.5, len(colour_categories) - 0.5)
            fig.axes[-1].set_yticks(range(len(colour_categories)), list(colour_categories))
    return fig


def local_view(names: Sequence[str], values: Sequence[float], base_value: float, prediction: float,
               top_k: Optional[int] = 10, target_name: str = "predicted probability", row_label: str = "one row"):
    """Local importance of one row (p values) as signed bars, titled with the base value and the
    prediction they add up to (chapter 5's plot)."""
    return plot_local_importance(names, values, top_k=top_k, base_value=base_value, prediction=prediction,
                                 target_name=target_name, row_label=row_label)


def ice_view(grid: Sequence[float], row_curve: Sequence[float], feature_name: str, value: float, prediction: float,
             context_curves: Optional[np.ndarray] = None, categories: Optional[Sequence[str]] = None,
             target_name: str = "predicted probability", row_label: str = "the chosen row", rows: str = ""):
    """ICE of one row: its prediction (``row_curve``, one per grid value) as ``feature_name`` sweeps
    ``grid`` with its other values fixed; the row's own value and prediction are marked. Optional
    ``context_curves`` (m, len(grid)) are other rows' curves, drawn thin with their mean (chapter 1's
    ICE plot). A categorical feature is passed as category indices with its ``categories``."""
    grid = np.asarray(grid, dtype=float)
    row_curve = np.asarray(row_curve, dtype=float)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    if categories is not None:
        # categories have no order and nothing lies between them: points per category, no lines
        if context_curves is not None and len(context_curves):
            context = np.asarray(context_curves, dtype=float)
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, context.shape)
            ax.plot((grid[None, :] + jitter).ravel(), context.ravel(), "o", color="k", alpha=0.2, ms=3,
                    label="one other row at a category")
            ax.plot(grid, context.mean(axis=0), "_", color=PDP_COLOUR, ms=28, mew=3,
                    label=f"mean of the {len(context)} other rows")
        ax.plot(grid, row_curve, "o", color="k", ms=7, label=f"{row_label}")
    else:
        if context_curves is not None and len(context_curves):
            plot_ice(grid, context_curves, feature_name, target_name=target_name,
                     pdp=np.asarray(context_curves, dtype=float).mean(axis=0), rows=rows or "other rows", ax=ax,
                     pdp_label=f"mean of the {len(context_curves)} other rows' curves")
            ax.set_title("")  # chapter 1's title; this view's own (left-aligned) is set below
        ax.plot(grid, row_curve, color="k", lw=2.5, label=f"{row_label}")
    if not math.isnan(value):
        ax.plot([value], [prediction], "o", ms=9, mfc="white", mec="k", mew=2,
                label=f"its value {_fmt(value, categories)}: {prediction:.3f}")
    ax.legend(**LEGEND_OUTSIDE)
    ax.set_xlabel(feature_name)
    ax.set_ylabel(target_name)
    if categories is not None:
        ax.set_xticks(range(len(categories)), list(categories))
    if context_curves is None:
        shown = ""
    elif categories is not None:
        shown = f"\ngrey dots: {rows}, each at every category; bars: their mean"
    else:
        shown = f"\nthin lines: {rows}, their mean dashed"
    ax.set_title(f"ICE of {row_label} as {feature_name} sweeps its range{shown}", fontsize=10, loc="left")
    fig.tight_layout()
    return fig


def _fmt(value, categories=None) -> str:
    if categories is not None and not math.isnan(value):
        return str(categories[int(value)])
    return f"{value:g}"


def figure_png(fig, dpi: int = 90) -> bytes:
    """The figure as PNG bytes; the figure is closed (widgets show images, not live figures)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------- state
class Dashboard:
    """The dashboard's state and views, with no widgets (tests drive it directly).

    ``model``: a fitted classifier on raw rows (``predict_proba``/``predict``); ``rows``: raw rows
    (DataFrame); ``scoring_explainer``: a :class:`~imlbook.ch06_deploy.scoring.ScoringExplainer` (or
    anything with ``schema``, ``feature_names``, ``predict``, ``explain``, ``expected_value``).
    Predictions are computed for every row, local importances once, batched, for at most
    ``max_explained`` rows (a fixed random sample, ``seed``, kept in the rows' order).
    """

    def __init__(self, model, rows: pd.DataFrame, scoring_explainer, max_explained: int = MAX_EXPLAINED,
                 seed: int = 0, target_name: Optional[str] = None, top_k: int = 10):
        self.model = model
        self.explainer = scoring_explainer
        self.schema = scoring_explainer.schema
        self.names = list(scoring_explainer.feature_names)
        self.rows = self.schema.frame(rows).set_axis(rows.index)
        if not len(self.rows):
            raise ValueError("the dashboard needs at least one row")
        if int(max_explained) < 1:
            raise ValueError(f"max_explained must be at least 1, got {max_explained}")
        classes = getattr(model, "classes_", None)
        positive = classes[-1] if classes is not None else None
        self.target_name = target_name or (f"predicted probability of class {positive}" if positive is not None
                                           else "prediction")
        self.probabilities = self.explainer.predict(self.rows)
        self.predicted = np.asarray(model.predict(self.rows))
        n = len(self.rows)
        if n > max_explained:
            picks = np.sort(np.random.default_rng(seed).choice(n, max_explained, replace=False))
            self.rows_note = f"explained on {max_explained} of {n} rows (a fixed random sample)"
        else:
            picks = np.arange(n)
            self.rows_note = f"explained on all {n} rows"
        self.explained_positions = picks
        self.explained = self.rows.iloc[picks]
        self.local_values = self.explainer.explain(self.explained)                  # (m, p), one batched pass
        self.encoded = self.schema.encode(self.explained)                           # (m, p) numbers for colours
        self.base_value = float(self.explainer.expected_value)
        self.top_k = int(min(top_k, len(self.names)))
        importance = np.abs(self.local_values).mean(axis=0)
        ranked = [self.names[j] for j in np.argsort(-importance, kind="stable")]
        self.dependence_feature = ranked[0]
        self.colour_feature = ranked[1] if len(ranked) > 1 else None
        self.ice_feature = ranked[0]
        self.filter_feature: Optional[str] = None
        self.filter_keep = None
        self.select_row(0)

    # -- the chosen row and what-if edits
    def select_row(self, position: int) -> None:
        """Choose the ``position``-th explained row (0 <= position < number explained); drops edits."""
        if not 0 <= position < len(self.explained):
            raise IndexError(f"row position {position} outside 0..{len(self.explained) - 1}")
        self.position = int(position)
        self.edits: Dict[str, object] = {}
        self._refresh_row()

    @property
    def row_label(self) -> str:
        label = f"row {self.explained.index[self.position]}"
        if self.edits:
            label += " (edited: " + ", ".join(f"{k} = {_show(v)}" for k, v in self.edits.items()) + ")"
        return label

    def original_row(self) -> pd.DataFrame:
        return self.explained.iloc[[self.position]]

    def current_row(self) -> pd.DataFrame:
        """The chosen row with the what-if edits applied (one-row raw DataFrame)."""
        row = self.original_row().copy()
        for name, value in self.edits.items():
            row[name] = [value]
        return self.schema.frame(row).set_axis(row.index)

    def set_value(self, feature: str, value) -> None:
        """What-if: set ``feature`` of the chosen row to ``value`` (a number, a category, or None for
        missing) and recompute its prediction and explanation. Setting the original value back
        removes the edit."""
        if feature not in self.names:
            raise KeyError(f"unknown feature {feature!r}; the features are {self.names}")
        if feature in self.schema.categories:
            if value is not None and value not in self.schema.categories[feature]:
                raise ValueError(f"{feature} must be one of {list(self.schema.categories[feature])}, got {value!r}")
        elif value is not None:
            value = float(value)
        original = self.original_row()[feature].iloc[0]
        if _same(value, original):
            self.edits.pop(feature, None)
        else:
            self.edits[feature] = value
        self._refresh_row()

    def reset_row(self) -> None:
        """Undo every what-if edit of the chosen row."""
        self.edits = {}
        self._refresh_row()

    def _refresh_row(self) -> None:
        row = self.current_row()
        if self.edits:
            self.row_values = self.explainer.explain(row)[0]
            self.row_prediction = float(self.explainer.predict(row)[0])
            self.row_label_predicted = np.asarray(self.model.predict(row))[0]
        else:                                                                          # computed at build time
            self.row_values = self.local_values[self.position]
            self.row_prediction = float(self.probabilities[self.explained_positions[self.position]])
            self.row_label_predicted = self.predicted[self.explained_positions[self.position]]

    def prediction_text(self) -> str:
        """One line: the chosen row, its prediction and the predicted label."""
        text = f"{self.row_label}: {self.target_name} = {self.row_prediction:.3f} " \
               f"(predicted label {_show(self.row_label_predicted)})"
        if self.edits:
            original = float(self.probabilities[self.explained_positions[self.position]])
            text += f"; before the edits {original:.3f}"
        return text

    # -- other controls
    def set_top_k(self, k: int) -> None:
        if not 1 <= int(k) <= len(self.names):
            raise ValueError(f"top k must be between 1 and {len(self.names)}, got {k}")
        self.top_k = int(k)

    def set_dependence_feature(self, feature: str, colour: Optional[str] = None) -> None:
        for name in (feature, colour):
            if name is not None and name not in self.names:
                raise KeyError(f"unknown feature {name!r}; the features are {self.names}")
        self.dependence_feature, self.colour_feature = feature, colour

    def set_ice_feature(self, feature: str) -> None:
        if feature not in self.names:
            raise KeyError(f"unknown feature {feature!r}; the features are {self.names}")
        self.ice_feature = feature

    def set_filter(self, feature: Optional[str], keep=None) -> None:
        """Filter the data table on ``feature``: categories kept, or a numeric ``(low, high)``."""
        if feature is not None and feature not in self.names:
            raise KeyError(f"unknown feature {feature!r}; the features are {self.names}")
        self.filter_feature, self.filter_keep = feature, keep

    # -- the views, from the current state
    def table(self):
        """``(DataFrame, note)`` of :func:`data_view` with the current filter."""
        return data_view(self.rows, self.probabilities, self.predicted, self.filter_feature, self.filter_keep,
                         target_name=self.target_name)

    def global_figure(self):
        return global_view(self.names, self.local_values, self.top_k, self.target_name, self.rows_note)

    def summary_figure(self):
        return summary_view(self.local_values, self.encoded, self.names, self.top_k, self.target_name,
                            self.rows_note, categorical=[name in self.schema.categories for name in self.names])

    def dependence_figure(self):
        j = self.names.index(self.dependence_feature)
        colour = None
        if self.colour_feature is not None:
            colour = summary_colours(self.encoded[:, self.names.index(self.colour_feature)])
        return dependence_view(self.encoded[:, j], self.local_values[:, j], self.dependence_feature,
                               categories=self.schema.categories.get(self.dependence_feature),
                               colour_values=colour, colour_name=self.colour_feature or "",
                               colour_categories=self.schema.categories.get(self.colour_feature),
                               target_name=self.target_name, rows_note=self.rows_note)

    def local_figure(self):
        return local_view(self.names, self.row_values, self.base_value, self.row_prediction, self.top_k,
                          self.target_name, self.row_label)

    def ice_grid(self, feature: str):
        """The values ``feature`` sweeps: every category, or ``ICE_POINTS`` values spanning the
        rows' observed range (missing values ignored)."""
        if feature in self.schema.categories:
            return np.arange(len(self.schema.categories[feature]), dtype=float)
        column = self.rows[feature].to_numpy(dtype=float)
        column = column[~np.isnan(column)][:, None]
        return np.unique(feature_grid(column, 0, num=ICE_POINTS))

    def ice_sweep(self):
        """``(grid, row_curve, context_curves)``: the chosen row's predictions along the grid of
        :attr:`ice_feature` (its edits applied), and those of up to ``ICE_CONTEXT_ROWS`` other
        explained rows, from one batched model call."""
        feature = self.ice_feature
        grid = self.ice_grid(feature)
        others = np.delete(np.arange(len(self.explained)), self.position)[:ICE_CONTEXT_ROWS]
        base = pd.concat([self.current_row(), self.explained.iloc[others]])
        codes = self.schema.encode(base)                                          # (1 + m, p)
        sweep = np.repeat(codes, len(grid), axis=0)
        sweep[:, self.names.index(feature)] = np.tile(grid, len(codes))
        output = self.explainer.predict(self.schema.decode(sweep)).reshape(len(codes), len(grid))
        return grid, output[0], output[1:]

    def ice_figure(self):
        grid, row_curve, context = self.ice_sweep()
        feature = self.ice_feature
        value = float(self.schema.encode(self.current_row())[0, self.names.index(feature)])
        return ice_view(grid, row_curve, feature, value, self.row_prediction, context_curves=context,
                        categories=self.schema.categories.get(feature), target_name=self.target_name,
                        row_label=self.row_label,
                        rows=f"{len(context)} other explained rows")


def summary_colours(codes: np.ndarray) -> np.ndarray:
    """Colour values for a feature: its numbers (category index), missing values as the median."""
    codes = np.array(codes, dtype=float)
    if np.isnan(codes).all():
        return np.zeros_like(codes)
    codes[np.isnan(codes)] = np.nanmedian(codes)
    return codes


def _category_note(state: Dashboard) -> str:
    """How the summary colours categories: by their position in the schema's list."""
    if not state.schema.categories:
        return ""
    orders = "; ".join(f"{name}: {' < '.join(values)}" for name, values in state.schema.categories.items())
    return f"A category's colour is its position in its list, low to high ({orders})."


def _same(a, b) -> bool:
    missing_a = a is None or (isinstance(a, float) and math.isnan(a))
    missing_b = b is None or (isinstance(b, float) and math.isnan(b))
    if missing_a or missing_b:
        return missing_a and missing_b
    return a == b


def _show(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return str(value.item() if isinstance(value, np.generic) else value)


# ----------------------------------------------------------------------------------------------- widgets
def build_dashboard(model, rows: pd.DataFrame, scoring_explainer, **options):
    """The interactive dashboard: an ``ipywidgets`` VBox with a row picker, the chosen row's
    prediction, and tabs for data exploration, global importance (top-k slider), summary importance,
    explanation exploration (dependence), and the chosen row: what-if controls beside its local
    importance and its ICE curve.

    ``options`` go to :class:`Dashboard` (``max_explained``, ``seed``, ``target_name``, ``top_k``).
    The box's ``.dashboard`` attribute is the :class:`Dashboard` state behind it.
    """
    import ipywidgets as w

    explained = min(len(rows), options.get("max_explained", MAX_EXPLAINED))
    print(f"Explaining {explained} of {len(rows)} rows (one batched pass), then drawing the dashboard...",
          flush=True)
    state = Dashboard(model, rows, scoring_explainer, **options)
    busy = {"syncing": False}

    def image():
        # natural size (a flex column would stretch it), never wider than its box
        return w.Image(format="png", layout=w.Layout(width="auto", height="auto", max_width="100%",
                                                     align_self="flex-start"))

    # header: row picker and prediction
    row_picker = w.Dropdown(options=[(f"row {index}", k) for k, index in enumerate(state.explained.index)],
                            value=0, description="Row", layout=w.Layout(width="220px"))
    reset = w.Button(description="Undo what-if edits", icon="undo", layout=w.Layout(width="200px"))
    prediction = w.HTML()
    prediction.add_class("imlbook-prediction")
    note = w.HTML(f"<i>Local importance of the {state.target_name} ({scoring_explainer.method}); "
                  f"{state.rows_note}; base value {state.base_value:.3f}. "
                  f"Red pushes the prediction up, blue pushes it down.</i>")

    # data exploration
    no_filter, no_colour = "(no filter)", "(none)"       # ipywidgets shows a None value as an empty box
    filter_feature = w.Dropdown(options=[no_filter] + state.names, value=no_filter, description="Filter on")
    filter_holder = w.HBox()
    table_note, table = w.HTML(), w.HTML()

    def filter_control(feature):
        if feature == no_filter:
            return None
        if feature in state.schema.categories:
            values = list(state.schema.categories[feature])
            return w.SelectMultiple(options=values, value=values, rows=min(5, len(values)), description="keep")
        column = state.rows[feature].dropna()
        low, high = float(column.min()), float(column.max())
        return w.FloatRangeSlider(value=(low, high), min=low, max=high, step=(high - low) / 100 or 1.0,
                                  description="range", continuous_update=False, layout=w.Layout(width="420px"))

    def show_table():
        frame, text = state.table()
        table_note.value = f"<b>{text}</b>"
        table.value = frame.to_html(float_format=lambda v: f"{v:g}", na_rep="missing", classes="imlbook-table")

    def on_filter_feature(change):
        control = filter_control(change["new"])
        filter_holder.children = () if control is None else (control,)
        if control is not None:
            control.observe(lambda c: (state.set_filter(filter_feature.value, c["new"]), show_table()), "value")
            state.set_filter(change["new"], control.value)
        else:
            state.set_filter(None)
        show_table()

    filter_feature.observe(on_filter_feature, "value")

    # global and summary importance
    top_k = w.IntSlider(value=state.top_k, min=1, max=len(state.names), description="top k",
                        continuous_update=False)
    global_image, summary_image = image(), image()

    # explanation exploration
    dependence_feature = w.Dropdown(options=state.names, value=state.dependence_feature, description="Feature")
    colour_feature = w.Dropdown(options=[no_colour] + state.names, value=state.colour_feature or no_colour,
                                description="Colour by")
    dependence_image = image()

    # local importance and what-if
    local_image = image()
    what_if: Dict[str, w.Widget] = {}
    for name in state.names:
        if name in state.schema.categories:
            what_if[name] = w.Dropdown(options=list(state.schema.categories[name]), description=name,
                                       style={"description_width": "120px"}, layout=w.Layout(width="330px"))
        else:
            column = state.rows[name].dropna()
            low, high = float(column.min()), float(column.max())
            integer = bool(np.all(column == np.round(column)))
            step = 1.0 if integer else (high - low) / 100 or 1.0
            what_if[name] = w.FloatSlider(min=low, max=high, step=step, description=name, readout_format=".0f"
                                          if integer else ".2f", continuous_update=False,
                                          style={"description_width": "120px"}, layout=w.Layout(width="330px"))
        what_if[name].add_class(f"imlbook-whatif-{name}")

    # ICE
    ice_feature = w.Dropdown(options=state.names, value=state.ice_feature, description="Sweep")
    ice_image = image()

    # each figure is drawn when its tab is shown; a change to a hidden one only marks it stale
    images = {"global": global_image, "summary": summary_image, "dependence": dependence_image,
              "local": local_image, "ice": ice_image}
    draw = {"global": state.global_figure, "summary": state.summary_figure, "dependence": state.dependence_figure,
            "local": state.local_figure, "ice": state.ice_figure}
    tab_of = {"global": 1, "summary": 2, "dependence": 3, "local": 4, "ice": 4}
    stale = set(images)

    def redraw(*names):
        stale.update(names)
        for name in sorted(stale):
            if tabs.selected_index == tab_of[name]:
                images[name].value = figure_png(draw[name]())
                stale.discard(name)

    def show_row():
        prediction.value = f"<b>{state.prediction_text()}</b>"
        redraw("local", "ice")

    def sync_what_if():
        busy["syncing"] = True
        try:
            row = state.current_row().iloc[0]
            for name, control in what_if.items():
                value = row[name]
                missing = value is None or (isinstance(value, float) and math.isnan(value))
                if name in state.schema.categories:
                    control.value = None if missing else value
                else:
                    control.value = float(state.rows[name].median()) if missing else float(value)
                control.description = name + (" (missing)" if missing else "")
        finally:
            busy["syncing"] = False

    def on_what_if(name):
        def handler(change):
            if busy["syncing"]:
                return
            state.set_value(name, change["new"])
            what_if[name].description = name
            show_row()
        return handler

    for name, control in what_if.items():
        control.observe(on_what_if(name), "value")

    def on_row(change):
        state.select_row(change["new"])
        sync_what_if()
        show_row()

    def on_reset(_):
        state.reset_row()
        sync_what_if()
        show_row()

    def on_top_k(change):
        state.set_top_k(change["new"])
        redraw("global", "summary", "local")

    def on_dependence(_):
        colour = None if colour_feature.value == no_colour else colour_feature.value
        state.set_dependence_feature(dependence_feature.value, colour)
        redraw("dependence")

    def on_ice(change):
        state.set_ice_feature(change["new"])
        redraw("ice")

    row_picker.observe(on_row, "value")
    reset.on_click(on_reset)
    top_k.observe(on_top_k, "value")
    dependence_feature.observe(on_dependence, "value")
    colour_feature.observe(on_dependence, "value")
    ice_feature.observe(on_ice, "value")


    row_view = w.HBox([
        w.VBox([w.HTML("<b>What if?</b> Change the row's values:")] + list(what_if.values()) + [reset]),
        w.VBox([local_image, ice_feature, ice_image]),
    ])
    tabs = w.Tab(children=[
        w.VBox([w.HBox([filter_feature, filter_holder]), table_note, table]),
        w.VBox([top_k, global_image]),
        w.VBox([w.HTML("<i>The top k slider is on the Global importance tab. " + _category_note(state) + "</i>"),
                summary_image]),
        w.VBox([w.HBox([dependence_feature, colour_feature]), dependence_image]),
        row_view,
    ])
    for k, title in enumerate(["Data", "Global importance", "Summary", "Dependence", "Row & what-if"]):
        tabs.set_title(k, title)
    tabs.selected_index = 4
    tabs.observe(lambda change: redraw(), "selected_index")
    show_table()
    sync_what_if()
    show_row()
    box = w.VBox([w.HTML(f"<h3>Explanation dashboard</h3>"), note, w.HBox([row_picker]), prediction, tabs])
    box.add_class("imlbook-dashboard")
    box.dashboard = state
    box.controls = {"row": row_picker, "reset": reset, "top_k": top_k, "filter_feature": filter_feature,
                    "dependence_feature": dependence_feature, "colour_feature": colour_feature,
                    "ice_feature": ice_feature, "what_if": what_if, "tabs": tabs}
    box.images = images
    box.prediction = prediction
    box.table, box.table_note, box.filter_holder = table, table_note, filter_holder
    return box
