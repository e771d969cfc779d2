"""The proofs every chapter's grader must pass, written once.

Each chapter's ``tests/test_chNN_grading.py`` lists its wrong and correct
variants and calls these on them.
"""
from __future__ import annotations

from autograder.checks import chapters, max_points
from autograder.grade import Report, grade_notebook
from tests.submissions import make_submission, stub_submission


def _untimed(report: Report):
    """results.json's tests without the per-check seconds (the only field that may differ between runs)."""
    tests = report.gradescope()["tests"]
    for t in tests:
        t.get("extra_data", {}).pop("seconds", None)
    return tests


def scores(path, chapter: str):
    """Grade ``path`` as ``chapter`` once: ({exercise: points}, report).

    That the same submission gets the same points and messages on a second run (the checks' seeds
    are fixed) is proven once per chapter by ``graded_reproducibly``, on a submission with wrong
    answers in several exercises (the other exercises hold the reference, so both kinds repeat).
    """
    report: Report = grade_notebook(path)
    assert report.chapter == chapter and not report.problem, report.problem
    return report.exercise_scores(), report


def reference_scores_full_marks(tmp_path, chapter: str, written_answers) -> None:
    """The reference solution gets every automatic point, and its written answers (``grade_id``s, in
    notebook order) are left to a human."""
    got, report = scores(make_submission(tmp_path, chapter), chapter)
    assert got == {ex: max_points(ex) for ex in chapters()[chapter]}
    assert report.score == report.max_score == sum(max_points(ex) for ex in chapters()[chapter])
    assert [m.grade_id for m in report.manual] == list(written_answers)


def stub_scores_zero(tmp_path, chapter: str) -> None:
    got, report = scores(stub_submission(tmp_path, chapter), chapter)
    assert got == {ex: 0 for ex in chapters()[chapter]}
    for results in report.results.values():
        assert all(r.status == "not attempted" for r in results)
        assert "not attempted" in results[0].message


def wrong_variant_loses_marks(tmp_path, chapter: str, exercise: str, source: str, variant: str = "") -> None:
    got, report = scores(make_submission(tmp_path, chapter, {exercise: source}), chapter)
    assert got[exercise] < max_points(exercise), f"{variant!r} kept full marks"
    failed = [r for r in report.results[exercise] if not r.passed]
    assert all(r.message for r in failed), "every lost point comes with a message"
    others = {ex: s for ex, s in got.items() if ex != exercise}
    assert others == {ex: max_points(ex) for ex in others}, "a wrong answer must not cost other exercises"


def correct_variant_keeps_full_marks(tmp_path, chapter: str, exercise: str, source: str) -> None:
    got, report = scores(make_submission(tmp_path, chapter, {exercise: source}), chapter)
    failed = [(r.check.name, r.message) for r in report.results[exercise] if not r.passed]
    assert got[exercise] == max_points(exercise), failed


def graded_reproducibly(tmp_path, chapter: str, answers: dict) -> None:
    """A submission with ``answers`` (wrong answers in several exercises, the reference elsewhere) gets
    the same points, statuses and messages on a second grading, and every wrong exercise loses marks."""
    assert len(answers) >= 2, "prove reproducibility on wrong answers in several exercises"
    path = make_submission(tmp_path, chapter, answers)
    first, second = grade_notebook(path), grade_notebook(path)
    assert first.chapter == chapter and not first.problem, first.problem
    assert _untimed(first) == _untimed(second), "a second grading gave other results"
    got = first.exercise_scores()
    kept = [ex for ex in answers if got[ex] >= max_points(ex)]
    assert not kept, f"wrong answers kept full marks: {kept}"
    assert first.score == second.score < first.max_score


LAZY_SHARE = 0.10  # a submission without the method earns at most this share of a chapter's automatic points


def lazy_scores_at_most_a_tenth(tmp_path, chapter: str, answers: dict, what: str) -> None:
    """A submission whose exercises implement nothing (constants, zeros, one model call, a fake object,
    ``answers``; ``None`` leaves a stub) earns at most ``LAZY_SHARE`` of the chapter's automatic points."""
    path = make_submission(tmp_path, chapter, answers, name=f"lazy-{chapter}.ipynb")
    _lazy_share_at_most(path, chapter, what)


def lookup_scores_at_most_a_tenth(tmp_path, chapter: str) -> None:
    """A submission answering every public check from a table of recorded answers (see
    ``tests/lookup_submissions.py``) earns at most ``LAZY_SHARE`` of the chapter's automatic points."""
    from tests.lookup_submissions import lookup_submission
    _lazy_share_at_most(lookup_submission(tmp_path, chapter), chapter, "answers looked up from the public checks")


def _lazy_share_at_most(path, chapter: str, what: str) -> None:
    got, report = scores(path, chapter)
    earned = [(ex, r.check.name) for ex, rs in report.results.items() for r in rs if r.passed and r.check.points]
    assert report.score <= LAZY_SHARE * report.max_score, (
        f"{what}: {report.score:g} of {report.max_score:g} points; checks that paid: {earned}")
