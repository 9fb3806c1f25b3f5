"""What a simulation writes: timeline.csv, summary.json and timeline.png."""

from __future__ import annotations

import csv
import json
from typing import Any, Optional, Sequence

from .model import ServiceModel, Timeline

#: How each column of timeline.csv is written (QPS to the thousandth, cumulative costs to 1/10000).
_FORMATS = {"qps": "{:.3f}", "metric": "{:.3f}", "capacity_qps": "{:.3f}", "served_qps": "{:.3f}", "dropped_qps": "{:.3f}",
            "cost": "{:.4f}", "cost_ecs_nodes": "{:.4f}", "cost_eci_pods": "{:.4f}", "waiting": "{:.1f}", "kv_cache_usage": "{:.3f}"}


def write_timeline(path: str, timeline: Timeline) -> None:
    columns = Timeline.COLUMNS
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        values = [getattr(timeline, c) for c in columns]
        formats = [_FORMATS.get(c, "{}") for c in columns]
        for row in zip(*values, strict=True):
            writer.writerow([f.format(v) for f, v in zip(formats, row, strict=True)])


def write_summary(path: str, summary: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True)
        fh.write("\n")


_LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}


def plot(path: str, runs: Sequence[tuple[str, ServiceModel, Timeline, dict[str, Any]]], title: str) -> None:
    """One column per run, the y-axes shared across runs: traffic against ready capacity (turned-away traffic
    shaded, the capacity at maxReplicas dotted) over the replicas (ready ones on ECS and on ECI stacked, the
    HPA's bounds, the pool's nodes)."""
    import matplotlib  # noqa: PLC0415 - heavy; only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(2, len(runs), figsize=(6.5 * len(runs) + 2.6, 7), sharex=True, sharey="row", squeeze=False,
                             gridspec_kw={"height_ratios": [3, 2]})
    long = max(len(t.t) for _, _, t, _ in runs) > 4 * 3600
    scale, unit = (3600.0, "hours") if long else (60.0, "minutes")
    queue_axes: list[Any] = []
    for column, (label, model, timeline, summary) in enumerate(runs):
        top, bottom = axes[0][column], axes[1][column]
        x = [t / scale for t in timeline.t]
        low, high = (model.hpa.min_replicas, model.hpa.max_replicas) if model.hpa else (model.fixed_replicas, model.fixed_replicas)
        top.plot(x, timeline.qps, color="black", lw=1.2, label="traffic (QPS)")
        top.plot(x, timeline.capacity_qps, color="tab:green", lw=1.2, label="ready capacity (QPS)")
        if model.hpa is None or model.hpa.target_milli is not None:
            top.plot(x, timeline.metric, color="tab:blue", lw=0.8, ls="--", label="metric seen by the HPA")
        if model.llm is not None:
            # What a queue-driven HPA reads: the server's queue (its QPS metric is not this HPA's), a count on its own axis.
            queue_axis = top.twinx()
            queue_axes.append(queue_axis)
            queue_axis.plot(x, timeline.waiting, color="tab:purple", lw=0.8, ls="--", label="requests waiting (server queue)")
            queue_axis.set_ylabel("requests waiting", color="tab:purple")
            queue_axis.tick_params(axis="y", colors="tab:purple")
            queue_axis.set_ylim(bottom=0)
        top.fill_between(x, timeline.capacity_qps, timeline.qps, where=[d > 0 for d in timeline.dropped_qps],
                         color="tab:red", alpha=0.35, step=None, label="turned away")
        ceiling = high * model.replica_capacity_qps
        top.axhline(ceiling, color="tab:green", lw=1.0, ls=":", label="capacity at maxReplicas")
        top.annotate(f"{high} x {model.replica_capacity_qps:,.4g} = {ceiling:,.4g} QPS at maxReplicas", (0.01, ceiling),
                     xycoords=("axes fraction", "data"), xytext=(0, 3), textcoords="offset points", fontsize=8, color="tab:green",
                     bbox=_LABEL_BOX)
        top.set_title(f"{label}\nserved {summary['served_fraction'] * 100:.2f}%, turned away {summary['requests_turned_away']:,}, "
                      f"{summary['cost']:,.2f} {summary['currency']} (ECS nodes {summary['by_capacity']['ecs']['cost']:,.2f}, "
                      f"ECI {summary['by_capacity']['eci']['cost']:,.2f})", fontsize=10)
        top.grid(alpha=0.3)
        bottom.fill_between(x, 0, timeline.ready_replicas_ecs, step="post", color="tab:cyan", alpha=0.45, lw=0, label="ready on ECS (pool)")
        bottom.fill_between(x, timeline.ready_replicas_ecs, timeline.ready_replicas, step="post", color="tab:purple", alpha=0.35, lw=0,
                            label="ready on ECI")
        bottom.step(x, timeline.desired_replicas, where="post", color="tab:orange", lw=1.2, label="desired replicas (HPA)")
        bottom.step(x, timeline.ready_replicas, where="post", color="tab:green", lw=1.2, label="ready replicas")
        if model.pool is not None:
            bottom.step(x, timeline.ecs_nodes, where="post", color="dimgray", lw=0.9, ls="-.", label="ECS nodes (started)")
        # maxReplicas labelled at the left, minReplicas at the right: apart when the two lines are close.
        bounds = [(high, "maxReplicas" if model.hpa else "replicas (no HPA)", "tab:red", 0.01, "left")]
        if model.hpa:
            bounds.append((low, "minReplicas (before scheduled floors)" if model.floor_events else "minReplicas", "dimgray", 0.99, "right"))
        for second, floor in model.floor_events:  # each firing of a scheduled floor, at its time and floor
            bottom.plot([second / scale], [floor], marker="v", color="tab:purple", ls="none", label="scheduled floor fires")
        for value, name, color, where, align in bounds:
            bottom.axhline(value, color=color, lw=0.9, ls=":")
            bottom.annotate(f"{name} {value}", (where, value), xycoords=("axes fraction", "data"), xytext=(0, 2), ha=align,
                            textcoords="offset points", fontsize=8, color=color, bbox=_LABEL_BOX)
        bottom.set_xlabel(f"time ({unit})")
        bottom.grid(alpha=0.3)
    axes[0][0].set_ylabel("requests / s")
    axes[1][0].set_ylabel("replicas")
    for r, row in enumerate(axes):  # one legend per row, beside the last run: every column draws the same things
        handles: dict[str, Any] = {}
        for ax in [*row, *(queue_axes if r == 0 else [])]:
            for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(name, handle)
        # Right of the queue's own axis, when there is one.
        row[-1].legend(handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.12 if queue_axes else 1.02, 1.0),
                       fontsize=8, borderaxespad=0)
    # Once everything is drawn (a limit set earlier stops the shared axis from growing with the next runs): from 0,
    # with room above the highest line for its label; once a row, its axes share the limits.
    axes[0][0].set_ylim(0, axes[0][0].get_ylim()[1] * 1.08)
    axes[1][0].set_ylim(0, axes[1][0].get_ylim()[1] * 1.1)
    if queue_axes:  # the queues' axes too share one scale, so that panels compare at a glance
        queue_top = max(ax.get_ylim()[1] for ax in queue_axes) * 1.08
        for ax in queue_axes:
            ax.set_ylim(0, queue_top)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def comparison_table(rows: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """A Markdown table, one column per run (labelled STACK/SERVICE)."""
    keys = [("served_fraction", "served fraction"), ("requests_turned_away", "requests turned away"),
            ("max_seconds_to_capacity", "longest shortage (s)"), ("ready_replica_hours", "ready replica-hours"),
            ("by_capacity.ecs.ready_replica_hours", "ready replica-hours on ECS"),
            ("by_capacity.eci.ready_replica_hours", "ready replica-hours on ECI"), ("by_capacity.ecs.max_nodes", "most ECS nodes"),
            ("cost", "cost"), ("by_capacity.ecs.cost", "cost of ECS nodes"), ("by_capacity.eci.cost", "cost of ECI pods"),
            ("cost_per_million_requests", "cost per million requests")]
    if any("llm" in summary for _, summary in rows):  # an LLM's queue: what it assumed, and how long requests waited
        keys += [("llm.request_seconds", "request seconds (assumed)"), ("llm.concurrency_per_replica", "sequences per replica (assumed)"),
                 ("llm.max_waiting", "most requests waiting"), ("llm.max_queue_wait_seconds", "longest queue wait (s)")]
    head = "| | " + " | ".join(label for label, _ in rows) + " |"
    lines = [head, "|---|" + "---:|" * len(rows)]
    for key, label in keys:
        lines.append(f"| {label} | " + " | ".join(_fmt(_get(summary, key)) for _, summary in rows) + " |")
    return "\n".join(lines) + "\n"


def _get(summary: dict[str, Any], dotted: str) -> Optional[Any]:
    value: Any = summary
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _fmt(value: Optional[Any]) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:,.4f}" if value < 10 else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
