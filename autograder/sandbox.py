"""The grader's side of a sandboxed worker: start it, call into it, kill it.

Each submission gets its own worker process (``python -m autograder.worker``)
in a fresh temporary directory, in its own process group, with a memory cap
(``RLIMIT_AS``), a cap on the size of files it writes, and a clean environment. The grader applies
a wall-clock deadline to every call, kills the whole process group when it is
exceeded, and reads back only JSON (see :mod:`autograder.wire`).
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional

from autograder import wire
from autograder.checks import CheckFailed, NotAttempted, StudentError, Timeout, WorkerDied

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds autograder/ (and imlbook/)
GIB = 1024 ** 3


@dataclasses.dataclass
class Limits:
    exercise_s: float = 30.0          # wall clock for all checks of one exercise
    notebook_s: float = 300.0         # wall clock for a whole notebook
    load_s: float = 60.0              # importing the notebook's imports and definitions
    memory_bytes: int = 4 * GIB       # address space of the worker
    output_bytes: int = 16 * 1024 ** 2  # what the student's code may write to files (prints included)

    def describe_memory(self) -> str:
        return f"{self.memory_bytes / GIB:g} GiB"


class LoadFailed(Exception):
    """The notebook's imports and definitions raised when run."""


class Worker:
    """One sandboxed process holding one submission's definitions."""

    def __init__(self, source: str, limits: Limits, deadline: float):
        self.limits = limits
        self.workdir = tempfile.mkdtemp(prefix="autograder-")
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.workdir, "TMPDIR": self.workdir,
            "PYTHONPATH": str(PACKAGE_ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": self.workdir,
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "",
        }

        def preexec():  # runs in the child, before exec
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", str(req_r), str(resp_w)],
            pass_fds=(req_r, resp_w), cwd=self.workdir, env=env, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=preexec)
        os.close(req_r)
        os.close(resp_w)
        wire.send(self._req_w, pickle.dumps({"source": source}))
        load_deadline = min(deadline, time.monotonic() + limits.load_s)
        try:
            reply = wire.loads(wire.recv(self._resp_r, load_deadline))
        except wire.ChannelTimeout:
            self.close()
            raise LoadFailed(f"loading your notebook's imports and functions took more than "
                             f"{min(limits.load_s, max(0, deadline - time.monotonic())):.0f} s") from None
        except (wire.ChannelClosed, ValueError) as exc:
            code = self._exit_description()
            self.close()
            raise LoadFailed(f"the process loading your notebook stopped ({code or exc})") from None
        if not (isinstance(reply, dict) and reply.get("ok")):
            summary = reply.get("summary", "unknown error") if isinstance(reply, dict) else "unknown error"
            self.close()
            raise LoadFailed(f"running your notebook's imports and function definitions raised {summary}")

    # ------------------------------------------------------------------
    def call(self, exercise: str, kwargs: Dict[str, Any], deadline: float, what_deadline: str) -> Dict[str, Any]:
        """Run ``exercise(**kwargs)`` in the worker. Returns ``{"value", "args_after"}`` or raises like :func:`invoke`."""
        if time.monotonic() >= deadline:
            raise Timeout(what_deadline)
        try:
            wire.send(self._req_w, pickle.dumps({"exercise": exercise, "kwargs": kwargs}))
            raw = wire.recv(self._resp_r, deadline)
        except wire.ChannelTimeout:
            self.close()
            raise Timeout(what_deadline) from None
        except (wire.ChannelClosed, BrokenPipeError, OSError):
            reason = self._exit_description()
            self.close()
            raise WorkerDied(reason) from None
        try:
            reply = wire.loads(raw)
            if not isinstance(reply, dict):
                raise ValueError("not a dict")
        except (ValueError, UnicodeDecodeError, KeyError) as exc:
            self.close()
            raise WorkerDied(f"the grader could not read what your code returned ({exc})") from None
        if reply.get("ok"):
            value, after = reply.get("value"), reply.get("args_after")
            if not isinstance(after, dict):
                after = {}
            return {"value": value, "args_after": after}
        kind = reply.get("kind")
        if kind == "not_attempted":
            raise NotAttempted()
        if kind == "check_failed":
            raise CheckFailed(str(reply.get("message", ""))[:500], str(reply.get("hint", ""))[:300])
        summary = str(reply.get("summary", "an error"))[:300]
        if summary.startswith("MemoryError"):
            summary = f"MemoryError (more than {self.limits.describe_memory()} of memory)"
        raise StudentError(summary, str(reply.get("where", ""))[:200])

    def _exit_description(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the grader's worker stopped answering"
        if code is None:
            return "the grader's worker stopped answering"
        if code < 0:
            sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            if sig == "SIGKILL":
                return (f"the process running your code was killed ({sig}); it probably used more than "
                        f"{self.limits.describe_memory()} of memory")
            return f"the process running your code was killed by {sig}"
        return f"your code ended the grader's worker process (exit code {code}); do not call sys.exit or os._exit"

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self._req_w, self._resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._req_w = self._resp_r = -1
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self._req_w != -1 and self.proc.poll() is None
