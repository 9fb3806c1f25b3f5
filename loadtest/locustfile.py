"""Load test for a deployed endpoint in the seeds' stress-test shape: TensorFlow Serving REST ``:predict``,
or (``API=openai``) OpenAI chat completions on a vLLM endpoint, streamed or not.

Run after ``pulumi up`` (needs the endpoint reachable; see README):

    STACK=prod SERVICE=bert .venv-load/bin/locust -f loadtest/locustfile.py --headless  # env, see below

Environment:
- ``API``: ``tfserving`` (the default) or ``openai``.
- ``STACK``, ``SERVICE``: which endpoint. The host is ``--host`` if given, else the stack output
  ``endpoints`` (``pulumi stack output endpoints --json --stack STACK``, which needs the Pulumi CLI),
  else the offline render's ``build/STACK/plan.json`` (``make render STACK=...``).
- ``MODEL_NAME``: the model's name in TF Serving, or the served model name in vLLM (``model.name``; default:
  the service name).
- ``INSTANCES_FILE`` (tfserving): a JSON file ``{"instances": [...]}`` sent as each request body
  (default: loadtest/instances.json).
- ``LLM_API_KEY`` (openai): the API key, sent as ``Authorization: Bearer ...`` (never printed; unset: no header).
- ``STREAM`` (openai): ``1`` (the default) streams the completion (Server-Sent Events), ``0`` does not.
- ``MAX_TOKENS`` (openai, default 128): ``max_tokens`` of each request.
- ``PROMPT`` (openai): the user message; or ``MESSAGES_FILE``, a JSON file ``{"messages": [...]}``.
- ``LOW_USERS``, ``HIGH_USERS``, ``STAGE_SECONDS``, ``SPAWN_RATE``: the shape. Low for one stage
  (below the scale-out threshold), high for two stages (above it: the HPA scales out), low again
  for two stages (the HPA scales in after its stabilization window).

With ``API=openai`` the host may be the OpenAI base URL (the stack's endpoint, ``https://HOST/v1``) or the server's
root (``https://HOST``): either way the requests go to ``https://HOST/v1/chat/completions``. Each completion is measured by the client: the latency (sent to the
end of the response), with streaming the time to first token (TTFT: sent to the first chunk with content), the
output tokens (``usage.completion_tokens``, asked for with ``stream_options.include_usage``; else the number of
content chunks, and the summary says which) and tokens per second (output tokens over the time after the first token
when streaming, over the latency otherwise). Locust's statistics show them as request types ``chat-stream`` (or
``chat``) named ``completion`` (the latency), ``ttft`` and ``tpot`` (milliseconds per output token); at the end of a
run a summary (TTFT p50/p95, mean tokens/s) is logged and, with ``--csv PREFIX``, written to
``PREFIX_llm_summary.json`` beside every completion in ``PREFIX_llm_requests.csv``. That summary counts the
completions of its own process: in a distributed run each worker has its own, and Locust's statistics combine them.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Optional

from geventhttpclient.response import HTTPSocketResponse
from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import MasterRunner

HERE = os.path.dirname(os.path.abspath(__file__))
API = os.environ.get("API", "tfserving")
if API not in ("tfserving", "openai"):
    raise SystemExit(f"API={API!r}: expected 'tfserving' or 'openai'")
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


@events.init.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook.add_listener is unannotated
def _require_host(environment: Environment, **_: Any) -> None:
    if not environment.host:
        raise SystemExit(f"no host for STACK={STACK} SERVICE={SERVICE}: give --host (the endpoint's URL), or run from the "
                         "program's directory after `pulumi up` (its stack output endpoints) or its offline render (build/STACK)")


def load_list(path: str, key: str) -> dict[str, Any]:
    """A JSON file ``{key: [...]}`` with at least one item."""
    with open(path, encoding="utf-8") as fh:
        body = json.load(fh)
    if not isinstance(body, dict) or not isinstance(body.get(key), list) or not body[key]:
        raise SystemExit(f"{path}: expected {{\"{key}\": [...]}} with at least one item")
    return body


BODY: dict[str, Any] = load_list(INSTANCES_FILE, "instances") if API == "tfserving" else {}


class TfServingUser(FastHttpUser):
    """One client sending a request per second (the shape's user count is then the offered QPS)."""

    abstract = API != "tfserving"
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


# --- API=openai: chat completions ---------------------------------------------------------------------------------

API_KEY_ENV = "LLM_API_KEY"
STREAM = os.environ.get("STREAM", "1").strip().lower() not in ("0", "false", "no", "off", "")
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "128"))
PROMPT = os.environ.get("PROMPT", "Explain in a few sentences how a horizontal pod autoscaler decides to add replicas.")
MESSAGES: list[Any] = (load_list(os.environ["MESSAGES_FILE"], "messages")["messages"] if os.environ.get("MESSAGES_FILE")
                       else [{"role": "user", "content": PROMPT}])
KIND = "chat-stream" if STREAM else "chat"
console = logging.getLogger("locust.stats_logger")  # where Locust prints its own statistics


@dataclass
class Completion:
    """One successful chat completion as the client saw it (seconds)."""

    started: float            # epoch
    stream: bool
    latency: float            # sent to the end of the response
    ttft: Optional[float]     # sent to the first chunk with content (streaming only)
    output_tokens: int
    tokens_from: str          # "usage" (usage.completion_tokens), "chunks" (content chunks counted) or "unknown"

    @property
    def tokens_per_second(self) -> Optional[float]:
        """Output tokens over the time after the first token (streaming) or over the latency."""
        span = self.latency - self.ttft if self.stream and self.ttft is not None else self.latency
        return self.output_tokens / span if span > 0 and self.output_tokens > 0 else None


COMPLETIONS: list[Completion] = []
TOKEN_SOURCES = {"usage": "usage.completion_tokens", "chunks": "content chunks counted", "unknown": "no usage (not counted)"}


def chat_path(host: Optional[str]) -> str:
    """The chat completions path under ``host``: the OpenAI base URL (``.../v1``) or the server's root."""
    return "/chat/completions" if (host or "").rstrip("/").endswith("/v1") else "/v1/chat/completions"


def generated_text(event: dict[str, Any]) -> str:
    """The text a streamed chunk adds (its first choice's delta; a reasoning model's reasoning counts too)."""
    choices = event.get("choices") or []
    delta = choices[0].get("delta") if choices and isinstance(choices[0], dict) else None
    if not isinstance(delta, dict):
        return ""
    for key in ("content", "reasoning_content", "reasoning"):
        if isinstance(delta.get(key), str) and delta[key]:
            return str(delta[key])
    return ""


def completion_tokens(event: dict[str, Any]) -> Optional[int]:
    usage = event.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) else None


class ChatUser(FastHttpUser):
    """One client sending a chat completion, then waiting for the rest of its second (if any)."""

    abstract = API != "openai"
    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        self.path = chat_path(self.host)
        key = os.environ.get(API_KEY_ENV)
        self.auth_headers = {"Authorization": f"Bearer {key}"} if key else {}

    def measure(self, name: str, milliseconds: float) -> None:
        """A measurement in Locust's statistics, as a request of this kind named ``name``."""
        self.environment.events.request.fire(
            request_type=KIND, name=name, response_time=milliseconds, response_length=0, exception=None, context={})

    @task
    def chat(self) -> None:
        body: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS, "stream": STREAM}
        if STREAM:
            body["stream_options"] = {"include_usage": True}
        started, sent = time.time(), time.perf_counter()
        with self.client.post(self.path, json=body, headers=self.auth_headers, name="completion", stream=STREAM,
                              catch_response=True) as response:
            response.request_meta["request_type"] = KIND
            if response.status_code != 200:
                if STREAM and response.stream is not None:
                    response.stream.read()  # the rest of the body, so that the connection can be reused
                # The status alone: a body or the request's headers could carry the key.
                response.failure(f"HTTP {response.status_code}" if response.status_code else f"no response: {getattr(response, 'error', None)}")
                return
            if STREAM:
                problem, completion, size = self.read_stream(response.stream, started, sent)
                response.request_meta["response_length"] = size
            else:
                problem, completion = self.read_body(response.content or b"", started, sent)
            # The whole response (Locust's own time stops at the headers when streaming).
            response.request_meta["response_time"] = (completion.latency if completion else time.perf_counter() - sent) * 1000
            if problem or completion is None:
                response.failure(problem or "no completion")
                return
        COMPLETIONS.append(completion)
        if completion.ttft is not None:
            self.measure("ttft", completion.ttft * 1000)
        rate = completion.tokens_per_second
        if rate:
            self.measure("tpot", 1000 / rate)

    @staticmethod
    def read_stream(stream: HTTPSocketResponse, started: float, sent: float) -> tuple[Optional[str], Optional[Completion], int]:
        """Read the Server-Sent Events up to ``data: [DONE]``: (what is wrong, the completion, bytes read)."""
        ttft: Optional[float] = None
        usage: Optional[int] = None
        problem: Optional[str] = None
        chunks, size, done = 0, 0, False
        while True:
            raw: bytes = stream.readline(b"\n")  # one line as soon as it arrives (read(n) would wait for n bytes)
            if not raw:
                break
            size += len(raw)
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue  # blank lines between events, comments, event:/id: fields
            data = line[len(b"data:"):].strip()
            if data == b"[DONE]":
                done = True
                break
            try:
                event = json.loads(data)
            except ValueError:
                problem = "an event that is not JSON"
                break
            if not isinstance(event, dict) or "error" in event:
                problem = f"error in the stream: {str(event.get('error') if isinstance(event, dict) else event)[:200]}"
                break
            found = completion_tokens(event)
            usage = found if found is not None else usage  # the last one (vLLM sends it after the content)
            if generated_text(event):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - sent
        latency = time.perf_counter() - sent
        size += len(stream.read())  # up to the end of the chunked body, so that the connection can be reused
        if problem:
            return problem, None, size
        if not done:
            return "the stream ended before data: [DONE]", None, size
        if ttft is None:
            return "no content in the stream", None, size
        tokens, source = (usage, "usage") if usage is not None else (chunks, "chunks")
        return None, Completion(started, True, latency, ttft, tokens, source), size

    @staticmethod
    def read_body(content: bytes, started: float, sent: float) -> tuple[Optional[str], Optional[Completion]]:
        """A whole (not streamed) chat completion: (what is wrong, the completion)."""
        latency = time.perf_counter() - sent
        try:
            reply = json.loads(content)
            message = reply["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            return "no choices[0].message in the response", None
        if not isinstance(message, dict) or not (message.get("content") or message.get("reasoning_content")):
            return "an empty message", None
        tokens = completion_tokens(reply)
        return None, Completion(started, False, latency, None, tokens or 0, "usage" if tokens is not None else "unknown")


def percentile(values: list[float], share: float) -> Optional[float]:
    """The nearest-rank percentile (None without values)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else None


def summarize(completions: list[Completion]) -> dict[str, Any]:
    """The run's completions in numbers: milliseconds, tokens, tokens per second."""
    def ms(value: Optional[float]) -> Optional[float]:
        return round(value * 1000, 1) if value is not None else None

    ttfts = [c.ttft for c in completions if c.ttft is not None]
    latencies = [c.latency for c in completions]
    rates = [rate for c in completions if (rate := c.tokens_per_second) is not None]
    sources = sorted({c.tokens_from for c in completions})
    return {
        "request_type": KIND, "completions": len(completions),
        "ttft_ms": {"p50": ms(percentile(ttfts, 0.5)), "p95": ms(percentile(ttfts, 0.95))},
        "latency_ms": {"p50": ms(percentile(latencies, 0.5)), "p95": ms(percentile(latencies, 0.95))},
        "output_tokens": sum(c.output_tokens for c in completions),
        "output_tokens_from": {source: sum(c.tokens_from == source for c in completions) for source in sources},
        "tokens_per_second": {"mean": round(sum(rates) / len(rates), 2) if rates else None,
                              "p50": round(r, 2) if (r := percentile(rates, 0.5)) is not None else None},
    }


@events.test_start.add_listener  # type: ignore[untyped-decorator]  # as above
def _reset(environment: Environment, **_kwargs: Any) -> None:
    COMPLETIONS.clear()


@events.test_stop.add_listener  # type: ignore[untyped-decorator]  # as above
def _summary(environment: Environment, **_kwargs: Any) -> None:
    if API != "openai" or isinstance(environment.runner, MasterRunner):
        return
    summary = summarize(COMPLETIONS)
    if not summary["completions"]:
        console.info(f"LLM summary ({KIND}): no completion succeeded (see the failures)")
    else:
        ttft, latency, rate = summary["ttft_ms"], summary["latency_ms"], summary["tokens_per_second"]
        counted = ", ".join(f"{n} from {TOKEN_SOURCES[source]}" for source, n in summary["output_tokens_from"].items())
        console.info(f"LLM summary ({KIND}): {summary['completions']} completions; "
                     + (f"TTFT p50 {ttft['p50']} ms, p95 {ttft['p95']} ms; " if ttft["p50"] is not None else "")
                     + f"latency p50 {latency['p50']} ms, p95 {latency['p95']} ms; tokens/s mean {rate['mean']}, p50 {rate['p50']} "
                     f"({summary['output_tokens']} output tokens: {counted})")
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix:
        return
    with open(f"{prefix}_llm_summary.json", "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2)
    with open(f"{prefix}_llm_requests.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["started", "stream", "ttft_ms", "latency_ms", "output_tokens", "output_tokens_from", "tokens_per_second"])
        for c in COMPLETIONS:
            rate_of = c.tokens_per_second
            writer.writerow([f"{c.started:.3f}", int(c.stream), "" if c.ttft is None else f"{c.ttft * 1000:.1f}",
                             f"{c.latency * 1000:.1f}", c.output_tokens, c.tokens_from, "" if rate_of is None else f"{rate_of:.2f}"])


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
