"""Public checks ship reference *values*, not reference methods (issue 19 §5).

In the student bundle there is no ``autograder/answers``: a public check's right answer is looked up in
``autograder/public/expected/<chapter>.json`` (see :mod:`autograder.reference`). These tests prove the
stored values are what ``autograder/answers`` computes today, and that the public checks give the same
verdicts from the stored values as from the methods, for right and wrong answers.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from autograder import reference
from autograder.checks import chapters, exercise_checks, run_checks
from autograder.extract import extract
from autograder.selfcheck import _local_backend
from tests.submissions import notebook_path

CHAPTERS = reference.chapters_with_references()


def test_chapters_with_reference_values():
    assert {"ch01_pdp_ice", "ch03_shap", "ch04_cnn", "ch05_practice"} <= set(CHAPTERS)
    for chapter in CHAPTERS:
        text = (reference.EXPECTED_DIR.parent / f"{chapter}.py").read_text()
        assert "autograder.answers" not in text.replace(":mod:`autograder.answers", "")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_stored_reference_values_equal_what_answers_compute(chapter):
    recorded = reference.record(chapter)
    stored = reference.stored_table(chapter)
    fix = f"run `python -m autograder.reference record {chapter}` and commit the table"
    assert recorded, chapter
    assert sorted(recorded) == sorted(stored), f"the stored table is stale: {fix}"
    for key, value in recorded.items():
        got = stored[key]
        assert type(got) is type(value), (key, fix)
        if isinstance(value, tuple):
            for a, b in zip(value, got):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"{key}: {fix}")
        else:
            np.testing.assert_array_equal(np.asarray(value), np.asarray(got), err_msg=f"{key}: {fix}")


def _variants(fn):
    """The reference, and wrong answers of two kinds (zeros; sign flipped)."""
    if isinstance(fn, type):
        return {"reference": fn}

    def wrong(how):
        def transform(v):
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                return how(v)
            return tuple(transform(x) for x in v) if isinstance(v, tuple) else v

        def student(*args, **kwargs):
            return transform(fn(*args, **kwargs))

        student.__signature__ = inspect.signature(fn)
        return student

    return {"reference": fn, "zeros": wrong(np.zeros_like), "negated": wrong(np.negative)}


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c != "ch04_cnn"])
def test_public_checks_give_the_same_verdicts_from_stored_values(chapter, monkeypatch):
    exercises = chapters()[chapter]
    namespace = {}
    exec(extract(notebook_path("source", chapter), exercises).source, namespace)
    compared = 0
    for exercise in exercises:
        if exercise not in namespace or not exercise_checks(exercise, include_hidden=False):
            continue
        for kind, fn in _variants(namespace[exercise]).items():
            monkeypatch.delenv(reference.FORCE_STORED, raising=False)
            live = [(r.status, r.message) for r in run_checks(exercise, _local_backend(fn), include_hidden=False)]
            monkeypatch.setenv(reference.FORCE_STORED, "1")
            stored = [(r.status, r.message) for r in run_checks(exercise, _local_backend(fn), include_hidden=False)]
            assert stored == live, (exercise, kind)
            if kind == "reference":
                assert {s for s, _ in stored} == {"passed"}, (exercise, stored)
            compared += 1
    assert compared >= 3


def test_arguments_never_recorded_fail_the_check_and_say_why(monkeypatch):
    monkeypatch.setenv(reference.FORCE_STORED, "1")
    exact_shapley = reference.reference("ch03_shap", "exact_shapley")
    with pytest.raises(reference.NotStored, match="cannot be checked in the student copy"):
        exact_shapley(object(), np.array([123.456]), np.zeros((1, 1)))


def test_fingerprints_depend_on_contents_not_on_identity_or_use():
    from autograder.testmodels.ch05_practice import RecordingModel
    a, b = RecordingModel([1.0, 2.0]), RecordingModel([1.0, 2.0])
    a(np.ones((3, 2)))                                           # a model that was called is the same model
    assert reference.fingerprint((a, np.arange(3.0))) == reference.fingerprint((b, np.arange(3.0)))
    assert reference.fingerprint(RecordingModel([1.0, 2.5])) != reference.fingerprint(b)
    assert reference.fingerprint(np.arange(3.0)) != reference.fingerprint(np.arange(3))
    assert reference.fingerprint(0.1 + 0.2) == reference.fingerprint(0.3)  # 9 significant digits
