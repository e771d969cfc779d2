"""The front door: `python workbook.py` explains itself, keeps the student's notebooks safe, opens the right
JupyterLab (never launched here: `lab --dry-run` prints the command), and resolves paths from where the user stands."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.submissions import ROOT, make_submission

CH = "ch01_pdp_ice"


def run(*args, env_extra=None, cwd=None, workbook=ROOT / "workbook.py"):
    env = {**os.environ, "IMLBOOK_VENV": "-", **(env_extra or {})}
    return subprocess.run([sys.executable, str(workbook), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=cwd)


def student_copy(tmp_path) -> Path:
    """A minimal student bundle layout: workbook.py and release/ (no source/, no course tools)."""
    copy = tmp_path / "student"
    copy.mkdir()
    shutil.copy(ROOT / "workbook.py", copy)
    shutil.copytree(ROOT / "release", copy / "release", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return copy


def test_help_names_the_two_commands():
    proc = run("--help")
    assert proc.returncode == 0
    assert "python workbook.py lab" in proc.stdout and "python workbook.py test" in proc.stdout
    for command in ("check", "release", "bundle", "grade", "marks", "list", "fetch", "data where"):
        assert f"python workbook.py {command}" in proc.stdout


def test_unknown_command_is_refused():
    proc = run("tset")
    assert proc.returncode == 2 and "unknown command 'tset'" in proc.stderr


def test_current_environment_can_be_used_as_is(tmp_path):
    """IMLBOOK_VENV=- skips the virtual environment (conda users); here: the grader's help."""
    proc = run("grade", "--help", env_extra={"IMLBOOK_VENV": "-"})
    assert proc.returncode == 0 and "--results" in proc.stdout


def test_ci_script_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python workbook.py test" in readme
    assert "workbook.py test" in ci


def load_workbook(path=ROOT / "workbook.py"):
    spec = importlib.util.spec_from_file_location("workbook_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lab_copies_chapters_into_the_workspace_and_never_overwrites_them(tmp_path):
    copy = student_copy(tmp_path)
    release, work = copy / "release", copy / "work"
    prepare = load_workbook(copy / "workbook.py").prepare_workspace
    notebooks = sorted(p.relative_to(release) for p in release.rglob("*.ipynb"))
    assert notebooks

    assert prepare(release, work) == notebooks
    for rel in notebooks:
        assert (work / rel).read_bytes() == (release / rel).read_bytes()

    mine = work / notebooks[0]
    mine.write_text("my answers")                              # the student's work
    (work / notebooks[-1]).unlink()                            # a notebook the student removed comes back
    new_chapter = release / "ch99_new" / "new.ipynb"           # the instructor publishes a new chapter
    new_chapter.parent.mkdir()
    new_chapter.write_text("{}")
    (release / "ch99_new" / ".ipynb_checkpoints").mkdir()      # editor artefacts are not copied
    (release / "ch99_new" / ".ipynb_checkpoints" / "new-checkpoint.ipynb").write_text("{}")

    assert prepare(release, work, dry_run=True) == [notebooks[-1], Path("ch99_new/new.ipynb")]
    assert not (work / "ch99_new").exists() and not (work / notebooks[-1]).exists()
    assert prepare(release, work) == [notebooks[-1], Path("ch99_new/new.ipynb")]
    assert mine.read_text() == "my answers"
    assert (work / "ch99_new" / "new.ipynb").read_text() == "{}"
    assert (work / notebooks[-1]).exists()
    assert not (work / "ch99_new" / ".ipynb_checkpoints").exists()


def tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def test_lab_dry_run_changes_nothing_and_says_what_lab_would_do(tmp_path):
    copy = student_copy(tmp_path)
    shutil.copy(ROOT / "requirements.txt", copy)
    shutil.copy(ROOT / "pyproject.toml", copy)
    before = tree(tmp_path)
    proc = run("lab", "--dry-run", env_extra={"IMLBOOK_VENV": str(tmp_path / "venv")},
               workbook=copy / "workbook.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path) == before                            # no venv, no work/, no .imlbook/, nothing touched
    out = proc.stdout
    assert f"would set up the virtual environment {tmp_path / 'venv'} (it does not exist yet)" in out
    assert f"create a virtual environment in {tmp_path / 'venv'}" in out
    assert f"pip install --disable-pip-version-check --progress-bar off -r {copy / 'requirements.txt'}" in out
    assert str(copy / ".imlbook" / "install.log") in out
    notebooks = sorted(p.relative_to(copy / "release").as_posix() for p in (copy / "release").rglob("*.ipynb"))
    copied = next(line for line in out.splitlines() if line.startswith("would copy into"))
    assert copied == f"would copy into {copy / 'work'}: {', '.join(notebooks)}"
    assert f"would run: {tmp_path / 'venv' / 'bin' / 'python'} -m jupyter lab" in out

    load_workbook(copy / "workbook.py").prepare_workspace(copy / "release", copy / "work")
    again = run("lab", "--dry-run", workbook=copy / "workbook.py", cwd=tmp_path)
    assert f"would copy nothing into {copy / 'work'}" in again.stdout
    assert "would use the current Python environment as it is" in again.stdout  # IMLBOOK_VENV=-


def test_student_lab_opens_the_workspace_without_nbgrader_or_news(tmp_path):
    copy = student_copy(tmp_path)
    proc = run("lab", "--dry-run", "--no-browser", workbook=copy / "workbook.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    command = next(line for line in proc.stdout.splitlines() if line.startswith("would run:")).split()
    assert command[3:7] == ["-m", "jupyter", "lab", f"--ServerApp.root_dir={copy / 'work'}"]
    assert "--LabApp.news_url=None" in command and command[-1] == "--no-browser"
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    config = Path(next(line for line in proc.stdout.splitlines()
                       if line.startswith("with JUPYTER_CONFIG_PATH=")).split("=", 1)[1].split(os.pathsep)[0])
    written = dict(line[len("would write "):].split(": ", 1) for line in proc.stdout.splitlines()
                   if line.startswith("would write "))
    assert not config.exists()                                  # a dry run writes nothing
    page = json.loads(written[str(config / "labconfig" / "page_config.json")])
    assert page["disabledExtensions"] == {"@jupyter/nbgrader": True,
                                          "@jupyterlab/apputils-extension:announcements": True}
    server = json.loads(written[str(config / "jupyter_server_config.json")])["ServerApp"]["jpserver_extensions"]
    assert server and all(name.startswith("nbgrader.") and not on for name, on in server.items())
    assert "nbgrader.server_extensions.formgrader" in server
    wb = load_workbook(copy / "workbook.py")                   # what a real `lab` writes is what it announced
    wb._student_jupyter_config()
    assert json.loads((config / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"] == server


def test_instructor_lab_keeps_nbgrader_and_opens_the_repository():
    proc = run("lab", "--instructor", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert f"--ServerApp.root_dir={ROOT} " in proc.stdout + " "
    assert "JUPYTER_CONFIG_PATH" not in proc.stdout


def test_the_student_copy_offers_only_what_works_there(tmp_path):
    copy = student_copy(tmp_path)
    help_text = run("--help", workbook=copy / "workbook.py").stdout
    assert "python workbook.py lab" in help_text and "python workbook.py check" in help_text
    for command in ("release", "bundle", "grade", "marks", "test"):
        assert f"python workbook.py {command}" not in help_text
    for command in ("release", "test"):                        # `test` is the maintainers' suite
        refused = run(command, workbook=copy / "workbook.py")
        assert refused.returncode == 2 and "not in the student copy" in refused.stderr, command
    assert "The maintainers' test suite, `workbook.py test`, is not part of this copy." in help_text
    assert run("lab", "--instructor", "--dry-run", workbook=copy / "workbook.py").returncode == 2


def test_bundle_resolves_a_relative_folder_from_where_the_user_stands(tmp_path):
    proc = run("bundle", "student-copy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "student-copy" / "release").is_dir()
    assert not (ROOT / "student-copy").exists()


def test_bundle_never_touches_the_repository_or_a_folder_of_other_files(tmp_path):
    before = sorted(p.name for p in ROOT.iterdir())
    for target, cwd in ((".", ROOT), ("..", ROOT), ("release", ROOT), (ROOT / "autograder", tmp_path)):
        proc = run("bundle", target, cwd=cwd)
        assert proc.returncode == 2 and "nothing was written" in proc.stderr.lower(), (target, proc.stderr)
    assert sorted(p.name for p in ROOT.iterdir()) == before

    documents = tmp_path / "my_documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("years of work")
    proc = run("bundle", documents)
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert [p.name for p in documents.iterdir()] == ["thesis.txt"]


def test_grade_says_where_it_wrote_and_a_students_check_writes_nothing(tmp_path):
    nb = make_submission(tmp_path / "alice", CH)
    graded = run("grade", nb, cwd=tmp_path)
    assert graded.returncode == 0, graded.stderr
    assert f"results written to {tmp_path / 'results.json'}" in graded.stdout
    assert "Out of a full 29: 23 automatic points and 6 points for 3 written answer(s) marked by hand" in graded.stdout

    (tmp_path / "results.json").unlink()
    check = run("check", nb, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "13 / 13 points on the public checks" in check.stdout
    assert ("The full grade is out of 29: 23 automatic points (the public checks above carry 13 of them; "
            "your instructor's grader adds hidden checks of the same kind for the other 10) and 6 points for "
            "3 written answer(s) marked by hand") in check.stdout
    assert not (tmp_path / "results.json").exists()


def test_data_commands_go_through_the_workbook(tmp_path):
    proc = run("data", "where", env_extra={"IMLBOOK_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert f"cache dir (IMLBOOK_CACHE): {tmp_path / 'cache'}" in proc.stdout
    fetch = run("fetch", "adult", env_extra={"IMLBOOK_CACHE": str(tmp_path / "cache"), "IMLBOOK_OFFLINE": "1",
                                             "IMLBOOK_DATA": ""})
    assert fetch.returncode == 1
    assert fetch.stderr.splitlines()[1].startswith("data set 'adult' is not available: offline mode")


def test_the_readme_first_screen_shows_the_two_commands_and_who_runs_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_screen = "\n".join(readme.splitlines()[:30])
    assert "python workbook.py lab     # students" in first_screen
    assert "python workbook.py test    # maintainers" in first_screen
    assert "the student bundle has no tests and refuses it" in first_screen
    for page in ("docs/chapters.md", "docs/isolation.md", "docs/numeric-spread.md"):
        assert f"]({page})" in first_screen, page
    assert len(readme.splitlines()) < 420                       # the long notes live in docs/chapters.md


def test_every_time_is_in_one_table_with_its_machine_and_date():
    chapters = (ROOT / "docs" / "chapters.md").read_text(encoding="utf-8")
    header = "| what | time | machine | measured on | how |"
    assert chapters.count(header) == 1
    rows = chapters.split(header, 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert len(rows) > 10
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 5 and cells[2] and cells[3], row
    assert "Notebook times" not in (ROOT / "README.md").read_text(encoding="utf-8")
