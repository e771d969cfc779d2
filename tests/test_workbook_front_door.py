"""The first run and the end of a session, without a network or JupyterLab: a fake pip shows that an install
prints one line per step and keeps pip's output in a log (shown when a step fails); a fake server that starts a
grandchild in a session of its own (as Jupyter starts its kernels) shows that stopping `lab` stops them all."""
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.submissions import ROOT

PACKAGES = 300  # about what the real requirements.txt pulls in


def load_workbook():
    spec = importlib.util.spec_from_file_location("workbook_under_test", ROOT / "workbook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_python(path: Path, site: Path, fail_requirements: bool = False) -> None:
    """A stand-in for the environment's Python: `-m pip install ...` prints pip-like lines (and fails on the
    requirements step if asked); `-c ...sysconfig...` prints the site-packages folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fail = 'case "$*" in *" -r "*) echo "ERROR: No matching distribution found for tensorflow==99"; exit 1;; esac' \
        if fail_requirements else ""
    path.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case "$*" in
          *sysconfig*) echo "{site}"; exit 0;;
        esac
        i=0
        while [ $i -lt {PACKAGES} ]; do
          echo "Collecting package$i==1.0"
          echo "  Downloading package$i-1.0-py3-none-any.whl (10 kB)"
          i=$((i+1))
        done
        {fail}
        echo "Successfully installed everything"
        """))
    path.chmod(0o755)


@pytest.fixture
def workbook(tmp_path, monkeypatch):
    module = load_workbook()
    monkeypatch.setenv("IMLBOOK_VENV", str(tmp_path / "venv"))
    monkeypatch.setattr(module, "INSTALL_LOG", tmp_path / "state" / "install.log")
    (tmp_path / "site").mkdir()
    return module


@pytest.mark.skipif(os.name == "nt", reason="the fake pip is a shell script")
def test_first_run_prints_one_line_per_step_and_keeps_pips_output_in_a_log(workbook, tmp_path, monkeypatch, capsys):
    made = []
    monkeypatch.setattr(workbook.venv, "create", lambda env_dir, with_pip: made.append(env_dir) or fake_python(
        tmp_path / "venv" / "bin" / "python", tmp_path / "site"))
    python = workbook.ensure_environment()
    out = capsys.readouterr().out
    assert python == str(tmp_path / "venv" / "bin" / "python") and made == [tmp_path / "venv"]
    steps = [line for line in out.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in steps] == ["[1/4", "[2/4", "[3/4", "[4/4"], out
    assert len(out.splitlines()) <= 10, out                      # not pip's 600 lines
    assert "Collecting" not in out and str(workbook.INSTALL_LOG) in out.splitlines()[0]
    assert f"{PACKAGES} packages" in out                         # the progress of the long step
    log = workbook.INSTALL_LOG.read_text()
    assert log.count("Collecting package") == 2 * PACKAGES and "-r " in log and "--upgrade pip" in log
    assert (tmp_path / "site" / "imlbook-workbook.pth").read_text().strip() == str(ROOT)
    assert workbook._environment_state(tmp_path / "venv") == "ready"
    assert workbook.ensure_environment() == python and capsys.readouterr().out == ""  # up to date: silent


@pytest.mark.skipif(os.name == "nt", reason="the fake pip is a shell script")
def test_a_failed_install_shows_the_end_of_the_log_and_where_it_is(workbook, tmp_path, capsys):
    fake_python(tmp_path / "venv" / "bin" / "python", tmp_path / "site", fail_requirements=True)
    with pytest.raises(SystemExit) as stopped:
        workbook.ensure_environment()
    message = str(stopped.value.code)
    assert "Installing failed at step 2/3" in message and str(workbook.INSTALL_LOG) in message
    assert "ERROR: No matching distribution found for tensorflow==99" in message
    assert message.count("Collecting package") < 30                  # the tail, not the whole log
    assert "ERROR: No matching" in workbook.INSTALL_LOG.read_text()
    assert workbook._environment_state(tmp_path / "venv") == "outdated"  # the next run tries again
    assert len(capsys.readouterr().out.splitlines()) <= 4


# ----------------------------------------------------------------------------- stopping `lab`
SERVER = textwrap.dedent("""\
    import os, signal, subprocess, sys, time
    # like Jupyter's kernels: a grandchild in a session of its own (the process group does not reach it)
    kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if sys.argv[2] == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)    # a server that does not stop: killed after the grace
    else:
        def shut_down(signum, frame):                    # Jupyter's way: stop the kernels, then exit
            kernel.terminate(); kernel.wait(); sys.exit(0)
        signal.signal(signal.SIGTERM, shut_down)
    with open(sys.argv[1], "w") as f:
        f.write(f"{os.getpid()} {kernel.pid}")
    time.sleep(600)
    """)
DRIVER = textwrap.dedent("""\
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("wb", sys.argv[1])
    wb = importlib.util.module_from_spec(spec); spec.loader.exec_module(wb)
    print("started", flush=True)
    sys.exit(wb.run_until_stopped([sys.executable, sys.argv[2], sys.argv[3], sys.argv[4]], grace_s=3))
    """)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"                                            # a zombie has stopped


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see which processes live")
@pytest.mark.parametrize("stop, server", [(signal.SIGTERM, "stubborn"), (signal.SIGINT, "stubborn"),
                                          (signal.SIGTERM, "polite")])
def test_stopping_lab_stops_the_server_and_its_kernels(tmp_path, stop, server):
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "driver.py").write_text(DRIVER)
    pids_file = tmp_path / "pids"
    driver = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(ROOT / "workbook.py"),
                               str(tmp_path / "server.py"), str(pids_file), server],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = []
    try:
        for _ in range(600):
            if pids_file.exists() and len(pids_file.read_text().split()) == 2:
                break
            time.sleep(0.1)
        pids = [int(p) for p in pids_file.read_text().split()]
        assert all(alive(pid) for pid in pids)
        driver.send_signal(stop)
        _, err = driver.communicate(timeout=60)
        assert driver.returncode == 128 + stop, err
        assert "stopping JupyterLab and its kernels" in err
        assert ("did not stop within" in err) == (server == "stubborn")
        for _ in range(50):                                        # a killed orphan is reaped by init
            if not any(alive(pid) for pid in pids):
                break
            time.sleep(0.1)
        assert not [pid for pid in pids if alive(pid)], "the server or its kernel is still running"
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        driver.kill()


def test_a_server_that_exits_by_itself_gives_its_status():
    wb = load_workbook()
    assert wb.run_until_stopped([sys.executable, "-c", "import sys; sys.exit(3)"]) == 3
