"""`python -m autograder grade`: Gradescope results for one notebook, a CSV row per student for a folder."""
import csv
import json
import subprocess
import sys

from autograder.checks import chapters, max_points
from tests.submissions import ROOT, make_submission, stub_submission
from tests.test_ch01_grading import WRONG

CH = "ch01_pdp_ice"


def run_cli(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_single_notebook_writes_gradescope_results(tmp_path):
    nb = make_submission(tmp_path / "alice", CH,
                         {"ice_curves": WRONG["ice_curves"]["centred on the last grid value"]})
    out = tmp_path / "results.json"
    proc = run_cli("grade", nb, "--results", out, cwd=tmp_path)
    assert "ice_curves:" in proc.stdout and "first problem:" in proc.stdout
    data = json.loads(out.read_text())
    auto = [t for t in data["tests"] if t["max_score"] > 0]
    assert {t["name"].split(":")[0] for t in auto} == set(chapters()[CH])
    for t in auto:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed")
        assert (t["status"] == "passed") == (t["score"] == t["max_score"])
        assert t["visibility"] in ("visible", "after_published")
        if t["status"] == "failed":
            assert t["output"], "a failed check says why"
    assert data["score"] == sum(t["score"] for t in auto)
    full = sum(max_points(ex) for ex in chapters()[CH])
    assert 0 < data["score"] < full
    manual = [t for t in data["tests"] if t["max_score"] == 0]
    assert len(manual) == 3 and all("graded by hand" in t["name"] for t in manual)


def test_a_folder_of_submissions_gives_one_csv_row_per_student(tmp_path):
    subs = tmp_path / "submitted"
    make_submission(subs / "alice" / CH, CH)
    stub_submission(subs / "bob" / CH, CH)
    (subs / "carol" / CH).mkdir(parents=True)
    (subs / "carol" / CH / "pdp_ice.ipynb").write_text("{ not json")
    run_cli("grade", subs, "--out", tmp_path / "graded", "--jobs", "2", cwd=tmp_path)
    with open(tmp_path / "graded" / "grades.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"alice", "bob", "carol"}
    full = sum(max_points(ex) for ex in chapters()[CH])
    assert float(rows["alice"]["total"]) == full
    assert float(rows["bob"]["total"]) == 0
    assert float(rows["carol"]["total"]) == 0
    feedback = (tmp_path / "graded" / "carol" / CH / "feedback.md").read_text()
    assert "not a valid notebook" in feedback
    alice = json.loads((tmp_path / "graded" / "alice" / CH / "results.json").read_text())
    assert alice["score"] == full


def test_list_shows_points():
    proc = run_cli("list", cwd=ROOT)
    assert "standardize: 5 points (3 public, 2 hidden)" in proc.stdout
