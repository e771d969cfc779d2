"""How the grader and its worker talk: length-prefixed messages over pipes.

Grader -> worker messages are pickles (the grader's own, trusted data: the
check's arguments). Worker -> grader messages are JSON with arrays as ``.npy``
bytes, decoded with ``allow_pickle=False``: the grader never unpickles
anything a student's process produced.
"""
from __future__ import annotations

import base64
import io
import json
import os
import select
import struct
import time
from typing import Any, Optional

import numpy as np

HEADER = struct.Struct(">Q")
MAX_MESSAGE = 512 * 1024 * 1024


class ChannelClosed(Exception):
    pass


class ChannelTimeout(Exception):
    pass


class ChannelTooLarge(ChannelClosed):
    """The other side announced a message larger than the reader accepts."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"message of {size} bytes is larger than the limit of {limit}")
        self.size, self.limit = size, limit


def send(fd: int, payload: bytes) -> None:
    data = HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def recv(fd: int, deadline: Optional[float] = None, max_bytes: int = MAX_MESSAGE) -> bytes:
    header = _read_exact(fd, HEADER.size, deadline)
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise ChannelTooLarge(length, max_bytes)
    return _read_exact(fd, length, deadline)


def _read_exact(fd: int, n: int, deadline: Optional[float]) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise ChannelTimeout()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise ChannelClosed("the worker closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# -- plain data <-> JSON ------------------------------------------------------
def encode(value: Any) -> Any:
    """Coerced values (see :func:`autograder.checks.coerce`) to JSON-able data."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, np.asarray(value, dtype=np.float64), allow_pickle=False)
        return {"__nd__": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [encode(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(data: Any, _depth: int = 0) -> Any:
    """Inverse of :func:`encode`, for untrusted input: only float arrays, tuples, dicts, strings, numbers."""
    if _depth > 8:
        raise ValueError("nested too deeply")
    if data is None or isinstance(data, (str, bool, int, float)):
        return data
    if isinstance(data, list):
        return [decode(v, _depth + 1) for v in data]
    if isinstance(data, dict):
        if set(data) == {"__nd__"}:
            return read_npy(base64.b64decode(str(data["__nd__"])))
        if set(data) == {"__tuple__"}:
            return tuple(decode(v, _depth + 1) for v in data["__tuple__"])
        if set(data) == {"__dict__"}:
            return {str(k): decode(v, _depth + 1) for k, v in data["__dict__"].items()}
    raise ValueError("unexpected data from the worker")


def read_npy(raw: bytes) -> np.ndarray:
    """A float64 array from untrusted ``.npy`` bytes. The header is read first: any other dtype (object,
    strings, structured) and any shape whose size differs from the bytes that follow are refused
    before anything is allocated (``np.load`` would allocate what a forged header claims)."""
    fh = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(fh)
        reader = {(1, 0): np.lib.format.read_array_header_1_0,
                  (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if reader is None:
            raise ValueError(f"unsupported .npy version {version}")
        shape, fortran, dtype = reader(fh)
    except (ValueError, TypeError, SyntaxError, struct.error) as exc:
        raise ValueError(f"unreadable array header ({str(exc)[:80]})") from None
    if dtype != np.float64:
        raise ValueError("arrays must be float64")
    count = 1
    for s in shape:
        if not isinstance(s, int) or s < 0:
            raise ValueError("impossible array shape")
        count *= s
    body = memoryview(raw)[fh.tell():]
    if count * 8 != len(body):
        raise ValueError("array data does not match its shape")
    arr = np.frombuffer(body, dtype=dtype, count=count).copy()
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def check_plain(value: Any, _depth: int = 0) -> Any:
    """``value`` if it is what :func:`autograder.checks.coerce` produces (None, str, float64 arrays,
    tuples and str-keyed dicts of those), else ``ValueError``: a forged reply cannot smuggle anything else."""
    if _depth > 8:
        raise ValueError("nested too deeply")
    if value is None or isinstance(value, str):
        return value
    if type(value) is np.ndarray and value.dtype == np.float64:
        return value
    if type(value) is tuple:
        for v in value:
            check_plain(v, _depth + 1)
        return value
    if type(value) is dict and all(type(k) is str for k in value):
        for v in value.values():
            check_plain(v, _depth + 1)
        return value
    raise ValueError(f"unexpected {type(value).__name__} in the reply")


def dumps(obj: Any) -> bytes:
    return json.dumps(encode(obj)).encode("utf-8")


def loads(raw: bytes) -> Any:
    return decode(json.loads(raw.decode("utf-8")))
