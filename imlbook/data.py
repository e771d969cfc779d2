"""Data sets of the workbook, with one lookup order for every chapter.

Each loader looks for its file in

1. the local data directory ``$IMLBOOK_DATA`` (unset on a laptop; CI sets ``../shared/data``;
   a relative path is tried against the working directory, then against the project root),
2. the cache directory ``$IMLBOOK_CACHE`` (default ``~/.cache/imlbook``),
3. the real source on the internet; the download is checked and stored in the cache.

Offline with nothing found, a loader raises :class:`DataUnavailable`, whose message names the
file, the source and the command that pre-fetches it. ``IMLBOOK_OFFLINE=1`` forbids any network
access (useful in a classroom without internet, and in tests). Command line::

    python -m imlbook.data fetch sentiment140 adult   # or: fetch --all
    python -m imlbook.data where
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

TIMEOUT_S = 10  # seconds; a dead network must fail fast, not hang a notebook

BOSTON_FEATURES = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                   "PTRATIO", "B", "LSTAT"]
BOSTON_DESCRIPTIONS = {
    "CRIM": "per-capita crime rate by town",
    "ZN": "proportion of residential land zoned for lots over 25,000 sq.ft. (%)",
    "INDUS": "proportion of non-retail business acres per town (%)",
    "CHAS": "Charles River dummy (1 if the tract bounds the river, else 0)",
    "NOX": "nitric oxides concentration (parts per 10 million)",
    "RM": "average number of rooms per dwelling",
    "AGE": "proportion of owner-occupied units built before 1940 (%)",
    "DIS": "weighted distance to five Boston employment centres",
    "RAD": "index of accessibility to radial highways",
    "TAX": "full-value property-tax rate per $10,000",
    "PTRATIO": "pupil-teacher ratio by town",
    "B": "1000(Bk - 0.63)^2 where Bk is the proportion of Black residents by town",
    "LSTAT": "lower status of the population (%)",
    "MEDV": "target: median value of owner-occupied homes (in $1000s, i.e. k$)",
}
ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education.num", "marital.status",
                 "occupation", "relationship", "race", "sex", "capital.gain", "capital.loss",
                 "hours.per.week", "native.country", "income"]

SENTIMENT140_HUB_ID = "stanfordnlp/sentiment140"
# The hub's automatic Parquet export lives on the git ref "refs/convert/parquet", laid out as
# <config>/<split>/0000.parquet; in a /resolve/ URL the ref is percent-encoded (refs%2Fconvert%2Fparquet).
SENTIMENT140_URL = ("https://huggingface.co/datasets/stanfordnlp/sentiment140/resolve/"
                    "refs%2Fconvert%2Fparquet/sentiment140/test/0000.parquet")
# Confirmed file name: the repository's main branch holds a single "adult.csv".
ADULT_URL = "https://huggingface.co/datasets/scikit-learn/adult-census-income/resolve/main/adult.csv"
LABELS_URL = ("https://raw.githubusercontent.com/anishathalye/imagenet-simple-labels/"
              "master/imagenet-simple-labels.json")


class DataUnavailable(RuntimeError):
    """A data set is neither on disk nor downloadable (offline, or the source failed)."""


class DataCorrupt(RuntimeError):
    """A data file exists but cannot be read; the message names the file to delete or replace."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def offline() -> bool:
    """True when ``IMLBOOK_OFFLINE`` is set to 1/true/yes: never touch the network."""
    return _truthy(os.environ.get("IMLBOOK_OFFLINE"))


def data_dir() -> Path | None:
    """The local data directory ``$IMLBOOK_DATA`` (read now, not at import), or None if unset."""
    value = os.environ.get("IMLBOOK_DATA", "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and not path.is_dir():
        from_root = Path(__file__).resolve().parents[1] / path
        if from_root.is_dir():
            return from_root.resolve()
    return path.resolve()


def cache_dir() -> Path:
    """The download cache ``$IMLBOOK_CACHE``, default ``~/.cache/imlbook`` (may not exist yet)."""
    value = os.environ.get("IMLBOOK_CACHE", "").strip()
    return Path(value).expanduser().resolve() if value else Path.home() / ".cache" / "imlbook"


def _keras_cache_file() -> Path:
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / "boston_housing.npz"


# ---------------------------------------------------------------- readers (parse and validate)
def _read_boston(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        x, y = np.asarray(f["x"], dtype=np.float64), np.asarray(f["y"], dtype=np.float64)
    if x.shape != (506, 13) or y.shape != (506,):
        raise ValueError(f"expected x (506, 13) and y (506,), got {x.shape} and {y.shape}")
    return x, y


def _read_sentiment140(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    missing = {"text", "sentiment"} - set(df.columns)
    if missing:
        raise ValueError(f"missing columns {sorted(missing)}")
    df = df[["text", "sentiment"]].reset_index(drop=True)
    if not set(df["sentiment"].unique()) <= {0, 2, 4}:
        raise ValueError("column 'sentiment' must only hold 0, 2 and 4")
    return df


def _read_adult(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    missing = [c for c in ADULT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"missing columns {missing}")
    return df


def _read_labels(path: Path) -> list[str]:
    labels = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(labels, list) or len(labels) != 1000 or not all(isinstance(s, str) for s in labels):
        raise ValueError("expected a JSON list of 1000 strings")
    return labels


# ---------------------------------------------------------------- fetchers (write one file to `dest`)
def _http_get(url: str) -> bytes:
    import requests  # lazily: importing this module must stay cheap

    try:
        response = requests.get(url, timeout=TIMEOUT_S)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise DataUnavailable(f"download of {url} failed: {exc.__class__.__name__}: {exc}") from None
    return response.content


def _download_boston_with_keras(dest: Path) -> None:
    """Run Keras' own loader (it downloads into Keras' cache) and copy its file to ``dest``."""
    import shutil
    import socket

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT_S)  # Keras' download has no timeout of its own
    try:
        import keras
        keras.datasets.boston_housing.load_data()
    finally:
        socket.setdefaulttimeout(previous)
    shutil.copyfile(_keras_cache_file(), dest)


def _fetch_boston(dest: Path) -> None:
    """Keras' own loader when online; offline, mlxtend's copy of the same 506 rows.

    ``keras.datasets.boston_housing.load_data()`` downloads ``boston_housing.npz`` into
    Keras' cache, which we copy. Without a network (or with ``IMLBOOK_OFFLINE=1``) the
    rows that mlxtend ships are used instead: they are identical, and so is the split.
    """
    if not offline():
        try:
            _download_boston_with_keras(dest)
            return
        except Exception:  # noqa: BLE001 - any failure to download: use the bundled copy
            pass
    from mlxtend.data import boston_housing_data

    x, y = boston_housing_data()
    np.savez(dest, x=np.asarray(x, dtype=np.float64), y=np.asarray(y, dtype=np.float64))


def _fetch_sentiment140(dest: Path) -> None:
    """Test split of ``stanfordnlp/sentiment140`` from the hub's auto-converted Parquet branch.

    The dataset's loading script no longer runs with ``datasets>=4``, but the hub keeps a Parquet
    export on the ref ``refs/convert/parquet``. We GET that file with ``requests`` first: one request
    with a 10 s timeout, so an offline machine fails at once (``datasets.load_dataset`` retries five
    times with back-off, about 25 s, before giving up). Only if the host answered but the file was
    not there (the export re-laid out, say) do we ask ``datasets.load_dataset(SENTIMENT140_HUB_ID,
    revision="refs/convert/parquet", split="test")``, which discovers the files on that ref itself.
    """
    import requests

    try:
        response = requests.get(SENTIMENT140_URL, timeout=TIMEOUT_S)
        response.raise_for_status()
        df = pd.read_parquet(io.BytesIO(response.content))
    except requests.HTTPError as exc:  # the hub is reachable: let `datasets` locate the files
        try:
            import datasets

            ds = datasets.load_dataset(SENTIMENT140_HUB_ID, revision="refs/convert/parquet", split="test")
            df = ds.to_pandas()
        except Exception as exc2:  # datasets / huggingface_hub raise many unrelated types
            raise DataUnavailable(f"{exc}; datasets.load_dataset failed too: {exc2}") from None
    except requests.RequestException as exc:  # DNS failure, refused, timeout: offline
        raise DataUnavailable(f"download of {SENTIMENT140_URL} failed: {exc.__class__.__name__}: {exc}") from None
    df[["text", "sentiment"]].to_csv(dest, index=False)


def _fetch_url(url: str) -> Callable[[Path], None]:
    def fetch(dest: Path) -> None:
        dest.write_bytes(_http_get(url))
    return fetch


@dataclass(frozen=True)
class Dataset:
    """One entry of the registry: where the file is called, where it comes from, how to get it."""

    name: str
    filename: str
    source: str                       # URL or hub id, shown in messages
    fetch: Callable[[Path], None]     # writes the file to the given path
    read: Callable[[Path], object]    # parses and validates; raises on bad content
    needs_network: bool = True
    extra_paths: Callable[[], list[Path]] = lambda: []  # other places a copy may already be


DATASETS = {d.name: d for d in [
    Dataset("boston", "boston_housing.npz",
            "keras.datasets.boston_housing when online, else mlxtend.data.boston_housing_data() (same 506 rows)",
            _fetch_boston, _read_boston, needs_network=False,
            extra_paths=lambda: [_keras_cache_file()]),
    Dataset("sentiment140", "sentiment140_test.csv",
            f"Hugging Face hub dataset {SENTIMENT140_HUB_ID}, test split ({SENTIMENT140_URL})",
            _fetch_sentiment140, _read_sentiment140),
    Dataset("adult", "adult-census-income.csv",
            f"Hugging Face hub dataset scikit-learn/adult-census-income ({ADULT_URL})",
            _fetch_url(ADULT_URL), _read_adult),
    Dataset("imagenet_labels", "imagenet-simple-labels.json", LABELS_URL,
            _fetch_url(LABELS_URL), _read_labels),
]}


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None


def _candidates(ds: Dataset) -> list[tuple[str, Path]]:
    places = [("data dir", data_dir() / ds.filename)] if data_dir() else []
    places.append(("cache", cache_dir() / ds.filename))
    places += [("keras cache", p) for p in ds.extra_paths()]
    return places


def _locate(name: str) -> tuple[str, Path] | None:
    for where, path in _candidates(_dataset(name)):
        if path.is_file():
            return where, path
    return None


def find(name: str) -> Path | None:
    """Path of the local copy of data set ``name`` (data dir, then cache), or None."""
    found = _locate(name)
    return found[1] if found else None


def _unavailable(ds: Dataset, reason: str) -> DataUnavailable:
    """The clear message first (what is missing, why, what to do); the raw error last, as details."""
    looked = ", ".join(str(p) for _, p in _candidates(ds))
    target = f"$IMLBOOK_DATA/{ds.filename}" + ("" if data_dir() else " (IMLBOOK_DATA is not set)")
    if reason == "IMLBOOK_OFFLINE is set":
        why = "offline mode: IMLBOOK_OFFLINE is set, so nothing is downloaded"
    elif reason == "download=False":
        why = "no local copy, and download=False"
    elif any(word in reason for word in ("ConnectionError", "Timeout", "NameResolution", "Max retries")):
        why = "the download failed: no network connection?"
    else:
        why = "the download failed"
    details = reason if len(reason) <= 600 else reason[:600] + " ..."
    return DataUnavailable(
        f"data set {ds.name!r} is not available: {why}{'' if why.endswith('?') else '.'}\n"
        f"  fix: run `python workbook.py fetch {ds.name}`{' on a machine with network' * ds.needs_network} "
        f"(it fills {cache_dir()}),\n"
        f"       or drop the file {ds.filename!r} at {target} or {cache_dir() / ds.filename}.\n"
        f"  (in the activated environment: `python -m imlbook.data fetch {ds.name}`)\n"
        f"  source: {ds.source}\n  looked in: {looked}\n"
        f"  details: {details}")


def path_for(name: str, download: bool = True) -> Path:
    """Local path of data set ``name``; fetch it into the cache if needed and ``download`` is true.

    Raises DataUnavailable when there is no copy and it cannot be fetched.
    """
    ds = _dataset(name)
    found = find(name)
    if found:
        return found
    if not download:
        raise _unavailable(ds, "download=False")
    if ds.needs_network and offline():
        raise _unavailable(ds, "IMLBOOK_OFFLINE is set")
    dest = cache_dir() / ds.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{os.getpid()}.tmp{dest.suffix}")  # np.savez wants .npz
    try:
        ds.fetch(tmp)
        ds.read(tmp)  # validate before anything lands in the cache
        os.replace(tmp, dest)  # atomic: a half-written file never looks like a cached copy
    except DataUnavailable as exc:
        raise _unavailable(ds, str(exc)) from None
    except (OSError, ValueError, KeyError) as exc:
        raise _unavailable(ds, f"{exc.__class__.__name__}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _load(name: str):
    path = path_for(name)
    try:
        return _dataset(name).read(path)
    except Exception as exc:
        raise DataCorrupt(f"{path} is not a valid {name!r} file ({exc.__class__.__name__}: {exc}). "
                          f"Delete or replace it, then run `python -m imlbook.data fetch {name}`.") from None


# ---------------------------------------------------------------- public loaders
def load_boston():
    """Boston housing, split exactly as ``keras.datasets.boston_housing.load_data()`` does.

    Returns ``(x_train, y_train), (x_test, y_test), feature_names``: float64 arrays of shape
    (404, 13), (404,), (102, 13), (102,) and the 13 names of ``BOSTON_FEATURES`` (see
    ``BOSTON_DESCRIPTIONS`` for units). Targets are median home values in k$ (MEDV).
    The rows are shuffled with ``np.random.RandomState(113)``; the first 80 % (404) train.
    Source order: ``$IMLBOOK_DATA/boston_housing.npz``, the cache, Keras' own download cache
    (``~/.keras/datasets/boston_housing.npz``), else Keras' loader when online, else mlxtend's
    bundled copy of the same rows (no network needed).
    """
    x, y = _load("boston")
    idx = np.arange(len(x))
    np.random.RandomState(113).shuffle(idx)
    x, y = x[idx], y[idx]
    n_train = int(len(x) * 0.8)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), list(BOSTON_FEATURES)


def load_sentiment140() -> pd.DataFrame:
    """Sentiment140 test split: 498 tweets, columns ``text`` (str) and ``sentiment`` (0 negative,
    2 neutral, 4 positive)."""
    return _load("sentiment140")


def load_adult() -> pd.DataFrame:
    """UCI Adult (32,561 rows, 15 columns), raw as on the hub: dotted names such as
    ``education.num``, ``?`` for missing values, target ``income`` in {'<=50K', '>50K'}."""
    return _load("adult")


def load_imagenet_labels() -> list[str]:
    """The 1000 human-readable ImageNet class names, index-aligned with Keras ImageNet models."""
    return _load("imagenet_labels")


# ---------------------------------------------------------------- command line
def _cmd_where() -> int:
    print(f"data dir (IMLBOOK_DATA): {data_dir() or 'not set'}")
    print(f"cache dir (IMLBOOK_CACHE): {cache_dir()}")
    print(f"offline (IMLBOOK_OFFLINE): {'yes' if offline() else 'no'}")
    for name, ds in DATASETS.items():
        found = _locate(name)
        if found:
            print(f"  {name:16s} {found[0]}: {found[1]}")
        else:
            how = "downloaded" if ds.needs_network else "built"
            print(f"  {name:16s} missing: would be {how} from {ds.source}")
    return 0


def _cmd_fetch(names: list[str]) -> int:
    failed = []
    for name in names:
        found = _locate(name)
        try:
            if found:
                print(f"{name}: found in {found[0]}: {found[1]}")
                _load(name)  # also validate the copy we will rely on
                continue
            path = path_for(name)
            _load(name)
            verb = "downloaded" if DATASETS[name].needs_network else "built from mlxtend"
            print(f"{name}: {verb}: {path}")
        except (DataUnavailable, DataCorrupt) as exc:
            print(f"{name}: FAILED\n{exc}", file=sys.stderr)
            failed.append(name)
    if failed:
        print(f"could not obtain: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imlbook.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="pre-load data sets into the cache (for offline use)")
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"data sets: {', '.join(DATASETS)}")
    fetch.add_argument("--all", action="store_true", help="fetch every data set")
    sub.add_parser("where", help="show the directories and where each data set would be found")
    args = parser.parse_args(argv)
    if args.command == "where":
        return _cmd_where()
    unknown = [n for n in args.names if n not in DATASETS]
    if unknown or not (args.names or args.all):
        fetch.error(f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(DATASETS)}" if unknown
                    else "name at least one data set or use --all")
    return _cmd_fetch(list(DATASETS) if args.all else list(dict.fromkeys(args.names)))


if __name__ == "__main__":
    sys.exit(main())
