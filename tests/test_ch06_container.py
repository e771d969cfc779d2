"""Chapter 6's container recipe (imlbook/ch06_deploy/container/): what can be checked without Docker.

* its requirements pin the same versions as the workbook's requirements.txt, and they cover every
  package the service imports while it loads the registered model and answers (the pins and what they
  pull in);
* the Dockerfile's own command starts the service, which loads the registered model and answers
  ``/health`` and ``/score`` (run here as a plain process on 127.0.0.1 instead of 0.0.0.0).
"""
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from importlib import metadata
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("mlflow", reason="mlflow-skinny is not installed (see requirements.txt)")
httpx = pytest.importorskip("httpx")

ROOT = Path(__file__).resolve().parent.parent
CONTAINER = ROOT / "imlbook" / "ch06_deploy" / "container"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def pins(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        found = PIN.match(line.strip())
        if found:
            out[metadata.distribution(found.group(1)).metadata["Name"].lower().replace("_", "-")
                if _installed(found.group(1)) else found.group(1).lower()] = found.group(2)
    return out


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(names) -> set:
    """The installed distributions ``names`` need, themselves included (Requires-Dist without extras)."""
    seen, todo = set(), [_normal(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen or not _installed(name):
            continue
        seen.add(name)
        for req in metadata.distribution(name).requires or []:
            if "extra ==" in req:
                continue
            todo.append(_normal(re.match(r"[A-Za-z0-9_.\-]+", req).group(0)))
    return seen


def test_the_container_pins_the_workbooks_versions():
    """A name that requirements.txt pins has its version; one it leaves to a dependency (SQLAlchemy comes
    with nbgrader) has the version the workbook's environment installed."""
    container, workbook = pins(CONTAINER / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert container, "no pins in the container's requirements"
    wanted = {name: workbook.get(name) or (metadata.version(name) if _installed(name) else None) for name in container}
    different = {name: (version, wanted[name]) for name, version in container.items() if wanted[name] != version}
    assert not different, f"pinned differently from the workbook's environment (container, workbook): {different}"


def dockerfile_command() -> list:
    cmd = next(line for line in (CONTAINER / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(cmd[len("CMD "):])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVICE_SETUP = textwrap.dedent('''
    import json, sys
    import mlflow
    from imlbook.ch06_deploy import scoring
    from imlbook.ch06_deploy.demo import deployment_example
    from imlbook.ch06_deploy.store import use_local_store
    model, full, _, test = deployment_example()
    light = scoring.ScoringExplainer.from_explainer(full, 8)
    use_local_store(sys.argv[1])
    version = scoring.register_model(model, light, "census", "container test").version
    rows = test.iloc[:2].astype(object).where(test.iloc[:2].notna(), None).to_dict("records")
    print(json.dumps({"version": str(version), "rows": rows}))
''')

MODULES = textwrap.dedent('''
    import json, sys
    before = set(sys.modules)
    from imlbook.ch06_deploy import service, scoring
    import my_service
    model, explainer = scoring.load_registered_model("census", sys.argv[2], tracking_uri=sys.argv[3])
    rows = json.loads(sys.argv[1])
    my_service.score(rows, model, explainer)
    service.create_app("census", sys.argv[2], sys.argv[4], score_fn=my_service.score)
    print(json.dumps(sorted({m.split(".")[0] for m in set(sys.modules) - before})))
''')


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("container")
    (folder / "my_service.py").write_text("from tests.ch06_reference import namespace\n\nscore = namespace()['score']\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]))
    made = subprocess.run([sys.executable, "-c", SERVICE_SETUP, str(folder / "store")], capture_output=True,
                          text=True, env=env, cwd=folder, timeout=600)
    assert made.returncode == 0, made.stderr[-2000:]
    info = json.loads(made.stdout.strip().splitlines()[-1])
    return {"folder": folder, "env": env, **info}


def test_the_containers_requirements_cover_what_the_service_imports(store):
    from imlbook.ch06_deploy.store import use_local_store

    uri = use_local_store(store["folder"] / "store")
    import mlflow
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    out = subprocess.run([sys.executable, "-c", MODULES, json.dumps(store["rows"]), store["version"], uri,
                          str(store["folder"] / "store")],
                         capture_output=True, text=True, env=store["env"], cwd=store["folder"], timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    imported = json.loads(out.stdout.strip().splitlines()[-1])
    provided = closure(pins(CONTAINER / "requirements.txt"))
    owners = metadata.packages_distributions()
    ours = {"imlbook", "my_service", "tests", "autograder"}   # copied into the image, or the test's own
    missing = {}
    for module in imported:
        if module in ours or module in sys.stdlib_module_names or module.startswith("_"):
            continue
        dists = {_normal(d) for d in owners.get(module, [])}
        if dists and not dists & provided:
            missing[module] = sorted(dists)
    assert not missing, f"imported by the service but not installed by the container's requirements: {missing}"


def test_the_dockerfiles_command_starts_the_service(store):
    cmd = dockerfile_command()
    assert cmd[:3] == ["python", "-m", "imlbook.ch06_deploy.service"]
    args = dict(zip(cmd[3::2], cmd[4::2]))
    assert set(args) == {"--store", "--name", "--version", "--host", "--port", "--score"}, args
    port = free_port()
    # the same command, with this test's store and version, on the loopback address
    args.update({"--store": str(store["folder"] / "store"), "--version": store["version"], "--host": "127.0.0.1",
                 "--port": str(port)})
    process = subprocess.Popen([sys.executable, "-m", "imlbook.ch06_deploy.service",
                                *[x for kv in args.items() for x in kv]],
                               env=store["env"], cwd=store["folder"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"{url}/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert health is not None, f"the service did not start: {process.stdout.read().decode()[-2000:] if process.poll() is not None else 'no answer'}"
        assert health.status_code == 200 and health.json()["model_loaded"] is True, health.text
        answer = httpx.post(f"{url}/score", json=store["rows"], timeout=60)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 2
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
