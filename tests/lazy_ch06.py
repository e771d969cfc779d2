"""Chapter 6 submissions that do not implement the methods (issue 18): each must earn at most 10 % of
the chapter's automatic points. Used by tests/test_ch06_grading.py."""

# Stores no values: only the comment, as a tag; looks the run up and checks top_k (the properties).
LOG_NO_VALUES = '''
def log_explanation(explanation, run, comment, top_k=None):
    run_id = run_id_of(run)
    client = mlflow.MlflowClient()
    get_run(run_id, client)
    if top_k is not None and not 1 <= top_k <= len(explanation.feature_names):
        raise ValueError("top_k")
    client.log_dict(run_id, {"comment": comment}, "explanation/explanation.json")
    client.set_tag(run_id, "explanation.comment", str(comment))
    return run_id
'''

# Loads nothing: raises the right error for each kind of run, and nothing else.
LOAD_ONLY_ERRORS = '''
def load_explanation(run_id, top_k=None):
    client = mlflow.MlflowClient()
    get_run(run_id, client)
    if top_k is not None and top_k < 1:
        raise ValueError("top_k")
    if not client.list_artifacts(run_id, "explanation"):
        raise NoExplanationError(f"run {run_id} has no explanation")
    try:
        raise ValueError("not read")
    except ValueError as error:
        raise CorruptExplanationError(f"run {run_id}: not read") from error
'''

# Constants of the right types: the explainer's names, zeros, label 0 for every row.
SCORE_CONSTANTS = '''
def score(rows, model, scoring_explainer):
    names = [str(n) for n in scoring_explainer.feature_names]
    n = len(rows)
    return {"predictions": [0] * n, "local_importance_values": [[0.0] * len(names) for _ in range(n)],
            "feature_names": names}
'''

LAZY = {"log_explanation": LOG_NO_VALUES, "load_explanation": LOAD_ONLY_ERRORS, "score": SCORE_CONSTANTS}
