"""Chapter 6 dashboard in a real browser: Voilà serves a notebook that builds the dashboard on the
chapter's deployment example (127.0.0.1, a free port), headless Chromium opens it, a real mouse drag
moves the what-if slider, and the page must show the updated prediction — the model's own prediction
for the edited row — and a redrawn local-importance view.

Skips, saying why, when Chromium, Voilà or websocket-client is missing (`.ci/run` installs Chromium
from Debian's packages when it can)."""
import re

import pytest

from tests import dashboard_browser as browser_tools

EXAMPLE = dict(n_rows=900, n_full_background=60, n_background=8)   # small: the page is ready in seconds
OPTIONS = "max_explained=24"
TIMEOUT = 45                                                       # seconds, for each wait


def _requirements():
    pytest.importorskip("websocket", reason="websocket-client drives Chromium over the DevTools protocol")
    chromium = browser_tools.find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set IMLBOOK_CHROMIUM to a Chrome binary)")
    why = browser_tools.voila_missing()
    if why:
        pytest.skip(why)
    return chromium


def test_moving_the_what_if_slider_updates_the_page(tmp_path):
    chromium = _requirements()
    from imlbook.ch06_deploy.demo import deployment_example

    notebook = browser_tools.dashboard_notebook(tmp_path / "dashboard.ipynb",
                                                ", ".join(f"{k}={v}" for k, v in EXAMPLE.items()), OPTIONS)
    local_image = "Array.from(document.querySelectorAll('.imlbook-dashboard img')).map(i => i.src).join(' ')"
    try:
        with browser_tools.voila_server(notebook, timeout=TIMEOUT) as url, \
                browser_tools.Browser(chromium, timeout=TIMEOUT) as page:
            page.navigate(url)
            model, _, _, rows = deployment_example(**EXAMPLE)        # the page's model, while the page loads
            before = browser_tools.wait_for_dashboard(page, TIMEOUT)
            images_before = page.evaluate(local_image)
            assert len(images_before.split()) >= 5, f"expected the dashboard's figures, found {images_before!r}"
            match = re.match(r"row (\d+): predicted probability of class 1 = ([0-9.]+)", before)
            assert match, f"unexpected prediction line {before!r}"
            index = int(match.group(1))
            assert float(match.group(2)) == pytest.approx(model.predict_proba(rows.loc[[index]])[0, 1], abs=6e-4)

            start = rows.loc[index, "education_num"]
            browser_tools.move_what_if_slider(page, "education_num", 0.98 if start < 9 else 0.02)
            after = page.wait_for(f"(() => {{ const t = document.querySelector('{browser_tools.PREDICTION}')"
                                  f".innerText; return t !== {before!r} && t; }})()", TIMEOUT,
                                  "the prediction line to change after the slider moved")
            match = re.match(rf"row {index} \(edited: education_num = (\d+)\): predicted probability of class 1 "
                             r"= ([0-9.]+) \(predicted label (\d)\); before the edits ([0-9.]+)", after)
            assert match, f"unexpected prediction line after the edit: {after!r}"
            value = float(match.group(1))
            assert value != start and abs(value - start) >= 5          # the drag moved the slider a long way
            edited = rows.loc[[index]].assign(education_num=value)
            assert float(match.group(2)) == pytest.approx(model.predict_proba(edited)[0, 1], abs=6e-4)
            assert int(match.group(3)) == model.predict(edited)[0]
            assert match.group(4) == f"{model.predict_proba(rows.loc[[index]])[0, 1]:.3f}"
            # the local importance (and ICE) images are redrawn
            page.wait_for(f"(() => {{ const s = {local_image}; return s !== {images_before!r}; }})()", TIMEOUT,
                          "the figures to be redrawn")
    except (TimeoutError, RuntimeError) as error:
        raise AssertionError(f"{error}\nVoilà's log:\n{browser_tools.voila_server.last_log}") from error
