"""The PR preview workflow is linted with actionlint, so a broken workflow fails CI here."""

import os
import shutil
import subprocess
import sys

import yaml

from tests.conftest import ROOT

WORKFLOW = os.path.join(ROOT, ".github", "workflows", "preview.yml")
ACTIONLINT = shutil.which("actionlint", path=os.path.dirname(sys.executable)) or shutil.which("actionlint")


def lint(path):
    assert ACTIONLINT, "actionlint is missing: `make test` installs it from requirements.txt"
    return subprocess.run([ACTIONLINT, "-no-color", "-oneline", path], capture_output=True, text=True, check=False)


def test_preview_workflow_passes_actionlint():
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = yaml.safe_load(open(WORKFLOW))
    # Secrets cannot gate a job (the reason for the `credentials` job), and the step id is misspelt.
    broken["jobs"]["pulumi-preview"]["if"] = "${{ secrets.PULUMI_ACCESS_TOKEN != '' }}"
    broken["jobs"]["offline-diff"]["steps"][-1]["if"] = "steps.hed.outcome != 'success'"
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    path = tmp_path / ".github" / "workflows" / "preview.yml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False))
    result = lint(str(path))
    assert result.returncode == 1
    assert "secrets" in result.stdout and "hed" in result.stdout


def test_both_jobs_are_there():
    jobs = yaml.safe_load(open(WORKFLOW))["jobs"]
    steps = " ".join(str(s.get("run", "")) + str(s.get("uses", "")) for s in jobs["offline-diff"]["steps"])
    assert "python -m render --all --dir ../base" in steps and "python -m render diff" in steps
    assert "actions/github-script" in steps
    preview = jobs["pulumi-preview"]
    assert preview["if"] == "needs.credentials.outputs.available == 'true'"
    (action,) = [s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert action["with"]["command"] == "preview" and action["with"]["comment-on-pr"] is True and action["with"]["diff"] is True


def test_workflow_render_commands_run_here(tmp_path):
    """The offline job's commands, as the workflow runs them (base = this checkout)."""

    def run(*args):
        return subprocess.run([sys.executable, "-m", "render", *args], cwd=ROOT, capture_output=True, text=True, check=False)

    base, head = tmp_path / "base", tmp_path / "head"
    assert run("--all", "--dir", ROOT, "--out", str(base)).returncode == 0
    assert run("--all", "--out", str(head)).returncode == 0
    result = run("diff", str(base), str(head))
    assert result.returncode == 0
    assert "- **dev**: no changes." in result.stdout and "- **prod**: no changes." in result.stdout
