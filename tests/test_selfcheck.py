"""The self-check cell: what a student sees, and what nbgrader reads."""
import sys
import time

import numpy as np
import pytest

from autograder import selfcheck
from autograder.checks import max_points
from autograder.selfcheck import SelfCheckFailed, self_check


def good_standardize(x_train, x_test):
    m, s = x_train.mean(0), x_train.std(0)
    return (x_train - m) / s, (x_test - m) / s


def leaky_standardize(x_train, x_test):
    return good_standardize(x_train, x_train)[0], good_standardize(x_test, x_test)[0]


def stub(x_train, x_test):
    """Still the stub."""


def test_passing_verdict_lists_every_public_check(capsys):
    assert self_check("standardize", good_standardize) is None
    out = capsys.readouterr().out
    assert out.startswith("standardize: 3/3 public checks passed")
    assert out.count("✓") == 3 and "Well done" in out


def test_first_failure_is_explained_with_a_hint(capsys):
    self_check("standardize", leaky_standardize)
    out = capsys.readouterr().out
    assert "2/3 public checks passed" in out
    assert "its own mean: that leaks test information" in out
    assert "hint: compute mean and std on x_train only" in out


def test_stub_reads_not_attempted_not_a_traceback(capsys):
    self_check("standardize", stub)
    out = capsys.readouterr().out
    assert out.startswith("standardize: not attempted yet")
    assert "Traceback" not in out


def test_an_exception_in_student_code_is_summarized(capsys):
    def broken(x_train, x_test):
        return x_train @ x_test  # shapes do not match
    self_check("standardize", broken)
    out = capsys.readouterr().out
    assert "your function raised ValueError" in out and "x_train @ x_test" in out


def test_student_warnings_stay_off_stderr(capsys):
    def noisy(x_train, x_test):
        import warnings
        warnings.warn("noise")
        print("to stderr", file=sys.stderr)
        np.log(-np.ones(1))
        return good_standardize(x_train, x_test)
    self_check("standardize", noisy)
    captured = capsys.readouterr()
    assert captured.err == "" and "3/3" in captured.out


def test_runaway_function_is_stopped(monkeypatch, capsys):
    monkeypatch.setattr(selfcheck, "LOCAL_TIME_LIMIT_S", 1)
    def endless(x_train, x_test):
        while True:
            time.sleep(0.01)
    self_check("standardize", endless)
    assert "timed out" in capsys.readouterr().out


def test_under_nbgrader_autograde_the_hidden_call_returns_points(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert self_check("standardize", good_standardize) is None   # public line: no value, no raise
    assert self_check("standardize", good_standardize, hidden=True) == max_points("standardize")
    assert self_check("standardize", stub, hidden=True) == 0.0
    partial = self_check("standardize", leaky_standardize, hidden=True)
    assert 0 < partial < max_points("standardize")
    out = capsys.readouterr().out
    assert "standardize: 6/6 checks passed" in out  # public and hidden, by name only
    assert "def _(call)" not in out and "expect_close" not in out


def test_under_nbgrader_validate_a_failure_fails_the_cell_without_a_traceback(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    self_check("standardize", good_standardize)
    with pytest.raises(SelfCheckFailed) as info:
        self_check("standardize", leaky_standardize)
    assert info.value._render_traceback_() == ["standardize: 1 check(s) did not pass"]


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="no checks for an exercise called 'standardise'"):
        self_check("standardise", good_standardize)
