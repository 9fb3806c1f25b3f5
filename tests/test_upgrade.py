"""Refactoring with aliases: two renders and the diff show that nothing is replaced."""


import pytest

from elastic_inference_tools.render.cli import main
from elastic_inference_tools.render.diff import diff_plans, load_plans, to_markdown

PROGRAM = '''
import os
import pulumi
from components import InferenceService, InferenceServiceArgs, ModelVolume, ModelVolumeArgs

class Team(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("acme:platform:Team", name, None, opts)

def service(name, opts=None):
    volume = ModelVolume(name, ModelVolumeArgs(namespace="ml", bucket="acme-models", path=f"models/{name}",
                                               region="cn-beijing", rrsa_role_name="reader"), opts=opts)
    InferenceService(name, InferenceServiceArgs(namespace="ml", model_name=name, claim_name=volume.claim_name,
                                                image="tensorflow/serving:2.14.1"), opts=opts)

step = os.environ["REFACTOR_STEP"]
if step == "before":
    service("text")
else:
    # After: grouped under a team component. With an alias to their former place, they keep their identity.
    team = Team("ml-team")
    moved = pulumi.ResourceOptions(parent=team, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)] if step == "aliased" else None)
    service("text", moved)
'''


@pytest.fixture
def renders(tmp_path, monkeypatch):
    prog = tmp_path / "program"
    prog.mkdir()
    (prog / "Pulumi.yaml").write_text("name: refactor\nruntime: python\n")
    (prog / "Pulumi.dev.yaml").write_text("config: {}\n")
    (prog / "__main__.py").write_text(PROGRAM)

    def render(step):
        monkeypatch.setenv("REFACTOR_STEP", step)
        out = tmp_path / step / "dev"
        assert main(["dev", "--out", str(out), "--dir", str(prog)]) == 0
        return load_plans(str(out))

    return render


def test_moving_components_under_a_parent_with_an_alias_replaces_nothing(renders):
    before = renders("before")
    (diff,) = diff_plans(before, renders("aliased"))
    ops = {r.name: r.op for r in diff.resources}
    assert ops == {"ml-team": "create"}, ops  # only the new grouping component
    # Every resource of the two components (and their children, by the inherited aliases) kept its identity.
    assert len(diff.moved) == len(before["dev"]["resources"])
    assert all("::acme:platform:Team$" in new for new in diff.moved.values())
    assert "keep their identity under a new URN through aliases" in to_markdown([diff])


def test_the_same_move_without_an_alias_deletes_and_recreates(renders):
    before = renders("before")
    (diff,) = diff_plans(before, renders("unaliased"))
    ops = [r.op for r in diff.resources]
    assert ops.count("delete") == len(before["dev"]["resources"]) and not diff.moved


SPEC_PROGRAM = '''
import pulumi

class Box(pulumi.ComponentResource):
    def __init__(self, name, type_="acme:x:Box", opts=None):
        super().__init__(type_, name, None, opts)

parent = Box("parent")
Box("renamed", opts=pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(name="old-name")]))
Box("retyped", "acme:x:Crate", opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="acme:x:Box")]))
Box("moved", opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(project="old-project", stack="old-stack", parent=parent)]))
'''


def test_alias_specs_are_recorded_as_the_urns_they_name(tmp_path):
    # The render's engine takes alias specs, as Pulumi's does: each one is recorded as the former URN it names.
    from elastic_inference_tools.render import render_stack

    prog = tmp_path / "program"
    prog.mkdir()
    (prog / "Pulumi.yaml").write_text("name: refactor\nruntime: python\n")
    (prog / "Pulumi.dev.yaml").write_text("config: {}\n")
    (prog / "__main__.py").write_text(SPEC_PROGRAM)
    aliases = {r.name: r.aliases for r in render_stack(str(prog), "dev").resources}
    assert aliases["renamed"] == ["urn:pulumi:dev::refactor::acme:x:Box$acme:x:Box::old-name"]
    assert aliases["retyped"] == ["urn:pulumi:dev::refactor::acme:x:Box::retyped"]
    assert aliases["moved"] == ["urn:pulumi:old-stack::old-project::acme:x:Box$acme:x:Box::moved"]
    assert aliases["parent"] == []
