"""Test-session defaults: never touch the network or the user's files, keep plots off screen."""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("IMLBOOK_OFFLINE", "1")       # tests must pass on a machine with no network
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# The download cache is a temporary folder for this test process (and the kernels and graders it
# starts), never the user's ~/.cache/imlbook: tests must not fill or depend on it.
_CACHE = tempfile.mkdtemp(prefix="imlbook-test-cache-")
os.environ["IMLBOOK_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
