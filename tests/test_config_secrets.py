"""Credentials in the stack config: Managed Service for Prometheus's (cluster.prometheusAuth) and an LLM's API key
(services.NAME.llm.apiKey). Each must be a `secure:` value; the program keeps it a Pulumi secret end to end (state
encrypted, `[secret]` in a preview and in the offline render), and an error names the key, never the value."""

import base64
import copy
import json

import pulumi
import pytest
import yaml

from components import ClusterAddonsArgs, prometheus_basic_auth
from components.cluster_addons import adapter_values
from elastic_inference_tools.render.cli import main
from elastic_inference_tools.render.preflight import run
from tests.conftest import BASE, CLUSTER_ID, link_program

URL = f"http://cn-beijing-intranet.arms.aliyuncs.com:9090/api/v1/prometheus/abc/123/{CLUSTER_ID}/cn-beijing"
PLAIN = "a-plain-text-credential-0123456789"
CIPHERTEXT = {"secure": "v1:SmFja2RhdzpzYWx0eXNhbHQ=:ciphertextpretendingtobeone=="}


def llm_stack(llm=None, **cluster):
    raw = copy.deepcopy(BASE)
    del raw["nodePool"]
    raw["modelStore"]["access"] = "secret"
    raw["cluster"].update({"prometheusUrl": URL, **cluster})
    raw["services"]["bert"].update(
        runtime="vllm", image="vllm/vllm-openai:v0.33.0", resources={"gpu": 1, "cpu": "6", "memory": "24Gi"},
        model={"name": "qwen", "path": "llm/qwen"}, placement={"mode": "eci", "eciInstanceTypes": ["ecs.gn7i-c8g1.2xlarge"]},
        autoscaling={"minReplicas": 1, "maxReplicas": 2, "metric": "queue"}, llm={"weightsGiB": 15, **(llm or {})},
        ingress={"host": "llm.example.com", "tlsSecret": "llm-tls"})
    return raw


def render(tmp_path, raw):
    prog = link_program(tmp_path / "prog")
    (prog / "Pulumi.s.yaml").write_text(yaml.safe_dump({"config": {"alicloud:region": "cn-beijing",
                                                                    **{f"elastic-inference:{k}": v for k, v in raw.items()}}}))
    out = tmp_path / "out"
    code = main(["s", "--dir", str(prog), "--out", str(out)])
    return code, (json.loads((out / "plan.json").read_text()) if code == 0 else None), out


def test_a_v2_instance_is_sent_basic_auth_with_the_accesskey_pair():
    header = prometheus_basic_auth("LTAIexampleid", "example/secret")
    assert header == "Basic " + base64.b64encode(b"LTAIexampleid:example/secret").decode()


@pulumi.runtime.test
def test_the_authorization_reaches_the_adapter_chart_as_a_secret(mocks):
    # ACK "Horizontal pod scaling based on Prometheus metrics": prometheus.prometheusHeader.Authorization.
    values = adapter_values(URL, [], "Basic abc")
    header = values["AlibabaCloudMetricsAdapter"]["prometheus"]["prometheusHeader"]["Authorization"]
    assert "prometheusHeader" not in adapter_values(URL, [])["AlibabaCloudMetricsAdapter"]["prometheus"]

    async def secret_flag():
        return await header.is_secret()

    return pulumi.Output.from_input(secret_flag()).apply(lambda flag: _assert(flag is True))


def _assert(condition):
    assert condition


def test_the_authorization_needs_the_url():
    assert [p.arg for p in ClusterAddonsArgs(cluster_id=CLUSTER_ID, prometheus_authorization="x").problems()] == ["prometheus_authorization"]


def test_encrypted_credentials_render_as_secrets(tmp_path):
    raw = llm_stack(llm={"apiKey": CIPHERTEXT}, prometheusAuth={"accessKeyId": CIPHERTEXT, "accessKeySecret": CIPHERTEXT})
    code, plan, out = render(tmp_path, raw)
    assert code == 0
    (release,) = [r for r in plan["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release"]
    assert release["inputs"]["values"]["AlibabaCloudMetricsAdapter"]["prometheus"]["prometheusHeader"] == {"Authorization": "[secret]"}
    # The API key: a Secret of the stack's own, which the server reads as VLLM_API_KEY (the policy's llm-api-key is met).
    secret = yaml.safe_load((out / "manifests" / "secret_default_bert-api-key.yaml").read_text())
    assert secret["stringData"] == {"api-key": "[secret]"}
    deployment = yaml.safe_load((out / "manifests" / "deployment_default_bert.yaml").read_text())
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "bert-api-key", "key": "api-key"}
    assert "Basic" not in (out / "plan.json").read_text()
    assert not [f for f in run(plan["resources"], plan["outputs"], str(tmp_path / "prog")) if f.level == "error"]


@pytest.mark.parametrize("llm, cluster, key", [
    ({"apiKey": PLAIN}, {}, "services.bert.llm.apiKey"),
    ({"apiKeySecret": "k"}, {"prometheusAuth": {"accessKeyId": PLAIN, "accessKeySecret": PLAIN}}, "cluster.prometheusAuth.accessKeySecret"),
    ({"apiKeySecret": "k"}, {"prometheusAuth": {"token": PLAIN}}, "cluster.prometheusAuth.token"),
])
def test_a_credential_in_plain_text_is_refused_by_its_key_without_its_value(tmp_path, capsys, llm, cluster, key):
    code, plan, out = render(tmp_path, llm_stack(llm=llm, **cluster))
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert f"{key}: is a credential and must be encrypted" in err and "--secret --path" in err
    assert PLAIN not in err


@pytest.mark.parametrize("llm, cluster, key, fragment", [
    ({"apiKey": CIPHERTEXT, "apiKeySecret": "k"}, {}, "services.bert.llm.apiKey", "not both"),
    ({"apiKeySecret": "k"}, {"prometheusAuth": {"token": CIPHERTEXT, "accessKeyId": CIPHERTEXT}}, "cluster.prometheusAuth", "not both"),
    ({"apiKeySecret": "k"}, {"prometheusAuth": {"accessKeyId": CIPHERTEXT}}, "cluster.prometheusAuth.accessKeySecret", "required"),
    ({"apiKeySecret": "k"}, {"prometheusAuth": {"token": CIPHERTEXT}, "prometheusUrl": None}, "cluster.prometheusAuth", "prometheusUrl"),
])
def test_incomplete_or_doubled_credentials_name_their_key(tmp_path, capsys, llm, cluster, key, fragment):
    raw = llm_stack(llm=llm, **cluster)
    if raw["cluster"].get("prometheusUrl") is None:
        raw["cluster"].pop("prometheusUrl")
        raw["services"]["bert"]["autoscaling"]["metric"] = "qps"
        raw["services"]["bert"]["autoscaling"]["targetQpsPerReplica"] = 2
    assert render(tmp_path, raw)[0] == 2
    err = capsys.readouterr().err
    assert any(line.startswith(key + ":") and fragment in line for line in err.splitlines()), err


@pytest.mark.parametrize("llm, cluster, key", [
    # One encrypted value marks its whole section secret for the CLI: each value is judged in the stack file.
    ({"apiKeySecret": "k"}, {"prometheusAuth": {"accessKeyId": CIPHERTEXT, "accessKeySecret": PLAIN}},
     "cluster.prometheusAuth.accessKeySecret"),
    ({"apiKey": CIPHERTEXT}, {"sibling": {"llm": {"apiKey": PLAIN}}}, "services.other.llm.apiKey"),
])
def test_a_plain_credential_beside_an_encrypted_one_is_refused(tmp_path, capsys, llm, cluster, key):
    sibling = cluster.pop("sibling", None)
    raw = llm_stack(llm=llm, **cluster)
    if sibling:
        other = copy.deepcopy(raw["services"]["bert"])
        other["llm"] = {"weightsGiB": 15, **sibling["llm"]}
        other["ingress"] = {"host": "other.example.com", "tlsSecret": "other-tls"}
        raw["services"]["other"] = other
    assert render(tmp_path, raw)[0] == 2
    err = capsys.readouterr().err
    assert f"{key}: is a credential and must be encrypted" in err and PLAIN not in err


def test_a_decrypted_accesskey_id_is_not_taken_for_a_pasted_one(tmp_path, monkeypatch):
    """The CLI hands the program the section decrypted: an AccessKey ID where one belongs is no leak."""
    from pulumi.runtime import config as runtime_config

    from config.loader import load

    raw = llm_stack(llm={"apiKeySecret": "k"}, prometheusAuth={"accessKeyId": "LTAI5tAbCdEfGhIjKlMnOpQr", "accessKeySecret": PLAIN})
    monkeypatch.chdir(tmp_path)  # no stack file here: the section's secrecy decides
    runtime_config.set_all_config({"alicloud:region": "cn-beijing", **{f"elastic-inference:{k}": json.dumps(v) for k, v in raw.items()}},
                                  ["elastic-inference:cluster"])
    try:
        auth = load(str(tmp_path)).cluster.prometheus_auth
        assert auth.authorization() == prometheus_basic_auth("LTAI5tAbCdEfGhIjKlMnOpQr", PLAIN)
    finally:
        runtime_config.set_all_config({}, [])
