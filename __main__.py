"""elastic-inference: a model behind an elastic, internet-facing endpoint on ACK.

Loads and validates the stack's settings, then composes the components. All
decisions live in `config/` (what is allowed, defaults) and `components/`
(how each part is built).
"""

import pulumi

import config
from components import (
    AlbGateway, ClusterAddons, ClusterAddonsArgs, ModelEndpoint, ModelEndpointArgs, ModelStore, ModelStoreArgs, SpotNodePool, adapter_rules,
)

try:
    settings = config.load()
except config.ConfigError as err:
    # RunError: the CLI prints the message alone, without a traceback.
    raise pulumi.RunError("invalid stack configuration:\n" + str(err)) from err

cluster, store_cfg, pool_cfg = settings.cluster, settings.model_store, settings.node_pool
adapter_chart = cluster.addons.metrics_adapter_chart

addons_args = ClusterAddonsArgs(
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
    cron_hpa_controller=cluster.addons.cron_hpa_controller,
    alb_ingress_controller=cluster.addons.alb_ingress_controller,
    prometheus_url=cluster.prometheus_url,
    # The instance's credentials, as the Authorization header (ClusterAddons keeps it a secret).
    prometheus_authorization=cluster.prometheus_auth.authorization() if cluster.prometheus_auth else None,
    # The adapter's rules for the services that scale on their server's own metrics (autoscaling.metric).
    prometheus_rules=adapter_rules([(svc.runtime, svc.autoscaling.metric) for svc in settings.services.values()
                                    if svc.autoscaling.enabled]),
    seldon_core=cluster.addons.seldon_core,
    seldon_core_chart=cluster.addons.seldon_core_chart.name,
    seldon_core_repository=cluster.addons.seldon_core_chart.repository,
    seldon_core_version=cluster.addons.seldon_core_chart.version,
    seldon_core_namespace=cluster.addons.seldon_core_chart.namespace,
)
addons = ClusterAddons("cluster", addons_args)
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
    pool = SpotNodePool(pool_cfg.name, pool_cfg.args(cluster))
    prerequisites.update(pool.prerequisites)
prerequisites.update(store.prerequisites)

# The stack's ALB (its AlbConfig and IngressClass), for the services whose ingress.className names it.
alb = None
alb_args = settings.alb_args()
if alb_args is not None and settings.alb is not None:
    alb = AlbGateway(settings.alb.name, alb_args, pulumi.ResourceOptions(depends_on=addons.dependencies))
    prerequisites.update(alb.prerequisites)

behind_alb = settings.alb_services()
endpoints = {}
for name, svc in settings.services.items():
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
        runtime_options=svc.runtime_options(),
        mount_client=svc.model.client,
        image_cache=svc.image_cache.choice() if svc.image_cache else None,
        resources=svc.resources.args(),
        placement=svc.placement.choice(),
        node_pool=pool,
        ingress=svc.ingress.choice(settings.alb) if svc.ingress else None,
        alb=alb if name in behind_alb else None,
        autoscaling=svc.autoscaling.args(),
        allow_from_namespaces=svc.network_policy.allow_from_namespaces,
    ))
    prerequisites.update(model.prerequisites)
    if model.url is not None:
        endpoints[name] = model.url

pulumi.export("endpoints", endpoints)
# What this stack's own add-ons install (the CronHPA controller's CRD) is not a prerequisite.
for crd in addons_args.installed_crds():
    prerequisites.pop(crd, None)
pulumi.export("clusterPrerequisites", dict(sorted(prerequisites.items())))
# The offline render validates the manifests against this version's Kubernetes schemas.
pulumi.export("kubernetesVersion", cluster.kubernetes_version)
pulumi.export("modelBucket", store.bucket_name)
if pool is not None:
    pulumi.export("nodePoolId", pool.node_pool_id)
    pulumi.export("nodePoolName", pool.node_pool_name)
