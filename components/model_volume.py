"""ModelVolume: a model prefix of an OSS bucket, mounted read-only through the OSS CSI driver.

Replaces the seeds' ``pvc.yaml`` (a static PersistentVolume with the AccessKey
pasted into ``volumeAttributes``). Here the credentials live in a Secret that
the PV references with ``nodePublishSecretRef`` (or RRSA is used and there are
none), the PV exposes only the model's prefix, is read-only and ``Retain``, and
the PVC is pre-bound to it by name so no other claim can take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from ._annotations import with_skips
from .problems import ArgProblem
from .runtimes.base import RUN_AS_ID
from .types import MountClient, choices

TYPE = "elastic-inference:storage:ModelVolume"
OSS_CSI_DRIVER = "ossplugin.csi.alibabacloud.com"
# ossfs 1.x options:
# - max_stat_cache_size=0: no stale metadata after a model upload;
# - allow_other: FUSE lets users other than the mounting root into the mount at all;
# - umask=022: objects without x-oss-meta-mode (uploaded by the console, ossutil or the
#   provider) are 0640 files and 0750 directories owned by root (aliyun/ossfs
#   src/metaheader.cpp get_mode/get_uid), so the non-root server (UID 10001) would get
#   EACCES; with a umask every file and directory is 0755, readable and never writable by
#   others, in ossfs's own check (src/s3fs.cpp check_object_access) and in libfuse's stat.
#   Not uid=: that would give the server write access too (check_object_access).
DEFAULT_MOUNT_OPTIONS = "-o max_stat_cache_size=0 -o allow_other -o umask=022"
# ossfs 2.0 takes only its own options (the CSI driver passes each -o k=v as --k=v to ossfs2 and
# forbids FUSE arguments: alibaba-cloud-csi-driver pkg/mounter/proxy/server/ossfs2/driver.go), and
# stamps one owner and mode on every file and directory, whatever the object's metadata (aliyun/ossfs
# 2.0 src/fs/inode.cpp fill_statbuf; defaults in src/options.cpp: uid/gid of the ossfs2 process, root in
# the CSI's fuse pod, modes 0777, allow_other true). Set explicitly: the server's user owns a read-only
# tree (0444 files, 0555 directories); the driver adds ro=true to a read-only volume (ossfs2/manager.go).
OSSFS2_MOUNT_OPTIONS = (f"-o allow_other=true -o uid={RUN_AS_ID} -o gid={RUN_AS_ID} -o dir_mode=0555 -o file_mode=0444")
#: The mount options each client gets when none are given.
MOUNT_OPTIONS: dict[str, str] = {"ossfs": DEFAULT_MOUNT_OPTIONS, "ossfs2": OSSFS2_MOUNT_OPTIONS}
#: ossfs 2.0 through the CSI driver (static PV, AccessKey or RRSA): ACK 'Mount a static OSS persistent volume by using
#: ossfs 2.0' / 'Mount a dynamic OSS volume using ossfs 2.0' (csi-plugin and csi-provisioner 1.33.1 or later).
OSSFS2_PREREQUISITE = ("ossfs 2.0 mounts (fuseType ossfs2) need csi-plugin and csi-provisioner 1.33.1 or later, and with RRSA "
                       "Kubernetes 1.26 or later (ACK 'Mount a static OSS persistent volume by using ossfs 2.0')")


def oss_internal_endpoint(region: str) -> str:
    """The VPC-internal OSS endpoint of ``region`` (no public traffic, no traffic fee)."""
    return f"oss-{region}-internal.aliyuncs.com"


@dataclass(kw_only=True)
class ModelVolumeArgs:
    """Arguments of :class:`ModelVolume`. Give either the AccessKey pair or ``rrsa_role_name``."""

    namespace: str
    """Namespace of the PVC and the credentials Secret (the service's namespace)."""
    bucket: pulumi.Input[str]
    """The OSS bucket."""
    path: str
    """Key prefix of the model in the bucket, e.g. ``tensorflow/chnsenticorp``."""
    region: str
    """Region of the bucket and the cluster (the internal endpoint is derived from it)."""
    access_key_id: Optional[pulumi.Input[str]] = None
    """AccessKey id with read access to ``path``."""
    access_key_secret: Optional[pulumi.Input[str]] = None
    """AccessKey secret (kept in a Kubernetes Secret, never inline in the PV)."""
    rrsa_role_name: Optional[pulumi.Input[str]] = None
    """RAM role the CSI driver assumes through RRSA, instead of an AccessKey."""
    capacity: str = "5Gi"
    """Nominal size (OSS is not size-limited; Kubernetes requires a value)."""
    client: MountClient = "ossfs"
    """The FUSE client: ``ossfs`` (1.x) or ``ossfs2`` (ossfs 2.0, for read-only, sequential reads such as loading a model)."""
    mount_options: Optional[str] = None
    """The client's options, passed as ``otherOpts``; None: the client's defaults (:data:`MOUNT_OPTIONS`)."""

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(checks.dns_label("namespace", self.namespace), checks.one_of("client", self.client, choices(MountClient)))
        has_key = self.access_key_id is not None or self.access_key_secret is not None
        if has_key and self.rrsa_role_name is not None:
            found.append(ArgProblem("rrsa_role_name", "give either access_key_id/access_key_secret or rrsa_role_name, not both"))
        elif has_key and (self.access_key_id is None or self.access_key_secret is None):
            found.append(ArgProblem("access_key_secret", "access_key_id and access_key_secret go together"))
        elif not has_key and self.rrsa_role_name is None:
            found.append(ArgProblem("rrsa_role_name", "credentials are required: an AccessKey pair or rrsa_role_name"))
        if self.path.startswith("/") or ".." in self.path.split("/"):
            found.append(ArgProblem("path", "must be a relative key prefix without '..'"))
        return found


class ModelVolume(pulumi.ComponentResource):
    """A read-only OSS PersistentVolume, its claim, and the Secret it reads credentials from."""

    claim_name: str
    """Name of the PersistentVolumeClaim to mount in pods."""
    volume_name: str
    """Name of the PersistentVolume (cluster-scoped, so it includes the namespace)."""
    secret_name: Optional[str]
    """Name of the credentials Secret, or None with RRSA."""
    prerequisites: dict[str, str]
    """What the cluster must already have for this mount (name -> why)."""

    def __init__(self, name: str, args: ModelVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("ModelVolumeArgs", [*checks.collect(checks.dns_label("name", name)), *args.problems()])
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.claim_name = f"{name}-model"
        self.volume_name = f"{args.namespace}-{name}-model"
        self.secret_name = None
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "model", "app.kubernetes.io/managed-by": "pulumi"}

        attributes: dict[str, pulumi.Input[str]] = {
            "bucket": args.bucket,
            "url": oss_internal_endpoint(args.region),
            "path": "/" + args.path.strip("/"),
            "otherOpts": args.mount_options if args.mount_options is not None else MOUNT_OPTIONS[args.client],
        }
        self.prerequisites = {}
        if args.client != "ossfs":
            # The driver's volume attribute (alibaba-cloud-csi-driver pkg/oss/utils.go parseOptions: "fusetype"; default ossfs).
            attributes["fuseType"] = args.client
            self.prerequisites["csi-plugin >= 1.33.1"] = OSSFS2_PREREQUISITE
        secret = self._credentials(name, args, labels, attributes)
        secret_ref = k8s.core.v1.SecretReferenceArgs(name=self.secret_name, namespace=args.namespace) if secret else None

        volume = k8s.core.v1.PersistentVolume(
            f"{name}-pv",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self.volume_name, labels=labels),
            spec=k8s.core.v1.PersistentVolumeSpecArgs(
                capacity={"storage": args.capacity},
                access_modes=["ReadOnlyMany"],
                persistent_volume_reclaim_policy="Retain",
                storage_class_name="",
                claim_ref=k8s.core.v1.ObjectReferenceArgs(namespace=args.namespace, name=self.claim_name),
                csi=k8s.core.v1.CSIPersistentVolumeSourceArgs(
                    driver=OSS_CSI_DRIVER,
                    volume_handle=self.volume_name,
                    read_only=True,
                    volume_attributes=attributes,
                    node_publish_secret_ref=secret_ref,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret] if secret else []),
        )
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-pvc",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.claim_name, namespace=args.namespace, labels=labels, annotations=with_skips(None, namespace=args.namespace)
            ),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadOnlyMany"],
                storage_class_name="",
                volume_name=volume.metadata.name,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": args.capacity}),
            ),
            opts=child,
        )
        self.register_outputs({"claimName": self.claim_name, "volumeName": self.volume_name, "secretName": self.secret_name})

    def _credentials(self, name: str, args: ModelVolumeArgs, labels: dict[str, str],
                     attributes: dict[str, pulumi.Input[str]]) -> Optional[k8s.core.v1.Secret]:
        """The AccessKey Secret the CSI driver reads (returned), or the RRSA attributes (added to ``attributes``)."""
        if args.access_key_id is None:
            attributes["authType"] = "rrsa"
            attributes["roleName"] = args.rrsa_role_name  # type: ignore[assignment]
            return None
        self.secret_name = f"{name}-oss-credentials"
        return k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.secret_name, namespace=args.namespace, labels=labels, annotations=with_skips(None, namespace=args.namespace)
            ),
            type="Opaque",
            # Both values secret: the id is not sensitive alone, but never useful alone either.
            string_data={
                "akId": pulumi.Output.secret(args.access_key_id or ""),
                "akSecret": pulumi.Output.secret(args.access_key_secret or ""),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
