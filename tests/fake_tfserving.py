"""A small TensorFlow-Serving-compatible REST server on loopback, checking the request format.

Answers ``POST /v1/models/{name}:predict`` (JSON ``{"instances": [...]}`` or ``{"inputs": ...}``)
with one prediction per instance, and ``GET /v1/models/{name}`` with the model status. Anything
else, or a malformed request, is a 400/404 and is recorded in ``errors``.
"""

from __future__ import annotations

import json
import re
import threading

from tests.loopback import JsonHandler, LoopbackServer

_PREDICT = re.compile(r"^/v1/models/([A-Za-z0-9_.-]+)(?:/versions/[0-9]+)?:predict$")
_STATUS = re.compile(r"^/v1/models/([A-Za-z0-9_.-]+)$")


class FakeTfServing(LoopbackServer):
    def __init__(self, model: str):
        self.model = model
        self.predictions = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(JsonHandler):

            def do_GET(self) -> None:  # noqa: N802
                match = _STATUS.match(self.path)
                if not match or match.group(1) != server.model:
                    return self._send(404, {"error": f"no model at {self.path}"})
                self._send(200, {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK"}}]})

            def do_POST(self) -> None:  # noqa: N802
                match = _PREDICT.match(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                problem = None
                if not match or match.group(1) != server.model:
                    problem = f"POST {self.path}: not /v1/models/{server.model}:predict"
                elif "application/json" not in (self.headers.get("Content-Type") or ""):
                    problem = "Content-Type is not application/json"
                else:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body, problem = None, "body is not JSON"
                    if problem is None and not (isinstance(body, dict) and (isinstance(body.get("instances"), list) or "inputs" in body)):
                        problem = "body has neither 'instances' (a list) nor 'inputs'"
                with server._lock:
                    if problem:
                        server.errors.append(problem)
                    else:
                        server.predictions += 1
                if problem:
                    return self._send(400, {"error": problem})
                count = len(body["instances"]) if "instances" in body else 1
                self._send(200, {"predictions": [[0.1, 0.9]] * count})

        self.serve(Handler)
