import copy
import os
import sys

import pulumi
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

CLUSTER_ID = "c0123456789abcdef0123456789abcdef"

#: The example stacks this repository ships (Pulumi.<stack>.yaml, policy/stacks/<stack>.json), declared
#: once: the tests that render "every stack" render these, so a team's own stack file added to the
#: repository is not taken for an example (and cannot break `make test`).
EXAMPLE_STACKS = ("dev", "staging", "prod")

BASE = {
    "cluster": {"id": CLUSTER_ID, "vswitchIds": ["vsw-aaa", "vsw-bbb"]},
    "modelStore": {"bucket": "acme-models-test"},
    "nodePool": {"name": "inference-gpu", "instanceTypes": ["ecs.gn6i-c4g1.xlarge"]},
    "services": {
        "bert": {
            "model": {"name": "chnsenticorp", "path": "tensorflow/chnsenticorp", "versionPolicy": "specific:1623831335"},
            # Fits ecs.gn6i-c4g1.xlarge (4 vCPU, 15 GiB) after ACK's reservation; 4/15Gi would not (the preflight).
            "resources": {"gpu": 1, "cpu": "3", "memory": "10Gi"},
            "placement": {"mode": "ecs-then-eci", "eciInstanceTypes": ["ecs.gn6i-c4g1.xlarge"]},
            "ingress": {"host": "bert.example.com"},
        }
    },
}


@pytest.fixture
def raw():
    """A valid configuration (the DESIGN.md contract) to mutate in a test."""
    return copy.deepcopy(BASE)


class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs as outputs and records every resource by name."""

    def __init__(self):
        self.resources = {}

    def new_resource(self, args):
        self.resources[args.name] = args
        outputs = dict(args.inputs)
        if args.resource_id and args.typ == "alicloud:oss/bucket:Bucket":  # Bucket.get
            outputs["bucket"] = args.resource_id
        if args.typ == "alicloud:ram/accessKey:AccessKey":
            outputs["secret"] = "planted-secret-value"
        return f"{args.name}-id", outputs

    #: what the clusters data source reports for CLUSTER_ID's RRSA (a test may switch it off)
    rrsa = {"enabled": True, "rrsaOidcIssuerUrl": f"https://oidc-ack-cn-beijing.oss-cn-beijing.aliyuncs.com/{CLUSTER_ID}",
            "ramOidcProviderArn": f"acs:ram::1234567890:oidc-provider/ack-rrsa-{CLUSTER_ID}",
            "ramOidcProviderName": f"ack-rrsa-{CLUSTER_ID}"}

    def call(self, args):
        if args.token == "alicloud:cs/getManagedKubernetesClusters:getManagedKubernetesClusters":
            # The provider's answer (terraform-provider-alicloud data_source_alicloud_cs_managed_kubernetes_clusters.go).
            cluster = {"id": CLUSTER_ID, "name": "test", "availabilityZone": "cn-beijing-a", "connections": [],
                       "natGatewayId": "", "securityGroupId": "", "state": "running", "vpcId": "", "workerNodes": [],
                       "rrsaConfig": dict(self.rrsa)}
            found = [cluster] if CLUSTER_ID in args.args.get("ids", []) else []
            return {"id": "clusters", "ids": args.args.get("ids", []), "names": [], "clusters": found}
        return {"id": "1234567890"}


def install_mocks(recording):
    """Make ``recording`` (a RecordingMocks) Pulumi's mock runtime, fresh: what a test's ``mocks`` fixture returns."""
    from pulumi.runtime import settings

    settings.reset_options(project="elastic-inference", stack="test", preview=False)
    pulumi.runtime.set_mocks(recording, project="elastic-inference", stack="test", preview=False)
    return recording


@pytest.fixture
def mocks():
    """Pulumi's mock runtime, fresh for each test (the render tests reconfigure it)."""
    return install_mocks(RecordingMocks())


PROGRAM_ENTRIES = ("Pulumi.yaml", "__main__.py", "config", "components", "policy")


def link_program(dest, entries=PROGRAM_ENTRIES):
    """A directory holding this program (links to its files), for stack files a test writes."""
    os.makedirs(dest, exist_ok=True)
    for entry in entries:
        os.symlink(os.path.join(ROOT, entry), os.path.join(dest, entry))
    return dest


def json_paths(node, prefix=()):
    """Every path (a tuple of keys and indexes) into a JSON-like value, the root first: where a fuzzer may edit."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from json_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from json_paths(value, prefix + (i,))


def replace_at(tree, path, value):
    """Set ``tree[path...] = value`` in place; False when an earlier edit removed the path."""
    node = tree
    try:
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return False
    return True
