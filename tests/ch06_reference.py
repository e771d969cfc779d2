"""Chapter 6's reference solutions, for the tests of the library around them.

The references of the chapter's exercises (``log_explanation``, ``load_explanation``, ``score``)
live only in the source notebook's solution cells, and chapter 5's ``Explanation`` only in chapter
5's: neither ships in the student bundle. This module executes those cells' text (read from
``source/``) in one namespace with the setup cell's imports and constants.
"""
from __future__ import annotations

import functools

from tests.submissions import reference_answers

SETUP = '''
import mlflow
import numpy as np
from imlbook.ch06_deploy.store import (CorruptExplanationError, NoExplanationError, RunNotFoundError, get_run,
                                       run_id_of, use_local_store)
EXPLANATION_ARTIFACT = "explanation/explanation.json"
EXPLANATION_FORMAT = "imlbook.explanation/1"
'''


@functools.lru_cache(maxsize=None)
def namespace() -> dict:
    """``{"log_explanation", "load_explanation", "score", "Explanation", ...}`` as the solution defines them."""
    ns = {"__name__": "ch06_reference"}
    exec(SETUP, ns)
    exec("import numpy as np\n" + reference_answers("ch05_practice")["Explanation"], ns)
    for name in ("log_explanation", "load_explanation", "score"):
        exec(reference_answers("ch06_deploy")[name], ns)
    return ns
