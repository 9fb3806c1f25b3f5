"""`python -m render diff`: golden cases built by rendering a stack, changing its config, and diffing."""

import copy
import json
import os

import pytest
import yaml

from elastic_inference_tools.cli import main as command
from elastic_inference_tools.render.cli import main
from elastic_inference_tools.render.diff import diff_plans, escape, load_plans, to_json, to_markdown
from elastic_inference_tools.render.diff.report import _code
from tests.conftest import ROOT

PROD = yaml.safe_load(open(os.path.join(ROOT, "Pulumi.prod.yaml")))["config"]
DEV = yaml.safe_load(open(os.path.join(ROOT, "Pulumi.dev.yaml")))["config"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """render(config) -> output dir of a stack named 'prod' rendered from that config (cached)."""
    prog = tmp_path_factory.mktemp("program")
    for entry in ("Pulumi.yaml", "__main__.py", "config", "components", "policy"):
        os.symlink(os.path.join(ROOT, entry), prog / entry)
    cache = {}

    def render(config, stack="prod"):
        key = json.dumps([stack, config], sort_keys=True)
        if key not in cache:
            workdir = tmp_path_factory.mktemp("stack")
            (prog / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
            out = workdir / stack
            assert main([stack, "--out", str(out), "--dir", str(prog)]) == 0
            cache[key] = out
        return cache[key]

    return render


def diff(renders, base, head, stack="prod"):
    (result,) = diff_plans(load_plans(str(renders(base, stack))), load_plans(str(renders(head, stack))))
    return result


def ops(result):
    return {r.name: r.op for r in result.resources}


def change_of(result, name, path):
    (res,) = [r for r in result.resources if r.name == name]
    (found,) = [c for c in res.changes if c.path == path]
    return found


def changed(**edits):
    config = copy.deepcopy(PROD)
    for dotted, value in edits.items():
        *parents, leaf = dotted.split("/")
        node = config
        for key in parents:
            node = node[key]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return config


SERVICES = "elastic-inference:services"


def test_unchanged_stack_says_so_in_one_line(renders):
    result = diff(renders, PROD, PROD)
    assert result.status == "unchanged" and not result.resources
    text = to_markdown([result])
    assert "- **prod**: no changes." in text
    assert "####" not in text


def test_scale_bounds_update_only_the_hpa(renders):
    head = changed(**{f"{SERVICES}/bert/autoscaling/maxReplicas": 30, f"{SERVICES}/bert/autoscaling/minReplicas": 3})
    # prod's schedule returns the floor to minReplicas in the evening: it follows the new floor.
    head[SERVICES]["bert"]["autoscaling"]["schedule"][1]["minReplicas"] = 3
    result = diff(renders, PROD, head)
    assert ops(result) == {"bert-hpa": "update", "bert-cron-hpa": "update"}
    assert change_of(result, "bert-cron-hpa", "spec.jobs[1].targetSize").after == 3
    assert (change_of(result, "bert-hpa", "spec.maxReplicas").before, change_of(result, "bert-hpa", "spec.maxReplicas").after) == (20, 30)
    assert change_of(result, "bert-hpa", "spec.minReplicas").after == 3
    assert not any(c.replaces for r in result.resources for c in r.changes)
    assert [c.path for c in result.config] == [
        "elastic-inference:services.bert.autoscaling.maxReplicas",
        "elastic-inference:services.bert.autoscaling.minReplicas",
        "elastic-inference:services.bert.autoscaling.schedule[1].minReplicas",
    ]


def test_image_tag_is_a_rolling_update_of_the_deployment(renders):
    result = diff(renders, PROD, changed(**{f"{SERVICES}/bert/image": "tensorflow/serving:2.14.1-gpu"}))
    assert ops(result) == {"bert-deployment": "update"}
    change = change_of(result, "bert-deployment", "spec.template.spec.containers[0].image")
    assert (change.before, change.after, change.replaces) == ("tensorflow/serving:1.15.0-gpu", "tensorflow/serving:2.14.1-gpu", False)


def test_new_service_creates_its_resources_and_widens_the_read_policy(renders):
    gpt = copy.deepcopy(PROD[SERVICES]["ranker"])
    gpt["model"]["path"] = "models/gpt"
    gpt["ingress"] = {"host": "gpt.example.com", "path": "/", "tlsSecret": "gpt-tls"}
    result = diff(renders, PROD, changed(**{f"{SERVICES}/gpt": gpt}))
    created = {name for name, op in ops(result).items() if op == "create"}
    assert created == {
        "gpt", "gpt-pv", "gpt-pvc", "gpt-model-config", "gpt-deployment", "gpt-service", "gpt-hpa", "gpt-ingress",
        "gpt-pdb", "gpt-network-policy",
    }
    assert {name: op for name, op in ops(result).items() if op != "create"} == {"models-read-policy": "update"}
    policy = [r for r in result.resources if r.name == "models-read-policy"][0]
    assert [c.path for c in policy.changes] == [
        "policyDocument:Statement[0].Resource",
        'policyDocument:Statement[1].Condition.StringLike["oss:Prefix"]',
    ]
    assert not any(c.replaces for c in policy.changes)
    assert set(policy.changes[0].after) - set(policy.changes[0].before) == {"acs:oss:*:*:acme-models-prod/models/gpt/*"}
    assert "added " + _code('"acs:oss:*:*:acme-models-prod/models/gpt/*"') in to_markdown([result])
    assert [c.path for c in result.outputs] == ["endpoints.gpt"]


def test_removed_service_deletes_its_resources(renders):
    result = diff(renders, PROD, changed(**{f"{SERVICES}/ranker": None}))
    deleted = {name for name, op in ops(result).items() if op == "delete"}
    assert deleted == {
        "ranker", "ranker-pv", "ranker-pvc", "ranker-model-config", "ranker-deployment", "ranker-service", "ranker-hpa",
        "ranker-ingress", "ranker-pdb", "ranker-network-policy",
    }
    assert {name: op for name, op in ops(result).items() if op != "delete"} == {"models-read-policy": "update"}


def test_renamed_bucket_replaces_what_is_keyed_on_it_and_flags_the_protected_bucket(renders):
    result = diff(renders, PROD, changed(**{"elastic-inference:modelStore/bucket": "acme-models-prod-2"}))
    assert ops(result) == {
        "models-bucket": "replace",
        "models-acl": "replace",
        "models-public-access-block": "replace",
        "models-encryption": "replace",
        "models-versioning": "replace",
        "models-read-policy": "replace",
        "models-reader-role": "replace",
        "models-reader-role-policy": "replace",
        "bert-pv": "replace",
        "fashion-pv": "replace",
        "ranker-pv": "replace",
    }
    bucket = [r for r in result.resources if r.name == "models-bucket"][0]
    assert bucket.protected and "refuses to replace" in bucket.notes[0]
    assert any("retainOnDelete" in note for note in bucket.notes)
    assert change_of(result, "models-bucket", "bucket").replaces
    assert change_of(result, "bert-pv", "spec.csi.volumeAttributes.bucket").replaces
    text = to_markdown([result])
    assert "[!WARNING]" in text and "<code>models-bucket</code>" in text


def test_replaced_access_key_recomputes_the_credentials_secret(renders):
    result = diff(renders, DEV, {**DEV, "elastic-inference:modelStore": {**DEV["elastic-inference:modelStore"], "bucket": "acme-models-dev-2"}}, stack="dev")
    assert ops(result)["models-reader-key"] == "replace"
    assert ops(result)["models-reader"] == "update"  # a RAM user's name updates in place
    secret = change_of(result, "bert-secret", "stringData")
    assert (secret.via, secret.secret, secret.replaces) == ("models-reader-key", True, True)
    assert ops(result)["bert-secret"] == "replace"


def test_secret_change_is_reported_without_its_value(renders):
    base = {**PROD, "kubernetes:kubeconfig": {"secure": "v1:CIPHERTEXT-ONE"}}
    head = {**PROD, "kubernetes:kubeconfig": {"secure": "v1:CIPHERTEXT-TWO"}}
    result = diff(renders, base, head)
    assert [(c.path, c.secret) for c in result.config] == [("kubernetes:kubeconfig", True)]
    assert not result.resources
    outputs = to_markdown([result]) + json.dumps(to_json([result]))
    assert "[secret] changed" in outputs
    assert "CIPHERTEXT" not in outputs
    assert json.loads(json.dumps(to_json([result])))["stacks"][0]["config"][0]["after"] == "[secret]"
    assert diff(renders, base, dict(base)).status == "unchanged"


def test_node_pool_instance_types_update_in_place(renders):
    pool = dict(PROD["elastic-inference:nodePool"])
    pool["instanceTypes"] = ["ecs.gn6i-c4g1.xlarge", "ecs.gn7i-c8g1.2xlarge"]
    pool["spotPriceLimits"] = {"ecs.gn6i-c4g1.xlarge": 4.5, "ecs.gn7i-c8g1.2xlarge": 7.0}
    result = diff(renders, PROD, changed(**{"elastic-inference:nodePool": pool}))
    assert ops(result) == {"inference-gpu-pool": "update"}
    assert not change_of(result, "inference-gpu-pool", "instanceTypes[1]").replaces


def test_model_config_change_replaces_the_configmap_unless_mutable(renders):
    head = changed(**{f"{SERVICES}/ranker/model/versionPolicy": "latest:3"})
    result = diff(renders, PROD, head)
    assert ops(result)["ranker-model-config"] == "replace"
    change = change_of(result, "ranker-model-config", 'data["models.config"]')
    assert change.replaces and "num_versions: 3" in change.after
    assert "```diff" in to_markdown([result])
    mutable = {"kubernetes:enableConfigMapMutable": "true"}
    assert ops(diff(renders, {**PROD, **mutable}, {**head, **mutable}))["ranker-model-config"] == "update"


def test_namespace_move_replaces_the_objects(renders):
    result = diff(renders, PROD, changed(**{f"{SERVICES}/ranker/namespace": "ranking-v2"}))
    moved = {name: op for name, op in ops(result).items() if name.startswith("ranker-")}
    assert moved and set(moved.values()) == {"replace"}
    assert change_of(result, "ranker-deployment", "metadata.namespace").replaces


def test_stack_present_on_one_side_only(renders, tmp_path):
    base = load_plans(str(renders(PROD)))
    result = to_json(diff_plans(base, {}))
    assert result["stacks"][0]["status"] == "removed"
    assert {r["op"] for r in result["stacks"][0]["resources"]} == {"delete"}


def test_cli_exit_codes(renders, tmp_path, capsys):
    base = str(renders(PROD))
    assert command(["diff", base, base]) == 0
    assert "no changes" in capsys.readouterr().out
    assert command(["diff", base, base, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stacks"][0]["status"] == "unchanged"
    assert command(["diff", str(tmp_path / "missing"), base]) == 2
    assert "no such directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert command(["diff", str(tmp_path / "empty"), base]) == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "plan.json").write_text("{not json")
    assert command(["diff", str(bad), base]) == 2
    assert "not JSON" in capsys.readouterr().err
    (bad / "plan.json").write_text(json.dumps({"stack": "prod", "resources": [{"urn": 1}]}))
    assert command(["diff", str(bad), base]) == 2


def test_directory_of_stacks(renders, tmp_path):
    both = tmp_path / "all"
    both.mkdir()
    os.symlink(renders(PROD), both / "prod")
    os.symlink(renders(DEV, stack="dev"), both / "dev")
    assert sorted(load_plans(str(both))) == ["dev", "prod"]


# -- issue "Hardening": hostile plans, hostile strings in the comment, model data loss --------------------


def _plan_dir(tmp_path, name, plan):
    d = tmp_path / name / "s"
    d.mkdir(parents=True)
    (d / "plan.json").write_text(plan if isinstance(plan, str) else json.dumps(plan))
    return str(d.parent)


GOOD = {"project": "p", "stack": "s", "outputs": {}, "config": {}, "configSecrets": {}, "resources": [
    {"urn": "urn:a", "type": "t:a", "name": "a", "parent": None, "inputs": {"x": 1}, "propertyDependencies": {}, "aliases": [],
     "options": {"protect": False, "retainOnDelete": False, "ignoreChanges": [], "dependsOn": []}}]}


@pytest.mark.parametrize("broken", [
    "not json", "[1, 2]", "[" * 100000 + "]" * 100000, {"stack": 1, "resources": []}, {"stack": "s", "resources": {}},
    {**GOOD, "resources": [1]}, {**GOOD, "resources": [{**GOOD["resources"][0], "inputs": [1]}]},
    {**GOOD, "resources": [{**GOOD["resources"][0], "options": {"ignoreChanges": "x"}}]},
    {**GOOD, "resources": [{**GOOD["resources"][0], "options": {"dependsOn": [1]}}]},
    {**GOOD, "resources": [GOOD["resources"][0], GOOD["resources"][0]]},
    {**GOOD, "resources": [{**GOOD["resources"][0], "propertyDependencies": {"x": "urn"}}]},
    {**GOOD, "configSecrets": {"k": 1}}, {**GOOD, "outputs": []}, {**GOOD, "resources": [{**GOOD["resources"][0], "parent": 3}]},
])
def test_a_malformed_plan_exits_2_with_a_message(tmp_path, capsys, broken):
    from elastic_inference_tools.render.diff import main as diff_main

    assert diff_main([_plan_dir(tmp_path, "base", GOOD), _plan_dir(tmp_path, "head", broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("elastic-inference diff: ") and "Traceback" not in err and len(err.splitlines()) == 1


def test_user_strings_cannot_rewrite_the_comment():
    hostile = "x <!-- hide --> ``` @admin approved\n```"
    head = copy.deepcopy(GOOD)
    head["stack"] = hostile
    head["config"] = {f"ns:{hostile}": hostile}
    head["resources"][0].update(name=hostile, inputs={hostile: hostile + "`"})
    (result,) = diff_plans({}, {hostile: head})
    text = to_markdown([result])
    body = text.split("\n", 1)[1]  # after the comment's own marker
    assert "<!--" not in body and "@admin" not in body and "```" not in body.replace("```diff", "")
    assert escape("@admin") == "&#64;admin" and "\n" not in escape("a\nb")


def test_running_text_and_multi_line_values_cannot_rewrite_the_comment():
    # GitHub links an @mention in running text even after decoding &#64;; a link in a heading is a link.
    hostile = "@admin [x](https://e.example) ~~s~~ $m$"
    head = copy.deepcopy(GOOD)
    head["stack"] = hostile
    (result,) = diff_plans({}, {hostile: head})
    heading = [line for line in to_markdown([result]).splitlines() if line.startswith("####")][0]
    assert "&#64;&#8288;admin" in heading and "[x](" not in heading and "~~" not in heading and "$" not in heading
    # A multi-line value's line diff: a fence when its lines are plain, else <pre> with every line escaped.
    base, head = copy.deepcopy(GOOD), copy.deepcopy(GOOD)
    base["resources"][0]["inputs"] = {"data": "a\nb\n"}
    head["resources"][0]["inputs"] = {"data": "a\n<!-- hide\n```\n@admin approved\n"}
    text = to_markdown(diff_plans({"s": base}, {"s": head}))
    body = text.split("\n", 1)[1]
    assert "<!--" not in body and "@admin" not in body and "```" not in body and "    <pre>" in body
    assert "    +&lt;!-- hide" in body and "    +&#64;admin approved" in body
    head["resources"][0]["inputs"] = {"data": "a\nc\n"}
    assert "    ```diff" in to_markdown(diff_plans({"s": base}, {"s": head}))


def test_deleting_model_data_or_a_bucket_protection_is_flagged(renders, tmp_path):
    # create: true -> false would delete the bucket's encryption and public-access block (without the guards).
    base = copy.deepcopy(GOOD)
    base["resources"] = [
        {**GOOD["resources"][0], "urn": "urn:obj", "type": "alicloud:oss/bucketObject:BucketObject", "name": "models-object-m/1.pb"},
        {**GOOD["resources"][0], "urn": "urn:sse", "type": "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption",
         "name": "models-encryption"},
    ]
    (result,) = diff_plans({"s": base}, {"s": GOOD})
    text = to_markdown([result])
    assert "[!CAUTION]" in text and "<code>models-object-m/1.pb</code>" in text and "<code>models-encryption</code>" in text
    (obj,) = [r for r in result.resources if r.name == "models-object-m/1.pb"]
    assert obj.op == "delete" and "model data" in obj.notes[0]


def test_renders_of_two_projects_are_said_to_be_so(tmp_path, capsys):
    """A base and a head of different programs would diff as everything deleted and created: it is said on stderr."""
    from elastic_inference_tools.render.diff import main as diff_main

    plan = {"project": "a", "stack": "dev", "resources": [], "outputs": {}, "config": {}, "configSecrets": {}}
    for side, project in (("base", "a"), ("head", "b")):
        (tmp_path / side / "dev").mkdir(parents=True)
        (tmp_path / side / "dev" / "plan.json").write_text(json.dumps({**plan, "project": project}))
    assert diff_main([str(tmp_path / "base"), str(tmp_path / "head")]) == 0
    assert "renders of different projects" in capsys.readouterr().err
