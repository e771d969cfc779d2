"""The grader's side of a sandboxed worker: start it, call into it, kill it.

Each submission gets its own worker process (``python -m autograder.worker``, or
forked from a template that already imported the chapter's ``WORKER_PRELOAD``:
the fork server below) with its own temporary working directory, in its own
process group and session, with a memory cap (``RLIMIT_AS``), a cap on the size
of files it writes, a cap on its processes and disk (see :class:`Limits`), a CPU
backstop and a clean environment. Test models stay in the grader's process
(:mod:`autograder.remote`). The grader applies a wall-clock deadline to
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

import atexit
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

from autograder import remote, wire
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
    disk_bytes: int = 256 * 1024 ** 2   # all files together: the working directory is a tmpfs this large (namespaces)
    processes: int = 64                 # processes the student's code may run at once (RLIMIT_NPROC, see worker)
    message_bytes: int = 64 * 1024 ** 2  # largest reply the grader reads from a worker
    isolation: str = "auto"           # "auto" | "namespace" | "none"
    # Start workers from a template process that already imported the chapter's WORKER_PRELOAD (a fork server);
    # IMLBOOK_FORK_SERVER=0 turns it off (each worker is then a fresh `python -m autograder.worker`).
    fork_server: bool = dataclasses.field(default_factory=lambda: os.environ.get("IMLBOOK_FORK_SERVER", "1") != "0")
    hide_paths: Tuple[str, ...] = ()  # more paths the worker must not see (the batch adds submissions and output)

    def describe_memory(self) -> str:
        return f"{self.memory_bytes / GIB:g} GiB"

    def describe_disk(self) -> str:
        return f"{self.disk_bytes / 1024 ** 2:g} MB"


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
        base += f", at most {limits.processes} processes, {limits.describe_disk()} of disk"
    elif os.geteuid() != 0:
        base += f", at most {limits.processes} more processes, disk not capped beyond {limits.output_bytes >> 20} MB per file"
    else:
        base += f", processes not capped (root without namespaces), disk not capped beyond {limits.output_bytes >> 20} MB per file"
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
            "memory_bytes": limits.memory_bytes, "output_bytes": limits.output_bytes, "cpu_s": cpu_s,
            "disk_bytes": limits.disk_bytes, "processes": limits.processes, "message_bytes": limits.message_bytes}


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
    close_templates()


def allow_new() -> None:
    _stopping.clear()


# ----------------------------------------------------------------------------
# The fork server: a template process per set of preloaded libraries
# ----------------------------------------------------------------------------
class _ForkedProcess:
    """The part of :class:`subprocess.Popen` the Worker uses, for a worker forked by a template."""

    def __init__(self, template: "_Template", pid: int):
        self.template, self.pid = template, pid
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        if self.returncode is None:
            self.returncode = self.template.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        until = None if timeout is None else time.monotonic() + timeout
        with self.template.changed:
            while self.poll() is None:
                left = None if until is None else until - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired("worker", timeout)
                self.template.changed.wait(left if left is not None else 1.0)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass


class _Template:
    """A ``python -m autograder.worker --template`` process (see :func:`autograder.worker.template_main`)."""

    def __init__(self, preload: Tuple[str, ...], env: Dict[str, str]):
        import socket
        self.preload = preload
        self.home = tempfile.mkdtemp(prefix="autograder-template-")
        env = dict(env, HOME=self.home, TMPDIR=self.home, MPLCONFIGDIR=self.home,
                   KERAS_HOME=os.path.join(self.home, ".keras"))
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.lock = threading.Lock()            # one request at a time
        self.changed = threading.Condition()    # an exit status or a reply arrived
        self.exits: Dict[int, int] = {}
        self.replies: List[dict] = []
        self.dead = False
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.worker", "--template", str(theirs.fileno()), json.dumps(list(preload))],
                pass_fds=(theirs.fileno(),), cwd=self.home, env=env, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            theirs.close()
        self.sock.settimeout(120)
        try:
            ready = json.loads(self.sock.recv(1 << 16).decode("utf-8"))
        except (OSError, ValueError):
            ready = {}
        self.sock.settimeout(None)
        self.threads = int(ready.get("threads", 0)) if ready.get("kind") == "template_ready" else 0
        self.failed = list(ready.get("failed", []))
        threading.Thread(target=self._read, daemon=True, name="autograder-template").start()

    @property
    def usable(self) -> bool:
        """Forking is safe only from a single-threaded template."""
        return not self.dead and self.threads == 1 and self.proc.poll() is None

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
                msg = json.loads(data.decode("utf-8")) if data else None
            except (OSError, ValueError):
                msg = None
            with self.changed:
                if msg is None:
                    self.dead = True
                    self.changed.notify_all()
                    return
                if msg.get("kind") == "exited":
                    self.exits[int(msg["pid"])] = int(msg["code"])
                elif msg.get("kind") == "forked":
                    self.replies.append(msg)
                self.changed.notify_all()

    def exit_code(self, pid: int) -> Optional[int]:
        with self.changed:
            if pid in self.exits:
                return self.exits[pid]
            return -signal.SIGKILL if self.dead else None

    def spawn(self, req_r: int, resp_w: int, cfg: dict, env: Dict[str, str], cwd: str, timeout: float = 30.0):
        import socket
        request = json.dumps({"cfg": cfg, "env": env, "cwd": cwd}).encode("utf-8")
        with self.lock:
            socket.send_fds(self.sock, [request], [req_r, resp_w])
            until = time.monotonic() + timeout
            with self.changed:
                while not self.replies:
                    if self.dead or time.monotonic() > until:
                        raise OSError("the template process did not answer")
                    self.changed.wait(0.5)
                reply = self.replies.pop(0)
        return _ForkedProcess(self, int(reply["pid"]))

    def close(self) -> None:
        self.dead = True
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.home, ignore_errors=True)


_keeper_jobs: "list" = []
_keeper_cv = threading.Condition()


def _keeper() -> None:
    while True:
        with _keeper_cv:
            while not _keeper_jobs:
                _keeper_cv.wait()
            job, box, done = _keeper_jobs.pop(0)
        try:
            box.append(job())
        except BaseException as exc:  # noqa: BLE001
            box.append(exc)
        done.set()


def _start_in_keeper(job):
    """Run ``job`` in one long-lived thread. A template dies with the thread that started it (its parent-death
    signal is tied to that thread), so it is never started from a batch's worker threads, which end."""
    global _keeper_thread
    with _keeper_cv:
        if _keeper_thread is None:
            _keeper_thread = threading.Thread(target=_keeper, daemon=True, name="autograder-template-keeper")
            _keeper_thread.start()
        box: list = []
        done = threading.Event()
        _keeper_jobs.append((job, box, done))
        _keeper_cv.notify()
    done.wait()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


_keeper_thread: Optional[threading.Thread] = None
_templates: Dict[Tuple, _Template] = {}
_templates_lock = threading.Lock()


def _template_for(preload: Tuple[str, ...], env: Dict[str, str]) -> Optional[_Template]:
    """The running template for these libraries and this environment (started on first use), if usable."""
    key = (preload, tuple(sorted((k, v) for k, v in env.items() if k not in PER_WORKER_ENV)))
    with _templates_lock:
        template = _templates.get(key)
        if template is not None and not template.usable and template.threads == 1:
            template.close()  # it died (e.g. the thread that started it ended): start another
            template = None
        if template is None:
            template = _start_in_keeper(lambda: _Template(preload, env))
            _templates[key] = template
    return template if template.usable else None


def close_templates() -> None:
    with _templates_lock:
        for template in _templates.values():
            template.close()
        _templates.clear()


def template_notes() -> List[str]:
    """What the fork server did (for the benchmark and the report): one line per template."""
    with _templates_lock:
        return [f"{', '.join(t.preload) or 'no libraries'}: "
                + ("in use" if t.usable else f"not used ({t.threads} threads after the imports)")
                + (f"; could not import {', '.join(t.failed)}" if t.failed else "") for t in _templates.values()]


def worker_env(workdir: str) -> Dict[str, str]:
    """The clean environment of a worker whose working directory is ``workdir``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": workdir, "TMPDIR": workdir, "KERAS_HOME": os.path.join(workdir, ".keras"),
        "PYTHONPATH": str(PACKAGE_ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": workdir,
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "", "LANG": "C.UTF-8",
    }
    if os.environ.get("IMLBOOK_DATA"):
        env["IMLBOOK_DATA"] = os.path.abspath(os.environ["IMLBOOK_DATA"])
    return env


def prepare(preload: Tuple[str, ...], limits: Limits) -> None:
    """Start the template for ``preload`` now (if the fork server is on), so that its imports are not counted
    in a student's time limits."""
    if limits.fork_server and preload and not _stopping.is_set():
        _template_for(tuple(preload), worker_env(tempfile.gettempdir()))


PER_WORKER_ENV = ("HOME", "TMPDIR", "KERAS_HOME", "MPLCONFIGDIR")
atexit.register(close_templates)


class Worker:
    """One sandboxed process holding one submission's definitions."""

    def __init__(self, source: str, limits: Limits, deadline: float, preload: Tuple[str, ...] = ()):
        if _stopping.is_set():
            raise LoadFailed("the grader is stopping")
        self.limits = limits
        self.preload = tuple(preload)
        self.forked = False  # started by a template (fork server) rather than as a new interpreter
        self.proc: Optional[subprocess.Popen] = None
        self._req_w = self._resp_r = -1
        self._jail_pidfd: Optional[int] = None
        self._jail_pid: Optional[int] = None
        self.model_calls = 0  # test-model calls answered for this worker (one per batch a solution sends)
        self.stopped: List[dict] = []  # what the sandbox's limits stopped, per call (see _note_stopped)
        self.base = tempfile.mkdtemp(prefix="autograder-")
        self.workdir = os.path.join(self.base, "work")
        os.mkdir(self.workdir, 0o700)
        _live.add(self)
        load_deadline = min(deadline, time.monotonic() + limits.load_s)
        self.timing: Dict[str, float] = {}
        try:
            self.mode = _mode(limits)
            t0 = time.perf_counter()
            if self.mode == "namespace":
                self._start_namespaced(limits, load_deadline)
            if self.mode == "none":
                self._start(limits, load_deadline)
            t1 = time.perf_counter()
            self._load(source, load_deadline, deadline)
            self.timing = {"start_s": t1 - t0, "load_s": time.perf_counter() - t1}
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
                   "cpu_s": int(limits.notebook_s + limits.load_s + 30), "processes": limits.processes,
                   "workdir": self.workdir, "message_bytes": limits.message_bytes}
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        env = worker_env(self.workdir)
        template = _template_for(self.preload, env) if limits.fork_server and self.preload else None
        try:
            if template is not None:
                try:
                    self.proc = template.spawn(req_r, resp_w, cfg, env, self.workdir)
                    self.forked = True
                except OSError:
                    template = None
            if template is None:
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
        models: Dict[int, Any] = {}  # the test models stay here; the worker gets remote.TestModel stand-ins
        try:
            wire.send(self._req_w, pickle.dumps({"exercise": exercise, "kwargs": remote.stub_out(kwargs, models)}))
            while True:
                raw = wire.recv(self._resp_r, deadline, max_bytes=self.limits.message_bytes)
                request = _model_call(raw)
                if request is None:
                    break
                self.model_calls += 1
                wire.send(self._req_w, pickle.dumps(remote.answer(models, request)))
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
            reply = wire.decode(json.loads(raw.decode("utf-8")))
            if not isinstance(reply, dict):
                raise ValueError("not a dict")
        except (ValueError, UnicodeDecodeError, KeyError, TypeError, RecursionError) as exc:
            self.close()
            raise WorkerDied(f"the grader could not read what your code returned ({str(exc)[:100]})") from None
        self._note_stopped(exercise, reply.get("sandbox"), str(reply.get("summary", "")))
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
        if kind == "too_large":
            self.close()
            size = reply.get("bytes") if isinstance(reply.get("bytes"), (int, float)) else 0
            raise WorkerDied(f"your function returned {size / 1024 ** 2:.0f} MB of data, more than the "
                             f"grader accepts ({self.limits.message_bytes / 1024 ** 2:.0f} MB)")
        if kind == "not_attempted":
            raise NotAttempted(part=reply.get("part") is True)
        if kind == "check_failed":
            raise CheckFailed(str(reply.get("message", ""))[:500], str(reply.get("hint", ""))[:300])
        summary = str(reply.get("summary", "an error"))[:300]
        if summary.startswith("MemoryError"):
            summary = f"MemoryError: it used more than {self.limits.describe_memory()} of memory"
        elif _too_many_processes(summary):
            summary = (f"{summary} — the sandbox allows at most {self.limits.processes} processes; "
                       f"your code tried to start more")
        elif "No space left on device" in summary:
            summary = f"{summary} — your files filled the {self.limits.describe_disk()} of disk the sandbox allows"
        raise StudentError(summary, str(reply.get("where", ""))[:200])

    def _note_stopped(self, exercise: str, info: Any, summary: str) -> None:
        """Record what the sandbox stopped during one call (reported in results.json's ``extra_data``)."""
        info = info if isinstance(info, dict) else {}
        left = info.get("processes_left")
        if _too_many_processes(summary) or (isinstance(left, int) and left >= self.limits.processes - 1):
            self.stopped.append({"exercise": exercise, "limit": "processes",
                                 "why": f"tried to start more than {self.limits.processes} processes; "
                                        f"the extra ones were refused and the rest killed after the call"})
        elif isinstance(left, int) and left > 0:
            self.stopped.append({"exercise": exercise, "limit": "processes",
                                 "why": f"{left} process(es) still running after the call were killed"})
        if info.get("disk_full") is True or "No space left on device" in summary:
            self.stopped.append({"exercise": exercise, "limit": "disk",
                                 "why": f"filled the {self.limits.describe_disk()} of disk the sandbox allows; "
                                        f"further writes failed and the files were deleted after the call"})

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


def _too_many_processes(summary: str) -> bool:
    return summary.startswith("BlockingIOError") and "Resource temporarily unavailable" in summary


def _model_call(raw: bytes, budget: Optional[remote.Budget] = None) -> Optional[dict]:
    """The worker's message if it asks the grader to run a test model (see :mod:`autograder.remote`), else None.

    Its declared sizes are checked before anything is decoded (:func:`autograder.remote.screen`); a
    forged or oversized call comes back as ``{"refused": why}``, which :func:`autograder.remote.answer`
    turns into a ``ValueError`` for the student's code: that submission fails, the grader allocates
    nothing. ``budget`` (one per submission) bounds what all of a submission's calls may decode."""
    if not raw.startswith(b'{"kind": "model_call"'):
        return None
    try:
        return remote.screen(raw, budget)
    except remote.Refused as exc:
        return {"kind": "model_call", "refused": str(exc)}


class _NoNamespace(Exception):
    """Starting the namespaced worker failed: fall back (auto) or give up (namespace)."""
