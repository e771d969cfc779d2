"""The check framework: exercises, checks, and the values they compare.

A *check* is a small function that receives ``call`` — a way to run the
student's exercise function — and raises :class:`CheckFailed` when what comes
back is wrong::

    @check("standardize", "uses the training statistics for the test set", points=1)
    def _(call):
        out = call(x_train=..., x_test=...)
        expect(..., "the test set was standardized with its own mean and std",
               hint="fit on x_train, then apply the same shift and scale to x_test")

Checks never see the student's objects. ``call`` returns the student's result
*coerced to plain data* (float arrays, tuples, dicts, strings): see
:func:`coerce`. The same check therefore runs unchanged

* in the student's kernel (self-check cell, :mod:`autograder.selfcheck`), where
  ``call`` runs the function in-process, and
* in the grader (:mod:`autograder.grade`), where ``call`` sends the arguments
  to a sandboxed worker process and gets back only the coerced values, so the
  comparison happens in the grader's own clean process.

Public checks live in ``autograder/public/`` and ship to students; hidden
checks live in ``autograder/hidden/`` and never leave the instructor.
"""
from __future__ import annotations

import dataclasses
import importlib
import numbers
import pkgutil
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

__all__ = [
    "THEN", "Check", "CheckFailed", "NotAttempted", "StudentError", "Timeout",
    "check", "expect", "expect_close", "expect_shape", "coerce", "describe_type", "invoke", "BuiltArgument",
    "exercise_checks", "load_checks", "all_exercises", "max_points",
]


# ----------------------------------------------------------------------------
# Outcomes
# ----------------------------------------------------------------------------
class CheckFailed(AssertionError):
    """The student's answer is wrong. ``message`` is for the student; ``hint`` says what to try."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotAttempted(Exception):
    """The function is still the stub (it returned ``None``).

    ``part=True``: the function returned something, but the part of it this check reads (a method of
    a class exercise, read through ``THEN``) still returns ``None``; the exercise's other checks
    still run, so a class whose first method is a stub keeps the marks of its finished methods.
    """

    def __init__(self, part: bool = False):
        super().__init__("part" if part else "")
        self.part = part

    def __reduce__(self):
        return NotAttempted, (self.part,)


class StudentError(Exception):
    """The student's function raised. ``summary`` is ``"ValueError: ..."``; ``where`` is the last line of their code."""

    def __init__(self, summary: str, where: str = ""):
        super().__init__(summary)
        self.summary = summary
        self.where = where


class Timeout(Exception):
    """The student's function did not return within the time limit."""


class WorkerDied(Exception):
    """The process running the student's code ended (exit, crash, memory limit)."""


# ----------------------------------------------------------------------------
# Checks and the registry
# ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Check:
    exercise: str   # the exercise function's name, e.g. "partial_dependence_1d"
    name: str       # what the check verifies, in words a student understands
    points: float
    run: Callable[[Callable[..., Any]], None]
    hidden: bool = False
    chapter: str = ""  # the check module's name, e.g. "ch01_pdp_ice"
    # Names of this exercise's checks of *values* that must pass for this check's points to count. A
    # property that a do-nothing function also has (a shape, inputs unchanged, one model call, same seed
    # same answer) is worth nothing on its own: see :func:`apply_counts_with`.
    counts_with: Tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.exercise}: {self.name}"


_REGISTRY: Dict[str, List[Check]] = {}


def check(exercise: str, name: str, points: float = 1.0, hidden: bool = False,
          counts_with: Union[str, Tuple[str, ...]] = ()):
    """Decorator registering ``fn(call)`` as a check of ``exercise``.

    ``counts_with``: the name(s) of value checks of the same exercise that must also pass for this
    check's points to count (for properties a do-nothing answer has too).
    """
    needs = (counts_with,) if isinstance(counts_with, str) else tuple(counts_with)

    def register(fn):
        checks = _REGISTRY.setdefault(exercise, [])
        if any(c.name == name for c in checks):
            raise ValueError(f"duplicate check {exercise!r}: {name!r}")
        chapter = fn.__module__.rsplit(".", 1)[-1]
        if checks and not hidden and checks[0].chapter != chapter:
            raise ValueError(f"exercise {exercise!r} is already defined in chapter {checks[0].chapter!r}")
        checks.append(Check(exercise, name, float(points), fn, hidden, chapter if not hidden else "", needs))
        return fn

    return register


def load_checks(include_hidden: bool = True) -> bool:
    """Import every check module. Returns whether hidden checks were available.

    In the student bundle ``autograder.hidden`` does not exist; that is fine.
    """
    from autograder import public

    for mod in pkgutil.iter_modules(public.__path__):
        importlib.import_module(f"autograder.public.{mod.name}")
    if not include_hidden:
        return False
    try:
        from autograder import hidden
    except ImportError:
        return False
    for mod in pkgutil.iter_modules(hidden.__path__):
        importlib.import_module(f"autograder.hidden.{mod.name}")
    return True


def exercise_checks(exercise: str, include_hidden: bool = True) -> List[Check]:
    load_checks(include_hidden)
    if exercise not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"no checks for an exercise called {exercise!r} (known: {known})")
    return [c for c in _REGISTRY[exercise] if include_hidden or not c.hidden]


def all_exercises() -> List[str]:
    load_checks(True)
    return list(_REGISTRY)


def chapters() -> Dict[str, List[str]]:
    """``{chapter: [exercise, ...]}`` in the order the public check modules define them."""
    load_checks(True)
    out: Dict[str, List[str]] = {}
    for exercise, checks in _REGISTRY.items():
        public = [c for c in checks if not c.hidden]
        if public:
            out.setdefault(public[0].chapter, []).append(exercise)
    return out


def max_points(exercise: str) -> float:
    """Total points of an exercise, public and hidden checks together."""
    return sum(c.points for c in exercise_checks(exercise, include_hidden=True))


# ----------------------------------------------------------------------------
# Assertions for check authors
# ----------------------------------------------------------------------------
def expect(condition: bool, message: str, hint: str = "") -> None:
    if not bool(condition):
        raise CheckFailed(message, hint)


def expect_shape(value: Any, shape: tuple, what: str = "the result", hint: str = "") -> np.ndarray:
    """Require a float array of exactly ``shape``; return it."""
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{what} should be an array of shape {shape}, got {_describe(value)}", hint)
    if value.shape != tuple(shape):
        raise CheckFailed(f"{what} has shape {value.shape}, expected {tuple(shape)}", hint)
    if not np.all(np.isfinite(value)):  # the check's hint is about shapes or values, not about NaN
        raise CheckFailed(f"{what} contains NaN or infinite values", NAN_HINT)
    return value


NAN_HINT = ("look for a division by zero (0 / 0 gives NaN), e.g. when normalising by a maximum or a sum that "
            "can be 0")


def expect_close(actual: Any, expected: Any, message: str, hint: str = "",
                 rtol: float = 1e-5, atol: float = 1e-6) -> None:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        raise CheckFailed(f"{message} (shape {actual.shape}, expected {expected.shape})", hint)
    if not np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=False):
        if not np.all(np.isfinite(actual)):  # the check's own hint is about values, not about NaN
            bad = int(np.sum(~np.isfinite(actual)))
            raise CheckFailed(f"{message}: {'the result is' if actual.ndim == 0 else f'{bad} value(s) are'} NaN or "
                              f"infinite", NAN_HINT)
        detail = ""
        if actual.ndim == 0:
            detail = f" (got {float(actual):.6g}, expected {float(expected):.6g})"
        elif actual.size:
            worst = np.unravel_index(np.argmax(np.abs(actual - expected)), actual.shape)
            detail = (f" (e.g. at index {tuple(int(i) for i in worst)}: got {actual[worst]:.6g}, "
                      f"expected {expected[worst]:.6g})")
        raise CheckFailed(message + detail, hint)


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    return f"a {type(value).__name__}"


# ----------------------------------------------------------------------------
# Calling the student's function and coercing what it returns
# ----------------------------------------------------------------------------
MAX_ELEMENTS = 50_000_000  # refuse to ship absurdly large results between processes


def coerce(value: Any, _depth: int = 0) -> Any:
    """Turn a student's return value into plain, trustworthy data.

    Arrays, tensors, lists of numbers and numeric scalars become ``float64``
    NumPy arrays (scalars become 0-d arrays); tuples, and lists of records (lists
    holding strings, tuples or dicts), become tuples; dicts keep
    string keys; strings and ``None`` pass through. Anything else raises
    :class:`CheckFailed`, so no student-defined ``__eq__`` ever reaches a check.
    """
    if _depth > 4:
        raise CheckFailed("the result is nested too deeply")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return np.asarray(float(value))
    if isinstance(value, tuple):
        return tuple(coerce(v, _depth + 1) for v in value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CheckFailed(f"dictionary keys should be strings, found a {type(k).__name__}")
            out[str(k)] = coerce(v, _depth + 1)
        return out
    if isinstance(value, numbers.Real) or isinstance(value, np.generic):
        return np.asarray(float(value))
    names = _as_strings(value)
    if names is not None:
        return names
    if isinstance(value, list) and any(isinstance(v, (str, tuple, dict)) for v in value):
        # a list of records, e.g. [("age", 0.12), ...]: items are coerced one by one, into a tuple
        if len(value) > 100_000:
            raise CheckFailed(f"the result has {len(value)} items, far more than expected")
        return tuple(coerce(v, _depth + 1) for v in value)
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value) \
            and len({v.shape for v in value}) > 1:
        raise CheckFailed("the result is a list of arrays of different shapes")
    if isinstance(value, (list, np.ndarray)) or hasattr(value, "numpy") or hasattr(value, "__array__"):
        try:
            arr = value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value
            arr = np.array(arr, dtype=np.float64, copy=True)
        except Exception as exc:  # noqa: BLE001 - a student's object can raise anything
            raise CheckFailed(f"could not read the result as numbers ({type(exc).__name__}: {exc})".strip()[:300])
        if type(arr) is not np.ndarray:  # a subclass could override comparisons
            arr = np.asarray(arr).view(np.ndarray)
        if arr.size > MAX_ELEMENTS:
            raise CheckFailed(f"the result has {arr.size} numbers, far more than expected")
        return arr
    raise CheckFailed(f"expected numbers or arrays, got a {type(value).__name__}")


def _as_strings(value: Any, _depth: int = 0) -> Optional[tuple]:
    """A non-empty list or array of strings (or of such lists, e.g. names ranked per row) as nested
    tuples of ``str``; ``None`` for anything else. Exercises that return feature names need this."""
    if _depth > 2:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "UO" and value.size and value.ndim in (1, 2):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if all(type(v) is str or isinstance(v, np.str_) for v in value):
        return tuple(str(v) for v in value)
    if isinstance(value, list) and all(isinstance(v, (list, tuple, np.ndarray)) for v in value):
        rows = [_as_strings(v, _depth + 1) for v in value]
        if all(r is not None for r in rows):
            return tuple(rows)
    return None


def describe_type(value: Any, _depth: int = 0) -> Any:
    """What the student's function returned, before :func:`coerce` turns it into float arrays.

    ``"ndarray[int64]"`` for a NumPy array (with its dtype), a tuple of descriptions for a tuple,
    otherwise the type's name (``"list"``, ``"dict"``, ``"EagerTensor"``, ``"float"``...). Plain
    data (str and tuples), so it crosses the worker's channel like a coerced value.
    """
    if isinstance(value, np.ndarray):
        return f"ndarray[{value.dtype.name}]"
    if isinstance(value, tuple) and _depth < 4:
        return tuple(describe_type(v, _depth + 1) for v in value[:64])
    return type(value).__name__[:100]


INJECT = "_inject"  # kwargs key: globals to provide to the student's function for one call
THEN = "_then"      # kwargs key: ``then(result, kwargs)`` applied where the function ran, before coercion


class BuiltArgument:
    """An argument that is built where the student's function runs, from a small picklable description.

    A check passes e.g. a Keras model as a spec object (a subclass defining :meth:`build`); the grader
    pickles the spec to its worker, and :func:`invoke`, there or in the student's kernel, passes
    ``spec.build()`` to the function instead. The grader's own process never needs the library
    (TensorFlow) the built object comes from, and every call gets a fresh object.
    """

    def build(self) -> Any:  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def build_for(self, fn: Callable[..., Any]) -> Any:
        """Build the argument for a call of ``fn`` (the student's function). The default is :meth:`build`;
        a spec that needs the submission's other exercises reads them from ``fn.__globals__`` (chapter 6:
        a run that the student's own ``log_explanation`` wrote, for ``load_explanation``). It may raise
        :class:`CheckFailed`, or :class:`NotAttempted` when what it needs is still a stub."""
        return self.build()

    def release(self) -> None:
        """Called after the call (and its ``then`` reader), even when they raised: undo what
        :meth:`build_for` set up (a temporary folder, a global setting)."""


def invoke(fn: Callable[..., Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Run ``fn(**kwargs)`` and return ``{"value": ..., "args_after": ..., "type": ...}``, all plain data.

    ``kwargs[INJECT]`` (optional) maps global names to objects that the function
    reads as globals — e.g. ``{"model": tiny_model, "tokenizer": tok}`` for an
    exercise whose signature is fixed as ``predict_proba(texts)``. They are
    set in the function's module namespace for this call only and the previous
    values are restored afterwards.

    ``kwargs[THEN]`` (optional) is a picklable callable ``then(result, kwargs)`` applied to a
    non-``None`` result, in the same process, before coercion: it reads what a check needs from
    a result that is an object rather than numbers — a method of an instance when the exercise is a
    class, predictions of a fitted surrogate, values from an explainer — and may read the arguments
    after the call (e.g. a test model's record of its calls). What it raises counts as the student's
    error, and ``None`` from it means "not attempted" (a method still being the stub).

    ``args_after`` holds every NumPy-array argument as it is after the call, so
    a check can tell whether the student's function modified its input.

    Arguments that are :class:`BuiltArgument` specs are built first. ``kwargs[THEN]`` (optional, a
    picklable callable) is applied as ``then(result, built_kwargs)`` to a non-``None`` result before it
    is coerced: a check can thereby look at a result that is not plain data (evaluate a returned Keras
    model on an input, report an array's dtype, see whether an argument object was changed) while the
    student's objects still never leave the process that runs their code.
    ``type`` is :func:`describe_type` of the value before coercion, so a check
    can still hold the function to the type its contract promises.
    Raises :class:`NotAttempted` for a ``None`` result and :class:`StudentError`
    (with a one-line summary) when the function raises.
    """
    kwargs = dict(kwargs)
    inject = kwargs.pop(INJECT, None) or {}
    then = kwargs.pop(THEN, None)
    specs = [v for v in kwargs.values() if isinstance(v, BuiltArgument)]
    try:
        return _invoke_built(fn, kwargs, inject, then)
    finally:
        for spec in specs:
            try:
                spec.release()
            except Exception:  # noqa: BLE001 - cleaning up must not hide the call's outcome
                pass


def _invoke_built(fn, kwargs, inject, then):
    try:
        kwargs = {k: v.build_for(fn) if isinstance(v, BuiltArgument) else v for k, v in kwargs.items()}
    except (CheckFailed, NotAttempted):
        raise
    except Exception as exc:  # noqa: BLE001 - the grader's own test object could not be built here
        raise CheckFailed(f"the grader could not build a test input ({_summarize(exc)})",
                          hint="the notebook's imports must succeed (e.g. `import keras`)") from None
    namespace = getattr(fn, "__globals__", None)
    saved = {k: namespace[k] for k in inject if namespace is not None and k in namespace}
    try:
        if namespace is not None:
            namespace.update(inject)
        value = fn(**kwargs)
        returned_type = describe_type(value)
        if then is not None and value is not None:
            value = then(value, kwargs)
            if value is None:  # a method still the stub: this check only is not attempted
                raise NotAttempted(part=True)
    except (CheckFailed, NotAttempted):
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise StudentError(_summarize(exc), _where(exc)) from None
    finally:
        if namespace is not None:  # the student's own globals (their real model...) come back
            for k in inject:
                if k in saved:
                    namespace[k] = saved[k]
                else:
                    namespace.pop(k, None)
    if value is None:
        raise NotAttempted()
    after = {k: np.array(v, dtype=np.float64, copy=True) for k, v in kwargs.items()
             if isinstance(v, np.ndarray)}
    return {"value": coerce(value), "args_after": after, "type": returned_type}


def _summarize(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _where(exc: BaseException) -> str:
    """The student's own line that led to the error: the last frame of their code (a notebook cell, the
    grader's ``<submission>``), with the library that raised it named when the error came from inside one
    (``line 7: cam = grad_model(x) (the error was raised inside keras)``); otherwise the last frame that
    is not the grader's own code."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "autograder" not in f.filename.replace("\\", "/").split("/")[-2:][0]]
    if not frames:
        return ""
    own = [f for f in frames if _is_student_code(f.filename)]
    f = own[-1] if own else frames[-1]
    line = (f.line or "").strip()
    if not line and not own:
        return ""
    where = f"line {f.lineno}: {line}" if line else f"line {f.lineno} of your code"
    if own and f is not frames[-1]:
        where += f" (the error was raised inside {_library(frames[-1].filename)})"
    return where[:200]


def _is_student_code(filename: str) -> bool:
    """A notebook cell or the grader's extracted submission, not a file of an installed library."""
    name = filename.replace("\\", "/")
    return (name.startswith("<") and not name.startswith("<frozen")) or "/ipykernel_" in name \
        or "ipython-input-" in name


def _library(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return parts[parts.index(marker) + 1].removesuffix(".py")
    return "Python's standard library" if "python3" in filename else parts[-1]


class Caller:
    """``call(**kwargs)`` for checks: runs the student's function and keeps what came back.

    ``backend(kwargs) -> {"value", "args_after", "type"}`` does the actual running: in
    process (self-check) or in a sandboxed worker (grader). After a call,
    ``returned_type`` holds :func:`describe_type` of what the function returned
    (``None`` if the backend could not tell); :meth:`expect_array` checks it.
    """

    def __init__(self, backend: Callable[[Dict[str, Any]], Dict[str, Any]]):
        self._backend = backend
        self.args_after: Dict[str, np.ndarray] = {}
        self.returned_type: Any = None

    def __call__(self, **kwargs):
        out = self._backend(kwargs)
        self.args_after = out["args_after"]
        self.returned_type = out.get("type")
        return out["value"]

    def expect_array(self, what: str = "the result", item: Optional[int] = None, kind: str = "",
                     hint: str = "") -> None:
        """Fail unless the last call returned a NumPy array (or, with ``item``, a tuple whose item is one).

        ``kind`` optionally requires the array's dtype kind: ``"integer"``, ``"float"``, or a dtype
        name such as ``"float32"``. The check sees the type as returned, before coercion.
        """
        described = self.returned_type
        if item is not None:
            described = described[item] if isinstance(described, tuple) and len(described) > item else None
        if isinstance(described, tuple):
            raise CheckFailed(f"{what} should be a NumPy array, got a tuple of {len(described)} items",
                              hint or "return one array, not a tuple")
        if not isinstance(described, str):
            raise CheckFailed(f"could not tell what type {what} has (the grader did not report it)", hint)
        if not described.startswith("ndarray["):
            raise CheckFailed(f"{what} should be a NumPy array, got a {described}",
                              hint or "convert it with np.asarray(...) before returning it")
        dtype = np.dtype(described[len("ndarray["):-1])
        wanted = {"integer": "iu", "float": "f"}.get(kind)
        if (wanted is not None and dtype.kind not in wanted) or (kind and wanted is None and dtype.name != kind):
            raise CheckFailed(f"{what} has dtype {dtype.name}, expected {'an ' if kind == 'integer' else ''}{kind}"
                              f"{' dtype' if wanted else ''}", hint)

    def expect_unchanged(self, name: str, original: np.ndarray) -> None:
        """Fail if the array argument ``name`` was modified by the last call."""
        after = self.args_after.get(name)
        if after is None or after.shape != np.shape(original) or not np.array_equal(after, original, equal_nan=True):
            detail = ""
            if after is not None and after.shape == np.shape(original):
                changed = np.argwhere(~((after == original) | (np.isnan(after) & np.isnan(original))))
                at = tuple(int(i) for i in changed[0])
                detail = (f": {len(changed)} of its {after.size} values differ after the call, e.g. `{name}{list(at)}` "
                          f"was {np.asarray(original)[at]:.6g} before and {after[at]:.6g} after; expected it unchanged")
            elif after is not None:
                detail = f": it had shape {np.shape(original)} before the call and {after.shape} after"
            raise CheckFailed(f"your function changed its input `{name}`{detail}",
                              hint=f"work on a copy, e.g. `{name}_mod = {name}.copy()`, so the caller's data stays as it was")


# ----------------------------------------------------------------------------
# Running checks and scoring them
# ----------------------------------------------------------------------------
@dataclasses.dataclass
class CheckResult:
    check: Check
    status: str      # "passed" | "failed" | "not counted" | "not attempted" | "error" | "timed out" | "crashed"
    message: str = ""
    hint: str = ""
    seconds: float = 0.0  # wall clock of this check (the student's calls, test-model calls and the comparison)
    partial: bool = False  # "not attempted" for one part (a stub method), not for the whole exercise

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def score(self) -> float:
        return self.check.points if self.passed else 0.0


def run_check(chk: Check, backend: Callable[[Dict[str, Any]], Dict[str, Any]]) -> CheckResult:
    import time
    started = time.perf_counter()
    result = _run_check(chk, backend)
    result.seconds = time.perf_counter() - started
    if chk.hidden and not result.passed:
        result.message = redact_inputs(result.message)
    return result


_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w)")
_LISTING = re.compile(r"[\[{(][^\[\]{}()]*,[^\[\]{}()]*[\]})]")
_QUOTED = re.compile(r"(['\"])[^'\"]{13,}\1")


def redact_inputs(text: str) -> str:
    """A hidden check's failure text without the data it could carry: what went wrong stays, the inputs go.

    The student's own exception message (``raise ValueError(repr(X))``) or a result echoing its input
    would otherwise print a hidden check's inputs into the feedback. Numbers other than small counts
    (shapes, indices: at most 2 digits) become ``…``, listings of values ``[…]``, long quoted strings
    ``'…'``; the text is cut at 300 characters."""
    def number(m: "re.Match") -> str:
        token = m.group(0)
        return token if re.fullmatch(r"[-+]?\d{1,2}", token) else "…"

    def listing(m: "re.Match") -> str:
        inner = m.group(0)
        shape_like = re.fullmatch(r"[(\[][\w\s,…]*[)\]]", _NUMBER.sub(number, inner))  # (n, 1), (3, 4)
        return inner if shape_like and len(inner) < 20 and inner.count(",") <= 3 else inner[0] + "…" + inner[-1]

    out = _QUOTED.sub(lambda m: m.group(1) + "…" + m.group(1), str(text))
    for _ in range(4):  # nested listings, innermost first
        redacted = _LISTING.sub(listing, out)
        if redacted == out:
            break
        out = redacted
    out = _NUMBER.sub(number, out)
    return out if len(out) <= 300 else out[:300] + "…"


def _run_check(chk: Check, backend: Callable[[Dict[str, Any]], Dict[str, Any]]) -> CheckResult:
    caller = Caller(backend)
    try:
        chk.run(caller)
    except NotAttempted as exc:
        if exc.part:
            return CheckResult(chk, "not attempted", "not attempted yet: the part this check reads (a method) "
                               "still returns None", "replace that method's `#** EDIT ME **` line with your code",
                               partial=True)
        return CheckResult(chk, "not attempted", "not attempted yet: the function still returns None",
                           "replace the `#** EDIT ME **` line with your code and return the result")
    except CheckFailed as exc:
        return CheckResult(chk, "failed", exc.message, exc.hint)
    except StudentError as exc:
        msg = f"your function raised {exc.summary}" + (f" ({exc.where})" if exc.where else "")
        hint = ""
        if "unexpected keyword argument" in exc.summary or "positional argument" in exc.summary:
            hint = "keep the parameter names and order of the exercise's `def` line"
        elif exc.summary.startswith("SystemExit"):
            hint = "do not call sys.exit() or exit() inside an exercise function; return the result instead"
        elif exc.summary.startswith("MemoryError"):
            msg, hint = f"your function ran out of memory ({exc.summary})", "avoid building huge intermediate arrays"
        return CheckResult(chk, "error", msg, hint)
    except Timeout as exc:
        return CheckResult(chk, "timed out", str(exc), "look for an endless loop, or a model called once per row")
    except WorkerDied as exc:
        return CheckResult(chk, "crashed", str(exc))
    return CheckResult(chk, "passed")


def run_checks(exercise: str, backend, include_hidden: bool) -> List[CheckResult]:
    """Run an exercise's checks in order. After a stub, a timeout or a dead worker the rest are not tried
    (a stub *method* of a class exercise stops only the checks that read it)."""
    results: List[CheckResult] = []
    stop: Optional[CheckResult] = None
    for chk in exercise_checks(exercise, include_hidden):
        if stop is not None:
            results.append(CheckResult(chk, stop.status, stop.message, stop.hint))
            continue
        res = run_check(chk, backend)
        results.append(res)
        if res.status in ("not attempted", "timed out", "crashed") and not res.partial:
            stop = res
    return apply_counts_with(explain_by_earlier(results))


def apply_counts_with(results: List[CheckResult]) -> List[CheckResult]:
    """A passed check whose ``counts_with`` checks did not all count becomes "not counted" (no points).

    Transitive: a shape check that counts with a public value check, which counts with a hidden check on
    fresh inputs, counts only when both do. A name that is not among ``results`` (a hidden check, in a
    student's self-check) is not required.
    """
    results = list(results)
    changed = True
    while changed:
        changed = False
        counted = {r.check.name: r.passed for r in results}
        for i, r in enumerate(results):
            missing = [n for n in r.check.counts_with if n in counted and not counted[n]]
            if r.passed and missing:
                names = "; ".join(f"'{n}'" for n in missing)
                results[i] = dataclasses.replace(
                    r, status="not counted",
                    message=f"this holds, but an answer that does not compute the method can pass it too: it earns "
                            f"its points only together with this check, which did not pass: {names}",
                    hint="fix the check named above first")
                changed = True
    return results


def _gist(message: str) -> str:
    """A failure message without its example ("(e.g. at index ...)", "(shape ...)") or the student's line."""
    return re.split(r" \((?:e\.g\. |got |shape |line )", str(message), maxsplit=1)[0].strip()


def explain_by_earlier(results: List[CheckResult]) -> List[CheckResult]:
    """A failure that is the same as an earlier check's failure of the exercise (same message, same
    error) says so and drops its own hint, which was written for another mistake: "calls f once"
    failing with "wrong Shapley values" is explained by the values check, not by the number of calls."""
    def same(a: str, b: str) -> bool:  # "wrong Shapley values" and "wrong Shapley values for p = 8"
        short, long = sorted((a, b), key=len)
        return long == short or long.startswith(short + " ")

    earlier: List[Tuple[str, CheckResult]] = []
    root: Dict[int, CheckResult] = {}  # a failure explained by another points at the first of the chain
    for res in results:
        if res.status not in ("failed", "error") or not res.message:
            continue
        gist = _gist(res.message)
        cause = next((r for g, r in earlier if same(g, gist)), None)
        earlier.append((gist, res))
        if cause is not None:
            cause = root.get(id(cause), cause)
            root[id(res)] = cause
            res.message = f"{res.message} — the same failure as the check “{cause.check.name}”: fix that one first"
            res.hint = ""
    return results
