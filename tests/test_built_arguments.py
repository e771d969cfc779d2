"""The check framework's two hooks for arguments and results that are not plain data (used by chapter 4's
Keras test networks): a :class:`BuiltArgument` is built where the student's function runs, and ``_then``
looks at the result there, before it is coerced to float arrays. ``invoke`` runs in the student's kernel
(self-check) and in the sandboxed worker (grader) alike; the worker path, with pickled specs from
``autograder.testmodels``, is proven by tests/test_ch04_grading.py (the reference graded in the sandbox)."""
import numpy as np
import pytest

from autograder.checks import THEN, BuiltArgument, CheckFailed, StudentError, invoke


class Doubler(BuiltArgument):
    """Builds a callable object that is not plain data."""

    def __init__(self, factor):
        self.factor = factor

    def build(self):
        return lambda x: np.asarray(x, dtype=np.uint8) * self.factor


class DtypeAndValue:
    def __call__(self, value, kwargs):
        return (str(value.dtype), value, float(callable(kwargs["f"])))


class Broken(BuiltArgument):
    def build(self):
        raise RuntimeError("no library")


def student(f, x):
    return f(x)


def test_in_process_specs_are_built_and_then_sees_the_raw_result():
    out = invoke(student, {"f": Doubler(3), "x": np.array([1, 2]), THEN: DtypeAndValue()})
    dtype, value, was_callable = out["value"]
    assert dtype == "uint8" and value.dtype == np.float64 and np.array_equal(value, [3, 6])
    assert float(was_callable) == 1.0


def test_a_spec_that_cannot_be_built_is_the_graders_problem_not_the_students():
    with pytest.raises(CheckFailed, match="could not build a test input"):
        invoke(student, {"f": Broken(), "x": np.array([1])})


def test_then_raising_on_the_students_result_is_a_student_error():
    def bad_then(value, kwargs):
        raise ValueError("not a model")

    with pytest.raises(StudentError, match="not a model"):
        invoke(student, {"f": Doubler(1), "x": np.array([1]), THEN: bad_then})
