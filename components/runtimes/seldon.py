"""``seldon``: a SeldonDeployment (Seldon Core v1) with a TF Serving proxy in front of TF Serving.

Replaces seed 000's hand-written SeldonDeployment. The operator creates the
Service ``{deployment}-{predictor}`` on its executor's HTTP port 8000 (seldon-core
operator/controllers/seldondeployment_controller.go ``createPredictorService``).
The CRD's scale subresource has no labelSelectorPath (seldon-core v1.17.1
CRD), so no HPA can target a SeldonDeployment: it scales through
``componentSpecs[0].hpaSpec``, which ``createHpa`` copies into an
autoscaling/v2 HPA on the Deployment it generates, without ``behavior``.

The facts the render's preflight reads of a SeldonDeployment are here too (the
``Runtime`` members ``unscalable_kinds``, ``crd_providers``, ``workload_pods``
with the operator's executor container, ``workload_hpa_specs``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .._annotations import with_skips
from ..problems import ArgProblem
from .base import SECURE_CONTAINER, CrdProvider, PodContext, Runtime, Workload, WorkloadPod, as_list, as_map, find, pod_spec
from .tf_serving import (
    DEFAULT_GPU_IMAGE, DEFAULT_IMAGE, GRPC_PORT, REST_PORT, TERMINATION_GRACE_SECONDS, model_config_map,
    model_config_volume, tf_serving_container, version_policy_problems,
)

if TYPE_CHECKING:
    from ..inference_service import InferenceServiceArgs

HTTP_PORT = 8000
PREDICTOR = "default"
GROUP = "machinelearning.seldon.io"
KIND = "SeldonDeployment"
CRD = "seldondeployments.machinelearning.seldon.io"
# The Helm chart of the operator, which ships the CRD in its templates (seldon-core install docs,
# doc/source/workflow/install.rst; helm-charts/seldon-core-operator).
OPERATOR_CHART = "seldon-core-operator"
# The CRD's scale subresource has no labelSelectorPath, so no HPA can target a SeldonDeployment
# (seldon-core v1.17.1 helm-charts/seldon-core-operator/templates/customresourcedefinition_v1_seldondeployments.yaml).
UNSCALABLE_SOURCE = (
    "seldon-core helm-charts/seldon-core-operator/templates/customresourcedefinition_v1_seldondeployments.yaml: "
    "scale subresource without labelSelectorPath; scale it with componentSpecs[].hpaSpec"
)
# seldon-core v1 operator: the executor container it adds to each predictor's first componentSpec,
# with the predictor's svcOrchSpec.resources or the operator's defaults (operator/constants/constants.go
# DefaultExecutorCpuRequest 0.5, memory 512Mi; the chart's executor.resources may change them
# cluster-wide, which a plan cannot see). None with the predictor annotation seldon.io/no-engine,
# or in a pod of its own with seldon.io/engine-separate-pod (seldondeployment_engine.go).
EXECUTOR = "seldon-container-engine"
EXECUTOR_RESOURCES = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
NO_EXECUTOR_ANNOTATIONS = ("seldon.io/no-engine", "seldon.io/engine-separate-pod")
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
    owns_service = False
    scaling = "hpa-spec"
    workload_kinds = (KIND,)
    required_crds = (CRD,)
    option_defaults = {"proxy_image": PROXY_IMAGE}
    unscalable_kinds = {(GROUP, KIND): UNSCALABLE_SOURCE}
    crd_providers = {(GROUP, KIND): CrdProvider(CRD, charts=(OPERATOR_CHART,), note=f"the {OPERATOR_CHART} chart installs it")}

    def default_image(self, gpu: int) -> str:
        return DEFAULT_GPU_IMAGE if gpu else DEFAULT_IMAGE

    def service_endpoint(self, name: str) -> tuple[str, int]:
        return f"{name}-{PREDICTOR}", HTTP_PORT

    def network_ports(self) -> Optional[Sequence[int]]:
        return None  # Seldon adds its own executor ports: the pods, not the ports.

    def problems(self, args: InferenceServiceArgs) -> list[ArgProblem]:
        found = version_policy_problems(args)  # TF Serving behind the proxy
        if args.hpa_spec is not None and not isinstance(args.hpa_spec, Mapping):
            found.append(ArgProblem("hpa_spec", "must be a mapping (see seldon_hpa_spec())"))
        if args.service_annotations and not self.owns_service:
            found.append(ArgProblem("service_annotations", "cannot be set: the Seldon operator creates the Service (an ALB Ingress, "
                                                           "which needs its backend-type annotation, cannot front runtime 'seldon'; "
                                                           "use the NGINX Ingress)"))
        return found

    def build(self, ctx: PodContext) -> Workload:
        args, name = ctx.args, ctx.name
        config_map, annotations = model_config_map(ctx)
        containers = [proxy_container(self.option(args, "proxy_image")),
                      tf_serving_container(args, args.image or self.default_image(args.gpu))]
        spec = pod_spec(ctx, containers, [model_config_volume(name)], TERMINATION_GRACE_SECONDS)
        workload = k8s.apiextensions.CustomResource(
            f"{name}-seldon-deployment",
            api_version=f"{GROUP}/v1",
            kind=KIND,
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
        sd = find(objects, KIND, name, namespace)
        specs = self.workload_hpa_specs(sd) if sd is not None else []
        if not specs:
            return None
        _, spec = specs[0]
        return {"spec": {"minReplicas": spec.get("minReplicas", 1), "maxReplicas": spec["maxReplicas"], "metrics": spec["metricsv2"]}}

    def workload_pods(self, manifest: Mapping[str, Any]) -> Sequence[WorkloadPod]:
        # One pod per componentSpec of each predictor; the executor joins the first (see EXECUTOR).
        pods = []
        sdep_annotations = as_map(as_map(manifest.get("metadata")).get("annotations"))
        for p, predictor in enumerate(as_list(as_map(manifest.get("spec")).get("predictors"))):
            predictor = as_map(predictor)
            annotations = {**sdep_annotations, **as_map(predictor.get("annotations"))}
            resources = as_map(as_map(predictor.get("svcOrchSpec")).get("resources")) or EXECUTOR_RESOURCES
            no_executor = any(str(annotations.get(a, "")).lower() == "true" for a in NO_EXECUTOR_ANNOTATIONS)
            for c, component in enumerate(as_list(predictor.get("componentSpecs"))):
                component = as_map(component)
                executor = () if c or no_executor else ({"name": EXECUTOR, "resources": resources},)
                pods.append(WorkloadPod(f"spec.predictors[{p}].componentSpecs[{c}]", as_map(component.get("metadata")),
                                        as_map(component.get("spec")), executor))
        return pods

    def workload_hpa_specs(self, manifest: Mapping[str, Any]) -> Sequence[tuple[str, Mapping[str, Any]]]:
        # The operator turns each componentSpec's hpaSpec into an HPA (createHpa).
        specs = []
        for p, predictor in enumerate(as_list(as_map(manifest.get("spec")).get("predictors"))):
            for c, component in enumerate(as_list(as_map(predictor).get("componentSpecs"))):
                spec = as_map(component).get("hpaSpec")
                if isinstance(spec, dict):
                    specs.append((f"spec.predictors[{p}].componentSpecs[{c}].hpaSpec", spec))
        return specs
