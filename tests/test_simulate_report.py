"""What the simulator's plot and files show: the load, the HPA's bounds, where the replicas run, side by side."""

import csv

import pytest

from elastic_inference_tools.simulate import report, traces
from elastic_inference_tools.simulate.hpa import DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaSpec
from elastic_inference_tools.simulate.model import Pool, ServiceModel, Timeline, Unit, simulate, summarize


ECI_ONLY = (Unit("eci"),)


def _model(lo, hi, units=ECI_ONLY, pool=None):
    hpa = HpaSpec(min_replicas=lo, max_replicas=hi, target_milli=10_000, scale_up=DEFAULT_SCALE_UP, scale_down=DEFAULT_SCALE_DOWN)
    return ServiceModel(name="svc", hpa=hpa, fixed_replicas=lo, units=units, pool=pool, replica_capacity_qps=15,
                        eci_price_on_demand=1.0, eci_price_spot=0.3, query_delay=5)


POOL = Pool(min_size=1, max_size=2, can_grow=True, node_price_on_demand=10, node_price_spot=3, on_demand_base=0, on_demand_percentage=100,
            spot=False)


@pytest.fixture
def figure(monkeypatch):
    """The figure ``report.plot`` draws, kept when it saves it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    kept = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: kept.append(self))
    monkeypatch.setattr("matplotlib.pyplot.close", lambda *a, **k: None)
    return kept


def _runs():
    qps = traces.shape("step", 10, 120)
    small, big = _model(1, 4), _model(2, 12, units=(Unit("ecs"), Unit("eci")), pool=POOL)
    return [(label, m, tl, summarize(m, tl, "CNY")) for label, m, tl in
            (("a/svc", small, simulate(small, qps)), ("b/other", big, simulate(big, qps)))]


def _hlines(ax):
    """y of the horizontal lines drawn across the panel (axhline), with their labels."""
    return {line.get_ydata()[0]: line.get_label() for line in ax.get_lines()
            if len(set(line.get_ydata())) == 1 and list(line.get_xdata()) == [0, 1]}


def test_compare_panels_share_their_y_axes(tmp_path, figure):
    report.plot(str(tmp_path / "p.png"), _runs(), "t")
    (fig,) = figure
    qps_row, replicas_row = fig.axes[0:2], fig.axes[2:4]
    assert qps_row[0].get_ylim() == qps_row[1].get_ylim() and replicas_row[0].get_ylim() == replicas_row[1].get_ylim()
    # Scales that differ by that much would have had their own axes.
    assert replicas_row[0].get_ylim()[1] > 12 and qps_row[0].get_ylim()[1] > 12 * 15


def test_the_hpa_bounds_and_the_capacity_at_maxreplicas_are_drawn_and_labelled(tmp_path, figure):
    report.plot(str(tmp_path / "p.png"), _runs(), "t")
    (fig,) = figure
    top, bottom = fig.axes[1], fig.axes[3]  # b/other: 2-12 replicas of 15 QPS
    assert _hlines(top) == {180: "capacity at maxReplicas"}
    assert [line.get_linestyle() for line in top.get_lines() if line.get_label() == "capacity at maxReplicas"] == [":"]
    assert set(_hlines(bottom)) == {12, 2}
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"maxReplicas 12", "minReplicas 2", "12 x 15 = 180 QPS at maxReplicas", "maxReplicas 4", "minReplicas 1"} <= texts


def test_the_replicas_panel_shows_ecs_and_eci_apart(tmp_path, figure):
    report.plot(str(tmp_path / "p.png"), _runs(), "t")
    (fig,) = figure
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 2  # one legend per row
    assert {"ready on ECS (pool)", "ready on ECI", "ECS nodes (started)", "capacity at maxReplicas"} <= set(legends[0] + legends[1])
    assert "ECS nodes" in fig.axes[3].get_title() + fig.axes[1].get_title()


def test_the_timeline_appends_the_split_after_the_columns_it_always_had(tmp_path):
    (_, _, other, _) = _runs()[1]
    report.write_timeline(str(tmp_path / "t.csv"), other)
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert tuple(rows[0]) == Timeline.COLUMNS
    assert max(int(r["ecs_nodes"]) for r in rows) == 2 and max(int(r["ready_replicas_eci"]) for r in rows) > 0
    assert float(rows[-1]["cost_ecs_nodes"]) + float(rows[-1]["cost_eci_pods"]) == pytest.approx(float(rows[-1]["cost"]), abs=2e-4)


def test_the_comparison_table_names_stack_and_service():
    runs = _runs()
    table = report.comparison_table([(label, sm) for label, _, _, sm in runs])
    assert table.startswith("| | a/svc | b/other |\n")
    assert "| most ECS nodes | 0 | 2 |" in table


def test_a_trace_states_its_load():
    absolute = traces.shape_trace("spike", 20, 200)
    assert absolute.describe() == {"name": "spike", "kind": "absolute", "low_qps": 20, "high_qps": 200, "peak_qps": 240, "seconds": 1800}
    assert absolute.headline() == "trace spike, absolute: 20 to 200 QPS (peak 240)"
    relative = traces.shape_trace("step", 10, 160, sized_from="prod/bert")
    assert relative.describe()["kind"] == "relative" and relative.describe()["sized_from"] == "prod/bert"
    assert relative.headline() == "trace step, relative: 10 to 160 QPS, sized from prod/bert's HPA"
