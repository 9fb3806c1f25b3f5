"""``kv-cache``: the model server's KV-cache use, per replica, a fraction (vLLM ``vllm:kv_cache_usage_perc``).

vLLM 0.33 ``vllm/v1/metrics/loggers.py``: a gauge, "1 means 100 percent usage", labels ``model_name`` and
``engine``; the fullest engine of a pod counts. Before vLLM 0.10 it was ``vllm:gpu_cache_usage_perc``.
"""

from __future__ import annotations

from typing import Mapping, Optional

from .base import PrometheusSignal


class KvCache(PrometheusSignal):
    name = "kv-cache"
    target_key = "target_kv_cache_usage"
    unit = "fraction of the KV cache in use, 0-1"
    default_target = 0.8
    max_target = 1.0
    aggregation = "max"

    def series(self, runtime_metrics: Mapping[str, str]) -> Optional[str]:
        return runtime_metrics.get(self.name)
