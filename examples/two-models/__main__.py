"""Two models behind one Ingress host on different paths, with the ModelEndpoint component.

- /text:   a text classifier on the team's GPU spot node pool (ECS);
- /images: an image tagger on ECI, 2 on-demand pods then up to 8 spot pods.

Naming is this team's own: every Kubernetes object is prefixed "ml-".
"""

import pulumi

from elastic_inference import (
    Autoscaling,
    EciTier,
    ImageCacheChoice,
    IngressChoice,
    ModelEndpoint,
    ModelEndpointArgs,
    ModelStore,
    ModelStoreArgs,
    PlacementChoice,
    ServerResources,
    SpotNodePool,
    SpotNodePoolArgs,
    default_sls_project,
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
    tiered = mode == "eci-tiers"
    model = ModelEndpoint(name, ModelEndpointArgs(
        model_store=store,
        model_path=model_path,
        region=region,
        # The cluster's add-ons are the platform team's: this program reads their SLS project.
        sls_project=default_sls_project(cluster_id),
        namespace=NAMESPACE,
        model_name=model_path.split("/")[-1],
        # ossfs 2.0 for the ECS service: faster sequential reads of the model (ACK 'Client selection reference');
        # ECI mounts OSS itself, and its support of ossfs 2.0 is not documented, so the ECI service keeps ossfs 1.x.
        mount_client="ossfs" if tiered else "ossfs2",
        # The GPU image (several GB) cached for the ECI service, so its first burst does not pay the pull.
        image_cache=ImageCacheChoice(size_gib=40) if tiered else None,
        image="tensorflow/serving:2.14.1-gpu",
        # ecs.gn6i-c4g1.xlarge has 4 vCPU and 15 GiB, less ACK's reservation and the node's DaemonSets.
        resources=ServerResources(gpu=1, cpu="3", memory="10Gi"),
        placement=PlacementChoice(
            mode=mode,
            eci_instance_types=["ecs.gn6i-c4g1.xlarge"] if tiered else [],
            tiers=[EciTier(max=2), EciTier(max=8, spot_strategy="SpotAsPriceGo")] if tiered else [],
        ),
        node_pool=pool,
        ingress=IngressChoice(host=host, path=url_path, tls_secret=tls_secret),
        autoscaling=Autoscaling(min_replicas=1, max_replicas=10 if tiered else 6, target_qps_per_replica=8),
    ))
    prerequisites.update(model.prerequisites)
    urls[name] = model.url

pulumi.export("urls", urls)
pulumi.export("clusterPrerequisites", prerequisites)
