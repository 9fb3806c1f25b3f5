"""The components, as the tools read them: the installed ``elastic_inference`` package.

The preflight and the simulator take what the components know of their
variants (the runtimes' registry), of themselves (the ``InferenceService``
type) and of the controllers they drive (the CronHPA controller's cron syntax)
from here, so a runtime a program registers is judged like a built-in
one and the tools keep no list of their own. From a checkout without the
package installed (``pip install -e .``, as ``make`` does), the
``components`` directory next to the tools (the same code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # mypy cannot follow the editable install's import hook; the installed package is components/.
    from components.alb_gateway import ADDON as ALB_ADDON, CRD as ALB_CRD
    from components import gpu_drivers
    from components.inference_service import TYPE as INFERENCE_SERVICE_TYPE
    from components.ingresses import INGRESS_CONTROLLERS
    from components.ingresses.alb import BACKEND_TYPE, CONTROLLER as ALB_CONTROLLER, LISTEN_PORTS
    from components.pod_monitor import SCRAPER_NAMESPACE
    from components.runtimes import RUNTIMES, CrdProvider, Runtime, WorkloadPod
    from components.runtimes.vllm import CUDA_COMPATIBILITY_ENV, DEFAULT_GPU_MEMORY_UTILIZATION, WEIGHTS_ANNOTATION, image_cuda, image_min_arch
    from components.schedule import PATCH_FORCE, cron_fields, cron_problem, date_of, fires
    from components.signals import SIGNALS, PrometheusSignal
else:
    try:
        from elastic_inference.alb_gateway import ADDON as ALB_ADDON, CRD as ALB_CRD
        from elastic_inference import gpu_drivers
        from elastic_inference.inference_service import TYPE as INFERENCE_SERVICE_TYPE
        from elastic_inference.ingresses import INGRESS_CONTROLLERS
        from elastic_inference.ingresses.alb import BACKEND_TYPE, CONTROLLER as ALB_CONTROLLER, LISTEN_PORTS
        from elastic_inference.pod_monitor import SCRAPER_NAMESPACE
        from elastic_inference.runtimes import RUNTIMES, CrdProvider, Runtime, WorkloadPod
        from elastic_inference.runtimes.vllm import CUDA_COMPATIBILITY_ENV, DEFAULT_GPU_MEMORY_UTILIZATION, WEIGHTS_ANNOTATION, image_cuda, image_min_arch
        from elastic_inference.schedule import PATCH_FORCE, cron_fields, cron_problem, date_of, fires
        from elastic_inference.signals import SIGNALS, PrometheusSignal
    except ModuleNotFoundError as exc:
        if exc.name != "elastic_inference":
            raise
        from components.alb_gateway import ADDON as ALB_ADDON, CRD as ALB_CRD
        from components import gpu_drivers
        from components.inference_service import TYPE as INFERENCE_SERVICE_TYPE
        from components.ingresses import INGRESS_CONTROLLERS
        from components.ingresses.alb import BACKEND_TYPE, CONTROLLER as ALB_CONTROLLER, LISTEN_PORTS
        from components.pod_monitor import SCRAPER_NAMESPACE
        from components.runtimes import RUNTIMES, CrdProvider, Runtime, WorkloadPod
        from components.runtimes.vllm import CUDA_COMPATIBILITY_ENV, DEFAULT_GPU_MEMORY_UTILIZATION, WEIGHTS_ANNOTATION, image_cuda, image_min_arch
        from components.schedule import PATCH_FORCE, cron_fields, cron_problem, date_of, fires
        from components.signals import SIGNALS, PrometheusSignal

__all__ = ["ALB_ADDON", "ALB_CONTROLLER", "ALB_CRD", "BACKEND_TYPE", "CUDA_COMPATIBILITY_ENV", "DEFAULT_GPU_MEMORY_UTILIZATION",
           "INFERENCE_SERVICE_TYPE", "INGRESS_CONTROLLERS", "LISTEN_PORTS", "PATCH_FORCE", "RUNTIMES",
           "SCRAPER_NAMESPACE", "SIGNALS", "WEIGHTS_ANNOTATION", "cron_fields", "cron_problem", "date_of", "fires", "gpu_drivers", "image_cuda", "image_min_arch",
           "CrdProvider", "PrometheusSignal", "Runtime", "WorkloadPod"]
