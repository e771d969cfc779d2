"""Without user namespaces (Docker's default seccomp profile: the Gradescope case) the grader, running as
root, runs student code as an unprivileged user of its own. Each attack of the security review must fail:

* a notebook reads ``autograder/hidden/ch03_shap.py``, ``autograder/answers/`` and ``solutions/``;
* a double-forked daemon in its own session outlives the grader's process-group kill and rewrites the
  results file (a stub would be graded 29/29), with ``--results`` in a folder anyone may write;
* in a batch, one student's daemon rewrites other students' ``results.json`` and ``grades.csv``;
* the same in the Gradescope zip's ``run_autograder``.

The container is simulated: ``tests/no_userns.py`` (a copy of ``../shared/tools/no_userns.py``) refuses
``unshare``/``setns``/``clone`` with namespace flags through seccomp, then runs the grader as root. It needs
Debian's ``python3-seccomp`` for the system ``/usr/bin/python3`` (``.ci/run`` installs it when it can).
Student code as another user must read Python's standard library: the grader runs here on a virtual
environment of the system Python (readable by everyone) that uses this checkout's packages.
Without namespaces or a separate user, a batch is refused unless ``--isolation none`` is passed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.checks import chapters, max_points
from tests.submissions import ROOT, make_submission, stub_submission

CH = "ch03_shap"
FULL = sum(max_points(ex) for ex in chapters()[CH])
NO_USERNS = Path(__file__).with_name("no_userns.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def _why_not() -> str:
    if not sys.platform.startswith("linux"):
        return "Linux only"
    if os.geteuid() != 0:
        return "the separate-user mode needs a grader running as root"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"no {SYSTEM_PYTHON} to run the seccomp filter"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import seccomp, sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return "Debian's python3-seccomp is not installed (apt-get install -y python3-seccomp)"
    if probe.stdout.strip() != str(tuple(sys.version_info[:2])):
        return f"{SYSTEM_PYTHON} is Python {probe.stdout.strip()}, this environment's packages are for {sys.version_info[:2]}"
    if shutil.which("useradd") is None and not os.path.exists("/usr/sbin/useradd"):
        return "no useradd to create the sandbox user"
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "available")


@pytest.fixture(scope="module")
def room():
    """A world-readable folder (as an instructor's umask 022 makes them) holding a virtual environment of the
    system Python that uses this environment's packages (``.pth``)."""
    base = Path(tempfile.mkdtemp(prefix="imlbook-nouserns-"))
    base.chmod(0o755)
    venv = base / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site / "imlbook-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def python(room: Path) -> str:
    return str(room / "venv" / "bin" / "python")


def folder(path: Path, mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    return path


def grader(room: Path, *args, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([SYSTEM_PYTHON, str(NO_USERNS), python(room), "-m", "autograder", "grade", *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def daemon_processes(public: Path) -> list:
    """The daemons (each noted its pid and uid in ``public``) still running. (Not every process of their user:
    once the grader has released the user, another grader on the machine may be using it.)"""
    started = {int(p.name.split("-", 1)[1]): int(p.read_text()) for p in public.iterdir()
               if p.name.startswith("started-")}
    assert started and 0 not in started.values(), started
    return [pid for pid, uid in started.items() if pid in sandbox.pids_of_user(uid)]


# ----------------------------------------------------------------------------
# The attacks, as exercise code
# ----------------------------------------------------------------------------
def reader(targets) -> str:
    """``shapley_values`` that tries to read each target and reports, in its error message, what it got."""
    return textwrap.dedent(f'''
        def shapley_values(f, x, background):
            import os
            seen = []
            for target in {[str(t) for t in targets]!r}:
                try:
                    if os.path.isdir(target):
                        seen.append("LISTED %d" % len(os.listdir(target)))
                    else:
                        with open(target) as fh:
                            seen.append("READ %d" % len(fh.read()))
                except OSError as exc:
                    seen.append(type(exc).__name__)
            raise RuntimeError("SEEN " + ", ".join(seen))''')


def daemon(targets, public: Path, forged: dict) -> str:
    """``global_importance`` that leaves a double-forked daemon in its own session; for 20 s it rewrites each
    target it can (and notes in ``public`` that it started and what it managed); returns None (a stub)."""
    return textwrap.dedent(f'''
        def global_importance(values, feature_names):
            import json, os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    with open(os.path.join({str(public)!r}, "started-%d" % os.getpid()), "w") as fh:
                        fh.write(str(os.getuid()))
                    end = time.time() + 20
                    while time.time() < end:
                        for i, target in enumerate({[str(t) for t in targets]!r}):
                            try:
                                text = {json.dumps(forged)!r} if target.endswith(".json") else "student,total\\nmallory,999\\n"
                                tmp = target + ".forged"
                                with open(tmp, "w") as fh:
                                    fh.write(text)
                                os.replace(tmp, target)
                                open(os.path.join({str(public)!r}, "forged-%d" % i), "w").close()
                            except OSError:
                                pass
                        time.sleep(0.05)
                    os._exit(0)
                os._exit(0)
            os.wait()
            time.sleep(1.0)  # the daemon is running before the grader takes the worker down
            return None''')


FORGED = {"score": FULL, "output": "forged", "tests": [], "visibility": "visible", "stdout_visibility": "hidden",
          "extra_data": {"notebook_sha256": "forged"}}
SECRETS = [ROOT / "autograder" / "hidden" / f"{CH}.py", ROOT / "autograder" / "answers" / f"{CH}.py", ROOT / "solutions"]


def wait_for_daemon_window() -> None:
    time.sleep(3)  # a surviving daemon rewrites every 0.05 s: 3 s is ample for it to show


# ----------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------
def test_one_notebook_hidden_checks_unreadable_and_results_unforgeable(room, tmp_path):
    case = folder(room / "single")
    public = folder(case / "public", 0o777)        # anyone may write here: where the daemon leaves its notes
    results = public / "results.json"             # --results in a folder anyone may write, the hardest case
    nb = make_submission(folder(case / "alice"), CH, {"shapley_values": reader(SECRETS),
                                                      "global_importance": daemon([results], public, FORGED)})
    proc = grader(room, nb, "--results", results)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(results.read_text())
    assert data["extra_data"]["isolation"].startswith("separate user"), data["extra_data"]["isolation"]
    assert "unshare: Operation not permitted" in data["extra_data"]["isolation"]
    messages = {t["output"] for t in data["tests"] if t["name"].startswith("shapley_values")}
    assert messages and all("SEEN PermissionError, PermissionError, PermissionError" in m for m in messages), messages
    assert any(p.name.startswith("started-") for p in public.iterdir()), "the daemon did start"
    wait_for_daemon_window()
    assert not daemon_processes(public), "every process of the sandbox user was killed"
    # In a folder anyone may write, the daemon could write results.json while the notebook was graded (its
    # notes say so); the grader killed it, then replaced that file with a new one, which stays the grader's.
    assert results.stat().st_uid == 0
    after = json.loads(results.read_text())
    assert after == data and after["score"] == max_points("kernel_shap"), after["score"]


def test_a_daemon_cannot_rewrite_other_students_results_in_a_batch(room):
    case = folder(room / "batch")
    subs, out, public = folder(case / "subs"), folder(case / "out"), folder(case / "public", 0o777)
    targets = [out / "bob" / CH / "results.json", out / "carol" / CH / "results.json", out / "grades.csv"]
    make_submission(folder(subs / "bob"), CH)
    stub_submission(folder(subs / "carol"), CH)
    make_submission(folder(subs / "mallory"), CH, {"global_importance": daemon(targets, public, FORGED)})
    proc = grader(room, subs, "--out", out, "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "isolation: separate user" in proc.stderr
    before = {t: t.read_bytes() for t in targets}
    assert any(p.name.startswith("started-") for p in public.iterdir()), "the daemon did start"
    wait_for_daemon_window()
    assert not daemon_processes(public)
    assert not any(p.name.startswith("forged-") for p in public.iterdir())
    assert {t: t.read_bytes() for t in targets} == before
    scores = {s: json.loads((out / s / CH / "results.json").read_text())["score"] for s in ("bob", "carol", "mallory")}
    mallory = json.loads((out / "mallory" / CH / "results.json").read_text())
    assert scores == {"bob": FULL, "carol": 0, "mallory": FULL - max_points("global_importance")}, \
        [(t["name"], t["output"][:200]) for t in mallory["tests"] if t["score"] < t["max_score"]]
    rows = (out / "grades.csv").read_text().splitlines()
    assert any(r.startswith(f"bob,{FULL:.1f}") for r in rows) and any(r.startswith("carol,0.0") for r in rows)
    assert not (out.stat().st_mode & 0o007) and not (subs.stat().st_mode & 0o007), "others' permissions taken off"


def test_gradescope_run_autograder_as_root_without_namespaces(room, tmp_path):
    zip_path = tmp_path / "autograder-ch03.zip"
    env = dict(os.environ, IMLBOOK_VENV="-")
    built = subprocess.run([sys.executable, str(ROOT / "workbook.py"), "gradescope", CH, str(zip_path)],
                           capture_output=True, text=True, env=env, timeout=180, cwd=ROOT)
    assert built.returncode == 0, built.stderr
    root = folder(room / "gradescope" / "autograder")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for path in [root / "source", *(root / "source").rglob("*")]:  # as Gradescope unpacks it: umask 022
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    setup = (root / "source" / "setup.sh").read_text()
    assert "useradd" in setup and "imlbook-sb0" in setup and 'chmod o-rwx "$HERE/autograder/hidden"' in setup
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)
    public = folder(room / "gradescope" / "public", 0o777)
    results = root / "results" / "results.json"
    secrets = [root / "source" / "autograder" / "hidden" / f"{CH}.py", root / "source" / "autograder" / "answers"]
    make_submission(folder(root / "submission"), CH, {"shapley_values": reader(secrets),
                                                     "global_importance": daemon([results], public, FORGED)})
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(AUTOGRADER_ROOT=str(root), IMLBOOK_GRADER_PYTHON=python(room))
    proc = subprocess.run([SYSTEM_PYTHON, str(NO_USERNS), str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(results.read_text())
    assert data["extra_data"]["isolation"].startswith("separate user"), data["extra_data"]["isolation"]
    shap = [t for t in data["tests"] if t["name"].startswith("shapley_values")]
    assert shap and all("SEEN PermissionError, PermissionError" in t["output"] for t in shap), shap[0]["output"]
    assert any(p.name.startswith("started-") for p in public.iterdir()), "the daemon did start"
    wait_for_daemon_window()
    assert not daemon_processes(public)
    assert not any(p.name.startswith("forged-") for p in public.iterdir())
    assert json.loads(results.read_text()) == data
    assert data["score"] == max_points("kernel_shap")


def test_two_grader_processes_never_share_a_sandbox_user():
    """A user is reserved across processes (a lock file): a second batch on the machine takes another one, so
    neither kills the other's workers when it cleans up by uid."""
    first = sandbox.users.acquire()
    try:
        other = subprocess.run([sys.executable, "-c", "from autograder import sandbox; "
                                "print(sandbox.users.acquire()[0])"], cwd=ROOT, capture_output=True, text=True,
                               timeout=120)
        assert other.returncode == 0, other.stderr
        assert int(other.stdout) != first[0]
    finally:
        sandbox.users.release(first[0])
    assert first[0] not in sandbox.users.busy and first[0] not in sandbox.users.held
