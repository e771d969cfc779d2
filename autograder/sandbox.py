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
import contextlib
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
    exercise_s: float = 30.0          # CPU seconds of the submission's processes for all checks of one exercise
    notebook_s: float = 300.0         # CPU seconds for a whole notebook
    load_s: float = 60.0              # CPU seconds for importing the notebook's imports and definitions
    memory_bytes: int = 4 * GIB       # the submission's processes together (and each one's address space)
    output_bytes: int = 16 * 1024 ** 2  # largest file the student's code may write (prints are discarded)
    disk_bytes: int = 256 * 1024 ** 2   # all files together: the working directory is a tmpfs this large (namespaces)
    processes: int = 64                 # processes the student's code may run at once (RLIMIT_NPROC, see worker)
    message_bytes: int = 64 * 1024 ** 2  # largest reply the grader reads from a worker
    isolation: str = "auto"           # "auto" | "namespace" | "user" | "none"
    # Wall-clock backstop against code that hangs without using CPU (sleeping, blocked): a limit of c CPU
    # seconds also stops after c * wall_factor + wall_extra_s seconds of waiting. A call stopped by this
    # backstop is graded again once, alone, before it counts (see autograder.grade).
    wall_factor: float = 3.0
    wall_extra_s: float = 30.0
    # Start workers from a template process that already imported the chapter's WORKER_PRELOAD (a fork server);
    # IMLBOOK_FORK_SERVER=0 turns it off (each worker is then a fresh `python -m autograder.worker`).
    fork_server: bool = dataclasses.field(default_factory=lambda: os.environ.get("IMLBOOK_FORK_SERVER", "1") != "0")
    hide_paths: Tuple[str, ...] = ()  # more paths the worker must not see (the batch adds submissions and output)

    def describe_memory(self) -> str:
        return f"{self.memory_bytes / GIB:g} GiB"

    def wall_s(self, cpu_s: float) -> float:
        """The wall-clock backstop of a limit of ``cpu_s`` CPU seconds."""
        return cpu_s * self.wall_factor + self.wall_extra_s

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
    memory = (f"{limits.describe_memory()} memory cap for the submission's processes together "
              f"({memory_method()})")
    base = (f"separate process per submission, own temporary folder, {memory}, "
            f"{limits.exercise_s:g} CPU s per exercise, {limits.notebook_s:g} CPU s per notebook "
            f"(wall-clock backstop {limits.wall_factor:g}x + {limits.wall_extra_s:g} s)")
    if mode in ("namespace", "user"):
        base += f", at most {limits.processes} processes"
        base += f", {limits.describe_disk()} of disk" if mode == "namespace" else \
            f", disk not capped beyond {limits.output_bytes >> 20} MB per file"
    elif os.geteuid() != 0:
        base += f", at most {limits.processes} more processes, disk not capped beyond {limits.output_bytes >> 20} MB per file"
    else:
        base += f", processes not capped (root without namespaces), disk not capped beyond {limits.output_bytes >> 20} MB per file"
    if mode == "namespace":
        who = "as nobody" if os.geteuid() == 0 and not _SELF_MAP_FOR_TESTS else "without capabilities"
        extra = f" ({'; '.join(sorted(set(_jail_notes)))})" if _jail_notes else ""
        return (f"namespaces: read-only private file system without the course's solutions, hidden checks or "
                f"other submissions, no network, own process tree, {who}{extra}; {base}")
    why = _namespace_problem if limits.isolation in ("auto", "user") and _namespace_problem else \
        f"isolation={limits.isolation!r}"
    if mode == "user":
        return (f"separate user: student code runs as an unprivileged user of its own ({users.prefix}N, one per "
                f"concurrent submission) that cannot read the hidden checks, answers, solutions, submissions or "
                f"output folders, and every process of that user is killed before a result is written; "
                f"network and the rest of the file system as for any local user ({why}); {base}")
    return f"process limits only, no file-system isolation ({why}); {base}"


def _mode(limits: Limits) -> str:
    """ "namespace", "user" (a separate unprivileged user per submission, root only) or "none"."""
    if limits.isolation == "none" or not sys.platform.startswith("linux"):
        return "none"
    if limits.isolation == "user":
        return "user"
    if limits.isolation == "auto" and _namespace_problem is not None:
        return "user" if users.available() else "none"
    return "namespace"


class UnisolatedBatch(RuntimeError):
    """A batch would run student code with process limits only; the instructor did not ask for that."""


def refuse_unisolated(limits: Limits) -> None:
    """Raise :class:`UnisolatedBatch` when a batch would run without namespaces or a separate user and the
    instructor did not pass ``isolation="none"`` explicitly (``--isolation none``)."""
    if limits.isolation == "user" and not users.available():
        raise UnisolatedBatch(f"--isolation user needs a grader running as root that can create users and whose "
                              f"Python other users can read ({users.problem or 'not root'})")
    if _mode(limits) == "none" and limits.isolation != "none":
        raise UnisolatedBatch(
            f"neither user namespaces nor a separate user are available here ({_namespace_problem or 'unknown'}; "
            f"{users.problem or 'the grader does not run as root'}): student code would run as this user, able to "
            f"read the hidden checks and rewrite other students' results. "
            + ("Install Python and the grader where other users can read them (student code then runs as a user "
               "of its own)" if os.geteuid() == 0 else "Run the grader as root (it then runs student code as a "
                                                       "user of its own)")
            + ", or pass --isolation none to grade anyway.")


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
# The submission's processes: CPU time, memory, and killing them all
# ----------------------------------------------------------------------------
_CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
POLL_S = 0.1      # how often the grader measures a running submission's CPU time and memory, at first...
POLL_MAX_S = 0.5  # ...then less often during a long call (every measurement reads /proc)


def _stat(pid: str) -> Optional[Tuple[int, float, int]]:
    """(ppid, CPU seconds of the process and its reaped children, resident bytes) from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2:].split()
    try:  # fields 4 (ppid), 14-17 (utime, stime, cutime, cstime), 24 (rss, pages): rest[n - 3]
        return int(rest[1]), sum(int(x) for x in rest[11:15]) / _CLK, int(rest[21]) * _PAGE
    except (IndexError, ValueError):
        return None


def _pss(pid: int) -> Optional[int]:
    """Proportional resident memory of a process (bytes): pages shared with others (a worker forked from the
    fork server's template shares its libraries) count by their share, not once per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _real_uid(pid: str) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def pids_of_user(uid: int) -> List[int]:
    """Every process whose real uid is ``uid``."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _real_uid(p) == uid]


def submission_usage(root: Optional[int], uid: Optional[int] = None) -> Tuple[float, int, int]:
    """(CPU seconds, resident bytes (proportional set size where readable), processes) of a submission: every process of ``uid`` when the
    submission has a user of its own, else ``root`` and its descendants (in namespace mode the jail's PID 1
    adopts every orphan, so a daemon stays in the tree)."""
    if not sys.platform.startswith("linux"):
        return 0.0, 0, 0
    table: Dict[int, Tuple[int, float, int]] = {}
    if uid is None and root is not None and _has_children_files():
        todo = [root]  # walk the tree through /proc/PID/task/TID/children: a few files, not all of /proc
        while todo:
            pid = todo.pop()
            st = _stat(str(pid)) if pid not in table else None
            if st is None:
                continue
            table[pid] = st
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                        todo += [int(c) for c in fh.read().split()]
                except (OSError, ValueError):
                    pass
        chosen = set(table)
    else:
        for name in os.listdir("/proc"):
            if name.isdigit() and (uid is None or _real_uid(name) == uid):
                st = _stat(name)
                if st is not None:
                    table[int(name)] = st
        if uid is None:
            children: Dict[int, List[int]] = {}
            for pid, (ppid, _, _) in table.items():
                children.setdefault(ppid, []).append(pid)
            chosen, todo = set(), [root] if root in table else []
            while todo:
                pid = todo.pop()
                if pid not in chosen:
                    chosen.add(pid)
                    todo += children.get(pid, [])
        else:
            chosen = set(table)
    memory = 0
    for pid in chosen:
        pss = _pss(pid)
        memory += table[pid][2] if pss is None else pss
    return sum(table[p][1] for p in chosen), memory, len(chosen)


def _has_children_files() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def kill_user(uid: int, rounds: int = 50) -> int:
    """Kill every process of ``uid`` (root only): a child becomes that user and sends ``kill(-1, SIGKILL)``,
    which reaches every process the user owns, daemons in their own sessions included. Returns how many
    processes were found on the first pass."""
    first = len(pids_of_user(uid))
    for _ in range(rounds):
        if not pids_of_user(uid):
            return first
        pid = os.fork()
        if pid == 0:  # only async-signal-safe work here: the grader has threads
            try:
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.01)
    return first


def _remove_files_of(uid: int) -> None:
    """Files a separate user left in the world-writable folders (a daemon's notes for the next submission)."""
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_uid != uid:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


class _Users:
    """Unprivileged users for student code when the grader runs as root without namespaces: ``imlbook-sbN``,
    one per submission being graded at the same time, made on first use (``useradd``; the Gradescope zip's
    setup.sh makes ``imlbook-sb0``). A user is handed out only when none of its processes is left."""

    prefix = "imlbook-sb"
    most = 64

    def __init__(self):
        self.lock = threading.Lock()
        self.busy: set = set()
        self.held: Dict[int, int] = {}  # uid -> the open lock file that reserves it (other grader processes too)
        self.problem = ""

    @staticmethod
    def _lock_folder() -> str:
        """A folder only root may write, for the lock files that reserve a user across grader processes."""
        for parent in ("/run", tempfile.gettempdir()):
            folder = os.path.join(parent, "imlbook-sandbox-users")
            try:
                os.makedirs(folder, mode=0o700, exist_ok=True)
                st = os.lstat(folder)
                if st.st_uid == 0 and not (st.st_mode & 0o077) and not os.path.islink(folder):
                    return folder
            except OSError:
                continue
        raise LoadFailed("the grader found no private folder for its lock files; this is not caused by your code")

    def _reserve(self, uid: int) -> bool:
        """Reserve ``uid`` for this process (an exclusive ``flock`` on its lock file): another grader process
        on the machine (a second batch) must not hand the same user out, nor kill its processes."""
        import fcntl
        fd = os.open(os.path.join(self._lock_folder(), f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.held[uid] = fd
        return True

    def _lookup(self, n: int) -> Optional[Tuple[int, int]]:
        import pwd
        try:
            entry = pwd.getpwnam(f"{self.prefix}{n}")
        except KeyError:
            return None
        if entry.pw_uid == 0 or entry.pw_gid == 0:
            return None
        return entry.pw_uid, entry.pw_gid

    def _create(self, n: int) -> Optional[Tuple[int, int]]:
        useradd = shutil.which("useradd") or next((p for p in ("/usr/sbin/useradd", "/sbin/useradd")
                                                   if os.path.exists(p)), None)
        if useradd is None:
            self.problem = "no useradd to create a user for student code"
            return None
        shell = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
        try:
            subprocess.run([useradd, "--system", "--no-create-home", "--user-group", "--shell", shell,
                            "--home-dir", "/nonexistent", f"{self.prefix}{n}"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=60, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            self.problem = f"could not create a user for student code ({str(exc)[:100]})"
            return None
        return self._lookup(n)

    def available(self) -> bool:
        """Root, Python and the grader readable by other users, and the first sandbox user exists or can be made."""
        if not sys.platform.startswith("linux") or os.geteuid() != 0:
            return False
        with self.lock:
            unreadable = next((p for p in _needed_by_workers() if not _readable_by_others(p)), None)
            if unreadable is not None:
                self.problem = (f"{unreadable} is not readable by other users, so a separate user could not run "
                                f"Python there")
                return False
            if self._lookup(0) is not None:
                return True
            return not self.problem and self._create(0) is not None

    def acquire(self) -> Tuple[int, int]:
        with self.lock:
            for n in range(self.most):
                ids = self._lookup(n) or self._create(n)
                if ids is None:
                    break
                if ids[0] in self.busy or not self._reserve(ids[0]):
                    continue
                kill_user(ids[0])  # nothing of an earlier submission may be left
                self.busy.add(ids[0])
                return ids
        raise LoadFailed(f"the grader could not get a user to run your code as ({self.problem or 'all busy'}); "
                         f"this is not caused by your code: ask your instructor to grade it again")

    def release(self, uid: int) -> None:
        kill_user(uid)
        _remove_files_of(uid)
        with self.lock:
            self.busy.discard(uid)
            fd = self.held.pop(uid, None)
        if fd is not None:
            os.close(fd)  # releases the flock


users = _Users()


def _needed_by_workers() -> List[str]:
    """What a worker running as another user must read: Python's standard library, its packages, the grader."""
    import sysconfig
    paths = [sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    paths += [os.path.join(str(PACKAGE_ROOT), name) for name in VISIBLE_IN_REPO]
    return [p for p in dict.fromkeys(paths) if p and os.path.exists(p)]


def _readable_by_others(path: str) -> bool:
    """Every folder above ``path`` lets others through, and ``path`` lets them read (and enter, a folder)."""
    path = os.path.realpath(path)
    try:
        parts = path.split(os.sep)
        for i in range(1, len(parts)):
            if not os.stat(os.sep.join(parts[:i]) or os.sep).st_mode & 0o001:
                return False
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & 0o004) and (not os.path.isdir(path) or bool(mode & 0o001))


def protect_paths(paths) -> List[str]:
    """Take the others' permissions off ``paths`` (``chmod o-rwx``, nothing else changes): a separate user
    cannot read or write them. Returns the paths changed."""
    changed = []
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if os.path.islink(path) or not (st.st_mode & 0o007):
            continue
        try:
            os.chmod(path, st.st_mode & 0o7770)
            changed.append(str(path))
        except OSError:
            pass
    return changed


def protected_paths(limits: Limits) -> List[str]:
    """What a separate user must not read: the masked parts of the repository and the batch's folders."""
    return [os.path.join(str(PACKAGE_ROOT), name) for name in MASKED_IN_REPO] + [os.path.abspath(p)
                                                                                 for p in limits.hide_paths]


# -- one memory cap for the whole submission ------------------------------------
def _cgroup_parent() -> Optional[str]:
    """A cgroup v2 folder where this process may create children with a memory controller, or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    if len(lines) != 1 or not lines[0].startswith("0::"):  # not a pure cgroup v2 hierarchy
        return None
    folder = "/sys/fs/cgroup" + lines[0][3:].rstrip("/")
    try:
        with open(os.path.join(folder, "cgroup.subtree_control")) as fh:
            if "memory" not in fh.read().split():
                return None
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


_memory_method: Optional[str] = None


def memory_method() -> str:
    """How the submission-wide memory cap is enforced here (for reports)."""
    global _memory_method
    if _memory_method is None:
        _memory_method = ("cgroup v2 memory.max" if _cgroup_parent() else
                          f"a watchdog summing the resident memory (PSS) of the submission's processes every "
                          f"{POLL_S:g}-{POLL_MAX_S:g} s") + ", plus RLIMIT_AS per process"
    return _memory_method


class _Cgroup:
    def __init__(self, parent: str, limit: int):
        self.path = tempfile.mkdtemp(prefix="imlbook-", dir=parent)
        for name, value in (("memory.max", str(limit)), ("memory.swap.max", "0")):
            try:
                with open(os.path.join(self.path, name), "w") as fh:
                    fh.write(value)
            except OSError:
                if name == "memory.max":
                    raise

    def add(self, pid: int) -> None:
        with open(os.path.join(self.path, "cgroup.procs"), "w") as fh:
            fh.write(str(pid))

    def oom_killed(self) -> bool:
        try:
            with open(os.path.join(self.path, "memory.events")) as fh:
                return any(line.startswith("oom_kill ") and int(line.split()[1]) > 0 for line in fh)
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        try:
            with open(os.path.join(self.path, "cgroup.kill"), "w") as fh:
                fh.write("1")
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.02)


class _Alone:
    """Gradings in this process run side by side (:meth:`shared`); a call that the wall-clock backstop stopped is
    graded again with nothing else running (:meth:`alone`). A thread that holds :meth:`shared` may ask for
    :meth:`alone`: its own share is set aside meanwhile."""

    def __init__(self):
        self.cv = threading.Condition()
        self.holders: Dict[int, int] = {}
        self.exclusive = False
        self.waiting = 0

    @contextlib.contextmanager
    def shared(self):
        me = threading.get_ident()
        with self.cv:
            while self.exclusive or self.waiting:
                self.cv.wait()
            self.holders[me] = self.holders.get(me, 0) + 1
        try:
            yield
        finally:
            with self.cv:
                self.holders[me] -= 1
                if not self.holders[me]:
                    del self.holders[me]
                self.cv.notify_all()

    @contextlib.contextmanager
    def alone(self):
        me = threading.get_ident()
        with self.cv:
            mine = self.holders.pop(me, 0)
            self.waiting += 1
            self.cv.notify_all()
            while self.exclusive or self.holders:
                self.cv.wait()
            self.waiting -= 1
            self.exclusive = True
        try:
            yield
        finally:
            with self.cv:
                self.exclusive = False
                if mine:
                    self.holders[me] = mine
                self.cv.notify_all()


alone = _Alone()


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
        self.abandoned: set = set()            # nonces of requests whose spawn() timed out
        self.nonce = 0
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
                    # A new child with a pid seen before: the old one's exit status (reported earlier, the
                    # socket keeps order) is not this one's.
                    self.exits.pop(int(msg["pid"]), None)
                    if msg.get("nonce") in self.abandoned:  # its spawn() gave up waiting: it must not run
                        self.abandoned.discard(msg.get("nonce"))
                        try:
                            os.kill(int(msg["pid"]), signal.SIGKILL)
                        except OSError:
                            pass
                    else:
                        self.replies.append(msg)
                self.changed.notify_all()

    def exit_code(self, pid: int) -> Optional[int]:
        with self.changed:
            if pid in self.exits:
                return self.exits[pid]
            return -signal.SIGKILL if self.dead else None

    def spawn(self, req_r: int, resp_w: int, cfg: dict, env: Dict[str, str], cwd: str, timeout: float = 30.0):
        import socket
        with self.lock:
            self.nonce += 1
            nonce = self.nonce
            request = json.dumps({"cfg": cfg, "env": env, "cwd": cwd, "nonce": nonce}).encode("utf-8")
            socket.send_fds(self.sock, [request], [req_r, resp_w])
            until = time.monotonic() + timeout
            with self.changed:
                while True:  # the reply to this request, never a late one to an earlier request
                    reply = next((r for r in self.replies if r.get("nonce") == nonce), None)
                    if reply is not None:
                        self.replies.remove(reply)
                        break
                    if self.dead or time.monotonic() > until:
                        self.abandoned.add(nonce)  # if it forks after all, the reader kills that child
                        raise OSError("the template process did not answer")
                    self.changed.wait(0.5)
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
        self.decode_budget = remote.Budget()  # bytes of model calls decoded for this worker's submission
        self.stopped: List[dict] = []  # what the sandbox's limits stopped, per call (see _note_stopped)
        self.uid: Optional[int] = None   # the separate user running the student's code ("user" mode)
        self.cpu_s = 0.0                 # CPU seconds of the submission's processes, last measured
        self.peak_bytes = 0              # their largest resident memory together, as measured
        self.wall_timeout: Optional[dict] = None  # set when the wall-clock backstop (not CPU) stopped a call
        self._cgroup: Optional[_Cgroup] = None
        self.base = tempfile.mkdtemp(prefix="autograder-")
        self.workdir = os.path.join(self.base, "work")
        os.mkdir(self.workdir, 0o700)
        _live.add(self)
        load_deadline = min(deadline, time.monotonic() + limits.wall_s(limits.load_s))
        self.timing: Dict[str, float] = {}
        try:
            self.mode = _mode(limits)
            t0 = time.perf_counter()
            if self.mode == "namespace":
                self._start_namespaced(limits, load_deadline)
            if self.mode in ("user", "none"):
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
                self.mode = _mode(limits)  # a separate user when the grader is root, else process limits only
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
            cfg = {"mode": mode, "memory_bytes": limits.memory_bytes, "output_bytes": limits.output_bytes,
                   "cpu_s": int(limits.notebook_s + limits.load_s + 30), "processes": limits.processes,
                   "workdir": self.workdir, "message_bytes": limits.message_bytes}
            if mode == "user":
                if os.geteuid() != 0:
                    raise LoadFailed("isolation='user' needs a grader running as root")
                protect_paths(protected_paths(limits))
                if self.uid is None:
                    self.uid, gid = users.acquire()
                    self._gid = gid
                os.chmod(self.base, 0o711)  # the user may pass through to its own folder, list nothing
                os.chown(self.workdir, self.uid, self._gid)
                cfg.update(uid=self.uid, gid=self._gid)
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
                    # The template may still fork a child holding these pipes: the new interpreter gets others.
                    for fd in (req_r, self._req_w, self._resp_r, resp_w):
                        os.close(fd)
                    req_r, self._req_w = os.pipe()
                    self._resp_r, resp_w = os.pipe()
            if template is None:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "autograder.worker", str(req_r), str(resp_w), json.dumps(cfg)],
                    pass_fds=(req_r, resp_w), cwd=self.workdir, env=env, start_new_session=True,
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(req_r)
            os.close(resp_w)
        self._join_cgroup(self.proc.pid)
        first = self._handshake(deadline)
        if mode in ("user", "none"):
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
        self._join_cgroup(self._jail_pid)
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

    # ------------------------------------------------------------------
    # Watching the submission's processes: CPU seconds, memory together
    # ------------------------------------------------------------------
    def _join_cgroup(self, pid: int) -> None:
        if self._cgroup is None:
            parent = _cgroup_parent()
            if parent is None:
                return
            try:
                self._cgroup = _Cgroup(parent, self.limits.memory_bytes)
            except OSError:
                return
        try:
            self._cgroup.add(pid)
        except OSError:
            pass

    def usage(self) -> Tuple[float, int]:
        """(CPU seconds, resident bytes) of the submission's processes now (see :func:`submission_usage`)."""
        root = self._jail_pid if self._jail_pid is not None else (self.proc.pid if self.proc is not None else None)
        if root is None and self.uid is None:
            return self.cpu_s, 0
        cpu, rss, _ = submission_usage(root, self.uid)
        if self._jail_pid is not None and self.proc is not None:  # the supervisor outside the jail
            st = _stat(str(self.proc.pid))
            cpu += st[1] if st else 0.0
        self.cpu_s = max(self.cpu_s, cpu)  # a process that ended unreaped takes its seconds with it
        self.peak_bytes = max(self.peak_bytes, rss)
        return self.cpu_s, rss

    def _wait_readable(self, deadline: float, cpu_until: Optional[float]) -> None:
        """Wait for the worker's next message. Raises ``wire.ChannelTimeout`` at the wall-clock ``deadline``,
        :class:`_CpuSpent` once the submission's processes used ``cpu_until`` CPU seconds, :class:`_MemorySpent`
        when together they hold more than the memory cap."""
        import select
        interval = POLL_S / 2
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise wire.ChannelTimeout()
            interval = min(interval * 2, POLL_MAX_S)
            try:
                ready, _, _ = select.select([self._resp_r], [], [], min(left, interval))
            except (OSError, ValueError):
                return  # a closed channel: the read says so
            if ready:
                return
            cpu, rss = self.usage()
            if self._cgroup is None and rss > self.limits.memory_bytes:
                raise _MemorySpent(rss)
            if cpu_until is not None and cpu >= cpu_until:
                raise _CpuSpent(cpu)

    def _memory_died(self, rss: int) -> WorkerDied:
        self.stopped.append({"exercise": "", "limit": "memory",
                             "why": f"the submission's processes together used more than "
                                    f"{self.limits.describe_memory()} of memory and were stopped"})
        return WorkerDied(f"your code's processes together used more than {self.limits.describe_memory()} of "
                          f"memory ({rss / GIB:.2f} GiB seen) and were stopped")

    def _load(self, source: str, load_deadline: float, deadline: float) -> None:
        wire.send(self._req_w, pickle.dumps({"source": source}))
        cpu_until = self.usage()[0] + self.limits.load_s
        try:
            self._wait_readable(load_deadline, cpu_until)
            reply = wire.loads(wire.recv(self._resp_r, load_deadline, max_bytes=1 << 20))
        except _CpuSpent:
            raise LoadFailed(f"loading your notebook's imports and functions took more than "
                             f"{self.limits.load_s:g} s of CPU time") from None
        except _MemorySpent as exc:
            raise LoadFailed(str(self._memory_died(exc.rss))) from None
        except wire.ChannelTimeout:
            if load_deadline < deadline:  # the backstop, not the notebook's limit: the machine may be overloaded
                failed = LoadFailed(f"loading your notebook's imports and functions did not finish within "
                                    f"{self.limits.wall_s(self.limits.load_s):g} s of waiting "
                                    f"(it used {self.cpu_s:.1f} s of CPU time)")
                failed.wall = True  # type: ignore[attr-defined]
                raise failed from None
            raise LoadFailed(f"loading your notebook's imports and functions took more than "
                             f"{min(self.limits.load_s, max(0, deadline - time.monotonic())):.0f} s") from None
        except (wire.ChannelClosed, ValueError, UnicodeDecodeError) as exc:
            raise LoadFailed(f"the process loading your notebook stopped ({self._exit_description() or exc})") \
                from None
        if not (isinstance(reply, dict) and reply.get("ok")):
            summary = str(reply.get("summary", "unknown error"))[:300] if isinstance(reply, dict) else "unknown error"
            raise LoadFailed(f"running your notebook's imports and function definitions raised {summary}")

    # ------------------------------------------------------------------
    def call(self, exercise: str, kwargs: Dict[str, Any], deadline: float, what_deadline: str,
             cpu_until: Optional[float] = None) -> Dict[str, Any]:
        """Run ``exercise(**kwargs)`` in the worker. Returns ``{"value", "args_after", "type"}`` or raises like :func:`invoke`.

        ``cpu_until``: stop (:class:`Timeout` ``what_deadline``) once the submission's processes have used this
        many CPU seconds in all (:meth:`usage`); ``deadline`` (monotonic) is then only a backstop against code that
        waits without computing, and a call it stops sets :attr:`wall_timeout`. Without ``cpu_until``,
        ``deadline`` is the limit."""
        if time.monotonic() >= deadline:
            raise Timeout(what_deadline)
        if cpu_until is not None and self.cpu_s >= cpu_until:
            raise Timeout(what_deadline)
        models: Dict[int, Any] = {}  # the test models stay here; the worker gets remote.TestModel stand-ins
        try:
            wire.send(self._req_w, pickle.dumps({"exercise": exercise, "kwargs": remote.stub_out(kwargs, models)}))
            while True:
                self._wait_readable(deadline, cpu_until)
                raw = wire.recv(self._resp_r, deadline, max_bytes=self.limits.message_bytes)
                request = _model_call(raw, self.decode_budget)
                if request is None:
                    break
                self.model_calls += 1
                wire.send(self._req_w, pickle.dumps(remote.answer(models, request)))
        except _CpuSpent:
            self.close()
            raise Timeout(what_deadline) from None
        except _MemorySpent as exc:
            died = self._memory_died(exc.rss)
            self.stopped[-1]["exercise"] = exercise
            self.close()
            raise died from None
        except wire.ChannelTimeout:
            if cpu_until is not None:
                self.wall_timeout = {"exercise": exercise, "cpu_s": round(self.cpu_s, 2)}
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
        if self.uid is not None:
            kill_user(self.uid)  # every process of the submission's user, daemons in other sessions included
        if self._cgroup is not None:
            if self._cgroup.oom_killed() and not any(s["limit"] == "memory" for s in self.stopped):
                self.stopped.append({"exercise": "", "limit": "memory",
                                     "why": f"the submission's processes together reached the "
                                            f"{self.limits.describe_memory()} memory cap (cgroup)"})
            self._cgroup.close()
            self._cgroup = None
        for fd in (self._req_w, self._resp_r, self._jail_pidfd):
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._req_w = self._resp_r = -1
        self._jail_pidfd, self._jail_pid = None, None

    def close(self) -> None:
        if self.alive:
            self.usage()  # the last CPU seconds count for the notebook's limit
        self._stop_process()
        _live.discard(self)
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = ""
        if self.uid is not None:
            users.release(self.uid)
            self.uid = None

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


class _CpuSpent(Exception):
    """The submission's processes used their CPU seconds."""

    def __init__(self, cpu: float):
        super().__init__(cpu)
        self.cpu = cpu


class _MemorySpent(Exception):
    """The submission's processes together hold more than the memory cap (the watchdog)."""

    def __init__(self, rss: int):
        super().__init__(rss)
        self.rss = rss
