"""The sandboxed side of the grader: runs a student's functions, returns plain values.

Started by :class:`autograder.sandbox.Worker` as
``python -m autograder.worker REQUEST_FD RESPONSE_FD`` in a throw-away working
directory, with resource limits already applied. It never decides a score: it
only calls the student's function on the arguments it is sent and sends back
what came out, coerced to float arrays (see :func:`autograder.checks.invoke`).
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import warnings

from autograder import wire
from autograder.checks import CheckFailed, NotAttempted, StudentError, invoke


def _isolate_stdio() -> None:
    """Student output goes to a file in the working directory; nobody reads our pipes by accident."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    out = os.open("student-output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    if hasattr(signal, "SIGXFSZ"):  # past the output cap, writes fail instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _respond(fd: int, payload: dict) -> None:
    try:
        data = wire.dumps(payload)
    except (TypeError, ValueError) as exc:
        data = wire.dumps({"ok": False, "kind": "check_failed", "message": f"the result could not be sent ({exc})"})
    wire.send(fd, data)


def serve(req_fd: int, resp_fd: int) -> None:
    _isolate_stdio()
    warnings.simplefilter("ignore")
    source = pickle.loads(wire.recv(req_fd))["source"]
    namespace = {"__name__": "submission", "__builtins__": __builtins__}
    try:
        exec(compile(source, "<submission>", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001
        from autograder.checks import _summarize
        _respond(resp_fd, {"ok": False, "kind": "load", "summary": _summarize(exc)})
        return
    _respond(resp_fd, {"ok": True, "kind": "ready"})
    while True:
        try:
            request = pickle.loads(wire.recv(req_fd))
        except wire.ChannelClosed:
            return
        fn = namespace.get(request["exercise"])
        if not callable(fn):
            _respond(resp_fd, {"ok": False, "kind": "student_error",
                               "summary": f"`{request['exercise']}` is not a function", "where": ""})
            continue
        try:
            out = invoke(fn, request["kwargs"])
            payload = {"ok": True, "value": out["value"], "args_after": out["args_after"]}
        except NotAttempted:
            payload = {"ok": False, "kind": "not_attempted"}
        except StudentError as exc:
            payload = {"ok": False, "kind": "student_error", "summary": exc.summary, "where": exc.where}
        except CheckFailed as exc:
            payload = {"ok": False, "kind": "check_failed", "message": exc.message, "hint": exc.hint}
        _respond(resp_fd, payload)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
    os._exit(0)  # skip interpreter teardown: a student's atexit hooks or threads get no say
