"""The front door: `python workbook.py` explains itself and refuses unknown commands."""
import os
import subprocess
import sys

from tests.submissions import ROOT


def run(*args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, str(ROOT / "workbook.py"), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_help_names_the_two_commands():
    proc = run("--help")
    assert proc.returncode == 0
    assert "python workbook.py lab" in proc.stdout and "python workbook.py test" in proc.stdout


def test_unknown_command_is_refused():
    proc = run("tset")
    assert proc.returncode == 2 and "unknown command 'tset'" in proc.stderr


def test_current_environment_can_be_used_as_is(tmp_path):
    """IMLBOOK_VENV=- skips the virtual environment (conda users); here: list the exercises."""
    proc = run("grade", "--help", env_extra={"IMLBOOK_VENV": "-"})
    assert proc.returncode == 0 and "--results" in proc.stdout


def test_ci_script_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python workbook.py test" in readme
    assert "workbook.py test" in ci
