"""Which output directories the render and the simulator replace: their own, for the same program, nothing else."""

import json
import os

import pytest

from elastic_inference_tools.outputs import MARKER, OLD_MARKER_TEXT, OutputDirError
from elastic_inference_tools.render.cli import main as render
from elastic_inference_tools.render.errors import RenderError
from elastic_inference_tools.render.writer import OUTPUTS as RENDER
from elastic_inference_tools.render.writer import check_out_dir
from elastic_inference_tools.simulate.cli import OUTPUTS as SIMULATE
from elastic_inference_tools.simulate.cli import main as simulate
from tests.conftest import ROOT


def _render_output(path, project="p", marker=None):
    (path / "manifests").mkdir(parents=True)
    (path / "plan.json").write_text(json.dumps({"project": project, "resources": []}))
    (path / MARKER).write_text(RENDER.marker_text(project) if marker is None else marker)
    return path


def test_absent_empty_and_own_outputs_are_replaced(tmp_path):
    RENDER.check(str(tmp_path / "absent"), "p")
    RENDER.check(str(tmp_path), "p")
    RENDER.check(str(_render_output(tmp_path / "out")), "p")


@pytest.mark.parametrize("outputs, project, why", [(RENDER, "q", "another program"), (SIMULATE, "p", "the simulate does not write")])
def test_another_programs_or_tools_output_is_refused(tmp_path, outputs, project, why):
    with pytest.raises(OutputDirError, match=why):
        outputs.check(str(_render_output(tmp_path / "out")), project)


def test_a_simulation_is_not_replaced_by_a_render_of_the_same_program(tmp_path):
    """`--out` of one tool over the other's output, same project: the marker names the tool."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    (out / MARKER).write_text(SIMULATE.marker_text("p"))
    SIMULATE.check(str(out), "p")
    with pytest.raises(OutputDirError):
        RENDER.check(str(out), "p")


def test_a_file_someone_added_to_an_output_is_never_deleted(tmp_path):
    """A stack named `simulate` renders into build/simulate, where the simulator writes its outputs: the
    render must not delete them, nor notes a user left beside plan.json."""
    out = _render_output(tmp_path / "simulate", "elastic-inference")
    (out / "dev-bert").mkdir()
    with pytest.raises(OutputDirError, match="file\\(s\\) the render does not write"):
        RENDER.check(str(out), "elastic-inference")


@pytest.mark.parametrize("marker", ["", "[]", '{"writtenBy": 3}', '{"project": "p"', "written by someone\n"])
def test_an_unreadable_marker_is_not_taken_for_an_old_one(tmp_path, marker):
    with pytest.raises(OutputDirError, match="not one the tools write"):
        RENDER.check(str(_render_output(tmp_path / "out", marker=marker)), "p")


def test_a_render_from_before_markers_named_the_project_is_judged_by_its_plan(tmp_path):
    out = _render_output(tmp_path / "out", "two-models", marker=OLD_MARKER_TEXT)
    check_out_dir(str(out), "two-models")
    with pytest.raises(RenderError) as caught:
        check_out_dir(str(out), "elastic-inference")
    assert caught.value.code == 2 and "another program" in caught.value.lines[0]
    (out / MARKER).unlink()  # older still: plan.json and manifests/ only
    check_out_dir(str(out), "two-models")
    with pytest.raises(RenderError):
        check_out_dir(str(out), "elastic-inference")
    with pytest.raises(OutputDirError):  # and the simulator never replaces a render
        SIMULATE.check(str(out), "two-models")


def test_a_directory_no_tool_wrote_is_refused(tmp_path):
    (tmp_path / "manifests").mkdir()  # a user's own manifests/, no plan.json and no marker
    with pytest.raises(RenderError, match="is not a render output"):
        check_out_dir(str(tmp_path), "p")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RenderError, match="does not write"):
        check_out_dir(str(tmp_path), "p")


def test_a_link_is_refused_with_or_without_a_trailing_slash(tmp_path, capsys):
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(target)
    for out in (str(link), str(link) + "/"):
        assert render(["dev", "--dir", ROOT, "--out", out]) == 2
        assert "is not a directory the render wrote" in capsys.readouterr().err
    assert os.listdir(target) == ["keep.txt"]


def test_the_simulator_does_not_write_into_a_render_output(tmp_path, capsys):
    out = _render_output(tmp_path / "out", "elastic-inference")
    assert simulate(["dev", "--service", "bert", "--trace", "step", "--no-plot", "--out", str(out)]) == 2
    assert "does not write" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "manifests", "plan.json"]


def test_a_failed_write_leaves_the_previous_output(tmp_path):
    out = _render_output(tmp_path / "out")

    def fill(staging):
        (tmp_path / "half").write_text("started")
        raise OSError("disk full")

    with pytest.raises(OSError):
        RENDER.replace(str(out), "p", fill)
    assert json.loads((out / "plan.json").read_text())["project"] == "p"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["half", "out"]  # no staging directory left behind
