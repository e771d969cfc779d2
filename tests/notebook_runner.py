"""Execute notebooks in tests: the whole solution notebook, or a release notebook up to its first stub."""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Optional

import nbformat
from nbclient import NotebookClient

from tests.submissions import ROOT


def execute(notebook: Path, workdir: Path, stop_at_first_stub: bool = False, timeout: int = 600) -> tuple:
    """Run ``notebook`` in a copy under ``workdir``. Returns (executed notebook, seconds).

    With ``stop_at_first_stub`` only the cells before the first exercise cell
    (nbgrader ``solution`` code cell) run: the rest of a release notebook needs
    the student's answers.
    """
    nb = nbformat.read(notebook, as_version=4)
    if stop_at_first_stub:
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                      and c.metadata.get("nbgrader", {}).get("solution")), len(nb.cells))
        nb.cells = nb.cells[:first]
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for extra in notebook.parent.iterdir():  # data files next to the notebook, if any
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy(extra, workdir)
    env_backup = dict(os.environ)
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures
    for name in QUIETING_VARIABLES:     # the kernel starts as a student's does: the notebook quiets its libraries
        os.environ.pop(name, None)
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    started = time.monotonic()
    try:
        # coalesce_streams: one print() can reach the notebook as several stream messages when the
        # machine is busy (the kernel flushes on a timer); merged, a printed line is never split.
        NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    noise = library_noise(nb)
    assert not noise, f"{notebook.name} shows library log lines a student cannot act on:\n" + "\n".join(noise)
    return nb, time.monotonic() - started


# Set by tests/conftest.py for the test process; a student's kernel has none of them, so neither has ours.
QUIETING_VARIABLES = ("TF_CPP_MIN_LOG_LEVEL", "MLFLOW_LOGGING_LEVEL")
# Log lines of libraries that a student cannot act on (imlbook/quiet.py keeps them out of the notebooks).
LIBRARY_NOISE = re.compile("|".join([
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \w+\.cc:\d+\]",            # absl/TensorFlow C++ log lines
    r"absl::InitializeLog\(\)", r"oneDNN custom operations are on",
    r"This TensorFlow binary is optimized to use", r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] ",
    r"Unable to register cu(DNN|FFT|BLAS) factory", r"^WARNING:absl:", r"^WARNING:tensorflow:",
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO mlflow",                     # MLflow's INFO lines
    r"background data samples could cause slower run times",              # shap's KernelExplainer notice
]), re.M)


def library_noise(nb) -> list:
    """The lines of ``nb``'s printed outputs (stdout and stderr) that are library log noise."""
    return [line for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") == "stream"
            for line in "".join(o.get("text", "")).splitlines() if LIBRARY_NOISE.search(line)]


def outputs_text(nb, kind: Optional[str] = "stream") -> str:
    return "\n".join("".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if kind is None or o.get("output_type") == kind)


def count_images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))


def printed_number(text: str, pattern: str) -> float:
    """The number captured by ``pattern``'s first group in an executed notebook's printed ``text``;
    fails the test, naming the pattern, when the notebook no longer prints it."""
    match = re.search(pattern, text)
    assert match, f"not printed: {pattern}"
    return float(match.group(1))


def model_answer(chapter: str, grade_id: str, normalise_spaces: bool = False) -> str:
    """The source text of the written-answer cell ``grade_id`` of ``chapter``'s notebook (the model
    answer lives in the source notebook only); with ``normalise_spaces`` every run of whitespace,
    line breaks included, becomes one space, so a claim can be matched across lines."""
    notebook, = (ROOT / "source" / chapter).glob("*.ipynb")
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    text = "".join(cell["source"])
    return " ".join(text.split()) if normalise_spaces else text
