"""Chapter 6: explanations beside a deployed model — what is not an exercise.

* :mod:`.store` — MLflow tracking on a local store (SQLite + files, no server), ``run_id_of``,
  ``get_run``, and the run store's errors (the exercises ``log_explanation`` / ``load_explanation``
  live in the notebook).
* :mod:`.previous` — your chapter-5 ``Explanation``, taken from your chapter-5 notebook.
* :mod:`.demo` — a small census-like table of raw rows and a scikit-learn pipeline trained in seconds.
* :mod:`.scoring` — :class:`~.scoring.ScoringExplainer` and the model registry round trip (the
  exercise ``score`` lives in the notebook).
* :mod:`.service` — the FastAPI service that answers ``POST /score`` with the ``score`` it is given,
  served in the background, and a load test.
* :mod:`.dashboard` — the interactive explanation dashboard (views, state, ipywidgets).
"""
