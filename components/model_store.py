"""ModelStore: the OSS bucket that holds the models, and the cluster's read access to it.

Replaces the seeds' step "Upload the trained model to an OSS bucket" and the
hand-made AccessKey pasted into every PersistentVolume: the bucket is private,
encrypted, versioned and blocked from public access; the cluster reads it
either with a dedicated read-only RAM user (``access="secret"``) or through a
RAM role assumed with RRSA (``access="rrsa"``), both scoped to the model
prefixes only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_alicloud as alicloud

from . import problems as checks
from .problems import ArgProblem
from .types import Access, Encryption, choices

TYPE = "elastic-inference:storage:ModelStore"
# The service account of ACK's ossfs mount pods: RRSA role sessions are issued to it,
# not to the inference pods (kubernetes-sigs/alibaba-cloud-csi-driver pkg/mounter/fuse_pod_manager;
# CSI v1.30.4+ runs them in ack-csi-fuse, older versions in kube-system).
OSSFS_SERVICE_ACCOUNT = "system:serviceaccount:ack-csi-fuse:csi-fuse-ossfs"
# oss.Bucket attributes managed here by split resources (ACL, encryption, versioning).
SPLIT_ATTRIBUTES = ("acl", "server_side_encryption_rule", "versioning")


@dataclass(kw_only=True)
class ModelStoreArgs:
    """Arguments of :class:`ModelStore`."""

    bucket: str
    """Name of the OSS bucket (globally unique)."""
    read_prefixes: Sequence[str] = ()
    """Key prefixes the cluster may read (one per model); nothing else is readable."""
    create: bool = True
    """True: create and manage the bucket. False: adopt an existing bucket as it is."""
    versioning: bool = True
    """Keep every version of every object (a bad upload can be rolled back)."""
    encryption: Encryption = "AES256"
    """Server-side encryption: ``AES256`` (OSS-managed keys) or ``KMS``."""
    kms_key_id: Optional[str] = None
    """KMS key for ``encryption="KMS"``; None uses the OSS default KMS key."""
    access: Access = "secret"
    """How the cluster authenticates: ``secret`` (RAM user + AccessKey) or ``rrsa`` (RAM role)."""
    cluster_id: Optional[str] = None
    """The ACK cluster id; required with ``access="rrsa"`` (its OIDC provider is trusted)."""
    upload_dir: Optional[str] = None
    """A local directory uploaded to the bucket root, one object per file."""
    protect: bool = True
    """Protect the bucket from deletion and keep it when the stack is destroyed."""

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound); reads ``upload_dir``'s listing."""
        found = checks.collect(checks.one_of("encryption", self.encryption, choices(Encryption)),
                               checks.one_of("access", self.access, choices(Access)))
        if self.access == "rrsa" and not self.cluster_id:
            found.append(ArgProblem("cluster_id", "is required with access 'rrsa' (its RRSA OIDC provider is trusted)"))
        if self.kms_key_id is not None and self.encryption != "KMS":
            found.append(ArgProblem("kms_key_id", "only used with encryption KMS; remove it or set the encryption to KMS"))
        if not self.read_prefixes:
            found.append(ArgProblem("read_prefixes", "must list at least one model prefix the cluster may read"))
        elif any(not p or p.startswith("/") or ".." in p.split("/") for p in self.read_prefixes):
            found.append(ArgProblem("read_prefixes", "each must be a relative key prefix without '..'"))
        else:
            # The longest document the stack may write (an adopted bucket may turn out to use KMS).
            length = len(longest_read_policy(self.bucket, self.read_prefixes, self.encryption, self.kms_key_id, self.create))
            if length > MAX_POLICY_LENGTH:
                found.append(ArgProblem("read_prefixes", f"{len(set(self.read_prefixes))} distinct model prefixes make a read-only RAM "
                                                         f"policy of {length} characters, over RAM's {MAX_POLICY_LENGTH}: keep the "
                                                         "models under shared prefixes, or split the stack"))
        if self.upload_dir is not None and not self.create:
            found.append(ArgProblem("upload_dir", "writes into the bucket; an adopted bucket (create false) is never changed: upload "
                                                  "with the team that owns it, or let the stack manage the bucket"))
        elif self.upload_dir is not None:
            try:
                upload_files(self.upload_dir)
            except UploadError as exc:
                found.append(ArgProblem("upload_dir", str(exc)))
        return found


class ModelStore(pulumi.ComponentResource):
    """An OSS model bucket plus least-privilege read access for the cluster."""

    bucket_name: pulumi.Output[str]
    """The bucket's name."""
    access_key_id: Optional[pulumi.Output[str]]
    """AccessKey id of the read-only RAM user (``access="secret"``), else None."""
    access_key_secret: Optional[pulumi.Output[str]]
    """AccessKey secret of that user, always a Pulumi secret (``access="secret"``), else None."""
    rrsa_role_name: Optional[pulumi.Output[str]]
    """Name of the RAM role the OSS CSI driver assumes (``access="rrsa"``), else None."""
    object_keys: list[str]
    """Keys of the uploaded objects, in upload order."""
    prerequisites: dict[str, str]
    """What the cluster must already have (name -> why): RRSA with ``access="rrsa"``."""

    def __init__(self, name: str, args: ModelStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("ModelStoreArgs", args.problems())
        super().__init__(TYPE, name, None, opts)
        # The bucket, its protections and the served model are guarded alike (``protect``).
        guarded = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        self.bucket_name, policy_doc = self._managed_bucket(name, args, guarded) if args.create else self._adopted_bucket(name, args)
        self.object_keys = []
        if args.upload_dir:
            # The served model: a file removed from upload_dir must not delete it from OSS unnoticed.
            self.object_keys = self._upload(name, self.bucket_name, args.upload_dir, guarded, args.encryption, args.kms_key_id)
        policy = alicloud.ram.Policy(
            f"{name}-read-policy",
            policy_name=_ram_name(args.bucket, "model-reader"),
            policy_document=policy_doc,
            description=f"Read-only access to the model prefixes of OSS bucket {args.bucket}",
            force=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.access_key_id = self.access_key_secret = self.rrsa_role_name = None
        self.prerequisites = {}
        if args.access == "secret":
            self._reader_user(name, args, policy)
        else:
            self._reader_role(name, args, policy)
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "accessKeyId": self.access_key_id,
                "accessKeySecret": self.access_key_secret,
                "rrsaRoleName": self.rrsa_role_name,
            }
        )

    def _managed_bucket(self, name: str, args: ModelStoreArgs, guarded: pulumi.ResourceOptions) -> tuple[pulumi.Output[str], pulumi.Input[str]]:
        """The bucket and its split protections; the read policy for its own encryption."""
        # The split resources below own these attributes; a bucket that does not ignore
        # them reverts them on every refresh and update (the installed SDK's
        # oss/bucket.py: "you must add ... ignore_changes for the corresponding attribute").
        bucket_opts = pulumi.ResourceOptions.merge(guarded, pulumi.ResourceOptions(ignore_changes=list(SPLIT_ATTRIBUTES)))
        bucket = alicloud.oss.Bucket(f"{name}-bucket", bucket=args.bucket, opts=bucket_opts)
        name_out = bucket.bucket
        # The bucket's ACL, encryption, versioning and public-access block are
        # separate resources: the inline `acl` argument is deprecated in 4.x. They are
        # guarded like the bucket: dropping one from the program (say, create: false)
        # must not strip the bucket's encryption or public-access block.
        alicloud.oss.BucketAcl(f"{name}-acl", bucket=name_out, acl="private", opts=guarded)
        alicloud.oss.BucketPublicAccessBlock(f"{name}-public-access-block", bucket=name_out, block_public_access=True, opts=guarded)
        alicloud.oss.BucketServerSideEncryption(
            f"{name}-encryption",
            bucket=name_out,
            sse_algorithm=args.encryption,
            kms_master_key_id=args.kms_key_id if args.encryption == "KMS" else None,
            opts=guarded,
        )
        if args.versioning:
            alicloud.oss.BucketVersioning(f"{name}-versioning", bucket=name_out, status="Enabled", opts=guarded)
        return name_out, read_policy_document(args.bucket, args.read_prefixes, kms_key=_kms_key(args))

    def _adopted_bucket(self, name: str, args: ModelStoreArgs) -> tuple[pulumi.Output[str], pulumi.Input[str]]:
        """An existing bucket, read (not imported); the read policy for its actual encryption."""
        # The preview fails early if it is missing, and nothing about it is changed or deleted by this stack.
        existing = alicloud.oss.Bucket.get(f"{name}-bucket", id=args.bucket, opts=pulumi.ResourceOptions(parent=self))
        # An adopted bucket keeps its own encryption: its readers may decrypt when that is KMS.
        policy_doc = existing.server_side_encryption_rule.apply(
            lambda rule: read_policy_document(args.bucket, args.read_prefixes, kms_key=_adopted_kms_key(rule)))
        return existing.bucket, policy_doc

    def _reader_user(self, name: str, args: ModelStoreArgs, policy: alicloud.ram.Policy) -> None:
        """``access="secret"``: a RAM user with the read policy and an AccessKey."""
        child = pulumi.ResourceOptions(parent=self)
        reader = _ram_name(args.bucket, "model-reader")
        user = alicloud.ram.User(
            f"{name}-reader",
            name=reader,
            display_name=reader,
            comments=f"Used only by the OSS CSI driver to read models from {args.bucket}",
            force=True,
            opts=child,
        )
        alicloud.ram.UserPolicyAttachment(
            f"{name}-reader-policy", user_name=user.name, policy_name=policy.policy_name, policy_type="Custom", opts=child
        )
        key = alicloud.ram.AccessKey(f"{name}-reader-key", user_name=user.name, status="Active", opts=child)
        self.access_key_id = key.id
        self.access_key_secret = pulumi.Output.secret(key.secret)

    def _reader_role(self, name: str, args: ModelStoreArgs, policy: alicloud.ram.Policy) -> None:
        """``access="rrsa"``: a RAM role the ossfs service account assumes through the cluster's OIDC provider."""
        child = pulumi.ResourceOptions(parent=self)
        # The cluster's own RRSA metadata (issuer URL, OIDC provider ARN), not recomputed:
        # the only data source that returns it is this one (deprecated in favour of
        # cs.get_clusters, which has no RRSA fields). Offline it is unknown.
        found = alicloud.cs.get_managed_kubernetes_clusters_output(
            ids=[str(args.cluster_id)], enable_details=True, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        cluster_id = str(args.cluster_id)
        role = alicloud.ram.Role(
            f"{name}-reader-role",
            role_name=_ram_name(args.bucket, "model-reader"),
            assume_role_policy_document=found.clusters.apply(lambda clusters: rrsa_trust_document(*cluster_rrsa(clusters, cluster_id))),
            description=f"Assumed through RRSA by the OSS CSI driver of cluster {args.cluster_id}",
            force=True,
            opts=child,
        )
        alicloud.ram.RolePolicyAttachment(
            f"{name}-reader-role-policy", role_name=role.role_name, policy_name=policy.policy_name, policy_type="Custom", opts=child
        )
        self.rrsa_role_name = role.role_name
        self.prerequisites["rrsa"] = ("RRSA enabled on the cluster and csi-plugin >= 1.30.4 (ACK 'Use RRSA to mount a "
                                      "statically provisioned OSS volume'); checked against the cluster at preview")

    def _upload(self, name: str, bucket: pulumi.Output[str], root: str, opts: pulumi.ResourceOptions,
                encryption: Optional[str], kms_key_id: Optional[str]) -> list[str]:
        keys = []
        for path in upload_files(root):
            key = os.path.relpath(path, root).replace(os.sep, "/")
            # The logical name is the key (stable across content changes); the
            # content MD5 makes an unchanged file an unchanged resource.
            alicloud.oss.BucketObject(
                f"{name}-object-{key}",
                bucket=bucket,
                key=key,
                source=path,
                # RFC 1864 form (base64 of the digest), the Content-MD5 header OSS verifies;
                # every provider version accepts it (newer ones also take hex).
                content_md5=file_md5(path),
                # The provider sends AES256 unless told otherwise (oss/bucket_object.py:
                # "Default value is AES256"), which would override a KMS bucket default.
                server_side_encryption=encryption,
                kms_key_id=kms_key_id if encryption == "KMS" else None,
                opts=opts,
            )
            keys.append(key)
        return keys


def _kms_key(args: ModelStoreArgs) -> Optional[str]:
    """The KMS key the reader must decrypt with: the bucket's key, ``*`` for OSS's default KMS key, or None."""
    if args.encryption != "KMS" or not args.create:
        return None
    return args.kms_key_id or "*"


def longest_read_policy(bucket: str, prefixes: Sequence[str], encryption: str, kms_key_id: Optional[str], create: bool) -> str:
    """The longest read policy the store may write for these settings (an adopted bucket may turn
    out to use KMS): what RAM's length limit is checked against."""
    kms_key = (kms_key_id or "*") if encryption == "KMS" or not create else None
    return read_policy_document(bucket, prefixes, kms_key=kms_key)


def _adopted_kms_key(rule: Any) -> Optional[str]:
    """The KMS key of an existing bucket's default encryption rule (``*``: OSS's own key), or None."""
    if _field(rule, "sse_algorithm") != "KMS":
        return None
    return str(_field(rule, "kms_master_key_id") or "*")


def read_policy_document(bucket: str, prefixes: Sequence[str], kms_key: Optional[str] = None) -> str:
    """A RAM policy that can list and read the given prefixes of ``bucket`` only.

    With ``kms_key`` (a key id, or ``*`` for the key OSS manages in KMS), it may also
    decrypt with that key: reading an object that OSS encrypted with KMS needs
    ``kms:Decrypt`` (OSS docs "Server-side encryption").
    """
    clean = sorted({p.strip("/") for p in prefixes})
    statements = [
        {
            "Effect": "Allow",
            "Action": ["oss:GetObject", "oss:GetObjectMeta"],
            "Resource": [f"acs:oss:*:*:{bucket}/{p}/*" for p in clean],
        },
        {
            "Effect": "Allow",
            "Action": ["oss:ListObjects"],
            "Resource": [f"acs:oss:*:*:{bucket}"],
            "Condition": {"StringLike": {"oss:Prefix": [x for p in clean for x in (p, f"{p}/*")]}},
        },
        {"Effect": "Allow", "Action": ["oss:GetBucketInfo"], "Resource": [f"acs:oss:*:*:{bucket}"]},
    ]
    if kms_key is not None:
        key = "*" if kms_key == "*" else f"key/{kms_key}"
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [f"acs:kms:*:*:{key}"]})
    return json.dumps({"Version": "1", "Statement": statements}, sort_keys=True, separators=(",", ":"))


# RAM: a custom policy document holds at most 6,144 characters.
MAX_POLICY_LENGTH = 6144


class RrsaUnavailable(pulumi.RunError):
    """The cluster has RRSA off (or is not found): the OSS CSI driver cannot assume a role."""


def cluster_rrsa(clusters: Optional[Sequence[Any]], cluster_id: str) -> tuple[str, str]:
    """``(issuer URL, OIDC provider ARN)`` of ``cluster_id``'s RRSA, from the clusters data source.

    The provider reports ``enabled=False`` and empty strings when RRSA is off
    (terraform-provider-alicloud data_source_alicloud_cs_managed_kubernetes_clusters.go).
    """
    for cluster in clusters or []:
        if _field(cluster, "id") != cluster_id:
            continue
        config = _field(cluster, "rrsa_config")
        issuer, arn = _field(config, "rrsa_oidc_issuer_url"), _field(config, "ram_oidc_provider_arn")
        if not _field(config, "enabled") or not issuer or not arn:
            break
        return str(issuer), str(arn)
    else:
        raise RrsaUnavailable("modelStore access 'rrsa': the cluster (cluster.id) was not found by the provider; "
                              "check cluster.id and alicloud:region")
    raise RrsaUnavailable("modelStore access 'rrsa': the cluster (cluster.id) has RRSA disabled, so the OSS CSI driver cannot "
                          "assume a role; enable RRSA (ACK 'Use RRSA to authorize different pods to access different cloud "
                          "services': cluster details > Security and Auditing > RRSA OIDC), or use access: secret")


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) and name in value else getattr(value, name, None)


def rrsa_trust_document(issuer_url: str, provider_arn: str) -> str:
    """Trust policy letting the cluster's ossfs service account assume the role via RRSA.

    RAM requires ``oidc:iss`` (the issuer URL), ``oidc:aud`` and ``oidc:sub`` for an OIDC
    trust (RAM docs "Create a RAM role for a trusted IdP"); the shape is the one
    AliyunContainerService/ack-ram-tool writes for RRSA roles.
    """
    return json.dumps(
        {
            "Version": "1",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Federated": [provider_arn]},
                    "Condition": {
                        "StringEquals": {
                            "oidc:iss": issuer_url,
                            "oidc:aud": "sts.aliyuncs.com",
                            "oidc:sub": OSSFS_SERVICE_ACCOUNT,
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


class UploadError(ValueError):
    """Entries of an upload directory that are not regular files inside it."""


def upload_files(root: str) -> list[str]:
    """Every regular file under ``root``, sorted, skipping hidden files and folders.

    Only regular files inside ``root`` are uploaded: a symbolic link (to a file
    anywhere, a loop, a dangling link), a FIFO (reading it would block), a device
    or a socket is refused with :class:`UploadError`, before anything is read.
    """
    if os.path.islink(root) or not os.path.isdir(root):
        raise UploadError("the upload directory must be a directory, not a symbolic link")
    found, refused = [], []
    for folder, dirs, files in os.walk(root, followlinks=False):
        kept = []
        for entry in sorted(dirs):
            if entry.startswith("."):
                continue
            if os.path.islink(os.path.join(folder, entry)):
                refused.append(os.path.relpath(os.path.join(folder, entry), root))
            else:
                kept.append(entry)
        dirs[:] = kept
        for entry in sorted(files):
            if entry.startswith("."):
                continue
            path = os.path.join(folder, entry)
            if stat.S_ISREG(os.lstat(path).st_mode):
                found.append(path)
            else:
                refused.append(os.path.relpath(path, root))
    if refused:
        shown = ", ".join(refused[:3]) + (f" and {len(refused) - 3} more" if len(refused) > 3 else "")
        raise UploadError(f"only regular files are uploaded; not a regular file (a symbolic link, FIFO, device or socket): {shown}")
    return found


def file_md5(path: str) -> str:
    """The file's MD5 as the HTTP Content-MD5 header carries it: base64 of the 16-byte digest."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def _ram_name(bucket: str, role: str) -> str:
    """A RAM user/role/policy name (<= 64 chars) derived from the bucket."""
    name = f"{bucket}-{role}"
    if len(name) <= 64:
        return name
    tag = hashlib.sha256(bucket.encode()).hexdigest()[:8]
    return f"{bucket[: 64 - len(role) - 10]}-{tag}-{role}"
