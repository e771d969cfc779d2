"""Hidden checks' failures say what went wrong, never their inputs (issue 19 §5).

A student's exception message (or a result that echoes its input) is printed into the feedback; for a
hidden check that would show the check's inputs. :func:`autograder.checks.redact_inputs` keeps the
words and shapes and drops the values.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from autograder.checks import redact_inputs, run_checks
from autograder.selfcheck import _local_backend

VALUE = re.compile(r"\d\.\d|\d{3,}")


def leaks_inputs(x, background):
    raise ValueError(f"x={x.tolist()!r} B={np.asarray(background).round(4)!r} first={float(x[0])}")


def echoes_input(f, x, background):
    return np.asarray(x, dtype=float) * 1.0


@pytest.mark.parametrize("student", [lambda f, x, background: leaks_inputs(x, background), echoes_input],
                         ids=["exception", "echo"])
def test_hidden_check_failures_do_not_show_inputs(student):
    results = run_checks("shapley_values", _local_backend(student), include_hidden=True)
    hidden = [r for r in results if r.check.hidden]
    public = [r for r in results if not r.check.hidden]
    assert sum(not r.passed for r in hidden) >= 3
    for r in (r for r in hidden if not r.passed):
        assert not VALUE.search(r.message), r.message
        assert r.message  # still says what went wrong
    # public checks' inputs are public: their messages keep the values
    assert any(VALUE.search(r.message) for r in public), [r.message for r in public]


@pytest.mark.parametrize("text, kept, dropped", [
    ("your function raised ValueError: x=[0.123, 4.5, 6.0]", "your function raised ValueError", "0.123"),
    ("expected shape (3, 4), got (5,)", "expected shape (3, 4), got (5,)", None),
    ("at index (2, 3): expected 0.5213, got 12345", "at index (2, 3): expected …, got …", "0.5213"),
    ("KeyError: 'a sentence from the hidden inputs'", "KeyError: '…'", "sentence"),
    ("ValueError: array([[1.2, 3.4], [5.6, 7.8]])", "ValueError: array(", "1.2"),
    ("wrong values for a model with (n, 1) output", "wrong values for a model with (n, 1) output", None),
    ("TypeError: f() got an unexpected keyword argument 'x'", "unexpected keyword argument 'x'", None),
])
def test_redaction_keeps_words_and_shapes(text, kept, dropped):
    out = redact_inputs(text)
    assert kept in out, out
    if dropped:
        assert dropped not in out, out
