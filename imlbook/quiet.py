"""Keep library log lines that a student cannot act on out of the notebooks.

Each chapter's first cell calls :func:`quiet_notebook` before its other imports:

* TensorFlow (chapters 1-4) writes its start-up notices (absl's "All log messages before
  absl::InitializeLog() ...", "oneDNN custom operations are on ...", "This TensorFlow binary is optimized
  to use ...") from C++ straight to file descriptor 2, which Jupyter shows under the cell. With
  TensorFlow 2.21 no environment variable silences them (``TF_CPP_MIN_LOG_LEVEL``, ``GLOG_minloglevel``
  and ``ABSL_MIN_LOG_LEVEL`` were tried), so ``tensorflow=True`` imports TensorFlow and Keras with file
  descriptor 2 sent to a temporary file, and prints that file only if the import fails.
  ``TF_CPP_MIN_LOG_LEVEL=2`` and the ``tensorflow``/``absl`` Python loggers at ERROR keep later
  C++ INFO/WARNING lines and Python warnings-as-logs out too; errors still show.
* MLflow (chapter 6) logs INFO lines when it creates its local database: ``MLFLOW_LOGGING_LEVEL=WARNING``
  (read when ``mlflow`` is imported; the logger's level is also set if it was imported already).
* shap's ``KernelExplainer`` warns "Using N background data samples could cause slower run times ..."
  when a background has more than 100 rows. The notebooks choose their backgrounds on purpose (chapter 6
  explains 12 rows exactly against 200 background rows), so only that message is filtered; every other
  shap warning still shows.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile

SHAP_BACKGROUND_NOTICE = "background data samples could cause slower run times"


class _DropMessage(logging.Filter):
    """Drops the log records whose message contains ``text``."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def quiet_imports(*modules: str) -> None:
    """Import ``modules`` (in order) with file descriptor 2 sent to a temporary file: what C++ code writes
    there while they load is dropped, unless an import fails, when it is printed before the error."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            for name in modules:
                __import__(name)
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet_notebook(tensorflow: bool = False) -> None:
    """Silence the notices described in this module's docstring; with ``tensorflow`` also import
    TensorFlow and Keras quietly (call it before ``import keras``). Safe to call more than once."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING lines; errors still show
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    if "mlflow" in sys.modules:
        logging.getLogger("mlflow").setLevel(logging.WARNING)
    shap_log = logging.getLogger("shap")
    if not any(isinstance(f, _DropMessage) and f.text == SHAP_BACKGROUND_NOTICE for f in shap_log.filters):
        shap_log.addFilter(_DropMessage(SHAP_BACKGROUND_NOTICE))
    if tensorflow:
        quiet_imports("tensorflow", "keras")
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
