"""Imported by chapter 6's grading workers before they fork (``WORKER_PRELOAD``): make the empty
MLflow database once, so that every check's store is a copy (a fraction of a second) instead of a
new database (several seconds of migrations)."""
from .store import empty_database

empty_database()
