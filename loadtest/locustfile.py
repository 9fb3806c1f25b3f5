"""Load test for a deployed endpoint: TensorFlow Serving REST ``:predict`` in the seeds' stress-test shape.

Run after ``pulumi up`` (needs the endpoint reachable; see README):

    .venv-load/bin/locust -f loadtest/locustfile.py --headless STACK=prod SERVICE=bert  # env, see below

Environment:
- ``STACK``, ``SERVICE``: which endpoint. The host is ``--host`` if given, else the stack output
  ``endpoints`` (``pulumi stack output endpoints --json --stack STACK``, which needs the Pulumi CLI),
  else the offline render's ``build/STACK/plan.json`` (``make render STACK=...``).
- ``MODEL_NAME``: the model's name in TF Serving (default: the service name).
- ``INSTANCES_FILE``: a JSON file ``{"instances": [...]}`` sent as each request body
  (default: loadtest/instances.json).
- ``LOW_USERS``, ``HIGH_USERS``, ``STAGE_SECONDS``, ``SPAWN_RATE``: the shape. Low for one stage
  (below the scale-out threshold), high for two stages (above it: the HPA scales out), low again
  for two stages (the HPA scales in after its stabilization window).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Optional

from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from locust.argument_parser import LocustArgumentParser

HERE = os.path.dirname(os.path.abspath(__file__))
STACK = os.environ.get("STACK", "dev")
SERVICE = os.environ.get("SERVICE", "bert")
MODEL = os.environ.get("MODEL_NAME", SERVICE)
INSTANCES_FILE = os.environ.get("INSTANCES_FILE", os.path.join(HERE, "instances.json"))


def endpoint(stack: str, service: str) -> Optional[str]:
    """The service's URL from the stack outputs (the CLI) or from the offline render's plan."""
    if shutil.which("pulumi"):
        found = subprocess.run(["pulumi", "stack", "output", "endpoints", "--json", "--stack", stack],
                               capture_output=True, text=True, check=False)
        if found.returncode == 0:
            endpoints: dict[str, str] = json.loads(found.stdout)
            return endpoints.get(service)
    plan = os.path.join("build", stack, "plan.json")
    if os.path.exists(plan):
        with open(plan, encoding="utf-8") as fh:
            outputs: dict[str, dict[str, str]] = json.load(fh).get("outputs", {})
        return outputs.get("endpoints", {}).get(service)
    return None


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]  # locust 2.47's EventHook.add_listener is unannotated
def _defaults(parser: LocustArgumentParser) -> None:
    if not parser.get_default("host"):
        url = endpoint(STACK, SERVICE)
        if url:
            parser.set_defaults(host=url.rstrip("/"))


with open(INSTANCES_FILE, encoding="utf-8") as _fh:
    BODY = json.load(_fh)
if not isinstance(BODY, dict) or not isinstance(BODY.get("instances"), list) or not BODY["instances"]:
    raise SystemExit(f"{INSTANCES_FILE}: expected {{\"instances\": [...]}} with at least one instance")


class TfServingUser(FastHttpUser):
    """One client sending a request per second (the shape's user count is then the offered QPS)."""

    wait_time = constant_throughput(1)

    @task
    def predict(self) -> None:
        with self.client.post(f"/v1/models/{MODEL}:predict", json=BODY, name="predict", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            try:
                predictions = response.json()["predictions"]
            except (ValueError, KeyError, TypeError):
                response.failure("no 'predictions' in the response")
                return
            if len(predictions) != len(BODY["instances"]):
                response.failure(f"{len(predictions)} predictions for {len(BODY['instances'])} instances")


class StressShape(LoadTestShape):
    """The seeds' stress test: a step above the scale-out threshold, then back below it."""

    low = int(os.environ.get("LOW_USERS", "5"))
    high = int(os.environ.get("HIGH_USERS", "60"))
    stage = int(os.environ.get("STAGE_SECONDS", "300"))
    spawn_rate = float(os.environ.get("SPAWN_RATE", "10"))

    def tick(self) -> tuple[int, float] | None:
        t: float = self.get_run_time()  # type: ignore[no-untyped-call]  # locust 2.47 leaves get_run_time() unannotated (seconds)
        for until, users in ((1, self.low), (3, self.high), (5, self.low)):
            if t < until * self.stage:
                return users, self.spawn_rate
        return None
