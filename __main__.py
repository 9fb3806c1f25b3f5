"""elastic-inference: a model behind an elastic, internet-facing endpoint on ACK.

Loads and validates the stack's settings, then composes the components. All
decisions live in `config/` (what is allowed, defaults) and `components/`
(how each part is built).
"""

import pulumi

import config
from components import (
    Autoscaling, ClusterAddons, ClusterAddonsArgs, EciTier, IngressChoice, ModelEndpoint, ModelEndpointArgs, ModelStore,
    ModelStoreArgs, NodeTaint, PlacementChoice, ServerResources, SpotNodePool, SpotNodePoolArgs,
)

try:
    settings = config.load()
except config.ConfigError as err:
    # RunError: the CLI prints the message alone, without a traceback.
    raise pulumi.RunError("invalid stack configuration:\n" + str(err)) from err

cluster, store_cfg, pool_cfg = settings.cluster, settings.model_store, settings.node_pool
adapter_chart = cluster.addons.metrics_adapter_chart

addons = ClusterAddons("cluster", ClusterAddonsArgs(
    cluster_id=cluster.id,
    virtual_node=cluster.addons.virtual_node,
    logtail=cluster.addons.logtail,
    log_collector=cluster.addons.log_collector,
    sls_project=cluster.sls_project_name,
    metrics_adapter=cluster.addons.metrics_adapter,
    metrics_adapter_chart=adapter_chart.name,
    metrics_adapter_repository=adapter_chart.repository,
    metrics_adapter_version=adapter_chart.version,
    metrics_adapter_namespace=adapter_chart.namespace,
    ingress_controller=cluster.addons.ingress_controller,
    seldon_core=cluster.addons.seldon_core,
    seldon_core_chart=cluster.addons.seldon_core_chart.name,
    seldon_core_repository=cluster.addons.seldon_core_chart.repository,
    seldon_core_version=cluster.addons.seldon_core_chart.version,
    seldon_core_namespace=cluster.addons.seldon_core_chart.namespace,
))
# What this stack relies on but does not install (name -> why): the stack output
# clusterPrerequisites, which the offline render's preflight reads.
prerequisites = {crd: "declared in cluster.prerequisites" for crd in cluster.prerequisites}

store = ModelStore("models", ModelStoreArgs(
    bucket=store_cfg.bucket,
    read_prefixes=sorted({svc.model.path for svc in settings.services.values()}),
    create=store_cfg.create,
    versioning=store_cfg.versioning,
    encryption=store_cfg.encryption,
    kms_key_id=store_cfg.kms_key_id,
    access=store_cfg.access,
    cluster_id=cluster.id,
    upload_dir=store_cfg.upload_dir,
    protect=store_cfg.protect,
))

pool = None
if pool_cfg is not None:
    pool = SpotNodePool(pool_cfg.name, SpotNodePoolArgs(
        cluster_id=cluster.id,
        node_pool_name=pool_cfg.name,
        vswitch_ids=cluster.vswitch_ids,
        instance_types=pool_cfg.instance_types,
        min_size=pool_cfg.min_size,
        max_size=pool_cfg.max_size,
        spot_strategy=pool_cfg.spot_strategy,
        spot_price_limits=pool_cfg.spot_price_limits,
        multi_az_policy=pool_cfg.multi_az_policy,
        on_demand_base_capacity=pool_cfg.on_demand_base_capacity,
        on_demand_percentage=pool_cfg.on_demand_percentage,
        compensate_with_on_demand=pool_cfg.compensate_with_on_demand,
        labels=pool_cfg.labels,
        taints=[NodeTaint(key=t.key, value=t.value, effect=t.effect) for t in pool_cfg.taints],
        system_disk_size=pool_cfg.system_disk_size,
    ))
    prerequisites.update(pool.prerequisites)
prerequisites.update(store.prerequisites)

endpoints = {}
for name, svc in settings.services.items():
    scaling, ingress = svc.autoscaling, svc.ingress
    model = ModelEndpoint(name, ModelEndpointArgs(
        model_store=store,
        model_path=svc.model.path,
        region=settings.region,
        addons=addons,
        namespace=svc.namespace,
        runtime=svc.runtime,
        image=svc.image,
        model_name=svc.model.name,
        version_policy=svc.model.version_policy,
        resources=ServerResources(gpu=svc.resources.gpu, cpu=svc.resources.cpu, memory=svc.resources.memory),
        placement=PlacementChoice(
            mode=svc.placement.mode,
            eci_instance_types=svc.placement.eci_instance_types,
            tiers=[EciTier(max=t.max, spot_strategy=t.spot_strategy, spot_price_limit=t.spot_price_limit) for t in svc.placement.tiers],
            pool_wait_seconds=svc.placement.pool_wait_seconds,
        ),
        node_pool=pool,
        ingress=IngressChoice(host=ingress.host, path=ingress.path, tls_secret=ingress.tls_secret, class_name=ingress.class_name)
        if ingress else None,
        autoscaling=Autoscaling(
            enabled=scaling.enabled,
            min_replicas=scaling.min_replicas,
            max_replicas=scaling.max_replicas,
            target_qps_per_replica=scaling.target_qps_per_replica,
            query_interval_seconds=scaling.query_interval_seconds,
            query_delay_seconds=scaling.query_delay_seconds,
            cpu_utilization_percent=scaling.cpu_utilization_percent,
            scale_down_stabilization_seconds=scaling.scale_down_stabilization_seconds,
        ),
        allow_from_namespaces=svc.network_policy.allow_from_namespaces,
    ))
    prerequisites.update(model.prerequisites)
    if model.url is not None:
        endpoints[name] = model.url

pulumi.export("endpoints", endpoints)
pulumi.export("clusterPrerequisites", dict(sorted(prerequisites.items())))
pulumi.export("modelBucket", store.bucket_name)
if pool is not None:
    pulumi.export("nodePoolId", pool.node_pool_id)
    pulumi.export("nodePoolName", pool.node_pool_name)
