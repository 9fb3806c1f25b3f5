"""The PR preview workflow is linted with actionlint, so a broken workflow fails CI here."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import PROGRAM_ENTRIES, ROOT, link_program

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
    assert "offline-render.sh ../base" in steps and "offline-render.sh ." in steps and "offline-diff.sh" in steps
    assert "actions/github-script" in steps
    preview = jobs["pulumi-preview"]
    assert preview["if"] == "needs.credentials.outputs.available == 'true'"
    (action,) = [s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert action["with"]["command"] == "preview" and action["with"]["comment-on-pr"] is True and action["with"]["diff"] is True
    # The pack the CLI runs is the built-in one the render runs (a directory with the CLI's PulumiPolicy.yaml).
    pack = os.path.join(ROOT, action["with"]["policyPacks"])
    assert os.path.isfile(os.path.join(pack, "PulumiPolicy.yaml")) and os.path.isfile(os.path.join(pack, "policies.py"))
    # Every Pulumi.<stack>.yaml gets a preview, a team's own stack included: its policy settings file
    # is passed only when it exists (the pack's own levels otherwise), never a missing path.
    configs = action["with"]["policyPackConfigs"]
    assert configs.startswith("${{ hashFiles(format('policy/stacks/{0}.json', matrix.stack)) != ''"), configs


def test_workflow_render_commands_run_here(tmp_path):
    """The offline job's commands, as the workflow runs them (base = this checkout)."""

    def run(*args):
        return subprocess.run([sys.executable, "-m", "elastic_inference_tools", *args], cwd=ROOT, capture_output=True, text=True, check=False)

    base, head = tmp_path / "base", tmp_path / "head"
    assert run("render", "--all", "--dir", ROOT, "--out", str(base)).returncode == 0
    assert run("render", "--all", "--out", str(head)).returncode == 0
    result = run("diff", str(base), str(head))
    assert result.returncode == 0
    assert "- **dev**: no changes." in result.stdout and "- **prod**: no changes." in result.stdout


# -- the offline job's steps, run as GitHub runs them ------------------------------------------------


def _step(name):
    (step,) = [s for s in yaml.safe_load(open(WORKFLOW))["jobs"]["offline-diff"]["steps"] if s.get("name") == name]
    return step


def run_step(name, cwd, env, tmp_path):
    """A step's `run:` as the runner runs a step with no `shell:`: `bash -e {0}` on a file holding it."""
    step = _step(name)
    assert "shell" not in step  # the default shell, which has no pipefail
    script = tmp_path / f"step-{name.replace(' ', '-')}.sh"
    script.write_text(step["run"])
    return subprocess.run(["bash", "-e", str(script)], cwd=cwd, env={**os.environ, **env, "PYTHON": sys.executable},
                          capture_output=True, text=True, check=False)


DEV_TEXT = open(os.path.join(ROOT, "Pulumi.dev.yaml")).read()


@pytest.fixture
def runner(tmp_path):
    """The runner's RUNNER_TEMP."""
    path = tmp_path / "runner"
    path.mkdir()
    return path


def checkout(tmp_path, stack_text):
    head = link_program(tmp_path / "head", (*PROGRAM_ENTRIES, "elastic_inference_tools", ".github"))
    (head / "Pulumi.dev.yaml").write_text(stack_text)
    (tmp_path / "base").symlink_to(head)
    return head


def test_a_head_that_does_not_render_fails_its_step_and_says_so(tmp_path, runner):
    head = checkout(tmp_path, DEV_TEXT + "  elastic-inference:oops: [\n")
    rendered = run_step("Render every stack at the head", head, {"RUNNER_TEMP": str(runner)}, tmp_path)
    assert rendered.returncode != 0, rendered.stdout + rendered.stderr
    assert "not valid YAML" in (runner / "head-render.log").read_text()
    # The step as it was (`render | tee` in the step itself) under the same shell: it could never fail.
    old = tmp_path / "old-step.sh"
    old.write_text(f'{sys.executable} -m render --all --out "$RUNNER_TEMP/old" 2>&1 | tee "$RUNNER_TEMP/old.log"\n')
    assert subprocess.run(["bash", "-e", str(old)], cwd=head, env={**os.environ, "RUNNER_TEMP": str(runner)},
                          capture_output=True, check=False).returncode == 0
    diff = run_step("Diff", head, {"RUNNER_TEMP": str(runner), "HEAD_OUTCOME": "failure", "BASE_OUTCOME": "failure"}, tmp_path)
    assert diff.returncode == 0, diff.stderr
    comment = (runner / "diff" / "diff.md").read_text()
    assert "The head does not render" in comment and "not valid YAML" in comment


def test_a_head_that_breaks_a_mandatory_policy_fails_too(tmp_path, runner):
    head = checkout(tmp_path, DEV_TEXT)
    (head / "Pulumi.nopolicy.yaml").write_text(DEV_TEXT)  # no policy/stacks/nopolicy.json: ingress-tls is mandatory
    rendered = run_step("Render every stack at the head", head, {"RUNNER_TEMP": str(runner)}, tmp_path)
    assert rendered.returncode == 3 and "ingress-tls" in (runner / "head-render.log").read_text()
    diff = run_step("Diff", head, {"RUNNER_TEMP": str(runner), "HEAD_OUTCOME": "failure", "BASE_OUTCOME": "success"}, tmp_path)
    assert diff.returncode == 0, diff.stderr
    comment = (runner / "diff" / "diff.md").read_text()
    assert "The head does not render" in comment and "ingress-tls" in comment and "to delete" not in comment
    failed = _step("Fail when the head does not render")
    assert failed["if"] == "steps.head.outcome != 'success'"
    assert run_step("Fail when the head does not render", head, {"RUNNER_TEMP": str(runner)}, tmp_path).returncode == 1


def test_a_head_that_renders_gets_its_diff(tmp_path, runner):
    head = checkout(tmp_path, DEV_TEXT)
    env = {"RUNNER_TEMP": str(runner)}
    assert run_step("Render every stack at the base", head, env, tmp_path).returncode == 0
    assert run_step("Render every stack at the head", head, env, tmp_path).returncode == 0
    diff = run_step("Diff", head, {**env, "HEAD_OUTCOME": "success", "BASE_OUTCOME": "success"}, tmp_path)
    assert diff.returncode == 0, diff.stderr
    assert "- **dev**: no changes." in (runner / "diff" / "diff.md").read_text()
    assert json.loads((runner / "diff" / "diff.json").read_text())


def test_the_failure_comment_cannot_be_rewritten_by_the_log(tmp_path, runner):
    """The Diff step, as the runner runs it, on a head whose render log carries hostile text."""
    head = checkout(tmp_path, DEV_TEXT)
    (runner / "head-render.log").write_text("error at key ```\n<!-- hidden --> @admin approved\n</pre> [x](https://e.example)\x1b[0m\n")
    diff = run_step("Diff", head, {"RUNNER_TEMP": str(runner), "HEAD_OUTCOME": "failure", "BASE_OUTCOME": "success"}, tmp_path)
    assert diff.returncode == 0, diff.stderr
    comment = (runner / "diff" / "diff.md").read_text()
    body = comment.split("\n", 1)[1]  # after the comment's own marker
    assert "The head does not render" in body
    assert "<!--" not in body and "@admin" not in body and "```" not in body and "\x1b" not in body
    assert body.count("<pre>") == 1 and body.count("</pre>") == 1 and body.rstrip().endswith("</pre>")
    assert "&lt;!-- hidden --&gt; &#64;admin approved" in body and "&#96;&#96;&#96;" in body


def test_a_base_where_no_stack_renders_shows_every_stack_as_new(tmp_path, runner):
    head = checkout(tmp_path, DEV_TEXT)
    env = {"RUNNER_TEMP": str(runner)}
    assert run_step("Render every stack at the head", head, env, tmp_path).returncode == 0
    (runner / "render" / "base").mkdir(parents=True)  # the base render wrote nothing
    diff = run_step("Diff", head, {**env, "HEAD_OUTCOME": "success", "BASE_OUTCOME": "failure"}, tmp_path)
    assert diff.returncode == 0, diff.stderr
    comment = (runner / "diff" / "diff.md").read_text()
    assert "dev (new stack)" in comment and "did not render at the base" in comment
