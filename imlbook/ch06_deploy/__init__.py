"""Chapter 6: explanations beside a deployed model.

* :mod:`.explanation` — :class:`StoredExplanation`, an explanation as it comes back from the run store.
* :mod:`.store` — log an explanation to an MLflow run and load it back (local SQLite store, no server).
* :mod:`.demo` — a small census-like table of raw rows and a scikit-learn pipeline trained in a second.
* :mod:`.scoring` — :class:`ScoringExplainer`, :func:`score`, and the model registry round trip.
* :mod:`.service` — the FastAPI service that answers ``POST /score``.
"""
