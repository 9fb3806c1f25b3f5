"""``queue``: requests waiting in the model server's queue, per replica (vLLM ``vllm:num_requests_waiting``).

vLLM 0.33 ``vllm/v1/metrics/loggers.py``: a gauge, labels ``model_name`` and ``engine``; summed over a pod's
engines. Ingress QPS says little about LLM load (a request may take a second or a minute): the queue grows as
soon as the running batch is full (ACK "Configure auto scaling for standalone or distributed LLM inference
services" scales on it).
"""

from __future__ import annotations

from typing import Mapping, Optional

from .base import PrometheusSignal


class Queue(PrometheusSignal):
    name = "queue"
    target_key = "target_queue_per_replica"
    unit = "requests waiting per replica"
    default_target = 4
    aggregation = "sum"

    def series(self, runtime_metrics: Mapping[str, str]) -> Optional[str]:
        return runtime_metrics.get(self.name)
