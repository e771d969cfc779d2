"""Reference values for the public checks: computed in the repository, looked up in the student bundle.

A public check compares a student's result with a right answer. In the repository the answer is
computed by :mod:`autograder.answers` (closed forms, exact enumerations, scikit-learn wrappers) — which
spell out the exercises' methods, so the student bundle must not ship them. Public check modules
therefore never import ``autograder.answers``; they call::

    answers = reference("ch04_cnn")                 # module-like: answers.grad_cam(net, image, "conv2", 1)
    exact_shapley, prediction = reference("ch03_shap", "exact_shapley", "prediction")

* In the repository (``autograder/answers`` importable) every call runs the real function.
* In the student bundle (no ``autograder/answers``) every call returns the value stored in
  ``autograder/public/expected/<chapter>.json``, looked up by the function's name and a fingerprint
  of its arguments' *contents* (arrays, numbers, test models' parameters); the values are recorded
  by running every public check on the reference solution (and on a deliberately wrong copy of it,
  to reach the checks' diagnostic branches): ``python -m autograder.reference record``. A test
  proves the stored values equal what ``autograder/answers`` computes.
* A call whose arguments were never recorded (a student's result that takes a branch the
  recording did not) fails that check with :class:`NotStored`, saying so: the instructor's grader,
  which has the answers, checks it properly.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import types
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np

from autograder.checks import CheckFailed

EXPECTED_DIR = Path(__file__).resolve().parent / "public" / "expected"
FORCE_STORED = "IMLBOOK_STORED_REFERENCE"  # set to 1: behave as in the bundle even where answers exist

# What a test model records about its own use (changes as the student's function calls it): not its contents.
VOLATILE = frozenset({"calls", "rows_seen", "seen", "n_calls", "history", "call_log"})

_recording: Optional[Dict[str, Dict[str, Any]]] = None  # chapter -> key -> value, while recording
_tables: Dict[str, Dict[str, Any]] = {}


class NotStored(CheckFailed):
    """The student bundle has no stored reference value for these arguments."""

    def __init__(self, chapter: str, name: str):
        super().__init__(
            f"this case cannot be checked in the student copy: it has no stored reference value of "
            f"`{name}` for what your function returned (the student copy holds no reference implementation)",
            "compare with the other checks' messages; the instructor's grader checks this case in full")


# ----------------------------------------------------------------------------
# Fingerprints: the same contents give the same key on any machine
# ----------------------------------------------------------------------------
def fingerprint(value: Any) -> str:
    h = hashlib.sha256()
    _feed(h, value, 0)
    return h.hexdigest()[:24]


def _feed(h, value: Any, depth: int) -> None:
    if depth > 12:
        h.update(b"<deep>")
        return
    if value is None or isinstance(value, (bool, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, (int, np.integer)):
        h.update(f"int:{int(value)};".encode())
    elif isinstance(value, (float, np.floating)):
        h.update(f"float:{_round(float(value))};".encode())
    elif isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        h.update(f"nd:{arr.shape}:{arr.dtype.kind};".encode())
        if arr.dtype.kind in "fc":
            # 9 significant digits: arrays built from seeded generators are identical everywhere; this
            # absorbs the last-bit differences of arrays computed by another BLAS
            h.update(np.char.mod("%.9g", np.where(arr == 0, 0.0, arr).ravel()).tobytes())
        elif arr.dtype.kind in "biu":
            h.update(arr.astype(np.int64).tobytes())
        else:
            h.update(repr(arr.tolist()).encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}];".encode())
        for v in value:
            _feed(h, v, depth + 1)
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}];".encode())
        for k in sorted(value, key=repr):
            _feed(h, k, depth + 1)
            _feed(h, value[k], depth + 1)
    elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        h.update(f"fn:{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')};".encode())
        for cell in getattr(value, "__closure__", None) or ():
            try:
                _feed(h, cell.cell_contents, depth + 1)
            except ValueError:
                pass
    elif isinstance(value, types.MethodType):
        h.update(f"method:{value.__name__};".encode())
        _feed(h, value.__self__, depth + 1)
    elif hasattr(value, "__dict__") or hasattr(value, "__slots__"):
        h.update(f"obj:{type(value).__module__}.{type(value).__qualname__};".encode())
        state = dict(getattr(value, "__dict__", {}))
        for slot in getattr(type(value), "__slots__", ()):
            if hasattr(value, slot):
                state[slot] = getattr(value, slot)
        _feed(h, {k: v for k, v in state.items() if not k.startswith("_abc") and k not in VOLATILE}, depth + 1)
    else:
        h.update(f"{type(value).__qualname__}:{value!r};".encode())


def _round(x: float) -> str:
    return "%.9g" % (0.0 if x == 0 else x)


# ----------------------------------------------------------------------------
# Stored values: JSON with exact floats
# ----------------------------------------------------------------------------
def to_json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return {"int": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"float": float(value)}
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        return {"nd": arr.ravel().tolist(), "dtype": arr.dtype.str, "shape": list(arr.shape)}
    if isinstance(value, tuple):
        return {"tuple": [to_json(v) for v in value]}
    if isinstance(value, list):
        return {"list": [to_json(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[k, to_json(v)] for k, v in value.items()]}
    raise TypeError(f"cannot store a {type(value).__name__} as a reference value")


def from_json(data: Any) -> Any:
    if data is None or isinstance(data, (bool, str)):
        return data
    (tag, inner), *_ = data.items()
    if tag == "int":
        return int(inner)
    if tag == "float":
        return float(inner)
    if tag == "nd":
        return np.array(inner, dtype=np.dtype(data["dtype"])).reshape(data["shape"])
    if tag == "tuple":
        return tuple(from_json(v) for v in inner)
    if tag == "list":
        return [from_json(v) for v in inner]
    if tag == "dict":
        return {k: from_json(v) for k, v in inner}
    raise ValueError(f"unknown stored value {tag!r}")


def table_path(chapter: str) -> Path:
    return EXPECTED_DIR / f"{chapter}.json"


def stored_table(chapter: str) -> Dict[str, Any]:
    if chapter not in _tables:
        try:
            raw = json.loads(table_path(chapter).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        _tables[chapter] = {k: from_json(v) for k, v in raw.get("values", {}).items()}
    return _tables[chapter]


# ----------------------------------------------------------------------------
# What public checks call
# ----------------------------------------------------------------------------
def _answers_module(chapter: str):
    if os.environ.get(FORCE_STORED) == "1":
        return None
    try:
        return importlib.import_module(f"autograder.answers.{chapter}")
    except ImportError:
        return None


def _reference_function(chapter: str, name: str) -> Callable[..., Any]:
    def reference_value(*args, **kwargs):
        key = f"{name}:{fingerprint((args, kwargs))}"
        module = _answers_module(chapter)
        if module is None:
            table = stored_table(chapter)
            if key not in table:
                raise NotStored(chapter, name)
            value = table[key]
            return value.copy() if isinstance(value, np.ndarray) else value
        value = getattr(module, name)(*args, **kwargs)
        if _recording is not None:
            _recording.setdefault(chapter, {})[key] = value
        return value

    reference_value.__name__ = reference_value.__qualname__ = name
    return reference_value


class _Reference:
    """``answers.name(...)`` for a chapter: see the module docstring."""

    def __init__(self, chapter: str):
        self._chapter = chapter

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _reference_function(self._chapter, name)


def reference(chapter: str, *names: str):
    """A module-like object (no ``names``), one function (one name) or a tuple of functions."""
    if not names:
        return _Reference(chapter)
    functions = tuple(_reference_function(chapter, n) for n in names)
    return functions[0] if len(functions) == 1 else functions


# ----------------------------------------------------------------------------
# Recording (instructor side): run every public check on the reference solution
# ----------------------------------------------------------------------------
def _perturbed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its numeric results shifted: a wrong answer, to reach the checks' diagnostic branches."""

    def shift(value):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return value * 1.5 + 0.25
        if isinstance(value, float):
            return value * 1.5 + 0.25
        if isinstance(value, tuple):
            return tuple(shift(v) for v in value)
        return value

    def wrong(*args, **kwargs):
        return shift(fn(*args, **kwargs))

    wrong.__signature__ = __import__("inspect").signature(fn)
    wrong.__name__ = getattr(fn, "__name__", "wrong")
    return wrong


def record(chapter: str) -> Dict[str, Any]:
    """key -> value of every reference value the chapter's public checks ask for (needs the repository)."""
    global _recording
    from autograder.checks import exercise_checks, run_checks
    from autograder.selfcheck import _local_backend
    from autograder.sandbox import PACKAGE_ROOT
    from autograder.extract import extract

    notebook = next((PACKAGE_ROOT / "source" / chapter).glob("*.ipynb"))
    exercises = [e for e in __import__("autograder.checks", fromlist=["chapters"]).chapters().get(chapter, [])]
    extraction = extract(notebook, exercises)
    namespace: Dict[str, Any] = {"__name__": f"reference_{chapter}"}
    exec(compile(extraction.source, str(notebook), "exec"), namespace)
    _recording = {}
    try:
        for exercise in exercises:
            if not exercise_checks(exercise, include_hidden=False) or exercise not in namespace:
                continue
            fn = namespace[exercise]
            variants = [fn] if isinstance(fn, type) else [fn, _perturbed(fn)]
            for variant in variants:
                run_checks(exercise, _local_backend(variant), include_hidden=False)
        return dict(_recording.get(chapter, {}))
    finally:
        _recording = None


def chapters_with_references():
    """Chapters whose public checks call :func:`reference` (their module names)."""
    public = Path(__file__).resolve().parent / "public"
    return sorted(p.stem for p in public.glob("ch*.py") if "reference(" in p.read_text(encoding="utf-8"))


def write_table(chapter: str, values: Dict[str, Any]) -> Path:
    EXPECTED_DIR.mkdir(exist_ok=True)
    path = table_path(chapter)
    data = {"about": f"reference values of the public checks of {chapter}, recorded by "
                     f"`python -m autograder.reference record` from autograder/answers; do not edit",
            "values": {k: to_json(values[k]) for k in sorted(values)}}
    path.write_text(json.dumps(data, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    _tables.pop(chapter, None)
    return path


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m autograder.reference")
    parser.add_argument("what", choices=["record"])
    parser.add_argument("chapters", nargs="*", help="default: every chapter whose public checks use references")
    args = parser.parse_args(argv)
    for chapter in args.chapters or chapters_with_references():
        path = write_table(chapter, record(chapter))
        print(f"{chapter}: {len(stored_table(chapter))} reference values -> {path}")
    return 0


if __name__ == "__main__":
    import sys
    from autograder import reference as _module  # the module the checks import, not this __main__
    sys.exit(_module.main())
