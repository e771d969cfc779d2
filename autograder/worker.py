"""The sandboxed side of the grader: runs a student's functions, returns plain values.

Started by :class:`autograder.sandbox.Worker` as
``python -m autograder.worker REQUEST_FD RESPONSE_FD CONFIG_JSON`` in a
throw-away working directory. It never decides a score: it only calls the
student's function on the arguments it is sent and sends back what came out,
coerced to float arrays (see :func:`autograder.checks.invoke`).

Isolation ("namespace" mode, Linux): before any student code runs, the process

1. enters new user, mount, PID, network and IPC namespaces (``unshare``); the
   grader writes its uid/gid maps from outside;
2. forks the process that will run the student's code: PID 1 of the new PID
   namespace, so it sees no other process and everything it starts dies with it.
   This first process stays outside as a supervisor and mirrors its exit status;
3. builds a new root file system on a tmpfs that holds, read-only, only what
   Python needs (system folders, the Python installation and virtual
   environment, ``autograder/`` with ``hidden/`` masked, ``imlbook/``, the data
   folder), a fresh ``/proc``, a minimal ``/dev``, a small private ``/tmp`` and
   the submission's working directory (the only writable place); then chroots
   into it. The repository's ``source/``, ``solutions/``, ``release/``, hidden
   checks, other students' notebooks and the output folder do not exist there;
   there is no network;
4. drops privileges: to ``nobody`` when the grader runs as root, otherwise
   every capability is dropped (``no_new_privs``, empty bounding set);
5. applies the resource limits (memory, file size, CPU backstop, number of
   processes: RLIMIT_NPROC, counted per user namespace) and sends
   stdout/stderr to ``/dev/null``. The working directory is a tmpfs of
   ``disk_bytes``: the student's files together cannot fill more, and nothing
   reaches the grading machine's disk. After every call, the processes the
   student's code left running are killed (this process is PID 1 of its PID
   namespace) and what the limits stopped is reported with the reply.

Workers are either new interpreters or forked from a template process that
already imported the chapter's libraries (the fork server, :func:`template_main`);
both go through the same steps.

In "user" mode (no user namespaces, e.g. Docker's default seccomp profile on
Gradescope, and the grader runs as root) the process becomes an unprivileged user
of its own (``imlbook-sbN``, one per submission graded at the same time) before
step 5: the grader has taken the others' permissions off its hidden checks,
answers, solutions, submissions and output folders, and kills every process of
that user (by uid, daemons in their own sessions included) before it writes a
result.

In "none" mode (no user namespaces and no root: macOS, some locked-down Linux) only
step 5 and the separate process/working directory apply; the grader says so in
every report and refuses a batch unless asked explicitly (``--isolation none``).
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import sys

# -- constants from <sched.h>, <sys/mount.h>, <sys/prctl.h> ------------------
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
NOBODY = 65534
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _call(name: str, *args) -> None:
    fn = getattr(_lib(), name)
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _b(path) -> bytes:
    return os.fsencode(path)


def _prctl(option: int, arg: int = 0) -> int:
    return _lib().prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0),
                        ctypes.c_ulong(0), ctypes.c_ulong(0))


# -- messages to the grader (handshake) ---------------------------------------
def _send_json(fd: int, payload: dict) -> None:
    from autograder import wire
    wire.send(fd, json.dumps(payload).encode("utf-8"))


def _recv_json(fd: int) -> dict:
    from autograder import wire
    return json.loads(wire.recv(fd, max_bytes=1 << 20).decode("utf-8"))


# -- the jail -------------------------------------------------------------------
def _mount(source, target, fstype, flags, data=None) -> None:
    _call("mount", None if source is None else _b(source), _b(target),
          None if fstype is None else _b(fstype), ctypes.c_ulong(flags),
          None if data is None else _b(data))


def _kept_flags(path: str) -> int:
    """Flags of the mount holding ``path`` that a remount must keep (locked in a user namespace)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                   (getattr(os, "ST_NOATIME", 1024), MS_NOATIME),
                   (getattr(os, "ST_NODIRATIME", 2048), MS_NODIRATIME),
                   (getattr(os, "ST_RELATIME", 4096), MS_RELATIME)):
        if f & st:
            out |= ms
    return out


def _mount_points_under(prefix: str):
    """Mount points at or below ``prefix`` (from /proc/self/mountinfo), outermost first."""
    points = []
    try:
        with open("/proc/self/mountinfo", "rb") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 4:
                    point = fields[4].decode("utf-8", "surrogateescape")
                    point = point.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n") \
                        .replace("\\134", "\\")
                    if point == prefix or point.startswith(prefix.rstrip("/") + "/"):
                        points.append(point)
    except OSError:
        points = [prefix]
    return sorted(set(points), key=len)


def _make_target(target: str, like: str) -> None:
    if os.path.isdir(like):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "wb").close()


def _bind(source: str, target: str, writable: bool = False, recursive: bool = True, device: bool = False) -> None:
    _make_target(target, source)
    _mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if not writable:
        for point in (_mount_points_under(target) if recursive else [target]):
            try:
                _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | _kept_flags(point))
            except OSError:
                if point == target:
                    raise
    else:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | (0 if device else MS_NODEV)
               | _kept_flags(target))


def _inside(newroot: str, path: str) -> str:
    return newroot.rstrip("/") + "/" + path.lstrip("/")


def _enter_jail(cfg: dict) -> list:
    """Steps 3 and 4 of the module docstring. Returns notes on what could not be set up."""
    notes = []
    newroot, workdir = cfg["newroot"], cfg["workdir"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks back to the host
    _mount("tmpfs", newroot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=8m")
    # The private /tmp comes first: a checkout under /tmp, bound below, must stay visible on top of it.
    tmp = _inside(newroot, "/tmp")
    os.makedirs(tmp, exist_ok=True)
    _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    for link, target in cfg.get("symlinks", []):
        dest = _inside(newroot, link)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.lexists(dest):
            os.symlink(target, dest)
    for path in cfg["ro"]:
        if os.path.exists(path):
            _bind(path, _inside(newroot, path))
    if os.path.isdir("/sys"):
        try:
            _bind("/sys", _inside(newroot, "/sys"))
        except OSError as exc:
            notes.append(f"no /sys ({exc.strerror})")
    for path in cfg["hide"]:  # masked by an empty read-only tmpfs
        dest = _inside(newroot, path)
        if os.path.isdir(dest):
            _mount("tmpfs", dest, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555")
        elif os.path.lexists(dest):
            _mount("/dev/null", dest, None, MS_BIND)
    # /dev: a few harmless devices only
    dev = _inside(newroot, "/dev")
    os.makedirs(dev, exist_ok=True)
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(f"/dev/{name}", f"{dev}/{name}", writable=True, recursive=False, device=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    os.makedirs(f"{dev}/shm")
    _mount("tmpfs", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=32m")
    _mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    # /proc of the new PID namespace: shows the student's processes only
    proc = _inside(newroot, "/proc")
    os.makedirs(proc, exist_ok=True)
    try:
        _mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as exc:
        notes.append(f"no /proc ({exc.strerror})")
    # The working directory is a tmpfs of its own: its size caps the disk all the student's files may fill
    # (RLIMIT_FSIZE caps one file only), and nothing is written to the grading machine's disk.
    inside = _inside(newroot, workdir)
    os.makedirs(inside, exist_ok=True)
    owner = NOBODY if cfg["drop"] == "nobody" else 0
    _mount("tmpfs", inside, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={int(cfg['disk_bytes'])},nr_inodes={int(cfg.get('inodes', 20000))},mode=0700,"
           f"uid={owner},gid={owner}")
    os.chdir(newroot)
    os.chroot(".")
    os.chdir(workdir)
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _drop_privileges(cfg["drop"])
    return notes


def _drop_privileges(how: str) -> None:
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:  # no setuid binary can give anything back
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in range(64):  # empty the bounding set while we still may
        if _prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    if how == "nobody":  # the namespace maps 65534 to the host's nobody
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)  # clears every capability
        if os.getuid() != NOBODY:
            raise OSError(errno.EPERM, "could not switch to nobody")

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _call("capset", ctypes.byref(header), data)  # nothing effective, permitted or inheritable


def _become_user(cfg: dict) -> None:
    """User mode (no namespaces, grader is root): become the submission's own unprivileged user for good."""
    uid, gid = int(cfg["uid"]), int(cfg["gid"])
    if uid == 0 or gid == 0:
        raise OSError(errno.EPERM, "refusing to run student code as root")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # clears every capability
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(errno.EPERM, "could not switch to the sandbox user")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a change of credentials clears it
    os.umask(0o077)
    os.chdir(cfg.get("workdir", "."))


def _process_cap(cfg: dict, jail: bool):
    """The RLIMIT_NPROC that lets the student's code have at most ``cfg["processes"]`` processes, or None.

    RLIMIT_NPROC counts the processes of the real user. In the jail the count is kept per user namespace
    (Linux >= 5.14 counts per namespace and uid; every worker has its own namespace), so the limit is the cap
    itself, even though every worker runs as ``nobody``. Without namespaces the worker shares its uid with the
    grader (and the instructor's other processes): the limit is what that uid runs now plus the cap. A root
    process ignores RLIMIT_NPROC, so a grader running as root without namespaces cannot cap processes this way.
    """
    cap = cfg.get("processes")
    if not cap:
        return None
    if jail or cfg.get("mode") == "user":  # a user of its own (user mode): its count is the submission's
        return int(cap)
    if os.getuid() == 0:
        return None
    uid, running = str(os.getuid()), 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/status") as fh:
                    running += any(line.startswith("Uid:") and line.split()[1] == uid for line in fh)
            except OSError:
                pass
    return running + int(cap)


def _apply_limits(cfg: dict, jail: bool = False) -> list:
    import resource
    notes = []
    nproc = _process_cap(cfg, jail)
    if cfg.get("processes") and nproc is None:
        notes.append("no process cap (a grader running as root without namespaces cannot set one)")
    for name, value in (("RLIMIT_AS", cfg.get("memory_bytes")), ("RLIMIT_FSIZE", cfg.get("output_bytes")),
                        ("RLIMIT_CORE", 0), ("RLIMIT_CPU", cfg.get("cpu_s")), ("RLIMIT_NPROC", nproc)):
        if value is None or not hasattr(resource, name):
            continue
        try:
            resource.setrlimit(getattr(resource, name), (int(value), int(value)))
        except (ValueError, OSError) as exc:
            notes.append(f"{name} not applied ({exc})")
    return notes


def _isolate_stdio() -> None:
    """Student output is discarded: it can neither fill a disk nor reach the grader."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    if hasattr(signal, "SIGXFSZ"):  # past the file-size cap, writes fail instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# -- serving the grader's requests ------------------------------------------------
def _respond(fd: int, payload: dict) -> None:
    from autograder import wire
    try:
        data = wire.dumps(payload)
    except (TypeError, ValueError, RecursionError) as exc:
        data = wire.dumps({"ok": False, "kind": "check_failed",
                           "message": f"the result could not be sent ({type(exc).__name__})"})
    wire.send(fd, data)


class _Restoring:
    """Calls the student's function, then puts back what it may have replaced in the modules the
    worker itself relies on (``builtins.isinstance = ...``, ``np.array = ...``), so the value it
    returned is still coerced and sent by intact code. ``__globals__`` is the student's namespace,
    as :func:`autograder.checks.invoke` expects."""

    def __init__(self, fn, saved):
        self.fn, self.saved = fn, saved
        self.__globals__ = getattr(fn, "__globals__", None)

    def __call__(self, *args, **kwargs):
        try:
            return self.fn(*args, **kwargs)
        finally:
            _restore(self.saved)


def _snapshot(modules):
    return [(m.__dict__, dict(m.__dict__)) for m in modules]


def _restore(saved) -> None:
    """Put back every name that was replaced or deleted. Added names stay: lazy imports (``np.random``)
    add submodules to a module's namespace, and removing them would break the next access."""
    for live, original in saved:
        for key, value in original.items():
            if live.get(key, _restore) is not value:
                live[key] = value


# Grader modules that student code has no business importing: the analytic answers and the checks.
# (In namespace mode they are not even on the worker's file system; this also covers the fallback.)
FORBIDDEN_MODULES = ("autograder.answers", "autograder.public", "autograder.hidden", "autograder.grade",
                     "autograder.batch", "autograder.course")


class _ForbidGraderModules:
    """A ``sys.meta_path`` entry that refuses to import the grader's answers and checks."""

    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES):
            raise ModuleNotFoundError(f"No module named {name!r} (not available to submissions)", name=name)
        return None


def _forbid_grader_modules() -> None:
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES):
            del sys.modules[name]
    sys.meta_path.insert(0, _ForbidGraderModules())


def _encoded_size(value, depth: int = 0) -> int:
    """About how many bytes :func:`autograder.wire.dumps` makes of ``value`` (arrays: base64 of float64)."""
    import numpy
    if depth > 10:
        return 0
    if isinstance(value, numpy.ndarray):
        return value.size * 8 * 4 // 3 + 200
    if isinstance(value, (tuple, list)):
        return sum(_encoded_size(v, depth + 1) for v in value) + 20
    if isinstance(value, dict):
        return sum(len(str(k)) + _encoded_size(v, depth + 1) for k, v in value.items()) + 20
    return len(str(value)) + 10


def serve(req_fd: int, resp_fd: int, jail: bool = False, workdir: str = ".", max_bytes: int = 1 << 62) -> None:
    import builtins
    import pickle
    import warnings

    import numpy

    from autograder import checks, remote, wire
    from autograder.checks import CheckFailed, NotAttempted, StudentError, _summarize, invoke

    warnings.simplefilter("ignore")
    _forbid_grader_modules()
    # A test model the grader keeps (remote.TestModel) asks it over the same channel: one round trip per call.
    remote.connect(lambda data: wire.send(resp_fd, data), lambda: pickle.loads(wire.recv(req_fd)))
    saved = _snapshot([builtins, numpy, checks, wire, remote, json, pickle, os, sys])
    source = pickle.loads(wire.recv(req_fd))["source"]
    namespace = {"__name__": "submission", "__builtins__": __builtins__}
    try:
        exec(compile(source, "<submission>", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001
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
        kwargs = request["kwargs"]
        if callable(kwargs.get(checks.THEN)):  # the reader runs student methods too: restore after it as well
            kwargs[checks.THEN] = _Restoring(kwargs[checks.THEN], saved)
        try:
            out = invoke(_Restoring(fn, saved), kwargs)
            payload = {"ok": True, "value": out["value"], "args_after": out["args_after"], "type": out["type"]}
            size = _encoded_size(payload)
            if size > max_bytes:  # say so at once instead of encoding hundreds of MB the grader will refuse
                payload = {"ok": False, "kind": "too_large", "bytes": size}
        except NotAttempted as exc:
            payload = {"ok": False, "kind": "not_attempted", "part": bool(exc.part)}
        except StudentError as exc:
            payload = {"ok": False, "kind": "student_error", "summary": exc.summary, "where": exc.where}
        except CheckFailed as exc:
            payload = {"ok": False, "kind": "check_failed", "message": exc.message, "hint": exc.hint}
        except BaseException as exc:  # noqa: BLE001 - e.g. a RecursionError while coercing
            payload = {"ok": False, "kind": "student_error", "summary": _summarize(exc), "where": ""}
        payload["sandbox"] = _after_call(jail, workdir)
        _respond(resp_fd, payload)


def _after_call(jail: bool, workdir: str) -> dict:
    """What the sandbox stopped during the call, and cleaning up after it.

    In the jail this process is PID 1 of its own PID namespace: every other process there was started by the
    student's code, and none may outlive the call (a fork bomb's processes, a server left running). They are
    killed and reaped. A working directory filled to its cap is emptied, so the next exercise can run.
    """
    out: dict = {}
    if jail and os.getpid() == 1:
        strays = [p for p in os.listdir("/proc") if p.isdigit() and p != "1"]
        if strays:
            out["processes_left"] = len(strays)
            try:
                os.kill(-1, signal.SIGKILL)  # in a PID namespace: every process of it but this one
            except OSError:
                pass
        import time
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
    try:
        st = os.statvfs(workdir)
        if jail and (st.f_bavail * st.f_frsize < (1 << 20) or st.f_favail == 0):
            out["disk_full"] = True
            import shutil
            for entry in os.listdir(workdir):
                entry = os.path.join(workdir, entry)
                if os.path.isdir(entry) and not os.path.islink(entry):
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    try:
                        os.unlink(entry)
                    except OSError:
                        pass
    except OSError:
        pass
    return out


BROKEN = 86  # exit status of a worker whose own code failed after the student's code ran


def _run_student_side(req_fd: int, resp_fd: int, cfg: dict, jail: bool) -> None:
    try:
        _student_side(req_fd, resp_fd, cfg, jail)
    except BaseException:  # noqa: BLE001 - the student's code broke something the worker needs
        os._exit(BROKEN)


def _student_side(req_fd: int, resp_fd: int, cfg: dict, jail: bool) -> None:
    notes = []
    if jail:
        try:
            notes = _enter_jail(cfg)
        except BaseException as exc:  # noqa: BLE001
            _send_json(resp_fd, {"kind": "jail_failed", "why": f"{type(exc).__name__}: {exc}"[:300]})
            os._exit(70)
    if cfg.get("mode") == "user":
        import numpy  # noqa: F401 - what serve() needs, imported while the grader's files are still readable
        from autograder import checks, remote, wire  # noqa: F401
        _become_user(cfg)
    notes += _apply_limits(cfg, jail)
    _isolate_stdio()
    _send_json(resp_fd, {"kind": "ready_to_load", "notes": notes})
    serve(req_fd, resp_fd, jail, cfg.get("workdir", "."), int(cfg.get("message_bytes", 1 << 62)))


def _mirror(pid: int) -> None:
    """The supervisor: wait for the student's process and end the same way."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def main(argv) -> None:
    if len(argv) > 1 and argv[1] == "--template":
        template_main(int(argv[2]), json.loads(argv[3]))
        return
    run(int(argv[1]), int(argv[2]), json.loads(argv[3]))


def run(req_fd: int, resp_fd: int, cfg: dict) -> None:
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the grader is gone: so are we
    except (OSError, AttributeError):
        pass
    if cfg.get("mode") != "namespace":
        _run_student_side(req_fd, resp_fd, cfg, jail=False)
        return
    try:
        _call("unshare", CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    except (OSError, AttributeError) as exc:
        _send_json(resp_fd, {"kind": "unshare_failed", "why": str(exc)[:300]})
        os._exit(71)
    _send_json(resp_fd, {"kind": "unshared"})
    if not _recv_json(req_fd).get("mapped"):  # the grader wrote our uid/gid maps
        os._exit(72)
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        os.read(go_r, 1)  # speak only after the supervisor has told the grader our pid
        os.close(go_r)
        _run_student_side(req_fd, resp_fd, cfg, jail=True)
        return
    os.close(go_r)
    _send_json(resp_fd, {"kind": "child", "pid": pid})
    os.write(go_w, b"g")
    os.close(go_w)
    for fd in (req_fd, resp_fd):  # only the student's process holds the channel: its death closes it
        os.close(fd)
    _mirror(pid)



# -- the fork server ---------------------------------------------------------------
# Threads that libraries start at import time and that survive a fork by design: jemalloc (pyarrow's
# allocator, imported by pandas/scikit-learn) takes its locks in a pthread_atfork handler and restarts its
# background thread in the child.
FORK_SAFE_THREADS = ("jemalloc_bg_thd",)


def _threads_unsafe_for_fork() -> int:
    """Threads of this process, counting this one, that are not known to be fork-safe."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    count = 0
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/comm") as fh:
                name = fh.read().strip()
        except OSError:
            name = ""
        count += int(tid) == os.getpid() or name not in FORK_SAFE_THREADS
    return count

def template_main(ctl_fd: int, preload: list) -> None:
    """A template process: imports a chapter's libraries once, then forks one fresh worker per submission.

    Started by :class:`autograder.sandbox._Template` as ``python -m autograder.worker --template CTL_FD
    PRELOAD_JSON``, with the workers' clean environment. It never runs student code: each request (a
    JSON config and the two pipe ends, passed over a Unix socket) is answered by a ``fork``; the child
    becomes the worker exactly as ``python -m autograder.worker`` would (its own session, then the same
    namespaces, jail, privileges and limits), only without paying for the imports again. The template
    reports each child's pid and, when it ends, its exit status (the grader is not its parent).
    Forking is safe only while the template has a single thread: it reports its thread count after the
    imports (threads known to survive a fork, :data:`FORK_SAFE_THREADS`, aside) and the grader does not use
    a template that has more.
    """
    import importlib
    import select
    import socket

    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    ctl = socket.socket(fileno=ctl_fd)
    failed = []
    for name in ["numpy", "autograder.checks", "autograder.wire", "autograder.remote"] + list(preload):
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - a missing library: the worker imports (and fails) later
            failed.append(f"{name}: {type(exc).__name__}")
    threads = _threads_unsafe_for_fork()

    def say(payload: dict) -> None:
        ctl.send(json.dumps(payload).encode("utf-8"))  # a SOCK_SEQPACKET socket: one message per send

    say({"kind": "template_ready", "threads": threads, "failed": failed, "pid": os.getpid()})
    children = set()
    while True:
        ready, _, _ = select.select([ctl], [], [], 0.05 if children else 1.0)
        while children:  # report the ones that ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            say({"kind": "exited", "pid": pid, "code": code})
        if not ready:
            continue
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 2)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)  # the grader is gone
        request = json.loads(msg.decode("utf-8"))
        pid = os.fork()
        if pid == 0:
            try:
                ctl.close()
                os.setsid()
                os.chdir(request["cwd"])
                os.environ.clear()
                os.environ.update(request["env"])
                import random
                import tempfile
                tempfile.tempdir = None  # computed again from TMPDIR, the worker's own folder
                random.seed()
                sys.modules["numpy"].random.seed()  # not the template's random state: a fresh one, as in a new process
                run(fds[0], fds[1], request["cfg"])
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        children.add(pid)
        say({"kind": "forked", "pid": pid, "nonce": request.get("nonce")})


if __name__ == "__main__":
    main(sys.argv)
    os._exit(0)  # skip interpreter teardown: a student's atexit hooks or threads get no say
