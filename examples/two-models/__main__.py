"""Two models behind one Ingress host on different paths, from the components directly.

- /text:   a text classifier on the team's GPU spot node pool (ECS);
- /images: an image tagger on ECI, 2 on-demand pods then up to 8 spot pods.

Naming is this team's own: every Kubernetes object is prefixed "ml-".
"""

import pulumi

from elastic_inference import (
    EciTier,
    InferenceService,
    InferenceServiceArgs,
    ModelStore,
    ModelStoreArgs,
    ModelVolume,
    ModelVolumeArgs,
    Placement,
    PlacementArgs,
    PublicEndpoint,
    PublicEndpointArgs,
    QpsAutoscaler,
    QpsAutoscalerArgs,
    SpotNodePool,
    SpotNodePoolArgs,
    selector_labels,
)

cfg = pulumi.Config()
region = pulumi.Config("alicloud").require("region")
cluster_id = cfg.require("clusterId")
host = cfg.require("host")
tls_secret = cfg.get("tlsSecret")
NAMESPACE = "ml"
MODELS = {
    # service: (model path in the bucket, URL path, placement)
    "ml-text": ("text/classifier", "/text", "ecs"),
    "ml-images": ("vision/tagger", "/images", "eci-tiers"),
}

store = ModelStore("ml-store", ModelStoreArgs(
    bucket=cfg.require("bucket"),
    read_prefixes=sorted(path for path, _, _ in MODELS.values()),
    create=False,  # the bucket exists; the component only grants read access to the two prefixes
    access="rrsa",
    cluster_id=cluster_id,
))

pool = SpotNodePool("ml-gpu", SpotNodePoolArgs(
    cluster_id=cluster_id,
    node_pool_name="ml-gpu",
    vswitch_ids=cfg.require_object("vswitchIds"),
    instance_types=["ecs.gn6i-c4g1.xlarge"],
    min_size=1,
    max_size=6,
    labels={"team": "ml", "accelerator": "t4"},
))

# What the cluster must already have, for readers and for the offline render's preflight.
prerequisites = {**store.prerequisites, **pool.prerequisites}
urls = {}
for name, (model_path, url_path, mode) in MODELS.items():
    volume = ModelVolume(name, ModelVolumeArgs(
        namespace=NAMESPACE,
        bucket=store.bucket_name,
        path=model_path,
        region=region,
        rrsa_role_name=store.rrsa_role_name,
    ))
    placement = Placement(name, PlacementArgs(
        mode=mode,
        namespace=NAMESPACE,
        selector=selector_labels(name),
        node_labels=pool.labels,
        node_taints=pool.taints,
        eci_instance_types=["ecs.gn6i-c4g1.xlarge"] if mode == "eci-tiers" else [],
        tiers=[EciTier(max=2), EciTier(max=8, spot_strategy="SpotAsPriceGo")] if mode == "eci-tiers" else [],
    ))
    server = InferenceService(name, InferenceServiceArgs(
        namespace=NAMESPACE,
        model_name=model_path.split("/")[-1],
        claim_name=volume.claim_name,
        image="tensorflow/serving:2.14.1-gpu",
        gpu=1,
        # ecs.gn6i-c4g1.xlarge has 4 vCPU and 15 GiB, less ACK's reservation and the node's DaemonSets.
        cpu="3",
        memory="10Gi",
        replicas=1,
        scheduling=placement.pod,
        depends_on=[volume, *placement.resources],
    ))
    prerequisites.update(placement.prerequisites)
    endpoint = PublicEndpoint(name, PublicEndpointArgs(
        namespace=NAMESPACE,
        host=host,
        path=url_path,
        tls_secret=tls_secret,
        service_name=server.service_name,
        service_port=server.service_port,
    ))
    QpsAutoscaler(name, QpsAutoscalerArgs(
        namespace=NAMESPACE,
        scale_target=server.scale_target,
        route=endpoint.route,
        sls_project=f"k8s-log-{cluster_id}",
        min_replicas=1,
        max_replicas=10 if mode == "eci-tiers" else 6,
        target_qps_per_replica=8,
    ), opts=pulumi.ResourceOptions(depends_on=[server]))
    urls[name] = endpoint.url

pulumi.export("urls", urls)
pulumi.export("clusterPrerequisites", prerequisites)
