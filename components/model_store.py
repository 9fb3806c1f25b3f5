"""ModelStore: the OSS bucket that holds the models, and the cluster's read access to it.

Replaces the seeds' step "Upload the trained model to an OSS bucket" and the
hand-made AccessKey pasted into every PersistentVolume: the bucket is private,
encrypted, versioned and blocked from public access; the cluster reads it
either with a dedicated read-only RAM user (``access="secret"``) or through a
RAM role assumed with RRSA (``access="rrsa"``), both scoped to the model
prefixes only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_alicloud as alicloud

TYPE = "elastic-inference:storage:ModelStore"
ENCRYPTIONS = ("AES256", "KMS")
ACCESS_MODES = ("secret", "rrsa")
# The service account of ACK's ossfs mount pods: RRSA role sessions are issued
# to it, not to the inference pods (ACK "mount statically provisioned OSS volumes").
OSSFS_SERVICE_ACCOUNT = "system:serviceaccount:ack-csi-fuse:csi-fuse-ossfs"


@dataclass
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
    encryption: str = "AES256"
    """Server-side encryption: ``AES256`` (OSS-managed keys) or ``KMS``."""
    kms_key_id: Optional[str] = None
    """KMS key for ``encryption="KMS"``; None uses the OSS default KMS key."""
    access: str = "secret"
    """How the cluster authenticates: ``secret`` (RAM user + AccessKey) or ``rrsa`` (RAM role)."""
    cluster_id: Optional[str] = None
    """The ACK cluster id; required with ``access="rrsa"`` (its OIDC provider is trusted)."""
    upload_dir: Optional[str] = None
    """A local directory uploaded to the bucket root, one object per file."""
    protect: bool = True
    """Protect the bucket from deletion and keep it when the stack is destroyed."""


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

    def __init__(self, name: str, args: ModelStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        _validate(args)
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if args.create:
            bucket_opts = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
            bucket = alicloud.oss.Bucket(f"{name}-bucket", bucket=args.bucket, opts=bucket_opts)
            name_out = bucket.bucket
            # The bucket's ACL, encryption, versioning and public-access block are
            # separate resources: the inline `acl` argument is deprecated in 4.x.
            alicloud.oss.BucketAcl(f"{name}-acl", bucket=name_out, acl="private", opts=child)
            alicloud.oss.BucketPublicAccessBlock(f"{name}-public-access-block", bucket=name_out, block_public_access=True, opts=child)
            alicloud.oss.BucketServerSideEncryption(
                f"{name}-encryption",
                bucket=name_out,
                sse_algorithm=args.encryption,
                kms_master_key_id=args.kms_key_id if args.encryption == "KMS" else None,
                opts=child,
            )
            if args.versioning:
                alicloud.oss.BucketVersioning(f"{name}-versioning", bucket=name_out, status="Enabled", opts=child)
        else:
            # Reading (not importing) the bucket: the preview fails early if it is
            # missing, and nothing about it is changed or deleted by this stack.
            existing = alicloud.oss.Bucket.get(f"{name}-bucket", id=args.bucket, opts=child)
            name_out = existing.bucket
        self.bucket_name = name_out

        self.object_keys = []
        if args.upload_dir:
            self.object_keys = self._upload(name, name_out, args.upload_dir, child)

        self.access_key_id = self.access_key_secret = self.rrsa_role_name = None
        policy_doc = read_policy_document(args.bucket, args.read_prefixes)
        reader = _ram_name(args.bucket, "model-reader")
        policy = alicloud.ram.Policy(
            f"{name}-read-policy",
            policy_name=reader,
            policy_document=policy_doc,
            description=f"Read-only access to the model prefixes of OSS bucket {args.bucket}",
            force=True,
            opts=child,
        )
        if args.access == "secret":
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
        else:
            account = alicloud.get_account_output(opts=pulumi.InvokeOutputOptions(parent=self))
            role = alicloud.ram.Role(
                f"{name}-reader-role",
                role_name=reader,
                assume_role_policy_document=account.id.apply(lambda acct: rrsa_trust_document(acct, str(args.cluster_id))),
                description=f"Assumed through RRSA by the OSS CSI driver of cluster {args.cluster_id}",
                force=True,
                opts=child,
            )
            alicloud.ram.RolePolicyAttachment(
                f"{name}-reader-role-policy", role_name=role.role_name, policy_name=policy.policy_name, policy_type="Custom", opts=child
            )
            self.rrsa_role_name = role.role_name

        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "accessKeyId": self.access_key_id,
                "accessKeySecret": self.access_key_secret,
                "rrsaRoleName": self.rrsa_role_name,
            }
        )

    def _upload(self, name: str, bucket: pulumi.Output[str], root: str, opts: pulumi.ResourceOptions) -> list[str]:
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
                content_md5=file_md5(path),
                opts=opts,
            )
            keys.append(key)
        return keys


def _validate(args: ModelStoreArgs) -> None:
    if args.encryption not in ENCRYPTIONS:
        raise ValueError(f"ModelStoreArgs.encryption must be one of {ENCRYPTIONS}, got {args.encryption!r}")
    if args.access not in ACCESS_MODES:
        raise ValueError(f"ModelStoreArgs.access must be one of {ACCESS_MODES}, got {args.access!r}")
    if args.access == "rrsa" and not args.cluster_id:
        raise ValueError("ModelStoreArgs.cluster_id is required with access='rrsa' (its RRSA OIDC provider is trusted)")
    if args.kms_key_id and args.encryption != "KMS":
        raise ValueError("ModelStoreArgs.kms_key_id is only used with encryption='KMS'")
    if not args.read_prefixes:
        raise ValueError("ModelStoreArgs.read_prefixes must list at least one model prefix the cluster may read")
    length = len(read_policy_document(args.bucket, args.read_prefixes))
    if length > MAX_POLICY_LENGTH:
        raise ValueError(f"ModelStoreArgs.read_prefixes: the read-only RAM policy would be {length} characters, over RAM's "
                         f"{MAX_POLICY_LENGTH}; keep the models under fewer prefixes")
    for prefix in args.read_prefixes:
        if not prefix or prefix.startswith("/") or ".." in prefix.split("/"):
            raise ValueError(f"ModelStoreArgs.read_prefixes: {prefix!r} must be a relative key prefix without '..'")
    if args.upload_dir is not None and not os.path.isdir(args.upload_dir):
        raise ValueError(f"ModelStoreArgs.upload_dir: {args.upload_dir!r} is not a directory")


def read_policy_document(bucket: str, prefixes: Sequence[str]) -> str:
    """A RAM policy that can list and read the given prefixes of ``bucket`` only."""
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
    return json.dumps({"Version": "1", "Statement": statements}, sort_keys=True, separators=(",", ":"))


# RAM: a custom policy document holds at most 6,144 characters.
MAX_POLICY_LENGTH = 6144


def rrsa_trust_document(account_id: str, cluster_id: str) -> str:
    """Trust policy letting the cluster's ossfs service account assume the role via RRSA."""
    return json.dumps(
        {
            "Version": "1",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Federated": [f"acs:ram::{account_id}:oidc-provider/ack-rrsa-{cluster_id}"]},
                    "Condition": {
                        "StringEquals": {
                            "oidc:aud": "sts.aliyuncs.com",
                            "oidc:sub": OSSFS_SERVICE_ACCOUNT,
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def upload_files(root: str) -> list[str]:
    """Every regular file under ``root``, sorted, skipping hidden files and folders."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(folder, f) for f in sorted(files) if not f.startswith(".")]
    return found


def file_md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _ram_name(bucket: str, role: str) -> str:
    """A RAM user/role/policy name (<= 64 chars) derived from the bucket."""
    name = f"{bucket}-{role}"
    if len(name) <= 64:
        return name
    tag = hashlib.sha256(bucket.encode()).hexdigest()[:8]
    return f"{bucket[: 64 - len(role) - 10]}-{tag}-{role}"
