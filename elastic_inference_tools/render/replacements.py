"""Which input changes make a provider replace a resource instead of updating it.

A real ``pulumi preview`` asks each provider. Offline we keep the rules for the
resource types this project creates, taken from the providers' sources:

- Kubernetes: ``forceNewProperties`` in pulumi-kubernetes v4
  (``provider/pkg/provider/diff.go``): an object's ``metadata.name`` and
  ``metadata.namespace`` always; per kind the immutable parts of its spec;
  a ConfigMap's and a Secret's data unless the provider is configured with
  ``enableConfigMapMutable`` / ``enableSecretMutable`` (and the object is not
  ``immutable``).
- Helm releases: a release cannot be renamed or moved to another namespace.
- Alibaba Cloud: the ``ForceNew`` arguments of the Terraform provider that
  pulumi-alicloud bridges (``website/docs/r/*.html.markdown``). Notably a node
  pool's ``instance_types``, ``vswitch_ids`` and scaling settings update in
  place; its ``cluster_id`` and security groups do not.

A type missing from these tables has no known rule: its changes are shown as
updates and the report says the rule is unknown.
"""

from __future__ import annotations

from typing import Any, Optional

_PV_SOURCES = tuple(
    f"spec.{source}"
    for source in (
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
        "flocker", "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs",
        "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume",
    )
)
_SELECTOR = ("spec.selector",)

# (API group, kind) -> input paths; "core" is the legacy group "".
_KUBERNETES: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): _SELECTOR,
    ("apps", "DaemonSet"): _SELECTOR,
    ("apps", "StatefulSet"): _SELECTOR
    + ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName", "spec.volumeClaimTemplates"),
    ("batch", "Job"): _SELECTOR + ("spec.completions", "spec.parallelism", "spec.template"),
    ("core", "PersistentVolume"): _PV_SOURCES,
    ("core", "PersistentVolumeClaim"): ("spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"),
    ("core", "ResourceQuota"): ("spec.scopes",),
    ("core", "Service"): ("spec.clusterIP",),
    ("core", "Secret"): ("type",),
    ("storage.k8s.io", "StorageClass"): ("parameters", "provisioner"),
    ("rbac.authorization.k8s.io", "RoleBinding"): ("roleRef",),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ("roleRef",),
}
_KUBERNETES_VERSIONED: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("policy", "v1beta1", "PodDisruptionBudget"): ("spec",),
}

_ALICLOUD: dict[str, tuple[str, ...]] = {
    "alicloud:oss/bucket:Bucket": ("bucket", "storageClass", "redundancyType"),
    "alicloud:oss/bucketAcl:BucketAcl": ("bucket",),
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption": ("bucket",),
    "alicloud:oss/bucketVersioning:BucketVersioning": ("bucket",),
    "alicloud:oss/bucketObject:BucketObject": ("bucket", "key"),
    "alicloud:ram/policy:Policy": ("policyName", "name"),
    "alicloud:ram/user:User": (),
    "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": ("policyName", "policyType", "userName"),
    "alicloud:ram/accessKey:AccessKey": ("userName", "secretFile", "pgpKey"),
    "alicloud:ram/role:Role": ("roleName", "name"),
    "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": ("policyName", "policyType", "roleName"),
    "alicloud:cs/kubernetesAddon:KubernetesAddon": ("clusterId", "name"),
    "alicloud:cs/nodePool:NodePool": (
        "clusterId", "cisEnabled", "deploymentSetId", "loginAsNonRoot", "nodeNameMode", "ramRoleName",
        "securityGroupId", "securityGroupIds", "securityHardeningOs", "socEnabled",
    ),
}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def replace_paths(type_: str, inputs: dict[str, Any], config: dict[str, Any]) -> Optional[tuple[str, ...]]:
    """Input paths whose change replaces a resource of ``type_``; None if no rule is known.

    ``config`` is the stack's configuration (``kubernetes:enableConfigMapMutable`` ...).
    """
    package, module, kind = (type_.split(":") + ["", ""])[:3]
    if package == "kubernetes":
        group, _, version = module.rpartition("/")
        if group == "helm.sh":
            return ("name", "namespace")
        paths: tuple[str, ...] = ("metadata.name", "metadata.namespace")
        paths += _KUBERNETES.get((group, kind), ()) + _KUBERNETES_VERSIONED.get((group, version, kind), ())
        immutable = _truthy(inputs.get("immutable"))
        if group == "core" and kind == "ConfigMap" and (immutable or not _truthy(config.get("kubernetes:enableConfigMapMutable"))):
            paths += ("binaryData", "data")
        if group == "core" and kind == "Secret" and (immutable or not _truthy(config.get("kubernetes:enableSecretMutable"))):
            paths += ("data", "stringData")
        return paths
    if package == "alicloud":
        return _ALICLOUD.get(type_)
    return None


def covers(prefix: str, path: str) -> bool:
    """Whether property path ``path`` is ``prefix`` or lies under it (``a.b`` covers ``a.b.c`` and ``a.b[0]``)."""
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")
