"""Chapter 6 run store: the reference log_explanation / load_explanation (the notebook's solution
cells, on a local MLflow store) give back an explanation that ranks exactly like the original, keep
only the top k when asked, and every way of failing says which. The library part (use_local_store
from a copied empty database, run_id_of, get_run) is tested here too."""
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlflow", reason="mlflow-skinny is not installed (see requirements.txt)")

from imlbook.ch06_deploy import store  # noqa: E402
from tests.ch06_reference import namespace  # noqa: E402

REF = namespace()
Explanation, log_explanation, load_explanation = REF["Explanation"], REF["log_explanation"], REF["load_explanation"]
NAMES = [f"f{j}" for j in range(8)]


def local_explanation(seed=0, n=12):
    rng = np.random.default_rng(seed)
    local = rng.normal(size=(n, len(NAMES))) * np.arange(1, len(NAMES) + 1)
    local[3, 2] = local[3, 5] = 0.75          # a tie inside one row: the stable order keeps f2 first
    global_values = np.abs(local).mean(axis=0)
    global_values[[1, 6]] = 2.5              # a tie in the global ranking
    global_values[4] = -global_values[4]     # a negative global value: ranked by |value|
    return Explanation(NAMES, global_values, local, 0.3125, "shap.KernelExplainer")


@pytest.fixture(scope="module")
def store_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    store.use_local_store(folder)
    return folder


@pytest.fixture
def tracking(store_folder):
    """MLflow pointed at this module's store for one test (the tracking URI is global to the process)."""
    import mlflow

    store.use_local_store(store_folder)
    yield mlflow
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def new_run(mlflow):
    with mlflow.start_run() as run:
        pass
    return run


def test_each_store_is_a_copy_of_one_empty_database(tmp_path):
    import mlflow

    first, second = tmp_path / "a", tmp_path / "b"
    try:
        store.use_local_store(first)
        run = new_run(mlflow)
        store.use_local_store(second)
        assert not mlflow.search_runs(search_all_experiments=True, output_format="list")
        with pytest.raises(store.RunNotFoundError, match=run.info.run_id):
            store.get_run(run.info.run_id)
        store.use_local_store(first)
        assert store.get_run(run.info.run_id).info.run_id == run.info.run_id
        assert (first / "mlflow.db").read_bytes()[:16] == b"SQLite format 3\x00"
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


def test_run_id_of():
    assert store.run_id_of("abc") == "abc"
    with pytest.raises(TypeError, match="run must be an MLflow run or a run id"):
        store.run_id_of(3)


def test_round_trip_ranks_exactly_like_the_original(tracking):
    original = local_explanation()
    run = new_run(tracking)
    assert log_explanation(original, run, "kernel shap on 12 test rows") == run.info.run_id
    loaded = load_explanation(run.info.run_id)
    assert isinstance(loaded, Explanation)
    assert loaded.ranked_global_names() == original.ranked_global_names()
    np.testing.assert_array_equal(loaded.ranked_global_values(), original.ranked_global_values())
    assert loaded.ranked_local_names() == original.ranked_local_names()
    np.testing.assert_array_equal(loaded.ranked_local_values(), original.ranked_local_values())
    assert loaded.feature_names == NAMES and loaded.method == "shap.KernelExplainer"
    assert loaded.expected_value == 0.3125
    tags = tracking.MlflowClient().get_run(run.info.run_id).data.tags
    assert tags["explanation.comment"] == "kernel shap on 12 test rows"


@pytest.mark.parametrize("logged_k, loaded_k, expect_k", [(3, None, 3), (None, 4, 4), (5, 2, 2), (2, 5, 2),
                                                          (8, None, 8)])
def test_top_k_keeps_the_k_most_important_ranked_as_before(tracking, logged_k, loaded_k, expect_k):
    original = local_explanation(seed=1)
    run = new_run(tracking)
    log_explanation(original, run.info.run_id, "top k", top_k=logged_k)
    loaded = load_explanation(run.info.run_id, top_k=loaded_k)
    assert loaded.ranked_global_names() == original.ranked_global_names()[:expect_k]
    np.testing.assert_array_equal(loaded.ranked_global_values(), original.ranked_global_values()[:expect_k])
    kept = [NAMES.index(name) for name in loaded.feature_names]
    np.testing.assert_array_equal(loaded.local_values, original.local_values[:, kept])   # every row, kept columns
    if logged_k is not None and logged_k < len(NAMES):            # dropped features leave no trace in the run
        artifact = Path(tracking.get_run(run.info.run_id).info.artifact_uri.removeprefix("file://"))
        text = (artifact / "explanation" / "explanation.json").read_text()
        assert not [n for n in NAMES if n not in original.ranked_global_names()[:logged_k] and f'"{n}"' in text]


def test_global_only_explanation_and_vector_expected_value(tracking):
    original = Explanation(["a", "b", "c"], [0.1, -0.4, 0.2], None, np.array([0.25, 0.75]), "permutation importance")
    run = new_run(tracking)
    log_explanation(original, run, "")
    loaded = load_explanation(run.info.run_id)
    assert loaded.ranked_global_names() == ["b", "c", "a"]
    np.testing.assert_array_equal(loaded.ranked_global_values(), [-0.4, 0.2, 0.1])
    np.testing.assert_array_equal(loaded.expected_value, [0.25, 0.75])
    assert loaded.local_values is None


def test_the_explanation_logged_is_not_changed(tracking):
    original = local_explanation()
    before = (original.global_values.copy(), original.local_values.copy())
    log_explanation(original, new_run(tracking), "", top_k=3)
    np.testing.assert_array_equal(original.global_values, before[0])
    np.testing.assert_array_equal(original.local_values, before[1])


def test_bad_top_k_is_refused(tracking):
    run = new_run(tracking)
    for bad in (0, 9, 2.5, True):
        with pytest.raises(ValueError, match="top_k"):
            log_explanation(local_explanation(), run, "", top_k=bad)


def test_missing_run(tracking):
    with pytest.raises(store.RunNotFoundError, match="no run with id 'f+'"):
        load_explanation("f" * 32)
    with pytest.raises(store.RunNotFoundError):
        log_explanation(local_explanation(), "f" * 32, "")


def test_run_without_explanation(tracking):
    run = new_run(tracking)
    with pytest.raises(store.NoExplanationError, match=f"run {run.info.run_id} has no explanation"):
        load_explanation(run.info.run_id)


def artifact_file(tracking, run):
    uri = tracking.MlflowClient().get_run(run.info.run_id).info.artifact_uri
    return Path(uri.removeprefix("file://")) / "explanation" / "explanation.json"


@pytest.mark.parametrize("damage, says", [
    (lambda path: path.write_text(path.read_text()[:-40]), "Unable to form a JSON object"),
    (lambda path: path.write_text("{not json"), "Unable to form a JSON object"),
    (lambda path: path.write_text(json.dumps({"format": "other"})), "format 'other'"),
    (lambda path: path.write_bytes(b"\x00\xff\xfe"), "corrupt or unreadable"),
    (lambda path: path.write_text(json.dumps({**json.loads(path.read_text()), "global_values": [1.0]})),
     "do not match the feature names"),
])
def test_corrupt_artifact_says_which(tracking, damage, says):
    run = new_run(tracking)
    log_explanation(local_explanation(), run, "to be damaged")
    damage(artifact_file(tracking, run))
    with pytest.raises(store.CorruptExplanationError, match=says) as error:
        load_explanation(run.info.run_id)
    assert run.info.run_id in str(error.value)
