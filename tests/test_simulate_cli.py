"""`python -m simulate`: its files, the comparison, traces from CSV, and unusable input."""

import csv
import json

import pytest

from elastic_inference_tools.simulate.cli import main
from elastic_inference_tools.simulate.model import Timeline


def test_step_run_writes_timeline_summary_and_plot(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["prod", "--service", "bert", "--trace", "step", "--out", str(out)]) == 0
    rows = list(csv.reader(open(out / "timeline.csv")))
    assert tuple(rows[0]) == Timeline.COLUMNS and len(rows) == 2400 + 1
    summary = json.loads((out / "summary.json").read_text())
    assert {"served_fraction", "requests_turned_away", "rises", "ready_replica_hours", "cost", "cost_per_million_requests"} <= set(summary)
    assert 0 < summary["served_fraction"] <= 1 and summary["rises"][0]["start_seconds"] == 300
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "prod/bert: served" in capsys.readouterr().out


def test_compare_two_stacks_side_by_side(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["prod", "--service", "bert", "--trace", "spike", "--compare", "staging", "--out", str(out)]) == 0
    table = (out / "comparison.md").read_text()
    assert "| | prod | staging |" in table and "requests turned away" in table
    assert (out / "timeline.staging.csv").exists() and (out / "timeline.png").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compare"]["stack"] == "staging"
    assert summary["compare"]["requests"] == summary["requests"]  # the same traffic for both
    first = list(csv.DictReader(open(out / "timeline.csv")))
    second = list(csv.DictReader(open(out / "timeline.staging.csv")))
    assert [r["qps"] for r in first] == [r["qps"] for r in second]


def test_csv_trace(tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("t_seconds,qps\n0,5\n60,80\n240,5\n600,5\n")
    out = tmp_path / "out"
    assert main(["dev", "--service", "bert", "--trace", str(trace), "--out", str(out), "--no-plot"]) == 0
    rows = list(csv.DictReader(open(out / "timeline.csv")))
    assert len(rows) == 601 and float(rows[59]["qps"]) == 5 and float(rows[60]["qps"]) == 80
    assert not (out / "timeline.png").exists()


@pytest.mark.parametrize("args, says", [
    (["prod", "--service", "nope", "--trace", "step"], "--service nope"),
    (["prod", "--service", "bert", "--trace", "sawtooth"], "sawtooth"),
    (["missing", "--service", "bert", "--trace", "step"], "Pulumi.missing.yaml"),
])
def test_unusable_input_exits_2(tmp_path, capsys, args, says):
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_trace_and_assumptions_files(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("t_seconds,qps\n0,5\n0,6\n")
    assert main(["dev", "--service", "bert", "--trace", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "t_seconds must increase" in capsys.readouterr().err
    assumptions = tmp_path / "a.yaml"
    assumptions.write_text("eci:\n  pod_start_second: 10\n")
    assert main(["dev", "--service", "bert", "--trace", "step", "--assumptions", str(assumptions), "--out", str(tmp_path / "o")]) == 2
    assert "eci.pod_start_second is not an assumption" in capsys.readouterr().err


def test_the_prices_file_covers_every_example_stack():
    import os
    import re

    import yaml

    from tests.conftest import EXAMPLE_STACKS, ROOT

    prices = yaml.safe_load(open(os.path.join(ROOT, "elastic_inference_tools", "simulate", "prices.yaml")))["instance_types"]
    for stack in EXAMPLE_STACKS:
        name = f"Pulumi.{stack}.yaml"
        for itype in re.findall(r"ecs\.[a-z0-9-]+\.[a-z0-9]+", open(os.path.join(ROOT, name)).read()):
            assert itype in prices, (name, itype)


def test_a_stack_the_preflight_refuses_is_not_simulated(tmp_path, capsys):
    """The render would refuse it (exit 4): the simulator says so rather than model a stack that does not work."""
    import os

    from tests.conftest import ROOT, link_program

    prog = link_program(tmp_path / "prog")
    text = open(os.path.join(ROOT, "Pulumi.dev.yaml")).read().replace('resources: {cpu: "2", memory: 4Gi}', 'resources: {cpu: "2", memory: 64Gi}')
    (prog / "Pulumi.big.yaml").write_text(text)
    assert main(["big", "--dir", str(prog), "--service", "bert", "--trace", "step", "--no-plot", "--out", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert "preflight refuses this stack" in err and "pods-fit-instance-types" in err
    assert not (tmp_path / "out").exists()
