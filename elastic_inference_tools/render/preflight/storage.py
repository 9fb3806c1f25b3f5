"""The model's way from the bucket to the server: bucket settings that drift, objects, readers, mounts."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Mapping, Optional

from . import KUBERNETES_VERSION_OUTPUT, Finding, Level, Plan, Resource, as_list, as_map, check, get, known
from .capacity import hosts
from .pods import PodTemplate, pod_templates, run_as

OSS_CSI_DRIVER = "ossplugin.csi.alibabacloud.com"

# -- the bucket's split resources --------------------------------------------------------------------

BUCKET = "alicloud:oss/bucket:Bucket"
# Split resource -> the oss.Bucket attribute it manages (the installed SDK's oss/bucket.py: "When using
# standalone sub-resources ... you must add ignore_changes for the corresponding attribute on oss.Bucket").
SPLIT_ATTRIBUTES = {
    "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption": "serverSideEncryptionRule",
    "alicloud:oss/bucketVersioning:BucketVersioning": "versioning",
    "alicloud:oss/bucketAcl:BucketAcl": "acl",
    "alicloud:oss/bucketPolicy:BucketPolicy": "policy",
    "alicloud:oss/bucketLogging:BucketLogging": "logging",
    "alicloud:oss/bucketCors:BucketCors": "corsRules",
    "alicloud:oss/bucketWebsite:BucketWebsite": "website",
    "alicloud:oss/bucketReferer:BucketReferer": "refererConfig",
    "alicloud:oss/bucketTransferAcceleration:BucketTransferAcceleration": "transferAcceleration",
}
SPLIT_SOURCE = "pulumi_alicloud oss/bucket.py (NOTE on standalone sub-resources and ignore_changes)"


@check("bucket-split-attributes-ignored")
def bucket_split_attributes_ignored(plan: Plan) -> Iterator[Finding]:
    buckets = {str(b.inputs.get("bucket")): b for b in plan.of_type(BUCKET)}
    for split in plan.of_type(*SPLIT_ATTRIBUTES):
        bucket = buckets.get(str(split.inputs.get("bucket")))
        if bucket is None:
            continue
        attribute = SPLIT_ATTRIBUTES[split.type]
        if attribute not in as_list(bucket.options.get("ignoreChanges")):
            yield Finding("bucket-split-attributes-ignored", "error", bucket.describe(),
                          f"{split.describe()} manages the bucket's {attribute}, which the bucket resource does not ignore: "
                          f"every refresh and update would revert it; add '{attribute}' to the bucket's ignore_changes", SPLIT_SOURCE)


# -- objects and readers of a KMS-encrypted bucket ----------------------------------------------------

SSE = "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption"
OBJECT = "alicloud:oss/bucketObject:BucketObject"
OBJECT_SOURCE = ("aliyun/terraform-provider-alicloud alicloud/resource_alicloud_oss_bucket_object.go "
                 "(server_side_encryption defaults to AES256; content_md5 is sent as the Content-MD5 header)")
KMS_SOURCE = "OSS docs 'Server-side encryption' (reading an SSE-KMS object needs kms:Decrypt on its key)"
_BASE64_MD5 = re.compile(r"^[A-Za-z0-9+/]{22}==$")


def _kms_buckets(plan: Plan) -> dict[str, Resource]:
    return {str(s.inputs.get("bucket")): s for s in plan.of_type(SSE) if s.inputs.get("sseAlgorithm") == "KMS"}


@check("bucket-objects")
def bucket_objects(plan: Plan) -> Iterator[Finding]:
    kms = _kms_buckets(plan)
    for obj in plan.of_type(OBJECT):
        md5 = obj.inputs.get("contentMd5")
        if isinstance(md5, str) and known(md5) and not _BASE64_MD5.match(md5):
            yield Finding("bucket-objects", "error", obj.describe(),
                          "contentMd5 must be the base64 of the binary MD5 digest (the HTTP Content-MD5 header), "
                          "not a hex digest: OSS rejects the upload (InvalidDigest)", OBJECT_SOURCE)
        sse = kms.get(str(obj.inputs.get("bucket")))
        if sse is not None and obj.inputs.get("serverSideEncryption") != "KMS":
            yield Finding("bucket-objects", "error", obj.describe(),
                          "the bucket encrypts with KMS, but the object is uploaded with the provider's default "
                          "server_side_encryption (AES256), which overrides the bucket default; set server_side_encryption='KMS' "
                          "(and kms_key_id) on the object", OBJECT_SOURCE)


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    return [as_map(s) for s in as_list(as_map(document).get("Statement")) if as_map(s).get("Effect") == "Allow"]


def _actions(statement: Mapping[str, Any]) -> list[str]:
    action = statement.get("Action")
    return [str(a) for a in (action if isinstance(action, list) else [action])]


@check("kms-readers-decrypt")
def kms_readers_decrypt(plan: Plan) -> Iterator[Finding]:
    kms = _kms_buckets(plan)
    if not kms:
        return
    for policy in plan.of_type("alicloud:ram/policy:Policy"):
        statements = _statements(policy.inputs.get("policyDocument"))
        read = {b for b in kms for s in statements if "oss:GetObject" in _actions(s)
                and any(str(r).startswith(f"acs:oss:*:*:{b}/") for r in as_list(s.get("Resource")))}
        decrypt = any(a in ("kms:Decrypt", "kms:*") for s in statements for a in _actions(s))
        for bucket in sorted(read):
            if not decrypt:
                yield Finding("kms-readers-decrypt", "error", policy.describe(),
                              f"grants reading bucket {bucket}, which encrypts with KMS, but not kms:Decrypt: every read of a model "
                              "object is denied; grant kms:Decrypt on the bucket's key", KMS_SOURCE)


# -- the model mount ---------------------------------------------------------------------------------

OSSFS_SOURCE = ("aliyun/ossfs src/metaheader.cpp (get_mode/get_uid: an object without x-oss-meta-mode/uid is "
                "owner-only, owned by root) and src/s3fs.cpp (allow_other, umask, uid, gid options); "
                "ACK 'OSS volume FAQ' (permission denied for non-root containers)")


def mount_options(text: Any) -> dict[str, Optional[str]]:
    """ossfs ``-o`` options from a PV's ``otherOpts``: ``-o a -o b=c``, ``-o a,b=c`` or ``-oa,b=c``
    (the forms the CSI driver accepts: alibaba-cloud-csi-driver pkg/oss/utils.go)."""
    options: dict[str, Optional[str]] = {}
    tokens = str(text or "").split()
    for i, token in enumerate(tokens):
        group = tokens[i + 1] if token == "-o" and i + 1 < len(tokens) else token[2:] if token.startswith("-o") and len(token) > 2 else None
        for item in (group or "").split(","):
            if item:
                key, sep, value = item.partition("=")
                options[key] = value if sep else None
    return options


# ossfs 1.x for an object without x-oss-meta-mode/uid/gid: 0640 files and 0750 directories owned by
# the ossfs process (root in the CSI's fuse pod): aliyun/ossfs src/metaheader.cpp get_mode/get_uid.
DEFAULT_FILE_MODE, DEFAULT_DIR_MODE = 0o640, 0o750


def readable_by(options: Mapping[str, Optional[str]], uid: int, gid: Optional[int]) -> Optional[tuple[Level, str]]:
    """``(level, why)`` when a non-root ``uid``/``gid`` cannot read an ossfs 1.x mount with ``options``, else None.

    Follows ossfs's own access check (src/s3fs.cpp ``check_object_access``): the ``uid=`` user
    may do anything; otherwise the owner, group or other bits of the mode apply, the mode
    being ``0777 & ~umask`` with a ``umask=`` and ossfs's defaults without one. Directories
    need read and execute, files read.
    """
    owner, group, umask = _int(options.get("uid")), _int(options.get("gid")), _octal(options.get("umask"))
    if owner is not None and owner == uid:
        return None
    file_mode, dir_mode = (0o777 & ~umask,) * 2 if umask is not None else (DEFAULT_FILE_MODE, DEFAULT_DIR_MODE)
    shift = 6 if uid == (owner if owner is not None else 0) else 3 if gid is not None and gid == (group if group is not None else 0) else 0
    readable = (file_mode >> shift) & 0o4 and (dir_mode >> shift) & 0o5 == 0o5
    if not readable:
        how = f"umask={options.get('umask')}" if umask is not None else "no umask, uid= or gid= of the server"
        return "error", (f"with {how}, objects without x-oss-meta-mode are not readable by it (ossfs makes them 0640/0750, "
                         "owned by root)")
    if "allow_other" not in options:
        # CSI adds allow_other itself since mid-2025 (pkg/mounter/fuse_pod_manager/oss/ossfs); older ones do not.
        return "warning", "the options lack allow_other: on csi-plugin releases before mid-2025 FUSE lets no user but root in"
    return None


OSSFS2_SOURCE = ("aliyun/ossfs 2.0 src/options.cpp (uid, gid, dir_mode, file_mode, allow_other and their defaults; modes are 4 "
                 "octal digits from 0), src/fs/inode.cpp fill_statbuf (one owner and mode for every entry), src/main.cpp "
                 "(default_permissions; gflags options); alibaba-cloud-csi-driver pkg/mounter/proxy/server/ossfs2/driver.go "
                 "(each -o k=v becomes --k=v, no FUSE arguments)")
# ossfs 1.x's (and FUSE's) options that ossfs 2.0 does not define (none is a DEFINE_OPTION in aliyun/ossfs
# main, 2.0's src/, read at a0567057), carried over from a 1.x otherOpts; ossfs2 parses its options with
# gflags::ParseCommandLineFlags (src/main.cpp), which stops on a flag it does not know. A list of what 2.0
# lacks rather than of what it has: ACK's build (csi-driver pkg/mounter/fuse_pod_manager/oss/utils.go:
# 2.0.9.ack) takes options the public source does not define (the driver itself passes use_metrics).
OSSFS1_ONLY = frozenset({"umask", "mp_umask", "max_stat_cache_size", "stat_cache_expire", "dbglevel", "url", "passwd_file",
                         "kernel_cache", "use_cache", "del_cache", "use_path_request_style", "sigv4"})
_MODE = re.compile(r"^0[0-7]{3}$")


def ossfs2_readable_by(options: Mapping[str, Optional[str]], uid: int, gid: Optional[int]) -> Optional[tuple[Level, str]]:
    """``(level, why)`` when a non-root ``uid``/``gid`` cannot read an ossfs 2.0 mount with ``options``, else None.

    ossfs 2.0 gives every file and directory the ``uid``/``gid`` options' owner (default: the
    ossfs2 process, root in the CSI's fuse pod) and the ``file_mode``/``dir_mode`` options' modes
    (default 0777), and the kernel checks them (``default_permissions``); ``allow_other``
    (default true) lets users other than the mounting one in at all.
    """
    carried = sorted(k for k in options if k in OSSFS1_ONLY)
    if carried:
        return "error", (f"its options hold {', '.join(carried)}, of ossfs 1.x, which ossfs 2.0 does not define: ossfs2 refuses "
                         "options it does not know (gflags) and the mount fails")
    for key in ("file_mode", "dir_mode"):
        value = options.get(key)
        if key in options and (value is None or not _MODE.match(value)):
            return "error", f"{key} must be 4 octal digits from 0 (e.g. 0444): ossfs2 refuses the value and the mount fails"
    # gflags reads a bool's false as f, n, no, false or 0 (any case), and --noallow_other as false.
    if "noallow_other" in options or str(options.get("allow_other", "true")).lower() in ("false", "f", "no", "n", "0"):
        return "error", "allow_other is false: no user but the mounting root gets into the mount"
    for key in ("uid", "gid"):
        if key in options and _int(options.get(key)) is None:
            return "error", f"{key} must be a number: ossfs2 refuses the value and the mount fails"
    owner, group = _int(options.get("uid")) or 0, _int(options.get("gid")) or 0
    file_mode, dir_mode = (_mode_or_default(options.get(k)) for k in ("file_mode", "dir_mode"))
    shift = 6 if uid == owner else 3 if gid is not None and gid == group else 0
    if not ((file_mode >> shift) & 0o4 and (dir_mode >> shift) & 0o5 == 0o5):
        return "error", (f"file_mode {oct(file_mode)[2:]} / dir_mode {oct(dir_mode)[2:]} for owner {owner} and group {group} "
                         "give it no read access")
    return None


def _mode_or_default(value: Optional[str]) -> int:
    """An ossfs2 mode option, or its default 0777 (src/options.cpp) when unset."""
    mode = _octal(value)
    return 0o777 if mode is None else mode


def _int(value: Optional[str]) -> Optional[int]:
    return int(value) if value is not None and value.isdigit() else None


def _octal(value: Optional[str]) -> Optional[int]:
    try:
        return int(value, 8) if value is not None else None
    except ValueError:
        return None


def _oss_volumes(plan: Plan) -> dict[tuple[str, str], Resource]:
    """``(namespace, claim name)`` -> the OSS CSI PersistentVolume bound to it (built once per plan)."""

    def build() -> dict[tuple[str, str], Resource]:
        volumes = {}
        for pv in plan.kubernetes("PersistentVolume"):
            if get(pv.inputs, "spec", "csi", "driver") != OSS_CSI_DRIVER:
                continue
            claim = as_map(get(pv.inputs, "spec", "claimRef"))
            if claim.get("name"):
                volumes[(str(claim.get("namespace", "")), str(claim["name"]))] = pv
        return volumes

    found: dict[tuple[str, str], Resource] = plan.memo("oss_volumes", build)
    return found


def oss_volumes_of(plan: Plan, template: PodTemplate) -> dict[str, Resource]:
    """The pod's volume name -> the OSS CSI PersistentVolume its claim is bound to."""
    volumes = _oss_volumes(plan)
    found = {}
    for volume in map(as_map, as_list(template.spec.get("volumes"))):
        pv = volumes.get((template.owner.namespace, str(get(volume, "persistentVolumeClaim", "claimName"))))
        if get(volume, "persistentVolumeClaim") and pv is not None:
            found[str(volume.get("name"))] = pv
    return found


def mount_client(pv: Resource) -> str:
    """The OSS volume's FUSE client: its ``fuseType``, lower-cased as the driver does (pkg/oss/utils.go), default ossfs."""
    return str(get(pv.inputs, "spec", "csi", "volumeAttributes", "fuseType") or "ossfs").lower()


ECI_MOUNT_SOURCE = ("kubernetes-sigs/alibaba-cloud-csi-driver deploy/charts values.yaml (csi-plugin kept off virtual-kubelet "
                    "nodes: ECI mounts OSS itself); ECI docs 'Mount an OSS bucket' (AccessKey or an ECS-trusted RAM role)")


@check("eci-oss-auth")
def eci_oss_auth(plan: Plan) -> Iterator[Finding]:
    """RRSA on an ECI pod's OSS volume: documented for ACK's csi-plugin, not for ECI's own mount."""
    for template in pod_templates(plan):
        if not any(h.kind == "eci" for h in hosts(plan, template)):
            continue
        for pv in oss_volumes_of(plan, template).values():
            if get(pv.inputs, "spec", "csi", "volumeAttributes", "authType") == "rrsa":
                yield Finding("eci-oss-auth", "warning", template.owner.describe(),
                              f"may run on ECI and mounts {pv.describe()} with authType rrsa: ECI mounts OSS volumes itself, and its "
                              "docs name AccessKey or ECS-trusted RAM role authentication, not RRSA; verify on your cluster, or use "
                              "modelStore access: secret for ECI services", ECI_MOUNT_SOURCE)


@check("model-mount-readable")
def model_mount_readable(plan: Plan) -> Iterator[Finding]:
    for template in pod_templates(plan):
        volumes = oss_volumes_of(plan, template)
        for container in template.containers:
            for mount in map(as_map, as_list(container.get("volumeMounts"))):
                pv = volumes.get(str(mount.get("name")))
                if pv is None:
                    continue
                uid, gid, _ = run_as(template, container)
                if not isinstance(uid, int) or uid == 0:
                    continue
                attributes = as_map(get(pv.inputs, "spec", "csi", "volumeAttributes"))
                client = mount_client(pv)
                options = mount_options(attributes.get("otherOpts"))
                group = gid if isinstance(gid, int) else None
                if client == "ossfs":
                    found, fix, source = readable_by(options, uid, group), "-o allow_other -o umask=022 (or gid= of the server)", OSSFS_SOURCE
                elif client == "ossfs2":
                    found, fix, source = ossfs2_readable_by(options, uid, group), f"-o uid={uid} -o gid={uid} -o file_mode=0444 -o dir_mode=0555", OSSFS2_SOURCE
                else:
                    continue
                if found:
                    level, why = found
                    yield Finding("model-mount-readable", level, template.owner.describe(),
                                  f"container {container.get('name')} runs as UID {uid} and reads {pv.describe()} ({client}), but {why}: "
                                  f"the server gets EACCES or no mount and never becomes ready; mount with {fix}", source)


OSSFS2_REQUIREMENTS = ("ACK 'Mount a static OSS persistent volume by using ossfs 2.0' (RRSA: Kubernetes 1.26 or later; csi-plugin "
                       "1.33.1 or later); alibaba-cloud-csi-driver pkg/oss/utils.go checkOssOptions ('ossfs2 does not support "
                       "encryption')")


@check("ossfs2-requirements")
def ossfs2_requirements(plan: Plan) -> Iterator[Finding]:
    """What an ossfs 2.0 volume needs of the cluster and the driver, as far as the plan tells."""
    version = _minor(plan.outputs.get(KUBERNETES_VERSION_OUTPUT))
    on_eci = {pv.urn for t in pod_templates(plan) if any(h.kind == "eci" for h in hosts(plan, t)) for pv in oss_volumes_of(plan, t).values()}
    for _, pv in sorted(_oss_volumes(plan).items()):
        attributes = as_map(get(pv.inputs, "spec", "csi", "volumeAttributes"))
        if mount_client(pv) != "ossfs2":
            continue
        if attributes.get("authType") == "rrsa" and version is not None and version < (1, 26):
            yield Finding("ossfs2-requirements", "error", pv.describe(),
                          f"mounts with ossfs 2.0 and RRSA on Kubernetes {version[0]}.{version[1]}: ACK supports that from 1.26; "
                          "upgrade the cluster or use AccessKey authentication", OSSFS2_REQUIREMENTS)
        if attributes.get("encrypted"):
            yield Finding("ossfs2-requirements", "error", pv.describe(), "sets encrypted, which ossfs 2.0 does not support: the "
                          "driver refuses the volume", OSSFS2_REQUIREMENTS)
        if pv.urn in on_eci:
            yield Finding("ossfs2-requirements", "warning", pv.describe(),
                          "may be mounted by ECI, which mounts OSS volumes itself; that it honours fuseType ossfs2 is not documented: "
                          "verify on your cluster, or keep ossfs for ECI services", ECI_MOUNT_SOURCE)


def _minor(version: Any) -> Optional[tuple[int, int]]:
    match = re.match(r"^v?(\d+)\.(\d+)", version) if isinstance(version, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None
