"""Screenshot of chapter 6's interactive dashboard as a browser renders it, for the README.

    python scripts/screenshot_dashboard.py [--out docs/images/ch06_dashboard.png] [--width 1400]

Serves a notebook that builds the dashboard on the chapter's deployment example (``deployment_example()``,
``build_dashboard(model, rows, light)`` with its defaults) with Voilà on 127.0.0.1, opens it in headless
Chromium, drags the what-if slider of ``education_num`` to the top of its range (so the picture shows
a what-if edit), waits for the views to redraw and saves a PNG of the dashboard. Same serving code as the
browser test (``tests/dashboard_browser.py``). Needs Chromium and Voilà (requirements.txt).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import dashboard_browser as tools  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "ch06_dashboard.png")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1500)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each step")
    args = parser.parse_args(argv)
    chromium = tools.find_chromium()
    if chromium is None or tools.voila_missing():
        print(tools.voila_missing() or "no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        # the label chapter 6's notebook gives the dashboard
        notebook = tools.dashboard_notebook(Path(folder) / "dashboard.ipynb",
                                            options='target_name="predicted P(income > 50K)"')
        with tools.voila_server(notebook, timeout=args.timeout) as url, \
                tools.Browser(chromium, width=args.width, height=args.height, timeout=args.timeout) as page:
            page.navigate(url)
            before = tools.wait_for_dashboard(page, args.timeout)
            print(f"rendered after {time.perf_counter() - start:.1f} s: {before}")
            images = "Array.from(document.querySelectorAll('.imlbook-dashboard img')).map(i => i.src).join(' ')"
            drawn = page.evaluate(images)
            tools.move_what_if_slider(page, "education_num", 1.0)
            after = page.wait_for(f"(() => {{ const t = document.querySelector('{tools.PREDICTION}').innerText;"
                                  f" return t !== {before!r} && t; }})()", args.timeout, "the what-if edit")
            page.wait_for(f"(() => {{ const old = {drawn!r}.split(' '); const now = {images}.split(' ');"
                          " return now.filter((s, k) => s !== old[k]).length >= 2; })()",   # local + ICE
                          args.timeout, "the redraw of the row's views")
            time.sleep(1.0)                                  # let the last image paint
            print(f"after the what-if edit: {after}")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(args.out, ".imlbook-dashboard")
    print(f"wrote {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
