"""Hidden checks: run only by the grader and by nbgrader autograde. Never shipped to students."""
