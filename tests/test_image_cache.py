"""ECI image caches (components/image_cache.py): the service's image cached ahead of its first scale-out on ECI."""

import json
import os

import pytest

from components import ImageCacheChoice
from config import from_raw
from elastic_inference_tools.render.cli import main as render
from tests.conftest import ROOT, link_program

DEV_BERT = "      placement:\n        mode: eci\n"


def _dev_with(tmp_path, extra):
    prog = link_program(tmp_path / "prog")
    text = open(os.path.join(ROOT, "Pulumi.dev.yaml")).read()
    assert DEV_BERT in text
    (prog / "Pulumi.dev.yaml").write_text(text.replace(DEV_BERT, extra + DEV_BERT, 1))  # dev: its policy levels apply
    return prog


def test_an_eci_service_caches_its_image_and_its_pods_match_it(tmp_path, capsys):
    prog = _dev_with(tmp_path, "      imageCache: {sizeGiB: 30, retentionDays: 60}\n")
    out = tmp_path / "out"
    assert render(["dev", "--dir", str(prog), "--out", str(out)]) == 0, capsys.readouterr().err
    plan = json.loads((out / "plan.json").read_text())
    by_name = {r["name"]: r for r in plan["resources"]}
    cache = by_name["bert-image-cache"]
    assert cache["inputs"]["kind"] == "ImageCache" and cache["inputs"]["metadata"] == {
        "name": "default-bert", "labels": {"app.kubernetes.io/managed-by": "pulumi"}}  # cluster-scoped: no namespace
    deployment = by_name["bert-deployment"]["inputs"]
    # The image exactly as the pods name it: ECI matches a cache by the image reference.
    assert cache["inputs"]["spec"] == {"images": [deployment["spec"]["template"]["spec"]["containers"][0]["image"]],
                                       "imageCacheSize": 30, "retentionDays": 60}
    assert deployment["spec"]["template"]["metadata"]["annotations"]["k8s.aliyun.com/eci-auto-imc"] == "true"
    # The pods come after the cache exists (it builds from then on); its CRD comes with the stack's virtual node add-on.
    server = [r for r in plan["resources"] if r["type"] == "elastic-inference:serving:InferenceService"][0]
    assert cache["urn"] in server["options"]["dependsOn"]
    assert "imagecaches.eci.alibabacloud.com" not in plan["outputs"]["clusterPrerequisites"]
    assert (out / "manifests" / "imagecache__default-bert.yaml").exists()  # validated against the CRD's fields


def test_a_cache_for_pods_that_never_run_on_eci_is_refused(raw):
    raw["services"]["bert"]["placement"] = {"mode": "ecs"}
    raw["services"]["bert"]["imageCache"] = {}
    with pytest.raises(Exception) as caught:
        from_raw(raw, "cn-beijing")
    assert any(str(p).startswith("services.bert.imageCache:") and "'ecs'" in str(p) for p in caught.value.problems)


@pytest.mark.parametrize("choice, arg", [(ImageCacheChoice(size_gib=10), "image_cache.size_gib"),
                                         (ImageCacheChoice(retention_days=0), "image_cache.retention_days")])
def test_the_cache_size_and_retention_are_ecis_bounds(choice, arg):
    assert [p.arg for p in choice.problems()] == [arg]
    assert ImageCacheChoice().problems() == []
