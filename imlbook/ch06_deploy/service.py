"""The scoring service of chapter 6: FastAPI, served by uvicorn.

At start it loads version ``version`` of the registered model ``name`` (the model and its scoring
explainer, :func:`imlbook.ch06_deploy.scoring.load_registered_model`) from a local MLflow store.
It answers with ``score_fn(rows, model, scoring_explainer)``: the chapter's exercise ``score``,
written in the notebook and handed to :func:`create_app`. Endpoints:

* ``GET /health`` — ``{"model_loaded": true, "model": name, "version": v}`` (200), or 503 with
  ``model_loaded: false`` and the load error.
* ``POST /score`` — body: a JSON list of rows (objects with exactly the model's raw columns), or
  ``{"rows": [...]}``. Answer: ``score_fn``'s dict. Bad input gets a
  4xx JSON ``{"error": ..., "problems": [...]}``: 400 not JSON (also JSON nested deeper than
  ``MAX_JSON_DEPTH``, e.g. ``[`` repeated 100,000 times), 413 body over ``max_body_bytes`` or more
  than ``max_rows`` rows, 415 not ``application/json``, 422 empty list / missing or extra columns /
  wrong types / unknown categories (each problem names its row and column).

Back-pressure: requests are scored one at a time; at most ``max_queue`` wait behind the one being
scored. Past that the service answers **503** at once, with a ``Retry-After`` header (seconds: the
queue's length times the mean scoring time so far, at least 1) instead of letting latency grow.

Run it::

    python -m imlbook.ch06_deploy.service --store STORE_FOLDER --name census --version 1 --port 8000 \
        --score my_module:score
"""

import argparse
import json
import math
import threading
import time
from contextlib import asynccontextmanager, contextmanager

MAX_ROWS = 200
MAX_BODY_BYTES = 256 * 1024
MAX_QUEUE = 8          # requests waiting behind the one being scored; more get 503 + Retry-After
MAX_JSON_DEPTH = 32    # rows are objects inside a list: anything deeper is not a valid body


def create_app(name: str, version, store=None, max_rows: int = MAX_ROWS, max_body_bytes: int = MAX_BODY_BYTES,
               score_fn=None, max_queue: int = MAX_QUEUE):
    """The FastAPI app; ``store`` is the folder of a local store (see
    :func:`imlbook.ch06_deploy.store.use_local_store`), or None for MLflow's current tracking URI;
    ``score_fn(rows, model, scoring_explainer) -> dict`` computes each answer (required);
    ``max_queue`` requests may wait while one is scored (more get 503 with ``Retry-After``). Loading
    the model does not change MLflow's current tracking URI in this process."""
    if not callable(score_fn):
        raise TypeError("create_app needs score_fn, e.g. create_app(..., score_fn=score) with your score function")
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse

    state = {"model": None, "explainer": None, "error": None}
    # One request is scored at a time: an explanation already batches up to 65,536 model rows per call
    # and the model's predict uses the machine's cores, so concurrent requests would only compete for
    # memory and CPU. The load test's throughput is that of this one-at-a-time service.
    lock = threading.Lock()
    queue = {"waiting": 0, "scored": 0, "seconds": 0.0}  # touched only on the event loop's thread

    @asynccontextmanager
    async def lifespan(app):
        from pathlib import Path

        from . import scoring
        from .store import DATABASE

        try:
            uri = None if store is None else f"sqlite:///{Path(store).resolve() / DATABASE}"
            if uri is not None and not (Path(store) / DATABASE).exists():
                raise FileNotFoundError(f"no MLflow store in {store} (no {DATABASE})")
            model, explainer = scoring.load_registered_model(name, version, uri)
            score_fn(explainer.background.iloc[:1].to_dict("records"), model, explainer)   # warm up
            state["model"], state["explainer"] = model, explainer
        except Exception as error:  # the service stays up and /health says why it has no model
            state["error"] = f"{type(error).__name__}: {error}"
        yield

    app = FastAPI(title="imlbook scoring service", lifespan=lifespan)

    def error(status: int, message: str, problems=()):
        return JSONResponse({"error": message, "problems": list(problems)}, status_code=status)

    @app.get("/health")
    def health():
        loaded = state["model"] is not None
        body = {"model_loaded": loaded, "model": name, "version": str(version)}
        if not loaded:
            body["error"] = state["error"] or "the model is still loading"
        return JSONResponse(body, status_code=200 if loaded else 503)

    @app.post("/score")
    async def score_endpoint(request: Request):
        if state["model"] is None:
            return error(503, "the model is not loaded", [state["error"] or "still loading"])
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return error(415, f"send JSON with Content-Type: application/json, got {content_type or 'none'!r}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return error(413, f"the body has {declared} bytes; the limit is {max_body_bytes}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                return error(413, f"the body is over the limit of {max_body_bytes} bytes")
        too_deep = json_depth_over(bytes(body), MAX_JSON_DEPTH)
        if too_deep:
            return error(400, "the body is not valid JSON for this service",
                         [f"it nests lists or objects more than {MAX_JSON_DEPTH} deep (at byte {too_deep})"])
        try:
            payload = json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError, RecursionError) as problem:
            return error(400, "the body is not valid JSON", [str(problem)[:300]])
        if isinstance(payload, dict) and set(payload) == {"rows"}:
            payload = payload["rows"]
        if isinstance(payload, list) and len(payload) > max_rows:
            return error(413, f"{len(payload)} rows; the limit is {max_rows} per request")
        explainer = state["explainer"]
        try:
            problems = explainer.schema.problems(payload)
        except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as problem:
            return error(422, "the body is not a list of rows", [f"{type(problem).__name__}: {problem}"[:300]])
        if problems:
            return error(422, "the rows do not match the model's columns", problems)
        if queue["waiting"] > max_queue:  # one is being scored, max_queue wait: the service is full
            mean = queue["seconds"] / queue["scored"] if queue["scored"] else 1.0
            retry = max(1, math.ceil(queue["waiting"] * mean))
            return JSONResponse({"error": "the service is busy: try again later",
                                 "problems": [f"{queue['waiting']} requests are being scored or waiting; "
                                              f"at most {max_queue} may wait"]},
                                status_code=503, headers={"Retry-After": str(retry)})

        def locked_score():
            with lock:
                started = time.perf_counter()
                try:
                    return score_fn(payload, state["model"], explainer)
                finally:
                    queue["seconds"] += time.perf_counter() - started
                    queue["scored"] += 1

        queue["waiting"] += 1
        try:
            result = await run_in_threadpool(locked_score)
        finally:
            queue["waiting"] -= 1
        return JSONResponse(result)

    return app


def json_depth_over(body: bytes, limit: int) -> int:
    """The byte offset where ``body`` (JSON) nests lists/objects deeper than ``limit``, or 0.

    Checked before ``json.loads``, whose recursion a body of 100,000 ``[`` would exhaust (a
    ``RecursionError``, i.e. a 500). Brackets inside strings do not count."""
    depth, in_string, escaped = 0, False, False
    for i, byte in enumerate(body):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:      # backslash
                escaped = True
            elif byte == 0x22:      # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return i
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def background_service(store, name: str, version, score_fn, max_rows: int = MAX_ROWS,
                       max_body_bytes: int = MAX_BODY_BYTES, start_timeout_s: float = 120.0,
                       max_queue: int = MAX_QUEUE):
    """Serve the app with uvicorn in a background thread of this process (so ``score_fn`` can be
    a function defined in a notebook) on a free 127.0.0.1 port; yield its base URL
    (``http://127.0.0.1:PORT``) once ``/health`` answers, and stop the server on exit. Raises
    ``RuntimeError`` if it fails to start or does not answer in time."""
    import time

    import httpx
    import uvicorn

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(name, version, store, max_rows, max_body_bytes, score_fn, max_queue)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    failure = []

    def serve():
        try:
            server.run()
        except BaseException as error:  # noqa: BLE001 - reported to the caller below
            failure.append(error)

    thread = threading.Thread(target=serve, name=f"scoring-service-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if not thread.is_alive():
                raise RuntimeError(f"the service stopped while starting on {url}: {failure[0] if failure else 'no error'}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not answer on {url} within {start_timeout_s} s")
            time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def load_test(url: str, bodies, expected, n_requests: int = 300, clients: int = 6, timeout_s: float = 60.0) -> dict:
    """Send ``n_requests`` POST /score requests from ``clients`` concurrent HTTP clients (threads,
    one ``httpx.Client`` each), request i with body ``bodies[i % len(bodies)]``, and compare each
    answer with ``expected[i % len(bodies)]`` (predictions and names equal, local values within
    1e-9). Returns throughput (requests/s), latency percentiles (ms), the number of requests the
    service turned away (``rejected``: 503 with a ``Retry-After`` header, and the ``retry_after_s``
    values it gave), and the number and first few of the wrong answers (``wrong``, ``wrong_examples``:
    anything else that is not a correct 200)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import numpy as np

    def same(answer, reference):
        return (answer.get("predictions") == reference["predictions"]
                and answer.get("feature_names") == reference["feature_names"]
                and np.allclose(answer.get("local_importance_values"), reference["local_importance_values"],
                                rtol=0, atol=1e-9))

    def worker(indices):
        results = []
        with httpx.Client(base_url=url, timeout=timeout_s) as client:
            for i in indices:
                start = time.perf_counter()
                response = client.post("/score", json=bodies[i % len(bodies)])
                elapsed = time.perf_counter() - start
                ok = response.status_code == 200 and same(response.json(), expected[i % len(bodies)])
                retry = response.headers.get("retry-after") if response.status_code == 503 else None
                if retry is not None:
                    retry_after.append(int(retry))
                results.append((elapsed, ok or retry is not None,
                                None if ok or retry else f"request {i}: {response.status_code} {response.text[:200]}"))
        return results

    retry_after = []  # list.append is atomic across the client threads
    shares = [list(range(k, n_requests, clients)) for k in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [item for part in pool.map(worker, shares) for item in part]
    wall = time.perf_counter() - start
    latency = np.array([elapsed for elapsed, _, _ in results]) * 1000
    wrong = [message for _, ok, message in results if not ok]
    return {"requests": len(results), "clients": clients, "wall_s": wall, "throughput_rps": len(results) / wall,
            "latency_ms": {f"p{q}": float(np.percentile(latency, q)) for q in (50, 90, 95, 99)} | {"max": float(latency.max())},
            "rejected": len(retry_after), "retry_after_s": sorted(set(retry_after)),
            "wrong": len(wrong), "wrong_examples": wrong[:3]}


def main(argv=None):
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True, help="folder of the local MLflow store")
    parser.add_argument("--name", required=True, help="registered model name")
    parser.add_argument("--version", required=True, help="registered model version")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS)
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    parser.add_argument("--max-queue", type=int, default=MAX_QUEUE,
                        help="requests that may wait while one is scored; more get 503 with Retry-After")
    parser.add_argument("--score", required=True, metavar="MODULE:FUNCTION",
                        help="your score(rows, model, scoring_explainer) function, e.g. my_service:score")
    args = parser.parse_args(argv)
    import importlib

    module, _, function = args.score.partition(":")
    score_fn = getattr(importlib.import_module(module), function or "score")
    app = create_app(args.name, args.version, args.store, args.max_rows, args.max_body_bytes, score_fn,
                     args.max_queue)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
