"""``seldon``: a SeldonDeployment (Seldon Core v1) with a TF Serving proxy in front of TF Serving.

Replaces seed 000's hand-written SeldonDeployment. The operator creates the
Service ``{deployment}-{predictor}`` on its executor's HTTP port 8000 (seldon-core
operator/controllers/seldondeployment_controller.go ``createPredictorService``).
The CRD's scale subresource has no labelSelectorPath (seldon-core v1.17.1
CRD), so no HPA can target a SeldonDeployment: it scales through
``componentSpecs[0].hpaSpec``, which ``createHpa`` copies into an
autoscaling/v2 HPA on the Deployment it generates, without ``behavior``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .._annotations import with_skips
from ..problems import ArgProblem
from .base import SECURE_CONTAINER, PodContext, Runtime, Workload, find, pod_spec
from .tf_serving import (
    DEFAULT_GPU_IMAGE, DEFAULT_IMAGE, GRPC_PORT, REST_PORT, TERMINATION_GRACE_SECONDS, model_config_map,
    model_config_volume, tf_serving_container,
)

if TYPE_CHECKING:
    from ..inference_service import InferenceServiceArgs

HTTP_PORT = 8000
PREDICTOR = "default"
CRD = "seldondeployments.machinelearning.seldon.io"
# 1.17.1 is the last Apache-2.0 release of Seldon Core v1; later ones are under the Business Source License.
PROXY_IMAGE = "seldonio/tfserving-proxy:1.17.1"


def proxy_container(image: str) -> dict[str, Any]:
    """The REST proxy in front of TF Serving."""
    return {
        "name": "tfserving-proxy",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": dict(SECURE_CONTAINER),
    }


class Seldon(Runtime):
    name = "seldon"
    scaling = "hpa-spec"
    workload_kinds = ("SeldonDeployment",)
    required_crds = (CRD,)
    option_defaults = {"proxy_image": PROXY_IMAGE}

    def default_image(self, gpu: int) -> str:
        return DEFAULT_GPU_IMAGE if gpu else DEFAULT_IMAGE

    def service_endpoint(self, name: str) -> tuple[str, int]:
        return f"{name}-{PREDICTOR}", HTTP_PORT

    def network_ports(self) -> Optional[Sequence[int]]:
        return None  # Seldon adds its own executor ports: the pods, not the ports.

    def problems(self, args: InferenceServiceArgs) -> list[ArgProblem]:
        if args.hpa_spec is not None and not isinstance(args.hpa_spec, Mapping):
            return [ArgProblem("hpa_spec", "must be a mapping (see seldon_hpa_spec())")]
        return []

    def build(self, ctx: PodContext) -> Workload:
        args, name = ctx.args, ctx.name
        config_map, annotations = model_config_map(ctx)
        containers = [proxy_container(self.option(args, "proxy_image")),
                      tf_serving_container(args, args.image or self.default_image(args.gpu))]
        spec = pod_spec(ctx, containers, [model_config_volume(name)], TERMINATION_GRACE_SECONDS)
        workload = k8s.apiextensions.CustomResource(
            f"{name}-seldon-deployment",
            api_version="machinelearning.seldon.io/v1",
            kind="SeldonDeployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=args.namespace, labels=dict(ctx.labels), annotations=with_skips(None, namespace=args.namespace)
            ),
            spec={
                "name": name,
                # With an hpaSpec the operator leaves the replica count to its HPA
                # (createComponents); a `replicas` here would only be ignored.
                **({} if args.hpa_spec else {"replicas": args.replicas}),
                "predictors": [
                    {
                        "name": PREDICTOR,
                        "componentSpecs": [
                            {
                                "metadata": {"labels": dict(ctx.pod_labels), "annotations": {**ctx.pod_annotations, **annotations}},
                                "spec": spec,
                                **({"hpaSpec": dict(args.hpa_spec)} if args.hpa_spec else {}),
                            }
                        ],
                        "graph": {
                            "name": "tfserving-proxy",
                            "type": "MODEL",
                            "endpoint": {"type": "REST"},
                            "children": [],
                            "parameters": [
                                {"name": "rest_endpoint", "type": "STRING", "value": f"http://127.0.0.1:{REST_PORT}"},
                                {"name": "grpc_endpoint", "type": "STRING", "value": f"127.0.0.1:{GRPC_PORT}"},
                                {"name": "model_name", "type": "STRING", "value": args.model_name},
                                {"name": "signature_name", "type": "STRING", "value": "serving_default"},
                            ],
                        },
                    }
                ],
            },
            opts=ctx.workload_opts(config_map),
        )
        service_name, port = self.service_endpoint(name)
        # Scaled by its own hpaSpec, never by an HPA on the SeldonDeployment.
        return Workload(workload, pulumi.Output.from_input(service_name), port, None)

    def rendered_hpa(self, objects: Sequence[Mapping[str, Any]], name: str, namespace: str) -> Optional[Mapping[str, Any]]:
        # The operator makes an autoscaling/v2 HPA from the componentSpec's hpaSpec, with
        # metricsv2 as the metrics and no behavior (seldon-core createHpa): the API's defaults apply.
        sd = find(objects, "SeldonDeployment", name, namespace)
        if sd is None:
            return None
        spec = sd["spec"]["predictors"][0]["componentSpecs"][0].get("hpaSpec")
        if not spec:
            return None
        return {"spec": {"minReplicas": spec.get("minReplicas", 1), "maxReplicas": spec["maxReplicas"], "metrics": spec["metricsv2"]}}
