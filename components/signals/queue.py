"""``queue``: requests waiting in the model server's queue, per replica (vLLM ``vllm:num_requests_waiting``).

vLLM 0.33 ``vllm/v1/metrics/loggers.py``: a gauge, labels ``model_name`` and ``engine``; summed over a pod's
engines. Ingress QPS says little about LLM load (a request may take a second or a minute): the queue grows as
soon as the running batch is full (ACK "Configure auto scaling for standalone or distributed LLM inference
services" scales on it).

The queue alone cannot hold capacity: it is 0 whenever the running batches have room, however busy the replicas
are, and an HPA on it alone would scale down to ``minReplicas`` (desired = ceil(current x 0 / target)), then up
again, each new replica loading the model for minutes. So the HPA also scales on the KV-cache use (``kv-cache``,
with its own target): it stays high while the batches run, and the HPA keeps the larger of the two answers.
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
    companions = ("kv-cache",)

    def series(self, runtime_metrics: Mapping[str, str]) -> Optional[str]:
        return runtime_metrics.get(self.name)
