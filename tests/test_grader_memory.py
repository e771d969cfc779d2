"""The grader's own memory: what a student's process sends it is bounded before it is decoded (issue 19 §2).

Student code can reach the model channel (``type(f).__call__.__globals__["_channel"]``) and write its own
messages. A call whose argument *claims* a string array of dtype ``<U134217728`` made the grader allocate
512 MiB per element; a ``.npy`` header can claim any shape. Every size is now checked from the declared
dtype and shape before anything is allocated, and the refusal reaches the student's code as a ValueError.
"""
from __future__ import annotations

import base64
import io
import json
import struct
import textwrap
import time
import tracemalloc

import numpy as np
import pytest

from autograder import remote, sandbox, wire
from autograder.sandbox import GIB, Limits

HUGE_STRINGS = {"__arr__": {"dtype": "<U134217728", "shape": [2], "data": ["a", "b"]}}


def _call(*args, **kwargs) -> bytes:
    return json.dumps({"kind": "model_call", "id": 1, "method": "__call__",
                       "args": list(args), "kwargs": {"__dict__": kwargs}}).encode()


def _answer_peak(raw: bytes, budget=None):
    """The reply the grader sends for ``raw`` and the most memory (bytes) it allocated to answer it."""
    models = {1: lambda *a, **k: 0.0}
    tracemalloc.start()
    try:
        request = sandbox._model_call(raw, budget)
        reply = remote.answer(models, request)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return reply, peak


@pytest.mark.parametrize("arg, why", [
    (HUGE_STRINGS, "strings of 134,217,728 characters"),
    ({"__arr__": {"dtype": "<f8", "shape": [10 ** 6, 10 ** 6], "data": ""}}, "array of more than 64 MiB"),
    ({"__arr__": {"dtype": "|O", "shape": [1], "data": ""}}, "dtype object"),
    ({"__arr__": {"dtype": "(1000,1000)f8", "shape": [1], "data": ""}}, "dtype"),
    ({"__arr__": {"dtype": [["a", "<f8"]], "shape": [1], "data": ""}}, "unknown type"),
    ({"__arr__": {"dtype": "V16", "shape": [1], "data": ""}}, "dtype |V16"),
    ({"__arr__": {"dtype": "<f8", "shape": [4], "data": base64.b64encode(b"x" * 8).decode()}},
     "does not match its shape"),
    ({"__arr__": {"dtype": "<U3", "shape": [3], "data": ["a", "b"]}}, "does not match its shape"),
    ({"__arr__": {"dtype": "<U1", "shape": [1], "data": ["abcdef"]}}, "longer than their dtype"),
])
def test_forged_model_calls_are_refused_before_allocating(arg, why):
    reply, peak = _answer_peak(_call(arg))
    assert reply["ok"] is False and reply["error"] == "ValueError", reply
    assert "the grader refused this call" in reply["message"] and why in reply["message"], reply["message"]
    assert peak < 4 * 1024 ** 2, f"the grader allocated {peak / 1024 ** 2:.0f} MiB to refuse a forged call"


def test_many_small_values_and_deep_nesting_are_refused():
    reply, peak = _answer_peak(_call([0.0] * 1_100_000))
    assert reply["ok"] is False and "more than 1,000,000 values" in reply["message"]
    reply, _ = _answer_peak(b'{"kind": "model_call", "args": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert reply["ok"] is False and "refused" in reply["message"]


def test_a_submission_budget_refuses_calls_past_it():
    budget = remote.Budget(limit=3 * 8 * 1000)
    arr = remote.encode_args(np.zeros(1000))
    for _ in range(3):
        assert _answer_peak(_call(arr), budget)[0]["ok"] is True
    reply, _ = _answer_peak(_call(arr), budget)
    assert reply["ok"] is False and "in this submission" in reply["message"]


@pytest.mark.parametrize("value", [
    np.arange(12.0).reshape(3, 4), np.array([[1, 2], [3, 4]], dtype=np.int32), np.zeros((0, 5)),
    np.array(["a good film", "é", ""]), np.array("one sentence"), np.array([True, False]),
    [[0.5, 1.5], [2.5, 3.5]], ("text", 3, None), {"k": np.ones(2, dtype=np.float32)},
])
def test_honest_arguments_still_reach_the_model(value):
    seen = {}

    def model(x):
        seen["x"] = x
        return 1.0

    request = sandbox._model_call(_call(remote.encode_args(value)))
    reply = remote.answer({1: model}, request)
    assert reply == {"ok": True, "value": 1.0, "tensor": False}
    got = seen["x"]
    if isinstance(value, np.ndarray):
        assert got.dtype == value.dtype and got.shape == value.shape and (got == value).all()
    elif isinstance(value, dict):
        assert got["k"].tolist() == [1.0, 1.0]
    else:
        assert got == value


def _npy(header: dict, body: bytes = b"") -> bytes:
    text = repr(header).encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body


@pytest.mark.parametrize("raw, why", [
    (_npy({"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)}), "does not match its shape"),
    (_npy({"descr": "<U134217728", "fortran_order": False, "shape": (4,)}), "float64"),
    (_npy({"descr": "|O", "fortran_order": False, "shape": (1,)}), "float64"),
    (b"\x93NUMPY\x09\x00junk", "unreadable"),
])
def test_forged_npy_replies_are_refused_before_allocating(raw, why):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=why):
            wire.loads(json.dumps({"__nd__": base64.b64encode(raw).decode()}).encode())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 ** 2


def test_npy_replies_round_trip():
    for x in (np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.array(2.5),
              np.zeros((0, 4))):
        back = wire.loads(wire.dumps(x))
        assert back.shape == x.shape and (back == x).all()


def test_student_code_forging_a_call_through_the_channel_fails_only_itself():
    """The attack of issue 19 §2, end to end: the grader stays small, the student's code gets a clear error."""
    from autograder.testmodels.ch01_pdp_ice import QuadraticModel
    source = textwrap.dedent('''
        import json
        def attack(f):
            channel = type(f).__call__.__globals__["_channel"]
            message = {"kind": "model_call", "id": 1, "method": "__call__", "kwargs": {"__dict__": {}},
                       "args": [{"__arr__": {"dtype": "<U134217728", "shape": [2], "data": ["a", "b"]}}]}
            channel["send"](json.dumps(message).encode("utf-8"))
            return str(channel["receive"]().get("message"))
    ''')
    worker = sandbox.Worker(source, Limits(memory_bytes=1 * GIB), time.monotonic() + 60)
    tracemalloc.start()
    try:
        said = worker.call("attack", {"f": QuadraticModel([1.0])}, time.monotonic() + 30, "timed out")["value"]
        peak = tracemalloc.get_traced_memory()[1]
        honest = worker.call("attack", {"f": QuadraticModel([1.0])}, time.monotonic() + 30, "timed out")["value"]
    finally:
        tracemalloc.stop()
        worker.close()
    assert "the grader refused this call" in said and "134,217,728 characters" in said, said
    assert honest == said                                  # the worker is still in step with the grader
    assert peak < 16 * 1024 ** 2, f"the grader allocated {peak / 1024 ** 2:.0f} MiB"
