"""Analytic answers for the test models, one module per chapter, computed in the grader's
process. Masked from the sandboxed worker."""
