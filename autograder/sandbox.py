"""The grader's side of a sandboxed worker: start it, call into it, kill it.

Each submission gets its own worker process (``python -m autograder.worker``)
with its own temporary working directory, in its own process group and session,
with a memory cap (``RLIMIT_AS``), a cap on the size of files it writes, a CPU
backstop and a clean environment. The grader applies a wall-clock deadline to
every call, kills the worker when it is exceeded, and reads back only JSON (see
:mod:`autograder.wire`), so values are compared in the grader's own process.

Where Linux user namespaces are available (``isolation="auto"``, the default,
or ``"namespace"``) the worker also runs in its own user, mount, PID, network
and IPC namespaces, in a read-only view of the file system that holds only what
Python needs, without privileges: it cannot see the instructor's source
notebooks, solutions, hidden checks, other students' notebooks or the output
folder, cannot write anywhere but its working directory, has no network and
cannot signal any other process. Where they are not (macOS, some hardened
Linux), ``"auto"`` falls back to process limits only and every report says so
(``isolation_description``). See :mod:`autograder.worker` for the details.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from autograder import wire
from autograder.checks import CheckFailed, NotAttempted, StudentError, Timeout, WorkerDied

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds autograder/ (and imlbook/)
GIB = 1024 ** 3
NOBODY = 65534

# What the worker may see of the repository, and what stays masked even if a bound folder contains it.
VISIBLE_IN_REPO = ("autograder", "imlbook")
MASKED_IN_REPO = ("autograder/hidden", "autograder/answers", "source", "solutions", "release", ".git", "submitted", "autograded",
                  "feedback", "gradebook.db")
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


@dataclasses.dataclass
class Limits:
    exercise_s: float = 30.0          # wall clock for all checks of one exercise
    notebook_s: float = 300.0         # wall clock for a whole notebook
    load_s: float = 60.0              # importing the notebook's imports and definitions
    memory_bytes: int = 4 * GIB       # address space of the worker
    output_bytes: int = 16 * 1024 ** 2  # largest file the student's code may write (prints are discarded)
    message_bytes: int = 64 * 1024 ** 2  # largest reply the grader reads from a worker
    isolation: str = "auto"           # "auto" | "namespace" | "none"
    hide_paths: Tuple[str, ...] = ()  # more paths the worker must not see (the batch adds submissions and output)

    def describe_memory(self) -> str:
        return f"{self.memory_bytes / GIB:g} GiB"


class LoadFailed(Exception):
    """The notebook's imports and definitions raised when run."""


class SandboxUnavailable(RuntimeError):
    """``isolation="namespace"`` was asked for and this machine cannot provide it."""


# ----------------------------------------------------------------------------
# Which isolation this machine gives
# ----------------------------------------------------------------------------
_state_lock = threading.Lock()
_namespace_problem: Optional[str] = None   # why namespaces do not work here, once a worker found out
_jail_notes: List[str] = []                # what the jail could not provide (e.g. no /proc)
_namespace_confirmed = False               # a namespaced worker has started in this process
_SELF_MAP_FOR_TESTS = False                # map only our own uid even as root (what a non-root grader does)


def isolation_description(limits: Optional[Limits] = None) -> str:
    """One line for reports: how student code was isolated."""
    limits = limits or Limits()
    mode = _mode(limits)
    base = (f"separate process per submission, own temporary folder, "
            f"{limits.describe_memory()} memory cap, {limits.exercise_s:g} s per exercise, "
            f"{limits.notebook_s:g} s per notebook")
    if mode == "namespace":
        who = "as nobody" if os.geteuid() == 0 and not _SELF_MAP_FOR_TESTS else "without capabilities"
        extra = f" ({'; '.join(sorted(set(_jail_notes)))})" if _jail_notes else ""
        return (f"namespaces: read-only private file system without the course's solutions, hidden checks or "
                f"other submissions, no network, own process tree, {who}{extra}; {base}")
    why = _namespace_problem if limits.isolation == "auto" and _namespace_problem else "isolation='none'"
    return f"process limits only, no file-system isolation ({why}); {base}"


def _mode(limits: Limits) -> str:
    if limits.isolation == "none" or not sys.platform.startswith("linux"):
        return "none"
    if limits.isolation == "auto" and _namespace_problem is not None:
        return "none"
    return "namespace"


def _disable_namespaces(why: str) -> None:
    global _namespace_problem
    with _state_lock:
        if _namespace_problem is None:
            _namespace_problem = f"user namespaces unavailable: {why}"


def probe(limits: Optional[Limits] = None) -> str:
    """Start one empty worker to find out which isolation works here; returns the description.

    Raises :class:`SandboxUnavailable` when ``limits.isolation == "namespace"`` cannot be had.
    """
    limits = limits or Limits()
    try:
        Worker("", dataclasses.replace(limits, load_s=max(limits.load_s, 30.0)),
               time.monotonic() + max(limits.notebook_s, 30.0)).close()
    except LoadFailed as exc:
        if limits.isolation == "namespace":
            raise SandboxUnavailable(str(exc)) from None
    return isolation_description(limits)


def _jail_config(workdir: str, newroot: str, limits: Limits) -> Dict[str, Any]:
    """What the worker binds read-only into its new root, and what it masks."""
    root = str(PACKAGE_ROOT)
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    wanted: List[str] = list(SYSTEM_PATHS) + sorted(prefixes)
    for entry in sys.path:  # site-packages and zips only: never the folder the grader was started from
        name = os.path.basename(entry.rstrip(os.sep))
        if entry and os.path.isabs(entry) and os.path.exists(entry) and (
                name in ("site-packages", "dist-packages", "lib-dynload") or name.endswith((".zip", ".egg"))):
            wanted.append(entry)
    wanted += [os.path.join(root, name) for name in VISIBLE_IN_REPO]
    data = os.environ.get("IMLBOOK_DATA", "").strip()
    if data and os.path.isdir(os.path.abspath(data)):
        wanted.append(os.path.abspath(data))

    def allowed(path: str) -> bool:
        if path == os.sep or (root + os.sep).startswith(path.rstrip(os.sep) + os.sep):
            return False  # the repository itself or a folder holding it
        if not path.startswith(root + os.sep):
            return True
        return any(path == p or path.startswith(p + os.sep)
                   for p in [os.path.join(root, n) for n in VISIBLE_IN_REPO] + sorted(prefixes))

    ro: List[str] = []
    symlinks: List[Tuple[str, str]] = []
    for path in wanted:
        path = os.path.abspath(path)
        if not os.path.lexists(path) or not allowed(path):
            continue
        if os.path.islink(path):
            symlinks.append((path, os.readlink(path)))
            path = os.path.realpath(path)
            if not allowed(path):
                continue
        for candidate in {path, os.path.realpath(path)}:
            if os.path.exists(candidate):
                ro.append(candidate)
    ro = sorted(set(ro), key=lambda p: (p.count(os.sep), p))
    chosen: List[str] = []
    for path in ro:
        if not any(path.startswith(p.rstrip(os.sep) + os.sep) for p in chosen):
            chosen.append(path)
    hide = [os.path.join(root, name) for name in MASKED_IN_REPO]
    for path in map(os.path.abspath, limits.hide_paths):  # never a folder that holds what the worker needs
        if not any((p + os.sep).startswith(path.rstrip(os.sep) + os.sep) for p in chosen):
            hide.append(path)
    cpu_s = int(limits.notebook_s + limits.load_s + 30)
    return {"mode": "namespace", "newroot": newroot, "workdir": workdir, "ro": chosen, "symlinks": symlinks,
            "hide": hide, "drop": "nobody" if os.geteuid() == 0 and not _SELF_MAP_FOR_TESTS else "caps",
            "memory_bytes": limits.memory_bytes, "output_bytes": limits.output_bytes, "cpu_s": cpu_s}


# ----------------------------------------------------------------------------
# Live workers (so that an interrupted batch can kill them all)
# ----------------------------------------------------------------------------
_live: "set[Worker]" = set()
_stopping = threading.Event()


def stop_all() -> None:
    """Kill every live worker and refuse new ones until :func:`allow_new` (an interrupted batch)."""
    _stopping.set()
    for worker in list(_live):
        try:
            worker.close()
        except Exception:  # noqa: BLE001
            pass


def allow_new() -> None:
    _stopping.clear()


class Worker:
    """One sandboxed process holding one submission's definitions."""

    def __init__(self, source: str, limits: Limits, deadline: float):
        if _stopping.is_set():
            raise LoadFailed("the grader is stopping")
        self.limits = limits
        self.proc: Optional[subprocess.Popen] = None
        self._req_w = self._resp_r = -1
        self._jail_pidfd: Optional[int] = None
        self._jail_pid: Optional[int] = None
        self.base = tempfile.mkdtemp(prefix="autograder-")
        self.workdir = os.path.join(self.base, "work")
        os.mkdir(self.workdir, 0o700)
        _live.add(self)
        load_deadline = min(deadline, time.monotonic() + limits.load_s)
        try:
            self.mode = _mode(limits)
            if self.mode == "namespace":
                self._start_namespaced(limits, load_deadline)
            if self.mode == "none":
                self._start(limits, load_deadline)
            self._load(source, load_deadline, deadline)
        except BaseException:
            self.close()
            raise

    def _start_namespaced(self, limits: Limits, deadline: float) -> None:
        """Start in namespaces. Before namespaces ever worked here a failure means "not available" (auto:
        fall back); after, it is a passing problem (retried), never a reason to weaken the sandbox, since
        another submission's code is running by then."""
        global _namespace_confirmed
        attempts = 3 if _namespace_confirmed else 1
        for attempt in range(attempts):
            try:
                self._start(limits, deadline)
                _namespace_confirmed = True
                return
            except _NoNamespace as exc:
                self._stop_process()
                if _namespace_confirmed or limits.isolation == "namespace":
                    if attempt + 1 < attempts and time.monotonic() < deadline:
                        time.sleep(0.2 * (attempt + 1))
                        continue
                    raise LoadFailed(f"the grader's sandbox could not start ({exc}); this is not caused by your "
                                     f"code: ask your instructor to grade it again") from None
                _disable_namespaces(str(exc))
                self.mode = "none"
                return

    # ------------------------------------------------------------------
    def _start(self, limits: Limits, deadline: float) -> None:
        mode = self.mode
        if mode == "namespace":
            newroot = os.path.join(self.base, "root")
            os.makedirs(newroot, exist_ok=True)
            cfg = _jail_config(self.workdir, newroot, limits)
            if cfg["drop"] == "nobody":
                os.chown(self.workdir, NOBODY, NOBODY)
        else:
            cfg = {"mode": "none", "memory_bytes": limits.memory_bytes, "output_bytes": limits.output_bytes,
                   "cpu_s": int(limits.notebook_s + limits.load_s + 30)}
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.workdir, "TMPDIR": self.workdir, "KERAS_HOME": os.path.join(self.workdir, ".keras"),
            "PYTHONPATH": str(PACKAGE_ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": self.workdir,
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "", "LANG": "C.UTF-8",
        }
        if os.environ.get("IMLBOOK_DATA"):
            env["IMLBOOK_DATA"] = os.path.abspath(os.environ["IMLBOOK_DATA"])
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.worker", str(req_r), str(resp_w), json.dumps(cfg)],
                pass_fds=(req_r, resp_w), cwd=self.workdir, env=env, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(req_r)
            os.close(resp_w)
        first = self._handshake(deadline)
        if mode == "none":
            self._expect(first, "ready_to_load")
            return
        if first.get("kind") == "unshare_failed":
            raise _NoNamespace(str(first.get("why", "unshare failed")))
        self._expect(first, "unshared")
        try:
            self._write_id_maps(self.proc.pid)
        except OSError as exc:
            raise _NoNamespace(f"cannot write the uid map ({exc.strerror or exc})") from None
        wire.send(self._req_w, json.dumps({"mapped": True}).encode())
        child = self._handshake(deadline)
        self._expect(child, "child")
        self._jail_pid = int(child["pid"])
        try:
            self._jail_pidfd = os.pidfd_open(self._jail_pid)
        except (AttributeError, OSError):
            self._jail_pidfd = None
        ready = self._handshake(deadline)
        if ready.get("kind") == "jail_failed":
            raise _NoNamespace(str(ready.get("why", "could not build the file-system view")))
        self._expect(ready, "ready_to_load")
        notes = [str(n)[:100] for n in ready.get("notes", []) if isinstance(n, str)]
        if notes:
            with _state_lock:
                _jail_notes[:] = sorted(set(_jail_notes) | set(notes))

    def _handshake(self, deadline: float) -> dict:
        try:
            reply = json.loads(wire.recv(self._resp_r, deadline, max_bytes=1 << 20).decode("utf-8"))
        except wire.ChannelTimeout:
            raise (_NoNamespace("the sandbox did not start in time") if self.mode == "namespace"
                   else LoadFailed("the grader's worker did not start in time")) from None
        except (wire.ChannelClosed, ValueError, UnicodeDecodeError):
            why = self._exit_description()
            raise (_NoNamespace(f"the sandbox stopped while starting ({why})") if self.mode == "namespace"
                   else LoadFailed(f"the grader's worker could not start ({why})")) from None
        return reply if isinstance(reply, dict) else {}

    def _expect(self, reply: dict, kind: str) -> None:
        if reply.get("kind") != kind:
            raise (_NoNamespace if self.mode == "namespace" else LoadFailed)(
                f"unexpected message while starting the worker: {str(reply.get('kind'))[:50]}")

    @staticmethod
    def _write_id_maps(pid: int) -> None:
        uid, gid = os.geteuid(), os.getegid()
        if uid == 0 and not _SELF_MAP_FOR_TESTS:
            maps = {"uid_map": f"0 0 1\n{NOBODY} {NOBODY} 1\n", "gid_map": f"0 0 1\n{NOBODY} {NOBODY} 1\n"}
        else:
            with open(f"/proc/{pid}/setgroups", "w") as fh:
                fh.write("deny")
            maps = {"uid_map": f"0 {uid} 1\n", "gid_map": f"0 {gid} 1\n"}
        for name, text in maps.items():
            with open(f"/proc/{pid}/{name}", "w") as fh:
                fh.write(text)

    def _load(self, source: str, load_deadline: float, deadline: float) -> None:
        wire.send(self._req_w, pickle.dumps({"source": source}))
        try:
            reply = wire.loads(wire.recv(self._resp_r, load_deadline, max_bytes=1 << 20))
        except wire.ChannelTimeout:
            raise LoadFailed(f"loading your notebook's imports and functions took more than "
                             f"{min(self.limits.load_s, max(0, deadline - time.monotonic())):.0f} s") from None
        except (wire.ChannelClosed, ValueError, UnicodeDecodeError) as exc:
            raise LoadFailed(f"the process loading your notebook stopped ({self._exit_description() or exc})") \
                from None
        if not (isinstance(reply, dict) and reply.get("ok")):
            summary = str(reply.get("summary", "unknown error"))[:300] if isinstance(reply, dict) else "unknown error"
            raise LoadFailed(f"running your notebook's imports and function definitions raised {summary}")

    # ------------------------------------------------------------------
    def call(self, exercise: str, kwargs: Dict[str, Any], deadline: float, what_deadline: str) -> Dict[str, Any]:
        """Run ``exercise(**kwargs)`` in the worker. Returns ``{"value", "args_after", "type"}`` or raises like :func:`invoke`."""
        if time.monotonic() >= deadline:
            raise Timeout(what_deadline)
        try:
            wire.send(self._req_w, pickle.dumps({"exercise": exercise, "kwargs": kwargs}))
            raw = wire.recv(self._resp_r, deadline, max_bytes=self.limits.message_bytes)
        except wire.ChannelTimeout:
            self.close()
            raise Timeout(what_deadline) from None
        except wire.ChannelTooLarge as exc:
            self.close()
            raise WorkerDied(f"your function returned {exc.size / 1024 ** 2:.0f} MB of data, more than the "
                             f"grader accepts ({self.limits.message_bytes / 1024 ** 2:.0f} MB)") from None
        except (wire.ChannelClosed, BrokenPipeError, OSError):
            reason = self._exit_description()
            self.close()
            raise WorkerDied(reason) from None
        try:
            reply = wire.loads(raw)
            if not isinstance(reply, dict):
                raise ValueError("not a dict")
        except (ValueError, UnicodeDecodeError, KeyError, TypeError, RecursionError) as exc:
            self.close()
            raise WorkerDied(f"the grader could not read what your code returned ({str(exc)[:100]})") from None
        if reply.get("ok"):
            value, after, returned = reply.get("value"), reply.get("args_after"), reply.get("type")
            if not isinstance(after, dict):
                after = {}
            try:
                wire.check_plain(value)
                wire.check_plain(after)
                wire.check_plain(returned)
            except ValueError as exc:
                self.close()
                raise WorkerDied(f"the grader could not read what your code returned ({exc})") from None
            return {"value": value, "args_after": after, "type": returned}
        kind = reply.get("kind")
        if kind == "not_attempted":
            raise NotAttempted()
        if kind == "check_failed":
            raise CheckFailed(str(reply.get("message", ""))[:500], str(reply.get("hint", ""))[:300])
        summary = str(reply.get("summary", "an error"))[:300]
        if summary.startswith("MemoryError"):
            summary = f"MemoryError: it used more than {self.limits.describe_memory()} of memory"
        raise StudentError(summary, str(reply.get("where", ""))[:200])

    def _exit_description(self) -> str:
        if self.proc is None:
            return "the grader's worker did not start"
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the grader's worker stopped answering"
        if code is None:
            return "the grader's worker stopped answering"
        if code < 0:
            sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            if sig == "SIGKILL":
                return (f"the process running your code was killed ({sig}), e.g. because it used more than "
                        f"{self.limits.describe_memory()} of memory")
            if sig == "SIGXCPU":
                return "the process running your code used too much CPU time and was stopped"
            return f"the process running your code was killed by {sig}"
        if code == 86:  # worker.BROKEN
            return ("the grader's worker failed after running your code: it probably replaced something Python "
                    "or NumPy needs (a built-in function, a module attribute); do not monkeypatch them")
        return f"your code ended the grader's worker process (exit code {code}); do not call sys.exit or os._exit"

    def _stop_process(self) -> None:
        if self._jail_pidfd is not None:
            try:
                signal.pidfd_send_signal(self._jail_pidfd, signal.SIGKILL)
            except (OSError, AttributeError):
                pass
        elif self._jail_pid is not None and self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self._jail_pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self._req_w, self._resp_r, self._jail_pidfd):
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._req_w = self._resp_r = -1
        self._jail_pidfd, self._jail_pid = None, None

    def close(self) -> None:
        self._stop_process()
        _live.discard(self)
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = ""

    @property
    def alive(self) -> bool:
        return self._req_w != -1 and self.proc is not None and self.proc.poll() is None


class _NoNamespace(Exception):
    """Starting the namespaced worker failed: fall back (auto) or give up (namespace)."""
