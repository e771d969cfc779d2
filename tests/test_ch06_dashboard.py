"""Chapter 6 dashboard without a browser: the views are plain functions of values, the state class
changes them the way the controls say, and the widgets are wired to the state."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from imlbook import style  # noqa: E402
from imlbook.ch06_deploy import dashboard as dash  # noqa: E402
from imlbook.ch06_deploy.demo import FEATURES, deployment_example  # noqa: E402
from imlbook.ch06_deploy.scoring import ScoringExplainer  # noqa: E402

N_EXPLAINED = 24


class Counting:
    """A model proxy that counts its calls (to prove batching)."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self.classes_ = model.classes_

    def predict_proba(self, rows):
        self.calls += 1
        return self.model.predict_proba(rows)

    def predict(self, rows):
        self.calls += 1
        return self.model.predict(rows)


@pytest.fixture(scope="module")
def parts():
    model, _, light, test = deployment_example(n_rows=900, n_full_background=60, n_background=8)
    counting = Counting(model)
    explainer = ScoringExplainer(counting, light.background, light.schema, light.weights)
    return model, counting, explainer, test


@pytest.fixture()
def board(parts):
    model, counting, explainer, test = parts
    return dash.Dashboard(counting, test, explainer, max_explained=N_EXPLAINED)


@pytest.fixture(autouse=True)
def no_figures_left():
    yield
    plt.close("all")


def titled(fig):
    return " ".join(ax.get_title(loc) for ax in fig.axes for loc in ("left", "center", "right"))


def test_explanations_are_computed_once_batched_on_a_capped_sample(parts):
    model, counting, explainer, test = parts
    calls = []
    original = explainer.explain
    explainer.explain = lambda rows: calls.append(len(rows)) or original(rows)
    try:
        board = dash.Dashboard(counting, test, explainer, max_explained=N_EXPLAINED)
    finally:
        del explainer.explain
    assert calls == [N_EXPLAINED]
    assert board.local_values.shape == (N_EXPLAINED, len(FEATURES))
    assert f"{N_EXPLAINED} of {len(test)} rows" in board.rows_note
    assert len(board.probabilities) == len(test)                         # predictions for every row
    np.testing.assert_allclose(board.probabilities, model.predict_proba(test)[:, 1])
    # the explained rows are a sample from all of the rows, in order, not just the first ones
    assert np.all(np.diff(board.explained_positions) > 0) and board.explained_positions[-1] > N_EXPLAINED
    with pytest.raises(ValueError, match="max_explained"):
        dash.Dashboard(counting, test, explainer, max_explained=0)
    with pytest.raises(ValueError, match="at least one row"):
        dash.Dashboard(counting, test.iloc[:0], explainer)


def test_the_views_draw_titled_figures_that_say_predicted(board):
    figures = [board.global_figure(), board.summary_figure(), board.dependence_figure(), board.local_figure(),
               board.ice_figure()]
    for fig in figures:
        assert titled(fig).strip(), "every figure has a title"
        text = titled(fig) + " ".join(ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes)
        assert "predicted probability of class 1" in text
    assert f"{N_EXPLAINED} of" in titled(figures[0]) and f"{N_EXPLAINED} of" in titled(figures[1])


def test_local_view_uses_the_colour_code_and_adds_up_to_the_prediction(board):
    board.select_row(3)
    row = board.explained.iloc[[3]]
    np.testing.assert_allclose(board.row_values.sum() + board.base_value, board.row_prediction, atol=1e-9)
    np.testing.assert_allclose(board.row_values, board.explainer.explain(row)[0], atol=1e-12)
    fig = board.local_figure()
    bars = fig.axes[0].patches
    assert len(bars) == len(FEATURES)
    for bar in bars:
        expected = style.UP if bar.get_width() >= 0 else style.DOWN
        assert matplotlib.colors.to_hex(bar.get_facecolor()) == expected
    assert f"{board.row_prediction:.3f}" in titled(fig) and "row " in titled(fig)


def test_top_k_changes_the_bars_drawn_and_is_validated(board):
    board.set_top_k(3)
    assert len(board.global_figure().axes[0].patches) == 3
    assert len(board.local_figure().axes[0].patches) == 3
    assert "top 3 of 7" in titled(board.global_figure())
    board.set_top_k(7)
    assert len(board.global_figure().axes[0].patches) == 7
    with pytest.raises(ValueError, match="between 1 and 7"):
        board.set_top_k(0)


def test_selecting_a_row_changes_the_prediction_and_the_explanation(board):
    board.select_row(0)
    first_text, first_values = board.prediction_text(), board.row_values.copy()
    board.select_row(5)
    assert board.prediction_text() != first_text
    assert not np.allclose(board.row_values, first_values)
    assert board.prediction_text().startswith(f"row {board.explained.index[5]}:")
    with pytest.raises(IndexError):
        board.select_row(N_EXPLAINED)


def test_what_if_recomputes_prediction_and_explanation_and_undoes(parts, board):
    model = parts[0]
    board.select_row(2)
    before_prediction, before_values = board.row_prediction, board.row_values.copy()
    edited = board.original_row().assign(education_num=16.0, marital_status="Married")
    board.set_value("education_num", 16)
    board.set_value("marital_status", "Married")
    expected = model.predict_proba(edited)[0, 1]
    assert board.row_prediction == pytest.approx(expected)
    assert board.row_prediction != pytest.approx(before_prediction)
    np.testing.assert_allclose(board.row_values.sum() + board.base_value, expected, atol=1e-9)
    assert not np.allclose(board.row_values, before_values)
    assert "edited" in board.prediction_text() and f"before the edits {before_prediction:.3f}" in board.prediction_text()
    assert "education_num = 16" in titled(board.local_figure())
    # setting an original value back removes that edit; reset removes all
    board.set_value("education_num", board.original_row()["education_num"].iloc[0])
    assert list(board.edits) == ["marital_status"]
    board.reset_row()
    assert board.edits == {} and board.row_prediction == pytest.approx(before_prediction)
    # a missing value is a valid what-if; bad values are refused with the allowed ones
    board.set_value("hours_per_week", None)
    assert math.isnan(board.current_row()["hours_per_week"].iloc[0])
    with pytest.raises(ValueError, match="Married"):
        board.set_value("marital_status", "Engaged")
    with pytest.raises(KeyError, match="unknown feature"):
        board.set_value("height", 3)


def test_ice_sweeps_the_chosen_row_in_one_model_call(parts, board):
    model, counting = parts[0], parts[1]
    board.select_row(1)
    board.set_value("age", 60)
    board.set_ice_feature("education_num")
    before = counting.calls
    grid, row_curve, context = board.ice_sweep()
    assert counting.calls - before == 1
    assert len(grid) > 5 and np.all(np.diff(grid) > 0)
    assert context.shape == (min(dash.ICE_CONTEXT_ROWS, N_EXPLAINED - 1), len(grid))
    rows = pd.concat([board.current_row()] * len(grid)).assign(education_num=grid)
    np.testing.assert_allclose(row_curve, model.predict_proba(rows)[:, 1], atol=1e-12)
    # the curve passes through the row's own prediction at its own value
    own = board.current_row()["education_num"].iloc[0]
    if own in grid:
        assert row_curve[list(grid).index(own)] == pytest.approx(board.row_prediction)
    board.set_ice_feature("marital_status")
    grid, row_curve, _ = board.ice_sweep()
    np.testing.assert_array_equal(grid, np.arange(4))
    fig = board.ice_figure()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Divorced", "Married", "Never-married",
                                                                     "Widowed"]
    assert "ICE of row" in titled(fig) and "sweeps" in titled(fig)


def test_dependence_view_follows_the_picked_feature(board):
    board.set_dependence_feature("age", "sex")
    fig = board.dependence_figure()
    points = fig.axes[0].collections[0].get_offsets()
    j = FEATURES.index("age")
    np.testing.assert_allclose(points[:, 0], board.explained["age"])
    np.testing.assert_allclose(points[:, 1], board.local_values[:, j])
    assert "age" in titled(fig) and "coloured by sex" in titled(fig)
    assert [t.get_text() for t in fig.axes[-1].get_yticklabels()] == ["Female", "Male"]
    assert fig.axes[0].collections[0].get_clim() == (-0.5, 1.5)     # both categories on the colour bar
    board.set_dependence_feature("sex")
    assert [t.get_text() for t in board.dependence_figure().axes[0].get_xticklabels()] == ["Female", "Male"]


def test_data_view_filters_and_says_how_many_match():
    rows = pd.DataFrame({"age": [20.0, 35.0, 50.0, np.nan], "sex": ["Male", "Female", "Male", "Female"]})
    probabilities, predicted = [0.1, 0.5, 0.9, 0.2], [0, 1, 1, 0]
    table, note = dash.data_view(rows, probabilities, predicted)
    assert len(table) == 4 and "4 of 4 rows" in note
    assert list(table.columns[-2:]) == ["predicted label", "predicted probability"]
    table, note = dash.data_view(rows, probabilities, predicted, "age", (30, 60))
    assert list(table.index) == [1, 2] and "2 of 4 rows match" in note and "age between 30 and 60" in note
    table, note = dash.data_view(rows, probabilities, predicted, "sex", ["Female"], max_shown=1)
    assert list(table.index) == [1] and "2 of 4 rows match; the first 1 are shown" in note
    assert table["predicted probability"].tolist() == [0.5]


def test_the_widgets_drive_the_state_and_leak_no_figures(parts):
    pytest.importorskip("ipywidgets")
    model, counting, explainer, test = parts
    box = dash.build_dashboard(counting, test, explainer, max_explained=N_EXPLAINED)
    state, controls, images = box.dashboard, box.controls, box.images
    assert plt.get_fignums() == []
    # the row's tab is shown first; another tab's figure is drawn when that tab is shown
    assert controls["tabs"].selected_index == 4
    assert all(bytes(images[name].value).startswith(b"\x89PNG") for name in ("local", "ice"))
    assert not bytes(images["global"].value)
    for tab in (1, 2, 3, 4):
        controls["tabs"].selected_index = tab
    assert all(bytes(image.value).startswith(b"\x89PNG") for image in images.values())
    text, local, ice = box.prediction.value, bytes(images["local"].value), bytes(images["ice"].value)
    # what-if: move the education slider
    slider = controls["what_if"]["education_num"]
    slider.value = slider.max if slider.value != slider.max else slider.min
    assert state.edits == {"education_num": slider.value}
    assert box.prediction.value != text and "edited" in box.prediction.value
    assert bytes(images["local"].value) != local and bytes(images["ice"].value) != ice
    # the row picker drops the edits and syncs the what-if controls to the new row
    controls["row"].value = 4
    assert state.position == 4 and state.edits == {}
    assert slider.value == state.explained["education_num"].iloc[4]
    assert controls["what_if"]["sex"].value == state.explained["sex"].iloc[4]
    # top k: the hidden global view is redrawn when its tab is shown
    global_before, local_before = bytes(images["global"].value), bytes(images["local"].value)
    controls["top_k"].value = 2
    assert state.top_k == 2 and bytes(images["local"].value) != local_before
    assert bytes(images["global"].value) == global_before
    controls["tabs"].selected_index = 1
    assert bytes(images["global"].value) != global_before
    controls["tabs"].selected_index = 4
    # filter
    controls["filter_feature"].value = "sex"
    keep = box.filter_holder.children[0]
    assert set(keep.options) == {"Female", "Male"}
    keep.value = ("Female",)
    assert state.filter_keep == ("Female",) and "sex in {Female}" in box.table_note.value
    assert "Male</td>" not in box.table.value and "Female</td>" in box.table.value
    # explanation exploration: the feature and colour pickers, "(none)" for no colour
    controls["dependence_feature"].value = "age"
    controls["colour_feature"].value = "(none)"
    assert (state.dependence_feature, state.colour_feature) == ("age", None)
    controls["filter_feature"].value = "(no filter)"
    assert state.filter_feature is None and "300 of 300 rows" in box.table_note.value
    # many slider moves leave no figure open
    for value in (20, 40, 60):
        controls["what_if"]["age"].value = value
    assert plt.get_fignums() == []
    controls["reset"].click()
    assert state.edits == {}
