"""Test-session defaults: never touch the network or the user's files, keep plots off screen."""
import atexit
import functools
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("IMLBOOK_OFFLINE", "1")       # tests must pass on a machine with no network
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# The download cache is a temporary folder for this test process (and the kernels and graders it
# starts), never the user's ~/.cache/imlbook: tests must not fill or depend on it.
_CACHE = tempfile.mkdtemp(prefix="imlbook-test-cache-")
os.environ["IMLBOOK_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
# Keras' home (keras.json: backend, float type; downloaded weights) is a fresh temporary folder too, never
# ~/.keras: a user's settings or cached MobileNetV2 weights must not change what the tests see.
_KERAS_HOME = tempfile.mkdtemp(prefix="imlbook-test-keras-")
os.environ["KERAS_HOME"] = _KERAS_HOME
atexit.register(shutil.rmtree, _KERAS_HOME, ignore_errors=True)

# Chapter 6's notebook takes the chapter-5 class `Explanation` from the first chapter-5 notebook it finds,
# the student's work/ first (autograder/previous.py). Tests always use the reference solution, whatever
# a student has in work/ (set here, not setdefault: a value left in the user's shell must not leak in).
CH05_REFERENCE = Path(__file__).resolve().parent.parent / "solutions" / "ch05_practice" / "practice.ipynb"
os.environ["IMLBOOK_CH05_NOTEBOOK"] = str(CH05_REFERENCE)


# ----------------------------------------------------------------------------- scheduling on several workers
# `python workbook.py test` runs pytest-xdist with `--dist loadgroup --no-loadscope-reorder`. With two
# workers, a long test that starts last pads the wall time, and a module-scoped fixture (an executed
# notebook, a graded class) is built again on every worker that runs one of its tests. So:
# * the slowest files start first, longest first (a static list: seconds measured on 2 busy cores; a file
#   not listed keeps its place after them, and a stale entry only costs order, never a test);
# * the tests of a file that defines a module-scoped fixture are one unit of work: one worker, one build.
#   (xdist's own `xdist_group` marks do not reach its scheduler under pytest 9, which no longer reads the
#   node id xdist rewrites, so the grouping is done by the scheduler below.)
SLOWEST_FIRST = [
    "tests/test_readme_nbgrader.py",       # ~135 s: the README's nbgrader commands, three chapter-1 notebooks
    "tests/test_ch01_notebooks.py",        # ~60 s: the chapter-1 solution notebook (100 epochs) + release
    "tests/test_ch03_notebooks.py",        # ~60 s: the whole chapter-3 notebook + release
    "tests/test_ch02_notebooks.py",        # ~45 s: two chapter-2 notebook runs
    "tests/test_ch04_notebooks.py",        # ~40 s: the chapter-4 solution notebook
    "tests/test_report.py",                # ~40 s: a class graded in a batch, then answer by answer
    "tests/test_ch05_notebooks.py",        # ~35 s: the chapter-5 solution notebook
    "tests/test_ch06_service.py",          # ~30 s: a service started on a trained model
]
_MODULE_FIXTURE = re.compile(r"@pytest\.fixture\([^)]*scope\s*=\s*[\"'](module|package|class)[\"']")


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}

    def key(indexed):
        index, item = indexed
        return (rank.get(item.nodeid.split("::", 1)[0], len(rank)), index)

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]


@functools.lru_cache(maxsize=None)
def _defines_a_module_fixture(path: str) -> bool:
    try:
        return bool(_MODULE_FIXTURE.search((Path(__file__).parent.parent / path).read_text(encoding="utf-8")))
    except OSError:
        return False


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent with -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadgroup":
        return None  # xdist's own choice
    from xdist.scheduler import LoadGroupScheduling

    class SharedFixtureScheduling(LoadGroupScheduling):
        """loadgroup, plus: a file that defines a module-scoped fixture is one unit of work."""

        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope != nodeid:  # an xdist_group mark that did reach the node id
                return scope
            path = nodeid.split("::", 1)[0]
            return path if _defines_a_module_fixture(path) else nodeid

    return SharedFixtureScheduling(config, log)
