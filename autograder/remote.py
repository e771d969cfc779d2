"""Test models that stay in the grader: the student's code gets an opaque callable.

A check passes models to the student's function (``predict=QuadraticModel(...)``,
``classifier_fn=...``, injected globals such as ``text_model``). If the object
itself were sent to the sandboxed worker, the student's code could read its
parameters (``predict.linear``), or test ``type(predict).__name__`` and return a
closed form for the public test models only. So, in the standalone grader, such
a model never leaves the grader's process: the worker gets a :class:`TestModel`
stand-in, and calling it sends the arguments over the worker's channel, the
grader runs the real model and sends back the result (one call = one round trip,
so a correct, batched solution pays one round trip per batch). Hidden checks can
then use model classes that exist only in the grader (``autograder/hidden/``),
and counting calls works on the real object (``max_calls``).

The rule (:func:`should_proxy`), applied to every keyword argument of a check's
``call(...)``, to the values of ``_inject`` and to the items of tuples, lists and
dicts among them:

* a **callable** (function, bound method or instance with ``__call__``) whose
  class — or, for a function, whose module — belongs to the grader's own
  packages (``autograder``, ``imlbook``, ``tests``) is replaced by a
  :class:`TestModel`; it answers ``__call__`` and the method names its class lists
  in ``REMOTE_METHODS`` (e.g. ``("predict",)``), nothing else;
* everything else is pickled to the worker as before: arrays, data, and objects
  that must be real there — Keras models, scikit-learn estimators, anything whose
  class derives from ``keras``, ``tensorflow``, ``torch`` or ``sklearn`` classes, and
  any class that sets ``SANDBOX_LOCAL = True``.

In the student's own kernel (``self_check``) nothing changes: the public test
models are shipped to students anyway.
"""
from __future__ import annotations

import builtins
import json
import threading
import types
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

GRADER_PACKAGES = ("autograder", "imlbook", "tests")
LOCAL_LIBRARIES = ("keras", "tensorflow", "tf_keras", "torch", "sklearn", "lightgbm", "xgboost")
MAX_DEPTH = 3


# ----------------------------------------------------------------------------
# The grader's side
# ----------------------------------------------------------------------------
def _root(module: Any) -> str:
    return str(module or "").split(".", 1)[0]


def should_proxy(obj: Any) -> bool:
    """Whether ``obj`` stays in the grader and the worker gets a :class:`TestModel` (see the module docstring)."""
    if isinstance(obj, type) or not callable(obj) or isinstance(obj, (np.ndarray, np.generic)):
        return False
    if getattr(obj, "SANDBOX_LOCAL", False):
        return False
    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        return _root(getattr(obj, "__module__", "")) in GRADER_PACKAGES
    mro = type(obj).__mro__
    if any(_root(c.__module__) in LOCAL_LIBRARIES for c in mro):
        return False
    return _root(type(obj).__module__) in GRADER_PACKAGES


def stub_out(kwargs: Dict[str, Any], registry: Dict[int, Any]) -> Dict[str, Any]:
    """``kwargs`` with every model that stays in the grader replaced by a :class:`TestModel` (kept in ``registry``)."""

    def swap(value: Any, depth: int) -> Any:
        if should_proxy(value):
            for key, known in registry.items():
                if known is value:
                    break
            else:
                key = len(registry) + 1
                registry[key] = value
            methods = tuple(m for m in getattr(value, "REMOTE_METHODS", ()) if isinstance(m, str)
                            and not m.startswith("_") and callable(getattr(value, m, None)))
            return TestModel(key, methods)
        if depth >= MAX_DEPTH:
            return value
        if type(value) is dict:
            return {k: swap(v, depth + 1) for k, v in value.items()}
        if type(value) in (list, tuple):
            return type(value)(swap(v, depth + 1) for v in value)
        return value

    from autograder.checks import THEN  # a check's reader of the student's result runs beside it, in the worker

    return {k: (v if k == THEN else swap(v, 0)) for k, v in kwargs.items()}


def answer(registry: Dict[int, Any], request: dict) -> dict:
    """Run one model call the worker asked for; the reply the worker receives (pickled: grader -> worker is trusted).

    A request that :func:`screen` refused (``request["refused"]``) is answered with a ``ValueError`` that
    says why: the student's code sees it like any error of the model, and the grader decoded nothing."""
    if request.get("refused"):
        return {"ok": False, "error": "ValueError",
                "message": f"the grader refused this call: {str(request['refused'])[:300]}"}
    try:
        model = registry[int(request["id"])]
        method = str(request.get("method", "__call__"))
        if method != "__call__" and method not in getattr(model, "REMOTE_METHODS", ()):
            raise AttributeError(f"the test model has no method {method!r}")
        fn = model if method == "__call__" else getattr(model, method)
        args = decode_args(request.get("args", []))
        kwargs = decode_args(request.get("kwargs", {"__dict__": {}}))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError("bad arguments")
        value = fn(*args, **kwargs)
        tensor = hasattr(value, "numpy") and type(value) is not np.ndarray
        return {"ok": True, "value": plain(value), "tensor": bool(tensor)}
    except Refused as exc:
        return {"ok": False, "error": "ValueError", "message": f"the grader refused this call: {str(exc)[:300]}"}
    except Exception as exc:  # noqa: BLE001 - the model's own errors go back to the student's code
        name = type(exc).__name__
        return {"ok": False, "error": name if isinstance(getattr(builtins, name, None), type) else "RuntimeError",
                "message": str(exc)[:500]}


def plain(value: Any, depth: int = 0) -> Any:
    """A model's output as plain data (ndarray subclasses become ndarrays)."""
    if depth > MAX_DEPTH + 2:
        raise TypeError("the test model returned data nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True).view(np.ndarray)
    if hasattr(value, "numpy"):
        return np.array(value.numpy(), copy=True)
    if isinstance(value, (list, tuple)):
        items = [plain(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    raise TypeError(f"the test model returned a {type(value).__name__}")


# ----------------------------------------------------------------------------
# Arguments from the worker (untrusted): JSON with typed arrays, no pickles
# ----------------------------------------------------------------------------
ARRAY_KINDS = "biufU"
MAX_MESSAGE_BYTES = 64 * 1024 ** 2      # decoded arguments of one model call, all arrays and strings together
MAX_ARRAY_BYTES = 64 * 1024 ** 2        # one decoded array
MAX_SUBMISSION_BYTES = 2 * 1024 ** 3    # everything one submission's model calls may make the grader decode
MAX_ITEMS = 1_000_000                   # JSON values in one message (each costs the grader ~60 bytes once parsed)
MAX_STRING_CHARS = 1_000_000            # itemsize of a string array, in characters (``<U...``)


class Refused(ValueError):
    """A model call the grader will not decode (forged, or larger than its limits): its message says why."""


class Budget:
    """How many bytes the grader has decoded for one submission's model calls (``MAX_SUBMISSION_BYTES`` in all)."""

    def __init__(self, limit: int = MAX_SUBMISSION_BYTES):
        self.limit, self.used = int(limit), 0

    def spend(self, n: int) -> None:
        if self.used + n > self.limit:
            raise Refused(f"your code sent the test models more than {_mib(self.limit)} of data in this "
                          f"submission; the grader refuses further calls")
        self.used += n


def _mib(n: float) -> str:
    return f"{n / 1024 ** 2:.0f} MiB"


def screen(raw: bytes, budget: Optional[Budget] = None) -> dict:
    """A model-call message from the worker, parsed, once its declared sizes are within the limits.

    Runs before anything the message describes is allocated: the number of JSON values is bounded
    by counting separators in ``raw``, every array's size is computed from its declared dtype and
    shape (``<U134217728`` is refused here, not allocated), and the total is charged to ``budget``
    (one per submission). Raises :class:`Refused` with a message for the student.
    """
    if raw.count(b",") + raw.count(b":") > MAX_ITEMS:
        raise Refused(f"a call to a test model with more than {MAX_ITEMS:,} values; pass arrays, not lists")
    try:
        request = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise Refused("a call to a test model nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise Refused("a message to the grader that is not a model call") from None
    if not isinstance(request, dict) or request.get("kind") != "model_call":
        raise Refused("a message to the grader that is not a model call")
    total = _declared_bytes(request.get("args", []), 0) + _declared_bytes(request.get("kwargs", {}), 0)
    if total > MAX_MESSAGE_BYTES:
        raise Refused(f"a call to a test model with {_mib(total)} of arguments, more than the "
                      f"{_mib(MAX_MESSAGE_BYTES)} the grader accepts")
    if budget is not None:
        budget.spend(total)
    request["screened"] = True
    return request


def _declared_bytes(data: Any, depth: int) -> int:
    """What decoding ``data`` (as :func:`decode_args` would) allocates, from declared sizes only."""
    if depth > 9:
        raise Refused("a call to a test model nested too deeply")
    if data is None or isinstance(data, (bool, int, float)):
        return 8
    if isinstance(data, str):
        return len(data)
    if isinstance(data, list):
        return sum(_declared_bytes(v, depth + 1) for v in data)
    if isinstance(data, dict) and len(data) == 1:
        (tag, inner), = data.items()
        if tag in ("__tuple__", "__dict__"):
            return _declared_bytes(list(inner.values()) if isinstance(inner, dict) else inner, depth + 1)
        if tag == "__arr__" and isinstance(inner, dict):
            return array_spec(inner)[2]
    raise Refused("a call to a test model with data the grader does not know")


def array_spec(inner: dict):
    """``(dtype, shape, nbytes)`` of an encoded array, checked against the limits before any allocation."""
    try:
        dtype = np.dtype(str(inner.get("dtype")))
        shape = tuple(int(s) for s in inner.get("shape"))
    except (TypeError, ValueError, OverflowError):
        raise Refused("a call to a test model with an array of unknown type or shape") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"a call to a test model with an array of dtype {str(dtype)[:40]} "
                      f"(numbers and strings only)")
    if dtype.kind == "U" and dtype.itemsize // 4 > MAX_STRING_CHARS:
        raise Refused(f"a call to a test model with strings of {dtype.itemsize // 4:,} characters, more than "
                      f"the {MAX_STRING_CHARS:,} the grader accepts")
    if len(shape) > 32 or any(s < 0 for s in shape):
        raise Refused("a call to a test model with an array of impossible shape")
    nbytes = dtype.itemsize
    for s in shape:
        nbytes *= s
        if nbytes > MAX_ARRAY_BYTES:
            break
    if nbytes > MAX_ARRAY_BYTES:
        raise Refused(f"a call to a test model with an array of more than {_mib(MAX_ARRAY_BYTES)} "
                      f"(dtype {dtype}, shape {shape[:6]})")
    return dtype, shape, nbytes


def encode_args(value: Any, depth: int = 0) -> Any:
    """What the student's code passes to a model, as JSON-able data (worker side)."""
    if depth > 8:
        raise TypeError("arguments nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item() if not isinstance(value, (np.bytes_,)) else bytes(value).decode("utf-8", "replace")
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        arr = np.asarray(value)
        if arr.dtype.kind in "OS":
            arr = np.vectorize(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v),
                               otypes=[str])(arr) if arr.size else arr.astype(str)
        if arr.dtype.kind not in ARRAY_KINDS:
            raise TypeError(f"cannot send an array of dtype {arr.dtype} to the test model")
        return {"__arr__": {"dtype": arr.dtype.str, "shape": list(arr.shape),
                            "data": arr.tolist() if arr.dtype.kind == "U" else _b64(arr)}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_args(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode_args(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): encode_args(v, depth + 1) for k, v in value.items()}}
    if hasattr(value, "__array__"):
        return encode_args(np.asarray(value), depth + 1)
    raise TypeError(f"cannot send a {type(value).__name__} to the test model")


def _b64(arr: np.ndarray) -> str:
    import base64
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")


def decode_args(data: Any, depth: int = 0) -> Any:
    """Inverse of :func:`encode_args`, for untrusted input: numbers, strings, lists, tuples, dicts, plain arrays.

    Every array's size is checked (:func:`array_spec`) before it is allocated, and the data must
    match the declared shape exactly."""
    if depth > 9:
        raise Refused("arguments nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode_args(v, depth + 1) for v in data]
    if isinstance(data, dict) and len(data) == 1:
        (tag, inner), = data.items()
        if tag == "__tuple__" and isinstance(inner, list):
            return tuple(decode_args(v, depth + 1) for v in inner)
        if tag == "__dict__" and isinstance(inner, dict):
            return {str(k): decode_args(v, depth + 1) for k, v in inner.items()}
        if tag == "__arr__" and isinstance(inner, dict):
            dtype, shape, nbytes = array_spec(inner)
            count = nbytes // dtype.itemsize if dtype.itemsize else 0
            if dtype.kind == "U":
                flat = inner.get("data")
                flat = [flat] if isinstance(flat, str) and shape == () else flat
                flat = np.ravel(np.array(flat, dtype=object)) if isinstance(flat, list) else None
                if flat is None or flat.size != count or not all(type(v) is str for v in flat):
                    raise Refused("a call to a test model whose string array does not match its shape")
                if any(len(v) > dtype.itemsize // 4 for v in flat):
                    raise Refused("a call to a test model whose strings are longer than their dtype")
                return np.array(flat.tolist(), dtype=dtype).reshape(shape)
            import base64
            import binascii
            try:
                raw = base64.b64decode(str(inner.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                raise Refused("a call to a test model with unreadable array data") from None
            if len(raw) != nbytes:
                raise Refused("a call to a test model whose array data does not match its shape")
            return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    raise Refused("unexpected argument data from the worker")


# ----------------------------------------------------------------------------
# The worker's side
# ----------------------------------------------------------------------------
_channel: Dict[str, Any] = {}
_lock = threading.Lock()


def connect(send: Callable[[bytes], None], receive: Callable[[], Any]) -> None:
    """Called by the worker before it reads a request: how a :class:`TestModel` reaches the grader."""
    _channel["send"], _channel["receive"] = send, receive


class _Tensor(np.ndarray):
    """What a model that returns tensors returns through the channel: an array that also has ``.numpy()``."""

    def numpy(self):
        return np.asarray(self).copy()


class TestModel:
    """A model that lives in the grader. Call it like the model it stands for: ``predict(X)``.

    Only ``__call__`` and the model's prediction methods (e.g. ``.predict``) exist here; its
    parameters do not.
    """

    __slots__ = ("_id", "_methods")

    def __init__(self, model_id: int, methods: Tuple[str, ...] = ()):
        self._id, self._methods = model_id, tuple(methods)

    def __reduce__(self):
        return (TestModel, (self._id, self._methods))

    def __repr__(self) -> str:
        return "<test model: predictions only>"

    def __call__(self, *args, **kwargs):
        return _remote_call(self._id, "__call__", args, kwargs)

    def __getattr__(self, name: str):
        if name in ("_id", "_methods"):
            raise AttributeError(name)
        if name in self._methods:
            model_id = self._id
            return lambda *args, **kwargs: _remote_call(model_id, name, args, kwargs)
        raise AttributeError(f"the test model only predicts: it has no attribute {name!r}")


def _remote_call(model_id: int, method: str, args, kwargs):
    if "send" not in _channel:
        raise RuntimeError("the test model cannot be called here")
    message = {"kind": "model_call", "id": model_id, "method": method,
               "args": encode_args(list(args)), "kwargs": encode_args(dict(kwargs))}
    with _lock:
        _channel["send"](json.dumps(message).encode("utf-8"))
        reply = _channel["receive"]()
    if not reply.get("ok"):
        exc_type = getattr(builtins, str(reply.get("error")), RuntimeError)
        if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
            exc_type = RuntimeError
        raise exc_type(reply.get("message", ""))
    value = reply["value"]
    if reply.get("tensor") and isinstance(value, np.ndarray):
        value = value.view(_Tensor)
    return value
