"""Which output directories the render and the simulator replace: their own, for the same program, nothing else."""

import json

import pytest

from elastic_inference_tools.outputs import MARKER, OutputDirError, check, marker_text
from elastic_inference_tools.render.writer import check_out_dir
from elastic_inference_tools.render.errors import RenderError
from elastic_inference_tools.simulate.cli import main as simulate


def _never(entries):
    return False


def test_absent_empty_and_own_outputs_are_replaced(tmp_path):
    check(str(tmp_path / "absent"), "render", "p", _never)
    check(str(tmp_path), "render", "p", _never)
    (tmp_path / MARKER).write_text(marker_text("render", "p"))
    check(str(tmp_path), "render", "p", _never)


@pytest.mark.parametrize("tool, project, why", [("render", "q", "another program"), ("simulate", "p", "another tool")])
def test_another_programs_or_tools_output_is_refused(tmp_path, tool, project, why):
    (tmp_path / MARKER).write_text(marker_text("render", "p"))
    with pytest.raises(OutputDirError, match=why):
        check(str(tmp_path), tool, project, _never)


def test_a_render_from_before_markers_named_the_project_is_judged_by_its_plan(tmp_path):
    (tmp_path / "manifests").mkdir()
    (tmp_path / "plan.json").write_text(json.dumps({"project": "two-models", "resources": []}))
    (tmp_path / MARKER).write_text("written by `python -m render`; replaced by the next render\n")  # the old marker
    check_out_dir(str(tmp_path), "two-models")
    with pytest.raises(RenderError) as caught:
        check_out_dir(str(tmp_path), "elastic-inference")
    assert caught.value.code == 2 and "another program" in caught.value.lines[0]
    (tmp_path / MARKER).unlink()  # older still: plan.json and manifests/ only
    with pytest.raises(RenderError):
        check_out_dir(str(tmp_path), "elastic-inference")


def test_a_directory_no_tool_wrote_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RenderError, match="is not a render output"):
        check_out_dir(str(tmp_path), "p")


def test_the_simulator_does_not_write_into_a_render_output(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text(marker_text("render", "elastic-inference"))
    assert simulate(["dev", "--service", "bert", "--trace", "step", "--no-plot", "--out", str(out)]) == 2
    assert "another tool" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [MARKER]
