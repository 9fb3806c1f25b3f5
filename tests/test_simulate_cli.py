"""`python -m simulate`: its files, the comparison, traces from CSV, and unusable input."""

import csv
import json

import pytest

from elastic_inference_tools.simulate.cli import main
from elastic_inference_tools.simulate.model import Timeline


def test_step_run_writes_timeline_summary_and_plot(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["prod", "--service", "bert", "--trace", "step", "--qps", "10:160", "--out", str(out)]) == 0
    rows = list(csv.reader(open(out / "timeline.csv")))
    assert tuple(rows[0]) == Timeline.COLUMNS and len(rows) == 2400 + 1
    # The columns it always wrote come first, in their order; the ECS / ECI split after them.
    assert Timeline.COLUMNS[:9] == ("t", "qps", "metric", "desired_replicas", "ready_replicas", "capacity_qps", "served_qps", "dropped_qps", "cost")
    assert Timeline.COLUMNS[9:] == ("ready_replicas_ecs", "ready_replicas_eci", "ecs_nodes", "cost_ecs_nodes", "cost_eci_pods",
                                    "waiting", "kv_cache_usage")
    summary = json.loads((out / "summary.json").read_text())
    assert {"served_fraction", "requests_turned_away", "rises", "ready_replica_hours", "cost", "cost_per_million_requests"} <= set(summary)
    assert 0 < summary["served_fraction"] <= 1 and summary["rises"][0]["start_seconds"] == 300
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "prod/bert: served" in capsys.readouterr().out


def test_compare_two_stacks_side_by_side(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["prod", "--service", "bert", "--trace", "spike", "--relative", "--compare", "staging", "--out", str(out)]) == 0
    table = (out / "comparison.md").read_text()
    assert "| | prod/bert | staging/bert |" in table and "requests turned away" in table and "cost of ECI pods" in table
    assert table.startswith("trace spike, relative: 10 to 160 QPS (peak 192), sized from prod/bert's HPA\n")
    assert (out / "timeline.staging.csv").exists() and (out / "timeline.png").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compare"]["stack"] == "staging" and summary["compare"]["service"] == "bert"
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
    # A CSV trace is absolute: its name and its lowest and highest QPS are stated.
    assert json.loads((out / "summary.json").read_text())["trace"] == {
        "name": "trace.csv", "kind": "absolute", "low_qps": 5.0, "high_qps": 80.0, "peak_qps": 80.0, "seconds": 601}


@pytest.mark.parametrize("args, says", [
    (["prod", "--service", "nope", "--trace", "step", "--relative"], "--service nope"),
    (["prod", "--service", "bert", "--trace", "sawtooth"], "sawtooth"),
    (["missing", "--service", "bert", "--trace", "step", "--qps", "1:2"], "Pulumi.missing.yaml"),
    (["prod", "--service", "bert", "--trace", "step"], "give its load, --qps LOW:HIGH"),
    (["prod", "--service", "bert", "--trace", "step", "--qps", "5:10", "--compare", "staging:nope"], "--compare staging:nope"),
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
    assert main(["dev", "--service", "bert", "--trace", "step", "--relative", "--assumptions", str(assumptions), "--out", str(tmp_path / "o")]) == 2
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
    assert main(["big", "--dir", str(prog), "--service", "bert", "--trace", "step", "--relative", "--no-plot", "--out", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert "preflight refuses this stack" in err and "pods-fit-instance-types" in err
    assert not (tmp_path / "out").exists()


# -- the load a trace puts on the service: absolute, or explicitly relative ---------------------------------


def _stack_with_max_replicas(tmp_path, max_replicas):
    import os

    from tests.conftest import ROOT, link_program

    prog = tmp_path / "prog"
    if not prog.exists():
        link_program(prog)
    text = open(os.path.join(ROOT, "Pulumi.prod.yaml")).read()
    old = "        maxReplicas: 20\n"  # bert's (prod's first service)
    assert old in text
    (prog / f"Pulumi.max{max_replicas}.yaml").write_text(text.replace(old, old.replace("20", str(max_replicas)), 1))
    return prog


def test_an_absolute_trace_is_the_same_traffic_whatever_the_maxreplicas(tmp_path):
    """Raising maxReplicas must not raise the traffic (it did: the shapes were sized from it)."""
    prog = _stack_with_max_replicas(tmp_path, 10)
    _stack_with_max_replicas(tmp_path, 30)
    served = {}
    for stack in ("max10", "max30"):
        out = tmp_path / stack
        assert main([stack, "--dir", str(prog), "--service", "bert", "--trace", "step", "--qps", "20:200", "--no-plot", "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["trace"] == {"name": "step", "kind": "absolute", "low_qps": 20.0, "high_qps": 200.0, "peak_qps": 200.0, "seconds": 2400}
        assert summary["requests"] == 300 * 20 + 1200 * 200 + 900 * 20
        served[stack] = summary["served_fraction"]
    assert served["max30"] > served["max10"]  # more room to scale serves more of the same traffic


def test_a_relative_trace_says_so_and_the_qps_it_came_to(tmp_path, capsys):
    prog = _stack_with_max_replicas(tmp_path, 30)
    out = tmp_path / "rel"
    assert main(["max30", "--dir", str(prog), "--service", "bert", "--trace", "step", "--relative", "--no-plot", "--out", str(out)]) == 0
    trace = json.loads((out / "summary.json").read_text())["trace"]
    # target 10 QPS per replica, 2-30 replicas: 0.5 x 10 x 2 and 0.8 x 10 x 30.
    assert (trace["kind"], trace["low_qps"], trace["high_qps"], trace["sized_from"]) == ("relative", 10.0, 240.0, "max30/bert")
    assert "trace step, relative: 10 to 240 QPS, sized from max30/bert's HPA" in capsys.readouterr().out


@pytest.mark.parametrize("extra, says", [
    (["--trace", "step"], "give its load, --qps LOW:HIGH"),
    (["--trace", "CSV", "--qps", "1:2"], "is a CSV file, its QPS absolute"),
    (["--trace", "CSV", "--relative"], "is a CSV file, its QPS absolute"),
])
def test_a_shape_needs_its_load_and_a_csv_file_takes_none(tmp_path, capsys, extra, says):
    trace = tmp_path / "t.csv"
    trace.write_text("0,5\n")
    args = [str(trace) if a == "CSV" else a for a in extra]
    assert main(["prod", "--service", "bert", *args, "--no-plot", "--out", str(tmp_path / "o")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra", [["--qps", "200:20"], ["--qps", "-1:5"], ["--qps", "5"], ["--qps", "a:b"], ["--qps", "5:nan"],
                                   ["--qps", "1:2", "--relative"], ["--compare", "staging:"]])
def test_bad_load_options_are_usage_errors(tmp_path, capsys, extra):
    with pytest.raises(SystemExit) as exc:
        main(["prod", "--service", "bert", "--trace", "step", *extra, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and not (tmp_path / "o").exists()


def test_compare_another_service_of_a_stack(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["prod", "--service", "bert", "--trace", "step", "--qps", "10:60", "--compare", "prod:fashion", "--no-plot", "--out", str(out)]) == 0
    assert "| | prod/bert | prod/fashion |" in (out / "comparison.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["stack"], summary["service"], summary["compare"]["stack"], summary["compare"]["service"]) == ("prod", "bert", "prod", "fashion")
    assert (out / "timeline.prod.fashion.csv").exists()
    printed = capsys.readouterr().out
    assert "prod/bert: served" in printed and "prod/fashion: served" in printed


def test_the_summary_splits_replicas_and_cost_between_ecs_and_eci(tmp_path):
    """prod's fashion runs on ECI tiers, its bert on the node pool: the split adds up to the totals."""
    out = tmp_path / "cmp"
    assert main(["prod", "--service", "bert", "--trace", "step", "--qps", "10:160", "--compare", "prod:fashion", "--no-plot", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for sm, csv_name, on, off in ((summary, "timeline.csv", "ecs", "eci"), (summary["compare"], "timeline.prod.fashion.csv", "eci", "ecs")):
        split = sm["by_capacity"]
        assert split[on]["cost"] == pytest.approx(sm["cost"], abs=0.01) and split[off]["cost"] == 0
        assert split["ecs"]["cost"] + split["eci"]["cost"] == pytest.approx(sm["cost"], abs=0.011)
        assert split["ecs"]["ready_replica_hours"] + split["eci"]["ready_replica_hours"] == pytest.approx(sm["ready_replica_hours"], abs=0.0011)
        assert split[on]["max_ready_replicas"] > 0 and split[off]["max_ready_replicas"] == 0
        rows = list(csv.DictReader(open(out / csv_name)))
        for row in rows:
            assert int(row["ready_replicas_ecs"]) + int(row["ready_replicas_eci"]) == int(row["ready_replicas"])
            assert float(row["cost_ecs_nodes"]) + float(row["cost_eci_pods"]) == pytest.approx(float(row["cost"]), abs=2e-4)
        assert split["ecs"]["max_nodes"] == max(int(r["ecs_nodes"]) for r in rows)
    assert summary["by_capacity"]["ecs"]["max_nodes"] == 16 and summary["compare"]["by_capacity"]["ecs"]["max_nodes"] == 0


def test_a_start_is_a_time_in_the_controllers_zone_and_a_compare_error_names_compare(tmp_path, capsys):
    base = ["prod", "--service", "bert", "--trace", "step", "--qps", "10:160", "--no-plot", "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit):
        main([*base, "--start", "2026-11-23T07:55+08:00"])  # an offset the plan cannot place: refused
    assert "without a UTC offset" in capsys.readouterr().err
    assert main([*base, "--compare", "staging:nope"]) == 2
    assert "--compare staging:nope: the stack has no such service" in capsys.readouterr().err
