"""The locust load test with API=openai, run against an OpenAI-compatible server on loopback with known timings.

The fake sends each content chunk after a set delay, so the client's measurements have a known answer:
TTFT at least the delay before the first chunk, and (streaming) tokens per second the output tokens over
the time from the first chunk to the last.
"""

import csv
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI
from tests.test_loadtest import LOCUST

pytestmark = pytest.mark.slow  # left out by `make test-fast`

MODEL = "qwen2.5-7b-instruct"
KEY = "sk-loopback-7d1e0c42-never-print-me"
FIRST_DELAY, BETWEEN, CHUNKS = 0.2, 0.05, 8
DECODE_SECONDS = (CHUNKS - 1) * BETWEEN  # first content chunk to the last
# How much later than the fake's own delays a measurement may come (gevent and threads on a loaded machine).
SLACK = 0.15


def run_locust(url: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    """A headless run of the stress shape (2 users for 1 s, 3 for 2 s, 2 for 2 s) with API=openai."""
    assert os.path.exists(LOCUST), f"locust is missing at {LOCUST}: `make loadtest-deps` installs it in its own virtualenv"
    full = {**os.environ, "API": "openai", "STACK": "dev", "SERVICE": "qwen", "MODEL_NAME": MODEL, "MAX_TOKENS": "64",
            "LOW_USERS": "2", "HIGH_USERS": "3", "STAGE_SECONDS": "1", "SPAWN_RATE": "50", **env}
    return subprocess.run(
        [LOCUST, "-f", os.path.join(ROOT, "loadtest", "locustfile.py"), "--headless", "--host", url,
         "--csv", str(tmp_path / "run"), "--only-summary"],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=120, check=False,
    )


def rows(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def stats_rows(tmp_path) -> dict[tuple[str, str], dict]:
    return {(row["Type"], row["Name"]): row for row in rows(tmp_path / "run_stats.csv")}


def assert_key_never_printed(proc: subprocess.CompletedProcess, tmp_path) -> None:
    assert KEY not in proc.stdout and KEY not in proc.stderr
    for path in tmp_path.iterdir():
        assert KEY not in path.read_text(errors="replace"), path.name


def test_fake_server_wants_the_key_and_streams_its_chunks():
    with FakeOpenAI(MODEL, KEY, chunks=3) as server:
        body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "stream": True}).encode()
        bare = urllib.request.Request(f"{server.url}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bare, timeout=5)
        assert refused.value.code == 401 and server.unauthorized == 1 and server.completions == 0
        keyed = urllib.request.Request(f"{server.url}/v1/chat/completions", data=body, method="POST",
                                       headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(keyed, timeout=5) as response:
            events = [line for line in response.read().decode().splitlines() if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]"
        contents = [json.loads(e[6:])["choices"][0]["delta"].get("content") for e in events[:-1]]
        assert contents == ["", "tok0 ", "tok0 ", "tok0 "]  # the role chunk has no content; no usage without include_usage
        assert server.completions == 1 and server.errors == []


def test_streaming_ttft_and_tokens_per_second_from_usage(tmp_path):
    """Against the OpenAI base URL (the stack's endpoint, .../v1); the usage counts 2 tokens a chunk."""
    with FakeOpenAI(MODEL, KEY, chunks=CHUNKS, tokens_per_chunk=2, first_delay=FIRST_DELAY, between=BETWEEN) as server:
        proc = run_locust(f"{server.url}/v1", tmp_path, LLM_API_KEY=KEY)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert server.errors == [] and server.unauthorized == 0
        assert server.completions >= 5, server.completions
        sent = server.bodies[0]
        assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
        assert sent["max_tokens"] == 64 and sent["model"] == MODEL and sent["messages"][0]["role"] == "user"
    assert_key_never_printed(proc, tmp_path)

    tokens = CHUNKS * 2
    expected_rate = tokens / DECODE_SECONDS
    requests = rows(tmp_path / "run_llm_requests.csv")
    assert len(requests) >= 5
    for request in requests:
        # Not before the fake's first content chunk (the headers and an empty role chunk come at once).
        assert FIRST_DELAY * 1000 <= float(request["ttft_ms"]) <= (FIRST_DELAY + SLACK) * 1000, request
        assert float(request["latency_ms"]) >= (FIRST_DELAY + DECODE_SECONDS) * 1000, request
        assert int(request["output_tokens"]) == tokens and request["output_tokens_from"] == "usage", request
        # Over the time after the first token, not the whole latency (which would give tokens / 0.55 s = 29).
        assert 0.8 * expected_rate <= float(request["tokens_per_second"]) <= 1.1 * expected_rate, request

    summary = json.loads((tmp_path / "run_llm_summary.json").read_text())
    assert summary["request_type"] == "chat-stream" and summary["completions"] == len(requests)
    assert FIRST_DELAY * 1000 <= summary["ttft_ms"]["p50"] <= summary["ttft_ms"]["p95"] <= (FIRST_DELAY + SLACK) * 1000
    assert 0.8 * expected_rate <= summary["tokens_per_second"]["mean"] <= 1.1 * expected_rate
    assert summary["output_tokens_from"] == {"usage": len(requests)}
    assert "LLM summary (chat-stream)" in proc.stdout + proc.stderr

    stats = stats_rows(tmp_path)
    ttft = stats[("chat-stream", "ttft")]
    assert int(ttft["Request Count"]) == len(requests) and int(ttft["Failure Count"]) == 0
    assert FIRST_DELAY * 1000 <= float(ttft["50%"]) <= (FIRST_DELAY + SLACK) * 1000
    completion = stats[("chat-stream", "completion")]
    assert float(completion["Min Response Time"]) >= (FIRST_DELAY + DECODE_SECONDS) * 1000  # the whole stream, not its headers
    tpot = stats[("chat-stream", "tpot")]
    assert 0.9 * 1000 / expected_rate <= float(tpot["Average Response Time"]) <= 1.25 * 1000 / expected_rate


def test_streaming_without_usage_counts_the_content_chunks(tmp_path):
    """Against the server's root; a server that sends no usage: the tokens are the content chunks, and the summary says so."""
    with FakeOpenAI(MODEL, KEY, chunks=CHUNKS, tokens_per_chunk=2, first_delay=FIRST_DELAY, between=BETWEEN, send_usage=False) as server:
        proc = run_locust(server.url, tmp_path, LLM_API_KEY=KEY)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert server.errors == [] and server.completions >= 5
    requests = rows(tmp_path / "run_llm_requests.csv")
    assert requests and all(int(r["output_tokens"]) == CHUNKS and r["output_tokens_from"] == "chunks" for r in requests), requests
    summary = json.loads((tmp_path / "run_llm_summary.json").read_text())
    assert summary["output_tokens_from"] == {"chunks": len(requests)}
    assert 0.8 * CHUNKS / DECODE_SECONDS <= summary["tokens_per_second"]["mean"] <= 1.1 * CHUNKS / DECODE_SECONDS


def test_without_streaming_tokens_per_second_over_the_latency(tmp_path):
    with FakeOpenAI(MODEL, KEY, chunks=CHUNKS, tokens_per_chunk=2, first_delay=FIRST_DELAY, between=BETWEEN) as server:
        proc = run_locust(server.url, tmp_path, LLM_API_KEY=KEY, STREAM="0")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert server.errors == [] and server.completions >= 5
        assert all(body["stream"] is False and "stream_options" not in body for body in server.bodies)
    total = FIRST_DELAY + DECODE_SECONDS
    expected_rate = CHUNKS * 2 / total
    requests = rows(tmp_path / "run_llm_requests.csv")
    for request in requests:
        assert request["stream"] == "0" and request["ttft_ms"] == "", request
        assert total * 1000 <= float(request["latency_ms"]) <= (total + SLACK) * 1000, request
        assert 0.8 * expected_rate <= float(request["tokens_per_second"]) <= 1.02 * expected_rate, request
    summary = json.loads((tmp_path / "run_llm_summary.json").read_text())
    assert summary["request_type"] == "chat" and summary["ttft_ms"] == {"p50": None, "p95": None}
    stats = stats_rows(tmp_path)
    assert ("chat", "completion") in stats and ("chat", "ttft") not in stats


def test_a_wrong_key_fails_every_request_and_is_never_printed(tmp_path):
    with FakeOpenAI(MODEL, "the-right-key") as server:
        proc = run_locust(f"{server.url}/v1", tmp_path, LLM_API_KEY=KEY)
        assert server.unauthorized >= 5 and server.completions == 0
    assert proc.returncode != 0  # Locust exits 1 when requests failed
    assert_key_never_printed(proc, tmp_path)
    completion = stats_rows(tmp_path)[("chat-stream", "completion")]
    assert int(completion["Failure Count"]) == int(completion["Request Count"]) > 0
    assert "HTTP 401" in (tmp_path / "run_failures.csv").read_text()
    assert json.loads((tmp_path / "run_llm_summary.json").read_text())["completions"] == 0


def test_without_a_host_the_load_test_stops_with_a_reason_not_a_pass(tmp_path):
    # No --host, no stack output, no render in the working directory: exit non-zero and say what to give.
    env = {**os.environ, "API": "openai", "STACK": "nowhere", "SERVICE": "qwen"}
    proc = subprocess.run([LOCUST, "-f", os.path.join(ROOT, "loadtest", "locustfile.py"), "--headless"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0 and "no host for STACK=nowhere" in proc.stderr + proc.stdout
