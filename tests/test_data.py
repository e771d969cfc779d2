"""Tests of imlbook.data. They never touch the network: `requests.get` is replaced in every test.

One test reads the real shared copies when IMLBOOK_DATA points at them (CI: ../shared/data).
"""
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from imlbook import data

ROOT = Path(__file__).resolve().parents[1]
SHARED = data.data_dir()  # resolved before any test changes the environment

ADULT_ROW = [39, "State-gov", 77516, "Bachelors", 13, "Never-married", "Adm-clerical",
             "Not-in-family", "White", "Male", 2174, 0, 40, "United-States", "<=50K"]


class FakeResponse:
    def __init__(self, content: bytes, status: int = 200):
        self.content, self.status = content, status

    def raise_for_status(self):
        if self.status >= 400:
            raise requests.HTTPError(f"{self.status} Client Error")


def _refuse(*args, **kwargs):
    raise requests.ConnectionError("network disabled in tests")


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """Empty data dir and cache in tmp, a fake HOME, and no network."""
    dirs = types.SimpleNamespace(data=tmp_path / "data", cache=tmp_path / "cache", home=tmp_path / "home")
    for d in vars(dirs).values():
        d.mkdir()
    monkeypatch.setenv("IMLBOOK_DATA", str(dirs.data))
    monkeypatch.setenv("IMLBOOK_CACHE", str(dirs.cache))
    monkeypatch.setenv("HOME", str(dirs.home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("IMLBOOK_OFFLINE", raising=False)
    monkeypatch.setattr(requests, "get", _refuse)
    monkeypatch.setattr(data, "_download_boston_with_keras", _refuse)
    return dirs


def write_sentiment(path, n=5, first="hello"):
    pd.DataFrame({"text": [first] + [f"tweet {i}" for i in range(n - 1)],
                  "sentiment": [0, 2, 4, 0, 4][:n]}).to_csv(path, index=False)


def write_adult(path, age=39):
    pd.DataFrame([[age] + ADULT_ROW[1:]] * 3, columns=data.ADULT_COLUMNS).to_csv(path, index=False)


def write_labels(path, first="tench"):
    path.write_text(json.dumps([first] + [f"class {i}" for i in range(1, 1000)]))


FIXTURES = {  # name -> (writer(path, marker), loader, read back the marker)
    "sentiment140": (lambda p, m: write_sentiment(p, first=m), data.load_sentiment140,
                     lambda df: df["text"][0]),
    "adult": (lambda p, m: write_adult(p, age=len(m)), data.load_adult, lambda df: "x" * df["age"][0]),
    "imagenet_labels": (lambda p, m: write_labels(p, first=m), data.load_imagenet_labels,
                        lambda labels: labels[0]),
}


def test_dirs_are_read_at_call_time(env, monkeypatch):
    assert data.data_dir() == env.data.resolve()
    assert data.cache_dir() == env.cache.resolve()
    monkeypatch.delenv("IMLBOOK_DATA")
    monkeypatch.delenv("IMLBOOK_CACHE")
    assert data.data_dir() is None
    assert data.cache_dir() == env.home / ".cache" / "imlbook"


@pytest.mark.parametrize("name", FIXTURES)
def test_data_dir_first_then_cache(env, name):
    write, load, marker = FIXTURES[name]
    filename = data.DATASETS[name].filename
    write(env.cache / filename, "xxxxx")
    write(env.data / filename, "xxx")
    assert data.find(name) == env.data.resolve() / filename
    assert marker(load()) == "xxx"
    (env.data / filename).unlink()
    assert data.find(name) == env.cache.resolve() / filename
    assert marker(load()) == "xxxxx"


def test_loader_shapes_and_columns(env):
    write_sentiment(env.data / "sentiment140_test.csv")
    write_adult(env.data / "adult-census-income.csv")
    write_labels(env.data / "imagenet-simple-labels.json")
    df = data.load_sentiment140()
    assert list(df.columns) == ["text", "sentiment"] and len(df) == 5
    adult = data.load_adult()
    assert list(adult.columns) == data.ADULT_COLUMNS and len(adult) == 3
    assert len(data.load_imagenet_labels()) == 1000


@pytest.mark.parametrize("name", FIXTURES)
def test_offline_error_names_file_source_and_command(env, name):
    ds = data.DATASETS[name]
    with pytest.raises(data.DataUnavailable) as info:
        FIXTURES[name][1]()
    msg = str(info.value)
    assert ds.filename in msg
    assert ds.source in msg
    assert f"python -m imlbook.data fetch {name}" in msg
    assert f"$IMLBOOK_DATA/{ds.filename}" in msg
    assert "ConnectionError" in msg
    assert not list(env.cache.iterdir())  # nothing half-written left behind


def test_imlbook_offline_never_calls_the_network(env, monkeypatch):
    calls = []
    monkeypatch.setattr(requests, "get", lambda *a, **k: calls.append(a) or _refuse())
    monkeypatch.setenv("IMLBOOK_OFFLINE", "1")
    with pytest.raises(data.DataUnavailable, match="IMLBOOK_OFFLINE"):
        data.load_adult()
    with pytest.raises(data.DataUnavailable, match="download=False"):
        data.path_for("imagenet_labels", download=False)
    assert calls == []


def test_download_is_validated_then_cached(env, monkeypatch):
    labels = [f"c{i}" for i in range(1000)]
    monkeypatch.setattr(requests, "get", lambda url, timeout: FakeResponse(json.dumps(labels[:999]).encode()))
    with pytest.raises(data.DataUnavailable, match="1000 strings"):
        data.load_imagenet_labels()
    assert not list(env.cache.iterdir())
    monkeypatch.setattr(requests, "get", lambda url, timeout: FakeResponse(json.dumps(labels).encode()))
    assert data.load_imagenet_labels() == labels
    assert [p.name for p in env.cache.iterdir()] == ["imagenet-simple-labels.json"]


def test_sentiment140_download_keeps_text_and_sentiment(env, monkeypatch):
    hub = pd.DataFrame({"text": ["a", "b"], "date": ["d", "d"], "user": ["u", "v"],
                        "sentiment": [0, 4], "query": ["q", "q"]})
    buf = io.BytesIO()
    hub.to_parquet(buf)
    seen = []
    monkeypatch.setattr(requests, "get",
                        lambda url, timeout: seen.append((url, timeout)) or FakeResponse(buf.getvalue()))
    df = data.load_sentiment140()
    assert list(df.columns) == ["text", "sentiment"] and df["sentiment"].tolist() == [0, 4]
    assert seen == [(data.SENTIMENT140_URL, data.TIMEOUT_S)]
    assert (env.cache / "sentiment140_test.csv").is_file()


def test_sentiment140_http_error_falls_back_to_datasets(env, monkeypatch):
    monkeypatch.setattr(requests, "get", lambda url, timeout: FakeResponse(b"", status=404))
    calls = []

    def load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        raise ConnectionError("hub unreachable")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(data.DataUnavailable, match="404 Client Error.*hub unreachable"):
        data.load_sentiment140()
    assert calls == [(("stanfordnlp/sentiment140",), {"revision": "refs/convert/parquet", "split": "test"})]


def test_corrupt_cached_file_names_the_file(env):
    bad = env.cache / "imagenet-simple-labels.json"
    bad.write_text("[1, 2, 3]")
    with pytest.raises(data.DataCorrupt) as info:
        data.load_imagenet_labels()
    assert str(bad.resolve()) in str(info.value) and "Delete" in str(info.value)


BOSTON_Y10 = [15.2, 42.3, 50.0, 21.1, 17.7, 18.5, 11.3, 15.6, 15.6, 14.4]
BOSTON_X0 = [1.23247, 0.0, 8.14, 0.0, 0.538, 6.142, 91.7, 3.9769, 4.0, 307.0, 21.0, 396.9, 18.72]


def test_boston_offline_matches_keras_split(env, monkeypatch):
    monkeypatch.setenv("IMLBOOK_OFFLINE", "1")  # boston never needs the network
    (x_train, y_train), (x_test, y_test), names = data.load_boston()
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
    assert y_train.shape == (404,) and y_test.shape == (102,)
    assert x_train.dtype == np.float64 and y_train.dtype == np.float64
    np.testing.assert_allclose(y_train[:10], BOSTON_Y10)
    np.testing.assert_allclose(x_train[0], BOSTON_X0)
    assert names == data.BOSTON_FEATURES
    assert set(data.BOSTON_DESCRIPTIONS) == set(names) | {"MEDV"}
    assert (env.cache / "boston_housing.npz").is_file()


def test_boston_prefers_data_dir_then_keras_cache(env, monkeypatch):
    from mlxtend.data import boston_housing_data

    x, y = boston_housing_data()
    keras_file = env.home / ".keras" / "datasets" / "boston_housing.npz"
    keras_file.parent.mkdir(parents=True)
    np.savez(keras_file, x=x, y=y + 1000)
    assert data.load_boston()[0][1][0] == pytest.approx(1015.2)
    np.savez(env.data / "boston_housing.npz", x=x, y=y + 2000)
    assert data.load_boston()[0][1][0] == pytest.approx(2015.2)


def test_boston_online_uses_keras_loader_and_falls_back_to_mlxtend(env, monkeypatch):
    from mlxtend.data import boston_housing_data

    x, y = boston_housing_data()
    calls = []

    def fake_keras_download(dest):  # what Keras' loader leaves in its cache, copied to dest
        calls.append(dest)
        np.savez(dest, x=x, y=y + 3000)

    monkeypatch.setattr(data, "_download_boston_with_keras", fake_keras_download)
    assert data.load_boston()[0][1][0] == pytest.approx(3015.2) and len(calls) == 1
    (env.cache / "boston_housing.npz").unlink()
    monkeypatch.setattr(data, "_download_boston_with_keras", _refuse)  # online but the download fails
    np.testing.assert_allclose(data.load_boston()[0][1][:10], BOSTON_Y10)


def run_cli(env, *args, **extra_env):
    environ = {**os.environ, "IMLBOOK_DATA": str(env.data), "IMLBOOK_CACHE": str(env.cache),
               "HOME": str(env.home), "PYTHONPATH": str(ROOT), **extra_env}
    return subprocess.run([sys.executable, "-m", "imlbook.data", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)


def test_cli_where_and_fetch(env):
    write_sentiment(env.data / "sentiment140_test.csv")
    where = run_cli(env, "where")
    assert where.returncode == 0, where.stderr
    assert str(env.cache) in where.stdout
    assert f"data dir: {env.data / 'sentiment140_test.csv'}" in where.stdout
    assert "adult" in where.stdout and "missing" in where.stdout

    fetch = run_cli(env, "fetch", "sentiment140")
    assert fetch.returncode == 0, fetch.stderr
    assert "sentiment140: found in data dir" in fetch.stdout

    missing = run_cli(env, "fetch", "adult", IMLBOOK_OFFLINE="1")
    assert missing.returncode == 1
    assert "adult-census-income.csv" in missing.stderr
    assert "python -m imlbook.data fetch adult" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_real_shared_copies(monkeypatch):
    names = ["sentiment140_test.csv", "adult-census-income.csv", "imagenet-simple-labels.json"]
    if SHARED is None or not all((SHARED / n).is_file() for n in names):
        pytest.skip("IMLBOOK_DATA does not point at the shared data copies (CI: ../shared/data)")
    monkeypatch.setenv("IMLBOOK_DATA", str(SHARED))
    df = data.load_sentiment140()
    assert len(df) == 498
    assert df["sentiment"].value_counts().sort_index().to_dict() == {0: 177, 2: 139, 4: 182}
    adult = data.load_adult()
    assert len(adult) == 32561 and "income" in adult.columns
    assert set(adult["income"]) == {"<=50K", ">50K"}
    labels = data.load_imagenet_labels()
    assert len(labels) == 1000 and labels[0] == "tench"
