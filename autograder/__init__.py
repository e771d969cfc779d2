"""Checks and grader for the interpretable-ML workbook.

* ``self_check(exercise, fn)`` — the notebook's self-check cell (public checks).
* ``python -m autograder grade NOTEBOOK... [--results FILE]`` — the standalone grader.
* ``python -m autograder bundle OUT`` — the student bundle (no solutions, no hidden checks).
"""
from .selfcheck import self_check

__all__ = ["self_check"]
