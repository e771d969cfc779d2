"""Execute notebooks in tests: the whole solution notebook, or a release notebook up to its first stub."""
from __future__ import annotations

import os
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
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    started = time.monotonic()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    return nb, time.monotonic() - started


def outputs_text(nb, kind: Optional[str] = "stream") -> str:
    return "\n".join("".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if kind is None or o.get("output_type") == kind)


def count_images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))
