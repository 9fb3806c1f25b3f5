"""checkov (framework kubernetes) over every example stack's manifests: zero failed checks, and every
skipped check is skipped by a `checkov.io/skip` annotation with a written reason on the object itself."""

import json
import os
import subprocess

import pytest
import yaml

from elastic_inference_tools.render.cli import main
from tests.conftest import EXAMPLE_STACKS, ROOT

pytestmark = pytest.mark.slow  # left out by `make test-fast`

STACKS = sorted(EXAMPLE_STACKS)
CHECKOV = os.path.join(ROOT, os.environ.get("CHECKOV") or os.path.join(".venv-checkov", "bin", "checkov"))


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    assert os.path.exists(CHECKOV), f"checkov is missing at {CHECKOV}: `make checkov` installs it in its own virtualenv"
    root = tmp_path_factory.mktemp("manifests")
    for stack in STACKS:
        assert main([stack, "--out", str(root / stack)]) == 0
    proc = subprocess.run(
        [CHECKOV, "-d", str(root), "--framework", "kubernetes", "--compact", "-o", "json", "--skip-download"],
        capture_output=True, text=True, check=False,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "kubernetes"]
    return root, report


def test_checkov_scanned_every_stack(scan):
    root, report = scan
    scanned = {c["file_path"].strip("/").split("/")[0] for c in report["results"]["passed_checks"]}
    assert scanned == set(STACKS)
    assert report["summary"]["parsing_errors"] == 0


def test_no_failed_checks(scan):
    _, report = scan
    failed = [f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]
    assert failed == []


def test_every_skip_is_an_annotation_with_a_reason_on_the_object(scan):
    root, report = scan
    skipped = report["results"]["skipped_checks"]
    assert skipped, "expected the documented skips (image pull policy, tag instead of digest, default namespace)"
    for check in skipped:
        body = yaml.safe_load((root / check["file_path"].strip("/")).read_text())
        annotations = body["metadata"].get("annotations", {})
        reasons = {v.split("=", 1)[0]: v.split("=", 1)[1] for k, v in annotations.items() if k.startswith("checkov.io/skip")}
        assert len(reasons.get(check["check_id"], "")) > 20, (check["check_id"], check["file_path"])
