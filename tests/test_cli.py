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
    assert float(rows["carol"]["out of"]) == float(rows["alice"]["out of"]) == full + 6  # written answers count
    feedback = (tmp_path / "graded" / "carol" / CH / "feedback.md").read_text()
    assert "not a valid notebook" in feedback
    alice = json.loads((tmp_path / "graded" / "alice" / CH / "results.json").read_text())
    assert alice["score"] == full


def test_list_shows_points():
    proc = run_cli("list", cwd=ROOT)
    assert "standardize: 5 points (3 public, 2 hidden)" in proc.stdout


def run_raw(*args, cwd):
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_out_must_be_the_graders_own_folder(tmp_path):
    """A non-empty folder the grader did not make is refused (or written into with --force, deleting
    nothing); the workbook's own folders are always refused; a relative --out is taken from the cwd."""
    subs = tmp_path / "submitted"
    make_submission(subs / "alice" / CH, CH)
    mine = tmp_path / "my_documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    refused = run_raw("grade", subs, "--out", mine, cwd=tmp_path)
    assert refused.returncode == 2 and "not empty" in refused.stderr and "--force" in refused.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    for target in (ROOT, ROOT / "release", ROOT / "autograder"):
        proc = run_raw("grade", subs, "--out", target, cwd=tmp_path)
        assert proc.returncode == 2 and "part of the workbook" in proc.stderr or "workbook itself" in proc.stderr
    assert not (ROOT / "grades.csv").exists() and not (ROOT / "release" / "grades.csv").exists()

    forced = run_cli("grade", subs, "--out", mine, "--force", "--jobs", "1", cwd=tmp_path)
    assert (mine / "notes.txt").read_text() == "keep" and (mine / "grades.csv").exists(), forced.stdout
    run_cli("grade", subs, "--out", "graded", "--jobs", "1", cwd=tmp_path)
    again = run_cli("grade", subs, "--out", "graded", "--jobs", "1", cwd=tmp_path)  # its own folder: fine
    assert str(tmp_path / "graded" / "grades.csv") in again.stdout


def test_results_file_is_never_a_file_of_someone_else(tmp_path):
    nb = make_submission(tmp_path / "alice", CH)
    other = tmp_path / "results.json"
    other.write_text('{"my": "data"}')
    proc = run_raw("grade", nb, cwd=tmp_path)
    assert proc.returncode == 2 and "not a results file of this grader" in proc.stderr
    assert other.read_text() == '{"my": "data"}'
    proc = run_raw("grade", nb, "--results", ROOT / "README.md", cwd=tmp_path)
    assert proc.returncode == 2 and "part of the workbook" in proc.stderr


def test_written_answers_are_marked_by_hand_and_merged_into_grades(tmp_path):
    subs, out = tmp_path / "submitted", tmp_path / "graded"
    alice = make_submission(subs / "alice" / CH, CH)
    nb = json.loads(alice.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "answer_pdp_1d":
            cell["source"] = "=flat below 6 rooms, then rising"  # a spreadsheet formula, as a student may type
    alice.write_text(json.dumps(nb))
    stub_submission(subs / "bob" / CH, CH)
    run_cli("grade", subs, "--out", out, "--jobs", "2", cwd=tmp_path)
    auto = sum(max_points(ex) for ex in chapters()[CH])
    with open(out / "grades.csv") as fh:
        before = {r["student"]: r for r in csv.DictReader(fh)}
    assert float(before["alice"]["out of"]) == auto + 6 and before["alice"]["unmarked"] == "3"

    run_cli("marks", "sheet", out, cwd=tmp_path)
    with open(out / "written-answers.csv", encoding="utf-8-sig") as fh:
        sheet = list(csv.DictReader(fh))
    assert len(sheet) == 6 and {r["student"] for r in sheet} == {"alice", "bob"}
    row = next(r for r in sheet if r["student"] == "alice" and r["question"] == "answer_pdp_1d")
    assert row["answer"] == "'=flat below 6 rooms, then rising"   # made harmless for spreadsheets
    assert row["out_of"] == "2" and "Mark scheme" in row["mark_scheme"] and "What do you see?" in row["prompt"]
    assert row["model_answer"] and row["points"] == "" and row["comment"] == ""

    for r in sheet:  # the instructor marks alice fully, bob's first answer only; saved with semicolons
        if r["student"] == "alice":
            r["points"] = "2"
        elif r["question"] == "answer_pdp_1d":
            r["points"], r["comment"] = "0,5", "see the mark scheme"
    with open(out / "written-answers.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(sheet[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(sheet)
    run_cli("marks", "merge", out, cwd=tmp_path)
    with open(out / "grades.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert float(rows["alice"]["total"]) == auto + 6 and float(rows["alice"]["out of"]) == auto + 6
    assert float(rows["alice"]["written"]) == 6 and rows["alice"]["unmarked"] == "0"
    assert float(rows["bob"]["total"]) == 0.5 and rows["bob"]["unmarked"] == "2"
    assert float(rows["bob"]["answer_pdp_1d"]) == 0.5 and rows["bob"]["answer_ice"] == ""

    run_cli("grade", subs / "bob", "--out", out, "--force", "--jobs", "1", cwd=tmp_path)  # regrading keeps the marks
    with open(out / "grades.csv") as fh:
        assert float({r["student"]: r for r in csv.DictReader(fh)}["bob"]["written"]) == 0.5

    sheet[0]["points"] = "7"   # more than the question is worth: nothing merged, the row is named
    with open(out / "written-answers.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet)
    bad = run_raw("marks", "merge", out, cwd=tmp_path)
    assert bad.returncode == 1 and "row 2: 7 points" in bad.stderr and "nothing merged" in bad.stderr
    with open(out / "grades.csv") as fh:
        assert float({r["student"]: r for r in csv.DictReader(fh)}["alice"]["written"]) == 6

    refreshed = run_cli("marks", "sheet", out, cwd=tmp_path)  # a new sheet keeps the marks entered
    assert "kept as" in refreshed.stdout
    with open(out / "written-answers.csv", encoding="utf-8-sig") as fh:
        assert sum(r["points"] != "" for r in csv.DictReader(fh)) == 4
