"""Test-session defaults: never touch the network, keep plots off screen."""
import os

os.environ.setdefault("IMLBOOK_OFFLINE", "1")       # tests must pass on a machine with no network
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
