"""imlbook/quiet.py keeps library notices a student cannot act on out of the notebooks, and every notebook the
tests execute is checked for them (tests/notebook_runner.py: `library_noise`, with the kernel started without
the test process's TF_CPP_MIN_LOG_LEVEL/MLFLOW_LOGGING_LEVEL). These tests run no notebook: they show that
the check recognises each kind of line, and that the helper silences what it promises, in a fresh Python."""
import subprocess
import sys
import textwrap

import nbformat
import pytest

from tests.notebook_runner import QUIETING_VARIABLES, library_noise
from tests.submissions import ROOT

NOISE = [  # seen in the notebooks before imlbook/quiet.py (TensorFlow 2.21, MLflow, shap)
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796404294.371469    6124 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results",
    "I0000 00:00:1796404294.494350    6124 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "2026/12/04 17:14:53 INFO mlflow.store.db.utils: Creating initial MLflow database tables...",
    "Using 200 background data samples could cause slower run times. Consider using shap.sample(data, K) or "
    "shap.kmeans(data, K) to summarize the background as K samples.",
]
FINE = ["test accuracy on 1000 rows: 0.871", "Explanation from /x/solutions/ch05_practice/practice.ipynb",
        "log_explanation: 3/3 public checks passed", "I0 is the first image", "INFO: 3 of 5 rows"]


def notebook_printing(lines, name="stderr"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass", outputs=[
        nbformat.v4.new_output("stream", name=name, text="\n".join(lines) + "\n")])]
    return nb


@pytest.mark.parametrize("name", ["stderr", "stdout"])
def test_the_check_finds_each_kind_of_library_notice(name):
    assert library_noise(notebook_printing(NOISE + FINE, name)) == NOISE
    assert library_noise(notebook_printing(FINE, name)) == []


def run_fresh(code: str) -> subprocess.CompletedProcess:
    env_drop = "".join(f"os.environ.pop({v!r}, None); " for v in QUIETING_VARIABLES)
    program = f"import os, sys; {env_drop}sys.path.insert(0, {str(ROOT)!r})\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)


def test_a_quiet_import_drops_what_c_code_writes_to_stderr_and_shows_it_if_the_import_fails(tmp_path):
    (tmp_path / "chatty.py").write_text("import os\nos.write(2, b'I0000 00:00:1.0  1 port.cc:153] chatter\\n')\n")
    (tmp_path / "broken.py").write_text("import os\nos.write(2, b'why it broke\\n')\nraise ImportError('broken')\n")
    ok = run_fresh(f"""
        sys.path.insert(0, {str(tmp_path)!r})
        from imlbook.quiet import quiet_imports
        quiet_imports("chatty")
        print("after", file=sys.stderr)
        """)
    assert ok.returncode == 0 and ok.stderr == "after\n", ok.stderr
    failed = run_fresh(f"""
        sys.path.insert(0, {str(tmp_path)!r})
        from imlbook.quiet import quiet_imports
        quiet_imports("broken")
        """)
    assert failed.returncode == 1 and "why it broke" in failed.stderr and "ImportError: broken" in failed.stderr


def test_the_shap_notice_alone_is_filtered_and_mlflow_logs_warnings_only():
    proc = run_fresh("""
        import logging, os
        from imlbook.quiet import quiet_notebook
        quiet_notebook()
        quiet_notebook()                                   # twice: still one filter
        log = logging.getLogger("shap")
        log.warning("Using 200 background data samples could cause slower run times. Consider ...")
        log.warning("another shap warning")
        print(len(log.filters), os.environ["MLFLOW_LOGGING_LEVEL"], os.environ["TF_CPP_MIN_LOG_LEVEL"])
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "WARNING", "2"]
    assert "another shap warning" in proc.stderr and "background data samples" not in proc.stderr


def test_tensorflow_starts_without_a_log_line():
    pytest.importorskip("tensorflow")
    proc = run_fresh("""
        from imlbook.quiet import quiet_notebook
        quiet_notebook(tensorflow=True)
        import keras, numpy as np
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
        print("trained")
        """)
    assert proc.returncode == 0 and proc.stdout == "trained\n", proc.stderr
    assert library_noise(notebook_printing(proc.stderr.splitlines())) == [], proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
