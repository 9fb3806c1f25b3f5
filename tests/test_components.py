"""Each component's key properties, under Pulumi's mock runtime.

Every test returns the Output whose callback asserts, so a failed assertion
fails the test (see STYLE.md, lesson 9).
"""

import base64
import hashlib
import json

import pulumi
import pytest
from pulumi.runtime import rpc

from components import (
    ClusterAddons, ClusterAddonsArgs, EciTier, InferenceService, InferenceServiceArgs, ModelStore,
    ModelStoreArgs, ModelVolume, ModelVolumeArgs, NodeTaint, Placement, PlacementArgs, PublicEndpoint,
    PublicEndpointArgs, QpsAutoscaler, QpsAutoscalerArgs, SpotNodePool, SpotNodePoolArgs, selector_labels,
)
from components.inference_service import model_config

CLUSTER = "c0123456789abcdef0123456789abcdef"


def after(*outputs):
    """An Output that resolves once every resource registered so far has reached the mock engine."""

    async def settled():
        from pulumi.runtime.stack import wait_for_rpcs

        await wait_for_rpcs(await_all_outstanding_tasks=False)
        return [await pulumi.Output.from_input(o).future() for o in outputs]

    return pulumi.Output.from_input(settled())


# --- ModelStore -----------------------------------------------------------------------------


@pulumi.runtime.test
def test_model_store_private_encrypted_versioned_protected(mocks):
    store = ModelStore("models", ModelStoreArgs(bucket="acme-models", read_prefixes=["tensorflow/bert"]))

    def check(_):
        r = mocks.resources
        assert r["models-bucket"].typ == "alicloud:oss/bucket:Bucket"
        assert "acl" not in r["models-bucket"].inputs  # deprecated inline ACL not used
        assert r["models-acl"].inputs == {"bucket": "acme-models", "acl": "private"}
        assert r["models-public-access-block"].inputs["blockPublicAccess"] is True
        assert r["models-encryption"].inputs["sseAlgorithm"] == "AES256"
        assert r["models-versioning"].inputs["status"] == "Enabled"
        policy = json.loads(r["models-read-policy"].inputs["policyDocument"])
        resources = [res for st in policy["Statement"] for res in st["Resource"]]
        assert "acs:oss:*:*:acme-models/tensorflow/bert/*" in resources
        assert not any(res.endswith("acme-models/*") for res in resources)  # scoped to the prefix
        actions = {a for st in policy["Statement"] for a in st["Action"]}
        assert not any(a.startswith(("oss:Put", "oss:Delete")) for a in actions)
        assert r["models-reader-policy"].inputs["policyType"] == "Custom"
        assert not any(a.startswith("kms:") for a in actions)  # AES256: no key to decrypt with

    return after(store.bucket_name).apply(check)


@pulumi.runtime.test
def test_model_store_kms_reader_decrypts_and_objects_keep_the_kms_default(mocks, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "saved_model.pb").write_bytes(b"pb")
    store = ModelStore("models", ModelStoreArgs(bucket="acme", read_prefixes=["m"], encryption="KMS", kms_key_id="key-123",
                                                upload_dir=str(tmp_path)))

    def check(_):
        policy = json.loads(mocks.resources["models-read-policy"].inputs["policyDocument"])
        # OSS docs "Server-side encryption": reading an SSE-KMS object needs kms:Decrypt on its key.
        assert {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["acs:kms:*:*:key/key-123"]} in policy["Statement"]
        obj = mocks.resources["models-object-m/saved_model.pb"].inputs
        # The provider would send AES256 otherwise, overriding the bucket's KMS default.
        assert (obj["serverSideEncryption"], obj["kmsKeyId"]) == ("KMS", "key-123")

    return after(store.bucket_name).apply(check)


@pulumi.runtime.test
def test_model_store_access_key_secret_is_secret(mocks):
    store = ModelStore("models", ModelStoreArgs(bucket="acme-models", read_prefixes=["m"]))

    async def secret_flag():
        return await store.access_key_secret.is_secret()

    return pulumi.Output.from_input(secret_flag()).apply(lambda flag: _assert(flag is True))


def _assert(condition):
    assert condition


@pulumi.runtime.test
def test_model_store_adopts_existing_bucket(mocks):
    store = ModelStore("models", ModelStoreArgs(bucket="existing", read_prefixes=["m"], create=False))

    def check(values):
        assert values[0] == "existing"
        assert "models-acl" not in mocks.resources and "models-encryption" not in mocks.resources
        assert mocks.resources["models-bucket"].resource_id == "existing"

    return after(store.bucket_name).apply(check)


@pulumi.runtime.test
def test_model_store_rrsa_role_trusts_cluster_ossfs(mocks):
    store = ModelStore("models", ModelStoreArgs(bucket="acme", read_prefixes=["m"], access="rrsa", cluster_id=CLUSTER))

    def check(_):
        assert store.access_key_id is None
        trust = json.loads(mocks.resources["models-reader-role"].inputs["assumeRolePolicyDocument"])
        statement = trust["Statement"][0]
        # The cluster's own RRSA metadata, as the provider reports it; RAM requires oidc:iss.
        assert statement["Principal"]["Federated"] == [mocks.rrsa["ramOidcProviderArn"]]
        assert statement["Condition"]["StringEquals"] == {
            "oidc:iss": mocks.rrsa["rrsaOidcIssuerUrl"],
            "oidc:aud": "sts.aliyuncs.com",
            "oidc:sub": "system:serviceaccount:ack-csi-fuse:csi-fuse-ossfs",
        }
        assert "models-reader" not in mocks.resources
        assert "rrsa" in store.prerequisites

    return after(store.rrsa_role_name).apply(check)


@pytest.mark.parametrize("rrsa, message", [
    ({"enabled": False, "rrsaOidcIssuerUrl": "", "ramOidcProviderArn": "", "ramOidcProviderName": ""}, "RRSA disabled"),
    (None, "was not found"),
])
def test_model_store_rrsa_fails_clearly_when_the_cluster_has_none(rrsa, message):
    from components.model_store import RrsaUnavailable, cluster_rrsa

    clusters = [] if rrsa is None else [{"id": CLUSTER, "rrsa_config": {
        "enabled": rrsa["enabled"], "rrsa_oidc_issuer_url": "", "ram_oidc_provider_arn": ""}}]
    with pytest.raises(RrsaUnavailable, match=message) as caught:
        cluster_rrsa(clusters, CLUSTER)
    assert CLUSTER not in str(caught.value)  # the user's id is not echoed


@pulumi.runtime.test
def test_model_store_uploads_one_object_per_file_content_addressed(mocks, tmp_path):
    (tmp_path / "bert" / "1").mkdir(parents=True)
    (tmp_path / "bert" / "1" / "saved_model.pb").write_bytes(b"model")
    (tmp_path / ".hidden").write_text("x")
    store = ModelStore("models", ModelStoreArgs(bucket="acme", read_prefixes=["bert"], upload_dir=str(tmp_path)))

    def check(_):
        assert store.object_keys == ["bert/1/saved_model.pb"]
        obj = mocks.resources["models-object-bert/1/saved_model.pb"].inputs
        assert obj["key"] == "bert/1/saved_model.pb"
        # The Content-MD5 header's own form (RFC 1864): base64 of the binary digest.
        assert obj["contentMd5"] == base64.b64encode(hashlib.md5(b"model").digest()).decode()
        assert obj["serverSideEncryption"] == "AES256"
        assert obj["source"].endswith("saved_model.pb")

    return after(store.bucket_name).apply(check)


def test_model_store_rejects_bad_args():
    with pytest.raises(ValueError, match="encryption"):
        ModelStore("m", ModelStoreArgs(bucket="b", read_prefixes=["m"], encryption="SM4"))
    with pytest.raises(ValueError, match="cluster_id"):
        ModelStore("m", ModelStoreArgs(bucket="b", read_prefixes=["m"], access="rrsa"))
    with pytest.raises(ValueError, match="read_prefixes"):
        ModelStore("m", ModelStoreArgs(bucket="b", read_prefixes=["../x"]))


# --- ModelVolume ----------------------------------------------------------------------------


@pulumi.runtime.test
def test_model_volume_secret_ref_never_inline(mocks):
    vol = ModelVolume("bert", ModelVolumeArgs(
        namespace="inference", bucket="acme", path="tensorflow/bert", region="cn-beijing",
        access_key_id="AKID", access_key_secret=pulumi.Output.secret("SECRET")))

    def check(_):
        pv = mocks.resources["bert-pv"].inputs
        csi = pv["spec"]["csi"]
        assert csi["driver"] == "ossplugin.csi.alibabacloud.com"
        assert csi["volumeHandle"] == pv["metadata"]["name"] == "inference-bert-model"
        assert csi["readOnly"] is True
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        attrs = csi["volumeAttributes"]
        assert attrs["url"] == "oss-cn-beijing-internal.aliyuncs.com"
        assert attrs["path"] == "/tensorflow/bert" and attrs["bucket"] == "acme"
        assert "akId" not in attrs and "akSecret" not in attrs
        # ossfs makes objects without x-oss-meta-mode 0640/0750 and root-owned: the non-root server needs a umask.
        assert attrs["otherOpts"] == "-o max_stat_cache_size=0 -o allow_other -o umask=022"
        assert csi["nodePublishSecretRef"] == {"name": "bert-oss-credentials", "namespace": "inference"}
        pvc = mocks.resources["bert-pvc"].inputs
        assert pvc["spec"]["volumeName"] == "inference-bert-model" and pvc["spec"]["storageClassName"] == ""
        assert pvc["spec"]["accessModes"] == ["ReadOnlyMany"]
        data = mocks.resources["bert-secret"].inputs["stringData"]
        assert rpc.is_rpc_secret(data)  # the credentials travel as a Pulumi secret
        assert rpc.unwrap_rpc_secret(data) == {"akId": "AKID", "akSecret": "SECRET"}

    return after(vol.urn).apply(check)


@pulumi.runtime.test
def test_model_volume_rrsa_has_no_secret(mocks):
    vol = ModelVolume("bert", ModelVolumeArgs(namespace="default", bucket="acme", path="m", region="cn-hangzhou", rrsa_role_name="reader"))

    def check(_):
        attrs = mocks.resources["bert-pv"].inputs["spec"]["csi"]["volumeAttributes"]
        assert attrs["authType"] == "rrsa" and attrs["roleName"] == "reader"
        assert "bert-secret" not in mocks.resources and vol.secret_name is None

    return after(vol.urn).apply(check)


def test_model_volume_requires_exactly_one_credential():
    with pytest.raises(ValueError, match="credentials are required"):
        ModelVolume("v", ModelVolumeArgs(namespace="d", bucket="b", path="m", region="cn-beijing"))
    with pytest.raises(ValueError, match="not both"):
        ModelVolume("v", ModelVolumeArgs(namespace="d", bucket="b", path="m", region="cn-beijing",
                                         access_key_id="a", access_key_secret="s", rrsa_role_name="r"))


# --- SpotNodePool ---------------------------------------------------------------------------


@pulumi.runtime.test
def test_spot_node_pool_seed_002(mocks):
    pool = SpotNodePool("gpu", SpotNodePoolArgs(
        cluster_id=CLUSTER, node_pool_name="inference-gpu", vswitch_ids=["vsw-a", "vsw-b"],
        instance_types=["ecs.gn6i-c4g1.xlarge"], labels={"inference": "tensorflow"},
        taints=[NodeTaint(key="nvidia.com/gpu", value="present")]))

    def check(_):
        np = mocks.resources["gpu-pool"].inputs
        assert np["scalingConfig"] == {"enable": True, "minSize": 0, "maxSize": 10}
        assert np["spotStrategy"] == "SpotAsPriceGo" and np["multiAzPolicy"] == "COST_OPTIMIZED"
        assert np["onDemandPercentageAboveBaseCapacity"] == "30" and np["onDemandBaseCapacity"] == "0"
        assert np["compensateWithOnDemand"] is True and np["spotInstanceRemedy"] is True
        assert np["labels"] == [{"key": "inference", "value": "tensorflow"}]
        assert np["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
        assert "desiredSize" not in np

    return after(pool.node_pool_id).apply(check)


@pulumi.runtime.test
def test_spot_node_pool_price_limits(mocks):
    pool = SpotNodePool("gpu", SpotNodePoolArgs(
        cluster_id=CLUSTER, node_pool_name="p", vswitch_ids=["vsw-a"], instance_types=["ecs.a.b", "ecs.c.d"],
        spot_strategy="SpotWithPriceLimit", spot_price_limits={"ecs.a.b": 1.5, "ecs.c.d": 2}))
    return after(pool.node_pool_id).apply(lambda _: _assert(mocks.resources["gpu-pool"].inputs["spotPriceLimits"] == [
        {"instanceType": "ecs.a.b", "priceLimit": "1.5"}, {"instanceType": "ecs.c.d", "priceLimit": "2"}]))


def test_spot_node_pool_rejects_bad_args():
    base = dict(cluster_id=CLUSTER, node_pool_name="p", vswitch_ids=["vsw-a"], instance_types=["ecs.a.b"])
    with pytest.raises(ValueError, match="min_size"):
        SpotNodePool("p", SpotNodePoolArgs(**base, min_size=5, max_size=2))
    with pytest.raises(ValueError, match="price limit is required"):
        SpotNodePool("p", SpotNodePoolArgs(**base, spot_strategy="SpotWithPriceLimit"))


# --- ClusterAddons --------------------------------------------------------------------------


@pulumi.runtime.test
def test_cluster_addons(mocks):
    addons = ClusterAddons("cluster", ClusterAddonsArgs(cluster_id=CLUSTER, ingress_controller=True, metrics_adapter_version="1.2.0"))

    def check(_):
        r = mocks.resources
        assert r["cluster-virtual-node"].inputs["name"] == "ack-virtual-node"
        logtail = r["cluster-logtail"].inputs
        assert logtail["name"] == "logtail-ds"
        assert json.loads(logtail["config"]) == {"IngressDashboardEnabled": "true", "sls_project_name": f"k8s-log-{CLUSTER}"}
        assert json.loads(r["cluster-ingress-controller"].inputs["config"]) == {"IngressSlbNetworkType": "internet"}
        release = r["cluster-metrics-adapter"]
        assert release.typ == "kubernetes:helm.sh/v3:Release"
        assert release.inputs["chart"] == "ack-alibaba-cloud-metrics-adapter" and release.inputs["version"] == "1.2.0"
        assert release.inputs["namespace"] == "kube-system"
        assert addons.sls_project == f"k8s-log-{CLUSTER}" and addons.sls_logstore == "nginx-ingress"
        assert "cluster-seldon-core" not in r  # opt-in

    return after(addons.urn).apply(check)


@pulumi.runtime.test
def test_cluster_addons_loongcollector_and_seldon_core(mocks):
    addons = ClusterAddons("cluster", ClusterAddonsArgs(cluster_id=CLUSTER, log_collector="loongcollector", seldon_core=True))

    def check(_):
        collector = mocks.resources["cluster-logtail"].inputs
        assert collector["name"] == "loongcollector" and json.loads(collector["config"]) == {"IngressDashboardEnabled": "true"}
        seldon = mocks.resources["cluster-seldon-core"].inputs
        assert (seldon["chart"], seldon["version"], seldon["namespace"]) == ("seldon-core-operator", "1.17.1", "seldon-system")
        assert seldon["repositoryOpts"]["repo"] == "https://storage.googleapis.com/seldon-charts"
        assert len(addons.dependencies) == 4  # workloads wait for the operator too

    return after(addons.urn).apply(check)


def test_cluster_addons_rejects_an_unknown_log_collector(mocks):
    with pytest.raises(ValueError, match="log_collector"):
        ClusterAddons("c", ClusterAddonsArgs(cluster_id=CLUSTER, log_collector="fluentd"))


@pulumi.runtime.test
def test_cluster_addons_custom_sls_project_and_opt_out(mocks):
    addons = ClusterAddons("cluster", ClusterAddonsArgs(cluster_id=CLUSTER, sls_project="logs-prod", virtual_node=False, metrics_adapter=False))

    def check(_):
        assert "cluster-virtual-node" not in mocks.resources and "cluster-metrics-adapter" not in mocks.resources
        assert "cluster-ingress-controller" not in mocks.resources
        assert json.loads(mocks.resources["cluster-logtail"].inputs["config"])["sls_project_name"] == "logs-prod"

    return after(addons.urn).apply(check)


# --- Placement ------------------------------------------------------------------------------

SEL = selector_labels("bert")


def test_placement_ecs_selects_pool_and_tolerates_taints(mocks):
    p = Placement("bert", PlacementArgs(mode="ecs", namespace="d", selector=SEL, node_labels={"inference": "tensorflow"},
                                        node_taints=[NodeTaint(key="gpu", effect="NoExecute")]))
    assert p.pod.node_selector == {"inference": "tensorflow"}
    assert p.pod.tolerations == [{"key": "gpu", "effect": "NoExecute", "operator": "Exists"}]
    assert p.pod.topology_spread_constraints[0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert p.resource_policy_name is None and p.resources == []


def test_placement_eci_label_and_specs(mocks):
    p = Placement("bert", PlacementArgs(mode="eci", namespace="d", selector=SEL, eci_instance_types=["ecs.gn6i-c4g1.xlarge"]))
    assert p.pod.labels == {"alibabacloud.com/eci": "true"}
    assert p.pod.annotations == {"k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge"}
    assert "alibabacloud.com/burst-resource" not in p.pod.annotations  # unmaintained on 1.24+


@pulumi.runtime.test
def test_placement_ecs_then_eci_resource_policy(mocks):
    p = Placement("bert", PlacementArgs(mode="ecs-then-eci", namespace="inference", selector=SEL,
                                        node_labels={"inference": "tensorflow"}, eci_instance_types=["ecs.gn6i-c4g1.xlarge"]))

    def check(_):
        rp = mocks.resources["bert-resource-policy"].inputs
        assert rp["apiVersion"] == "scheduling.alibabacloud.com/v1alpha1" and rp["kind"] == "ResourcePolicy"
        assert rp["metadata"]["namespace"] == "inference"
        assert rp["spec"]["selector"] == SEL and rp["spec"]["strategy"] == "prefer"
        ecs, eci = rp["spec"]["units"]
        # No max (an auto-scaling pool); the wait label in the unit's podLabels and TimeoutOrExceedMax keep a pod
        # pending for the pool instead of going to ECI at once (ACK "Configure priority-based resource scheduling").
        assert ecs == {"resource": "ecs", "nodeSelector": {"inference": "tensorflow"},
                       "podLabels": {"k8s.aliyun.com/resource-policy-wait-for-ecs-scaling": "true"}}
        assert rp["spec"]["whenTryNextUnits"] == {"policy": "TimeoutOrExceedMax", "timeout": "300s"}
        assert eci == {"resource": "eci", "podAnnotations": {"k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge"}}
        assert "resourcepolicies.scheduling.alibabacloud.com" in p.prerequisites

    return after(p.urn).apply(check)


@pulumi.runtime.test
def test_placement_eci_tiers_replace_elastic_workload(mocks):
    p = Placement("fashion", PlacementArgs(mode="eci-tiers", namespace="default", selector=SEL, eci_instance_types=["ecs.gn6i-c4g1.xlarge"],
                                           tiers=[EciTier(max=3), EciTier(max=10, spot_strategy="SpotAsPriceGo")]))

    def check(_):
        units = mocks.resources["fashion-resource-policy"].inputs["spec"]["units"]
        assert [u["max"] for u in units] == [3, 10]
        assert all(u["resource"] == "eci" for u in units)
        assert "k8s.aliyun.com/eci-spot-strategy" not in units[0]["podAnnotations"]
        assert units[1]["podAnnotations"]["k8s.aliyun.com/eci-spot-strategy"] == "SpotAsPriceGo"
        assert units[1]["podAnnotations"]["k8s.aliyun.com/eci-spot-fallback"] == "true"
        assert units[1]["podAnnotations"]["k8s.aliyun.com/eci-spot-duration"] == "1"  # spot protection period
        assert "k8s.aliyun.com/eci-spot-duration" not in units[0].get("podAnnotations", {})

    return after(p.urn).apply(check)


def test_placement_rejects_bad_args(mocks):
    with pytest.raises(ValueError, match="node_labels"):
        Placement("x", PlacementArgs(mode="ecs", namespace="d", selector=SEL))
    with pytest.raises(ValueError, match="tiers"):
        Placement("x", PlacementArgs(mode="eci-tiers", namespace="d", selector=SEL))
    with pytest.raises(ValueError, match="mode"):
        Placement("x", PlacementArgs(mode="burst", namespace="d", selector=SEL))


# --- InferenceService -----------------------------------------------------------------------


def test_model_config_carries_version_policy():
    assert "specific { versions: 1623831335 }" in model_config("bert", "/models", "specific:1623831335")
    assert "specific { versions: 1 versions: 2 }" in model_config("bert", "/models", "specific:1,2")
    assert "latest { num_versions: 3 }" in model_config("bert", "/models", "latest:3")
    assert "latest { num_versions: 1 }" in model_config("bert", "/models", "latest")
    assert "all {}" in model_config("bert", "/models", "all")
    with pytest.raises(ValueError):
        model_config("bert", "/models", "specific:")


@pulumi.runtime.test
def test_inference_service_tf_serving(mocks):
    svc = InferenceService("bert", InferenceServiceArgs(
        namespace="inference", model_name="chnsenticorp", claim_name="bert-model", image="tensorflow/serving:1.15.0-gpu",
        version_policy="specific:1623831335", gpu=1, cpu="4", memory="15Gi", replicas=2))

    def check(_):
        dep = mocks.resources["bert-deployment"].inputs
        assert dep["metadata"]["name"] == "bert" and dep["spec"]["replicas"] == 2
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert c["command"] == ["/usr/bin/tensorflow_model_server"]
        assert "--rest_api_port=8501" in c["args"] and "--port=8500" in c["args"]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == "1" and c["resources"]["requests"]["cpu"] == "4"
        assert c["readinessProbe"]["httpGet"]["path"] == "/v1/models/chnsenticorp"
        assert {"name": "model", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]
        assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "bert-model", "readOnly": True}
        assert dep["spec"]["selector"]["matchLabels"] == selector_labels("bert")
        config = mocks.resources["bert-model-config"].inputs["data"]["models.config"]
        assert "versions: 1623831335" in config
        service = mocks.resources["bert-service"].inputs
        assert sorted(p["port"] for p in service["spec"]["ports"]) == [8500, 8501]
        assert svc.scale_target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"}
        # Secure and reliable defaults.
        assert pod["securityContext"]["runAsUser"] == 10001 and pod["automountServiceAccountToken"] is False
        assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert pod["terminationGracePeriodSeconds"] > int(c["lifecycle"]["preStop"]["exec"]["command"][-1].split()[-1])
        pdb = mocks.resources["bert-pdb"].inputs
        assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels("bert")}}
        policy = mocks.resources["bert-network-policy"].inputs["spec"]
        assert policy["podSelector"]["matchLabels"] == selector_labels("bert") and policy["policyTypes"] == ["Ingress"]
        (rule,) = policy["ingress"]
        assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
        assert sorted(p["port"] for p in rule["ports"]) == [8500, 8501]
        skips = dep["metadata"]["annotations"]
        assert any(v.startswith("CKV_K8S_15=") for v in skips.values()) and any(v.startswith("CKV_K8S_43=") for v in skips.values())
        assert not any(v.startswith("CKV_K8S_21=") for v in skips.values())  # not in the default namespace

    return after(svc.service_name).apply(lambda v: check(v[0]))


@pulumi.runtime.test
def test_inference_service_seldon(mocks):
    svc = InferenceService("fashion", InferenceServiceArgs(
        namespace="default", runtime="seldon", model_name="fashion-mnist", claim_name="fashion-model",
        image="tensorflow/serving:2.3.0-gpu", gpu=1))

    def check(name):
        sd = mocks.resources["fashion-seldon-deployment"].inputs
        assert sd["apiVersion"] == "machinelearning.seldon.io/v1" and sd["kind"] == "SeldonDeployment"
        predictor = sd["spec"]["predictors"][0]
        assert predictor["graph"]["name"] == "tfserving-proxy"
        params = {p["name"]: p["value"] for p in predictor["graph"]["parameters"]}
        assert params["model_name"] == "fashion-mnist" and params["rest_endpoint"] == "http://127.0.0.1:8501"
        names = [c["name"] for c in predictor["componentSpecs"][0]["spec"]["containers"]]
        assert names == ["tfserving-proxy", "tensorflow-serving"]
        assert name == "fashion-default" and svc.service_port == 8000
        # No HPA can target a SeldonDeployment (its CRD's scale has no labelSelectorPath): it scales through hpaSpec.
        assert svc.scale_target is None
        assert "hpaSpec" not in predictor["componentSpecs"][0] and sd["spec"]["replicas"] == 1

    return after(svc.service_name).apply(lambda v: check(v[0]))


@pulumi.runtime.test
def test_inference_service_seldon_scales_through_its_hpa_spec(mocks):
    from components import qps_metric, seldon_hpa_spec

    metric = qps_metric("default-fashion-default-8000", f"k8s-log-{CLUSTER}", 10, query_interval_seconds=30)
    svc = InferenceService("fashion", InferenceServiceArgs(
        namespace="default", runtime="seldon", model_name="fashion-mnist", claim_name="fashion-model",
        image="tensorflow/serving:2.3.0-gpu", gpu=1, hpa_spec=seldon_hpa_spec(1, 10, metric)))

    def check(_):
        sd = mocks.resources["fashion-seldon-deployment"].inputs
        hpa = sd["spec"]["predictors"][0]["componentSpecs"][0]["hpaSpec"]
        # seldon-core >= 1.16 copies metricsv2 verbatim into an autoscaling/v2 HPA on the Deployment it generates.
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10) and "metrics" not in hpa
        (ext,) = hpa["metricsv2"]
        labels = ext["external"]["metric"]["selector"]["matchLabels"]
        assert labels["sls.ingress.route"] == "default-fashion-default-8000" and labels["sls.query.interval"] == "30"
        assert "replicas" not in sd["spec"]  # the operator ignores it under an hpaSpec; nothing to fight over

    return after(svc.urn).apply(check)


def test_seldon_hpa_only_for_seldon_and_no_hpa_on_a_seldon_deployment(mocks):
    from components import qps_metric, seldon_hpa_spec

    with pytest.raises(ValueError, match="only for runtimes that scale through their own HPA spec"):
        InferenceService("x", InferenceServiceArgs(namespace="d", model_name="m", claim_name="c", image="i:1",
                                                   hpa_spec=seldon_hpa_spec(1, 2, qps_metric("r", "p", 1))))
    with pytest.raises(ValueError, match="cannot scale this kind"):
        QpsAutoscaler("x", QpsAutoscalerArgs(namespace="d", route="r", sls_project="p",
                                             scale_target={"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment", "name": "n"}))


@pytest.mark.parametrize("target, quantity", [(10, "10"), (2.5, "2500m"), (0.001, "1m")])
def test_qps_target_quantity_is_never_zero(target, quantity):
    from components.qps_autoscaler import target_quantity

    assert target_quantity(target) == quantity
    with pytest.raises(ValueError, match="0m"):
        target_quantity(0.0004)


def test_autoscaler_rejects_a_route_over_63_characters(mocks):
    with pytest.raises(ValueError, match="over the 63"):
        QpsAutoscaler("x", QpsAutoscalerArgs(namespace="d", route="n" * 30 + "-" + "s" * 30 + "-8501", sls_project="p",
                                             scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "s"}))


# --- QpsAutoscaler and PublicEndpoint --------------------------------------------------------


@pulumi.runtime.test
def test_endpoint_route_feeds_autoscaler(mocks):
    endpoint = PublicEndpoint("bert", PublicEndpointArgs(namespace="inference", host="bert.example.com", service_name="bert",
                                                         service_port=8501, tls_secret="bert-tls"))
    hpa = QpsAutoscaler("bert", QpsAutoscalerArgs(
        namespace="inference", scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"},
        route=endpoint.route, sls_project=f"k8s-log-{CLUSTER}", min_replicas=1, max_replicas=10, target_qps_per_replica=10))

    def check(args):
        url, route, _ = args
        assert url == "https://bert.example.com/" and route == "inference-bert-8501"
        ing = mocks.resources["bert-ingress"].inputs
        assert ing["spec"]["ingressClassName"] == "nginx"
        assert ing["spec"]["tls"] == [{"hosts": ["bert.example.com"], "secretName": "bert-tls"}]
        spec = mocks.resources["bert-hpa"].inputs["spec"]
        ext = spec["metrics"][0]["external"]
        assert ext["metric"]["name"] == "sls_ingress_qps"
        assert ext["metric"]["selector"]["matchLabels"] == {
            "sls.project": f"k8s-log-{CLUSTER}", "sls.logstore": "nginx-ingress", "sls.ingress.route": "inference-bert-8501"}
        assert ext["target"] == {"type": "AverageValue", "averageValue": "10"}
        assert spec["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
        assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 10)

    return after(endpoint.url, endpoint.route, hpa.urn).apply(check)


@pytest.mark.parametrize("path, served, rewritten", [
    ("/", "/", None),
    ("/ranker", "/ranker(/|$)(.*)", "/$2"),
    ("/models/v2.1/", "/models/v2\\.1(/|$)(.*)", "/$2"),
])
@pulumi.runtime.test
def test_endpoint_below_a_path_strips_it_for_tf_serving(mocks, path, served, rewritten):
    endpoint = PublicEndpoint("ranker", PublicEndpointArgs(namespace="ranking", host="api.example.com", service_name="ranker",
                                                           service_port=8501, path=path))

    def check(url):
        ing = mocks.resources["ranker-ingress"].inputs
        (rule,) = ing["spec"]["rules"][0]["http"]["paths"]
        assert rule["path"] == served
        assert rule["pathType"] == ("Prefix" if rewritten is None else "ImplementationSpecific")
        assert (ing["metadata"].get("annotations") or {}).get("nginx.ingress.kubernetes.io/rewrite-target") == rewritten
        assert url == f"http://api.example.com{path}"

    return after(endpoint.url).apply(lambda v: check(v[0]))


def test_autoscaler_rejects_bad_bounds(mocks):
    with pytest.raises(ValueError, match="min_replicas"):
        QpsAutoscaler("x", QpsAutoscalerArgs(namespace="d", scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "n"},
                                             route="r", sls_project="p", min_replicas=5, max_replicas=2))


# --- arguments are checked by name, their values never repeated -------------------------------------


@pytest.mark.parametrize("build, message", [
    (lambda: InferenceService("bert", InferenceServiceArgs(namespace="ML", model_name="m", claim_name="c", image="i:1")),
     "InferenceServiceArgs.namespace: must be a DNS-1123 label"),
    (lambda: InferenceService("bert", InferenceServiceArgs(namespace="d", model_name="m", claim_name="c", image="i:1", gpu="1")),
     "InferenceServiceArgs.gpu: must be a whole number, not str"),
    (lambda: InferenceService("Bert", InferenceServiceArgs(namespace="d", model_name="m", claim_name="c", image="i:1")),
     "InferenceServiceArgs.name: must be a DNS-1123 label"),
    (lambda: QpsAutoscaler("x", QpsAutoscalerArgs(namespace="d", route="r", sls_project="p", max_replicas="10",
                                                  scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"})),
     "QpsAutoscalerArgs.max_replicas: must be a whole number, not str"),
    (lambda: PublicEndpoint("x", PublicEndpointArgs(namespace="d", host="h.example.com", service_name="s", service_port="8501")),
     "PublicEndpointArgs.service_port: must be a whole number"),
    (lambda: SpotNodePool("p", SpotNodePoolArgs(cluster_id="c", node_pool_name="p", vswitch_ids=["v"], instance_types=["t"], max_size=1.5)),
     "SpotNodePoolArgs.max_size: must be a whole number, not float"),
    (lambda: Placement("x", PlacementArgs(mode="eci", namespace="Team A", selector={"a": "b"})),
     "PlacementArgs.namespace: must be a DNS-1123 label"),
])
def test_components_name_the_bad_argument(mocks, build, message):
    with pytest.raises(ValueError) as caught:
        build()
    assert message in str(caught.value) and "Team A" not in str(caught.value) and "'ML'" not in str(caught.value)


@pulumi.runtime.test
def test_a_cpu_metric_keeps_scaling_up_when_the_qps_metric_is_down(mocks):
    hpa = QpsAutoscaler("bert", QpsAutoscalerArgs(
        namespace="d", route="d-bert-8501", sls_project="p", cpu_utilization_percent=70,
        scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"}))

    def check(_):
        external, cpu = mocks.resources["bert-hpa"].inputs["spec"]["metrics"]
        assert external["type"] == "External"
        assert cpu == {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}

    return after(hpa.urn).apply(check)


def test_shutdown_is_bounded_by_the_grace_period():
    from components.runtimes.tf_serving import PRE_STOP_SECONDS, TERMINATION_GRACE_SECONDS, tf_serving_container

    container = tf_serving_container(InferenceServiceArgs(namespace="d", model_name="m", claim_name="c"), "i:1")
    # TF Serving ignores SIGTERM (tensorflow/serving #356, #1853): the kubelet kills it when the grace period ends.
    assert TERMINATION_GRACE_SECONDS == PRE_STOP_SECONDS + 5
    assert container["lifecycle"]["preStop"]["exec"]["command"][-1] == f"sleep {PRE_STOP_SECONDS}"


def test_resource_quantities_are_checked_by_the_component_not_only_by_the_config():
    """A program using the components directly gets the rule the config uses (one pattern, components/problems.py):
    `memory="lots"` or `"4GB"` would be refused by the API server at apply."""
    from components import ArgsError, InferenceService, InferenceServiceArgs

    with pytest.raises(ArgsError) as caught:
        InferenceService("x", InferenceServiceArgs(namespace="d", model_name="m", claim_name="c", cpu="2 cores", memory="4GB"))
    assert [e["property_path"] for e in caught.value.errors] == ["InferenceServiceArgs.cpu", "InferenceServiceArgs.memory"]
