"""Serve chapter 6's dashboard with Voilà and drive it in headless Chromium (the Chrome DevTools
Protocol over ``websocket-client``). Used by ``tests/test_ch06_dashboard_browser.py`` and
``scripts/screenshot_dashboard.py``.

Everything listens on 127.0.0.1 on a free port; every process started here is stopped on exit
(its whole process group), whatever happened.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Optional[str]:
    """Path of a Chromium/Chrome binary (``$IMLBOOK_CHROMIUM`` first), or None."""
    explicit = os.environ.get("IMLBOOK_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def voila_missing() -> Optional[str]:
    """Why Voilà cannot be used here, or None when it can."""
    try:
        import voila  # noqa: F401
    except ImportError as error:
        return f"Voilà is not installed ({error}); pip install -r requirements.txt"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dashboard_notebook(path: Path, example: str = "", options: str = "") -> Path:
    """Write the notebook Voilà serves: the chapter's deployment example and its dashboard.
    ``example``: arguments of ``deployment_example``; ``options``: extra ``build_dashboard`` options."""
    import nbformat

    cells = [
        nbformat.v4.new_code_cell("from imlbook.ch06_deploy.demo import deployment_example\n"
                                  "from imlbook.ch06_deploy.dashboard import build_dashboard\n"
                                  f"model, full, light, rows = deployment_example({example})"),
        nbformat.v4.new_code_cell(f"build_dashboard(model, rows, light{', ' + options if options else ''})"),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))
    return path


def _stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop ``process`` and its children (it leads its own process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(grace)
    else:                                                    # the leader exited; its kernel may not have
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def voila_server(notebook: Path, timeout: float = 60.0):
    """Serve ``notebook`` with Voilà on 127.0.0.1 on a free port; yields its URL."""
    port = free_port()
    jupyter = Path(tempfile.mkdtemp(prefix="imlbook-voila-"))          # never the user's ~/.jupyter or ~/.local
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), MPLBACKEND="Agg",
               JUPYTER_CONFIG_DIR=str(jupyter / "config"), JUPYTER_DATA_DIR=str(jupyter / "data"),
               JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"), IPYTHONDIR=str(jupyter / "ipython"))
    log = tempfile.TemporaryFile()
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", "--Voila.open_browser=False", "--show_tracebacks=True"]
    process = subprocess.Popen(command, cwd=str(notebook.parent), env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Voilà exited with {process.returncode}:\n{_tail(log)}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Voilà did not listen on port {port} within {timeout:.0f} s:\n{_tail(log)}")
                time.sleep(0.2)
        yield url
    finally:
        _stop(process)
        server_log = _tail(log)
        log.close()
        shutil.rmtree(jupyter, ignore_errors=True)
        voila_server.last_log = server_log


voila_server.last_log = ""


def _tail(log, size: int = 4000) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-size:]


class Browser:
    """Headless Chromium driven over the DevTools protocol: one page, evaluate JavaScript, real
    mouse and keyboard events, screenshots."""

    def __init__(self, executable: str, width: int = 1400, height: int = 1000, timeout: float = 30.0):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="imlbook-chromium-")
        arguments = [executable, "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking", "--disable-dev-shm-usage",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                     f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"]
        if os.geteuid() == 0:
            arguments.insert(1, "--no-sandbox")              # Chromium refuses to run as root with its sandbox
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        try:
            port = self._devtools_port(timeout)
            deadline = time.monotonic() + timeout
            while True:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
                pages = [t for t in targets if t.get("type") == "page"]
                if pages or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if not pages:
                raise RuntimeError("Chromium opened no page")
            self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout,
                                                      suppress_origin=True)
            self._id = 0
            self.send("Page.enable")
            self.send("Runtime.enable")
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout: float) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.process.returncode}")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.1)
        raise TimeoutError(f"Chromium did not open its DevTools port within {timeout:.0f} s")

    def send(self, method: str, params: Optional[dict] = None) -> dict:
        """One DevTools command; returns its result (events that arrive meanwhile are dropped)."""
        self._id += 1
        self.socket.send(json.dumps({"id": self._id, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def wait_for(self, expression: str, timeout: float, what: str = ""):
        """Poll ``expression`` until it is truthy; returns its value or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {what or expression}")
            time.sleep(0.25)

    def click(self, x: float, y: float) -> None:
        """A real left click (press and release) at page coordinates (x, y)."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "clickCount": 0 if kind == "mouseMoved" else 1})

    def drag(self, start: tuple, end: tuple, steps: int = 8) -> None:
        """Press at ``start``, move in ``steps`` to ``end``, release: a real drag."""
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": start[0], "y": start[1]})
        self.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": start[0], "y": start[1],
                                               "button": "left", "clickCount": 1})
        for k in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * k / steps
            y = start[1] + (end[1] - start[1]) * k / steps
            self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "button": "left",
                                                   "buttons": 1})
        self.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": end[0], "y": end[1],
                                               "button": "left", "clickCount": 1})

    def rect(self, selector: str) -> Optional[dict]:
        """The bounding box of the first element matching ``selector`` (scrolled into view), or None."""
        return self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()")

    def screenshot(self, path: Path, selector: Optional[str] = None, margin: int = 12) -> Path:
        """PNG of the page's viewport, or of the element ``selector`` (plus ``margin`` pixels left, right
        and below)."""
        params = {"format": "png"}
        if selector:
            self.evaluate("window.scrollTo(0, 0)")
            box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                                ".getBoundingClientRect(); return [r.x + window.scrollX, r.y + window.scrollY,"
                                " r.width, r.height]; })()")
            x, y = max(0, box[0] - margin), box[1]           # no top margin: output above is not ours
            params.update(captureBeyondViewport=True,
                          clip={"x": x, "y": y, "width": box[2] + 2 * margin, "height": box[3] + margin, "scale": 1})
        data = self.send("Page.captureScreenshot", params)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.socket.close()
        _stop(self.process)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


PREDICTION = ".imlbook-prediction"


def prediction_text(browser: Browser) -> str:
    return browser.evaluate(f"(document.querySelector({json.dumps(PREDICTION)}) || {{}}).innerText || ''")


def wait_for_dashboard(browser: Browser, timeout: float) -> str:
    """Wait until the dashboard shows its prediction line and its images; returns the line."""
    browser.wait_for(f"document.querySelector({json.dumps(PREDICTION)}) && "
                     f"document.querySelector({json.dumps(PREDICTION)}).innerText.includes('predicted') && "
                     "Array.from(document.querySelectorAll('.imlbook-dashboard img'))"
                     ".some(i => i.complete && i.naturalWidth > 0)", timeout, "the dashboard to render")
    return prediction_text(browser)


def move_what_if_slider(browser: Browser, feature: str, fraction: float) -> None:
    """Drag the what-if slider of ``feature`` so that its handle lands at ``fraction`` of its track
    (a real mouse drag on the rendered slider)."""
    base = f".imlbook-whatif-{feature}"
    handle = browser.rect(f"{base} .noUi-handle")
    track = browser.rect(f"{base} .noUi-target") or browser.rect(f"{base} .slider")
    if handle is None or track is None:
        raise RuntimeError(f"no slider found for {feature} ({base})")
    start = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    end = (track["x"] + fraction * track["width"], start[1])
    browser.drag(start, end)
