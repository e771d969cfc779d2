"""Chapter 6 run store: explanations logged to an MLflow run (local SQLite store) come back ranked
exactly as they went in, and every way of failing says which."""
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlflow", reason="mlflow-skinny is not installed (see requirements.txt)")

from imlbook.ch06_deploy.explanation import StoredExplanation  # noqa: E402
from imlbook.ch06_deploy import store  # noqa: E402


class Explanation:
    """Stand-in with chapter 5's Explanation attributes (the run store must not import chapter 5)."""

    def __init__(self, feature_names, global_values, local_values=None, expected_value=None, method=""):
        self.feature_names, self.global_values, self.local_values = feature_names, global_values, local_values
        self.expected_value, self.method = expected_value, method


NAMES = [f"f{j}" for j in range(8)]


def local_explanation(seed=0, n=12):
    rng = np.random.default_rng(seed)
    local = rng.normal(size=(n, len(NAMES))) * np.arange(1, len(NAMES) + 1)
    local[3, 2] = local[3, 5] = 0.75          # a tie inside one row: stable order keeps f2 first
    global_values = np.abs(local).mean(axis=0)
    global_values[[1, 6]] = 2.5              # a tie in the global ranking
    return Explanation(NAMES, global_values, local, 0.3125, "shap.KernelExplainer")


def reference_ranks(explanation):
    order = np.argsort(-np.abs(np.asarray(explanation.global_values)), kind="stable")
    local_order = np.argsort(-np.abs(explanation.local_values), axis=1, kind="stable")
    return ([NAMES[j] for j in order], np.asarray(explanation.global_values)[order],
            [[NAMES[j] for j in row] for row in local_order], np.take_along_axis(explanation.local_values,
                                                                               local_order, axis=1))


@pytest.fixture(scope="module")
def store_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    store.use_local_store(folder)          # creates the SQLite database once per module (a few seconds)
    return folder


@pytest.fixture
def tracking(store_folder):
    """MLflow pointed at this module's store for one test (re-applied each time: the tracking URI
    is global to the process, and other tests may point it elsewhere in between)."""
    import mlflow

    store.use_local_store(store_folder)
    yield mlflow
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def new_run(mlflow):
    with mlflow.start_run() as run:
        pass
    return run


def test_round_trip_ranks_exactly_like_the_original(tracking):
    original = local_explanation()
    run = new_run(tracking)
    assert store.log_explanation(original, run, "kernel shap on 12 test rows") == run.info.run_id
    loaded = store.load_explanation(run.info.run_id)
    names, values, local_names, local_values = reference_ranks(original)
    assert loaded.ranked_global_names() == names
    np.testing.assert_array_equal(loaded.ranked_global_values(), values)
    assert loaded.ranked_local_names() == local_names
    np.testing.assert_array_equal(loaded.ranked_local_values(), local_values)
    assert loaded.feature_names == NAMES and loaded.method == "shap.KernelExplainer"
    assert loaded.expected_value == 0.3125 and loaded.top_k is None
    assert loaded.comment == "kernel shap on 12 test rows"
    tags = tracking.MlflowClient().get_run(run.info.run_id).data.tags
    assert tags["imlbook.explanation.comment"] == "kernel shap on 12 test rows"


@pytest.mark.parametrize("logged_k, loaded_k, expect_k", [(3, None, 3), (None, 4, 4), (5, 2, 2), (8, None, None)])
def test_top_k_keeps_the_k_most_important_in_order(tracking, logged_k, loaded_k, expect_k):
    original = local_explanation(seed=1)
    run = new_run(tracking)
    store.log_explanation(original, run.info.run_id, "top k", top_k=logged_k)
    loaded = store.load_explanation(run.info.run_id, top_k=loaded_k)
    names, values, local_names, local_values = reference_ranks(original)
    k = expect_k or len(NAMES)
    assert loaded.top_k == expect_k
    assert loaded.ranked_global_names() == names[:k]
    np.testing.assert_array_equal(loaded.ranked_global_values(), values[:k])
    assert loaded.ranked_local_names() == [row[:k] for row in local_names]
    np.testing.assert_array_equal(loaded.ranked_local_values(), local_values[:, :k])
    assert list(loaded.feature_importance_dict()) == names[:k]


def test_asking_for_more_than_was_logged_warns_and_gives_what_was_logged(tracking):
    run = new_run(tracking)
    store.log_explanation(local_explanation(), run, "top 2", top_k=2)
    with pytest.warns(UserWarning, match="top 2 features only"):
        loaded = store.load_explanation(run.info.run_id, top_k=5)
    assert len(loaded.ranked_global_names()) == 2


def test_global_only_explanation_and_vector_expected_value(tracking):
    original = Explanation(["a", "b", "c"], [0.1, -0.4, 0.2], None, np.array([0.25, 0.75]), "permutation importance")
    run = new_run(tracking)
    store.log_explanation(original, run, "")
    loaded = store.load_explanation(run.info.run_id)
    assert loaded.ranked_global_names() == ["b", "c", "a"]
    np.testing.assert_array_equal(loaded.ranked_global_values(), [-0.4, 0.2, 0.1])
    np.testing.assert_array_equal(loaded.expected_value, [0.25, 0.75])
    assert loaded.local_values is None
    with pytest.raises(ValueError, match="global explanation only"):
        loaded.ranked_local_names()


def test_a_stored_explanation_can_be_logged_again(tracking):
    first = new_run(tracking)
    store.log_explanation(local_explanation(), first, "first", top_k=4)
    again = store.load_explanation(first.info.run_id)
    second = new_run(tracking)
    store.log_explanation(again, second, "copy")
    assert store.load_explanation(second.info.run_id) == again


def test_a_run_holds_one_explanation(tracking):
    run = new_run(tracking)
    store.log_explanation(local_explanation(), run, "first")
    with pytest.raises(ValueError, match="already holds an explanation"):
        store.log_explanation(local_explanation(seed=2), run, "second")
    assert store.load_explanation(run.info.run_id).comment == "first"


def test_bad_top_k_is_refused(tracking):
    run = new_run(tracking)
    for bad in (0, 9, 2.5, True):
        with pytest.raises(ValueError, match="top_k"):
            store.log_explanation(local_explanation(), run, "", top_k=bad)


def test_missing_run(tracking):
    with pytest.raises(store.RunNotFoundError, match="no run with id 'f+'"):
        store.load_explanation("f" * 32)
    with pytest.raises(store.RunNotFoundError):
        store.log_explanation(local_explanation(), "f" * 32, "")


def test_run_without_explanation(tracking):
    run = new_run(tracking)
    with pytest.raises(store.NoExplanationError, match=f"run {run.info.run_id} has no explanation"):
        store.load_explanation(run.info.run_id)


def artifact_folder(tracking, run):
    uri = tracking.MlflowClient().get_run(run.info.run_id).info.artifact_uri
    return Path(uri.removeprefix("file://")) / store.ARTIFACT_DIR


@pytest.mark.parametrize("damage, says", [
    (lambda folder: (folder / "values.npz").write_bytes((folder / "values.npz").read_bytes()[:-40]), "SHA-256"),
    (lambda folder: (folder / "manifest.json").write_text("{not json"), "manifest.json is corrupt"),
    (lambda folder: (folder / "manifest.json").write_text(json.dumps({"format": "other"})), "manifest.json is corrupt"),
    (lambda folder: (folder / "values.npz").unlink(), "values.npz is missing or unreadable"),
])
def test_corrupt_artifact_says_which(tracking, damage, says):
    run = new_run(tracking)
    store.log_explanation(local_explanation(), run, "to be damaged")
    damage(artifact_folder(tracking, run))
    with pytest.raises(store.CorruptExplanationError, match=says) as error:
        store.load_explanation(run.info.run_id)
    assert run.info.run_id in str(error.value)


def test_shape_that_disagrees_with_the_manifest_is_corrupt(tracking):
    import hashlib
    import io

    run = new_run(tracking)
    store.log_explanation(local_explanation(), run, "")
    folder = artifact_folder(tracking, run)
    buffer = io.BytesIO()
    np.savez(buffer, global_values=np.zeros(8), local_values=np.zeros((3, 8)))
    (folder / "values.npz").write_bytes(buffer.getvalue())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(store.CorruptExplanationError, match="local_values has shape"):
        store.load_explanation(run.info.run_id)


def test_stored_explanation_validates_its_shapes():
    with pytest.raises(ValueError, match="3 feature names"):
        StoredExplanation(["a", "b", "c"], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        StoredExplanation(["a", "b"], [1.0, 2.0], np.zeros((4, 3)))
