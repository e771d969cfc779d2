"""nbgrader configuration for the workbook (the course root is this folder).

    nbgrader generate_assignment ch01_pdp_ice --force   # source/ -> release/
    nbgrader autograde ch01_pdp_ice                     # submitted/ -> autograded/
    nbgrader generate_feedback ch01_pdp_ice
    nbgrader export
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "iml-workbook"
# The student's stub: the same marker the original workshop used.
c.ClearSolutions.code_stub = {"python": "#** EDIT ME **"}
c.ClearSolutions.text_stub = "*Your answer here.*"
# Executing a notebook trains small models: allow a few minutes per cell.
c.ExecutePreprocessor.timeout = 600
c.Execute.timeout = 600
