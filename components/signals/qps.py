"""``qps``: the ingress QPS the metrics adapter counts in the ingress controller's access logs (SLS).

The seeds' signal, and the default. Its HPA metric is the ingress controller's (``ingresses/``):
``sls_ingress_qps`` or ``sls_alb_ingress_qps``, built by ``qps_autoscaler.qps_metric``.
"""

from __future__ import annotations

from .base import Signal


class Qps(Signal):
    name = "qps"
    source = "ingress-logs"
    target_key = "target_qps_per_replica"
    unit = "requests per second per replica"
    default_target = 10
