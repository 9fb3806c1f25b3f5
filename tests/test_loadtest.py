"""The locust load test, run against a TF-Serving-compatible server on loopback that checks each request."""

import json
import os
import subprocess
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.fake_tfserving import FakeTfServing

pytestmark = pytest.mark.slow  # left out by `make test-fast`

LOCUST = os.path.join(ROOT, os.environ.get("LOCUST") or os.path.join(".venv-load", "bin", "locust"))


def test_fake_server_rejects_a_malformed_request():
    with FakeTfServing("chnsenticorp") as server:
        request = urllib.request.Request(f"{server.url}/v1/models/chnsenticorp:predict", data=b'{"rows": []}',
                                         headers={"Content-Type": "application/json"}, method="POST")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5)
        assert server.errors and server.predictions == 0


def test_locust_stress_shape_against_loopback_tf_serving(tmp_path):
    assert os.path.exists(LOCUST), f"locust is missing at {LOCUST}: `make loadtest-deps` installs it in its own virtualenv"
    with FakeTfServing("chnsenticorp") as server:
        env = {**os.environ, "STACK": "dev", "SERVICE": "bert", "MODEL_NAME": "chnsenticorp",
               "LOW_USERS": "2", "HIGH_USERS": "6", "STAGE_SECONDS": "2", "SPAWN_RATE": "50"}
        proc = subprocess.run(
            [LOCUST, "-f", os.path.join(ROOT, "loadtest", "locustfile.py"), "--headless", "--host", server.url,
             "--csv", str(tmp_path / "run"), "--only-summary"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert server.errors == []
        # 2 users for 2 s, 6 for 4 s, 2 for 4 s, one request per user per second: about 36.
        assert 20 <= server.predictions <= 60, server.predictions
    stats = (tmp_path / "run_stats.csv").read_text()
    assert "predict" in stats


def test_host_comes_from_the_stack_outputs_of_the_offline_render(tmp_path):
    """Without --host, the locustfile takes the service's endpoint from the stack outputs."""
    plan = tmp_path / "build" / "prod"
    plan.mkdir(parents=True)
    (plan / "plan.json").write_text(json.dumps({"outputs": {"endpoints": {"bert": "https://bert.example.com/"}}}))
    code = ("import sys; sys.argv=['x']; import locustfile as l; print(l.endpoint('prod', 'bert'))")
    python = os.path.join(os.path.dirname(LOCUST), "python")
    proc = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "loadtest"), "PATH": "/usr/bin:/bin"})
    assert proc.stdout.strip() == "https://bert.example.com/", proc.stderr[-1500:]
