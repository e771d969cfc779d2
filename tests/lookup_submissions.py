"""A lazy submission that looks its answers up instead of computing them.

A student with the bundle can run the public checks offline on any correct function (the reference
in a classmate's notebook, a package) and record, for every call a public check makes, the arguments
and the answer. ``lookup_submission`` builds that student's notebook: each exercise returns the
recorded answer when its arguments match a recorded call (a key made of the array bytes, strings and
numbers among them) and otherwise the first recorded answer, which has the right type and often the
right shape. Such a submission passes every public check of value and implements nothing; the
grading proofs assert it earns at most 10 % of a chapter.
"""
from __future__ import annotations

import base64
import pickle
from pathlib import Path
from typing import Dict, Iterable, Optional

from autograder.checks import exercise_checks, invoke, run_check
from autograder.extract import extract
from tests.submissions import make_submission, notebook_path

# The key of a call, written once: the recorder below uses it, and its source is pasted into every
# exercise of the lookup submission (a student's notebook cannot import from tests/).
KEY_SOURCE = '''
def _lookup_key(args):
    import hashlib
    import numpy as _np
    digest = hashlib.sha256()
    def add(value, depth=0):
        if depth > 4:
            return
        if isinstance(value, _np.ndarray) or type(value).__name__ in ("EagerTensor", "Tensor"):
            arr = _np.ascontiguousarray(_np.asarray(value))
            digest.update(repr((arr.shape, str(arr.dtype))).encode())
            digest.update(arr.tobytes())
        elif value is None or isinstance(value, (str, bytes, bool, int, float, _np.number)):
            digest.update(repr(value).encode())
        elif isinstance(value, (list, tuple)):
            digest.update(b"[")
            for v in value:
                add(v, depth + 1)
            digest.update(b"]")
        elif isinstance(value, dict):
            for k in sorted(value, key=repr):
                digest.update(repr(k).encode())
                add(value[k], depth + 1)
        # a model or a function is left out: in the grader it is a stand-in of another type
    for value in args:
        add(value)
    return digest.hexdigest()
'''
_namespace: dict = {}
exec(KEY_SOURCE, _namespace)  # noqa: S102 - our own source, shared with the submissions below
lookup_key = _namespace["_lookup_key"]


def reference_functions(chapter: str, exercises: Iterable[str]) -> Dict[str, object]:
    """The reference solution's exercise functions, defined as the grader's worker defines them."""
    extraction = extract(notebook_path("solutions", chapter), list(exercises))
    namespace: dict = {"__name__": "reference"}
    exec(compile(extraction.source, "reference", "exec"), namespace)  # noqa: S102 - the project's own solution
    return {ex: namespace[ex] for ex in exercises}


def record_public_answers(chapter: str, exercise: str, fn) -> Dict[str, object]:
    """{key of the arguments: the reference's answer} for every call the public checks make."""
    table: Dict[str, object] = {}
    import inspect

    params = list(inspect.signature(fn).parameters)
    key_of, dumps = lookup_key, pickle.dumps  # closure cells: the recorder runs with the reference's globals

    def recording(*args, **kwargs):
        bound = dict(zip(params, args), **kwargs)
        answer = fn(*args, **kwargs)
        key = key_of([bound.get(p) for p in params])
        try:
            dumps(answer)
        except Exception:  # noqa: BLE001 - an answer that cannot be stored is not looked up
            return answer
        table.setdefault(key, answer)
        return answer

    # the globals a check injects (a chapter-2 model read as a global) must reach the reference's namespace
    import types
    recorder = types.FunctionType(recording.__code__, fn.__globals__, fn.__name__, None, recording.__closure__)
    recorder.__signature__ = inspect.signature(fn)
    for chk in exercise_checks(exercise, include_hidden=False):
        run_check(chk, lambda kwargs: invoke(recorder, kwargs))
    return table


def lookup_source(exercise: str, fn, table: Dict[str, object]) -> str:
    """The text of an exercise cell that answers from ``table``."""
    import inspect

    signature = str(inspect.signature(fn))
    params = list(inspect.signature(fn).parameters)
    blob = base64.b64encode(pickle.dumps(table)).decode("ascii")
    return (f"def {exercise}{signature}:\n"
            + "\n".join("    " + line for line in KEY_SOURCE.strip().splitlines()) + "\n"
            f"    import base64, pickle\n"
            f"    table = pickle.loads(base64.b64decode({blob!r}))\n"
            f"    key = _lookup_key([{', '.join(params)}])\n"
            f"    return table[key] if key in table else next(iter(table.values()))\n")


def lookup_submission(folder: Path, chapter: str, exercises: Optional[Iterable[str]] = None) -> Path:
    """The chapter's release notebook with every exercise (or those named) answered by lookup."""
    from autograder.checks import chapters

    names = list(exercises or chapters()[chapter])
    functions = reference_functions(chapter, names)
    answers = {}
    for ex in names:
        table = record_public_answers(chapter, ex, functions[ex])
        assert table, f"no public check of {ex} could be recorded"
        answers[ex] = lookup_source(ex, functions[ex], table)
    return make_submission(folder, chapter, answers, name=f"lookup-{notebook_path('release', chapter).name}")
