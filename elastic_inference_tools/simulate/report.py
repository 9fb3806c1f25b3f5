"""What a simulation writes: timeline.csv, summary.json and timeline.png."""

from __future__ import annotations

import csv
import json
from typing import Any, Optional, Sequence

from .model import Timeline


def write_timeline(path: str, timeline: Timeline) -> None:
    columns = Timeline.COLUMNS
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        values = [getattr(timeline, c) for c in columns]
        for row in zip(*values, strict=True):
            writer.writerow([row[0], f"{row[1]:.3f}", f"{row[2]:.3f}", row[3], row[4], f"{row[5]:.3f}", f"{row[6]:.3f}", f"{row[7]:.3f}", f"{row[8]:.4f}"])


def write_summary(path: str, summary: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True)
        fh.write("\n")


def plot(path: str, runs: Sequence[tuple[str, Timeline, dict[str, Any]]], title: str) -> None:
    """Traffic against ready capacity (turned-away traffic shaded) over replicas, one column per run."""
    import matplotlib  # noqa: PLC0415 - heavy; only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(2, len(runs), figsize=(7 * len(runs), 6.5), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [3, 2]})
    long = max(len(t.t) for _, t, _ in runs) > 4 * 3600
    scale, unit = (3600.0, "hours") if long else (60.0, "minutes")
    for column, (label, timeline, summary) in enumerate(runs):
        top, bottom = axes[0][column], axes[1][column]
        x = [t / scale for t in timeline.t]
        top.plot(x, timeline.qps, color="black", lw=1.2, label="traffic (QPS)")
        top.plot(x, timeline.capacity_qps, color="tab:green", lw=1.2, label="ready capacity (QPS)")
        top.plot(x, timeline.metric, color="tab:blue", lw=0.8, ls="--", label="metric seen by the HPA")
        top.fill_between(x, timeline.capacity_qps, timeline.qps, where=[d > 0 for d in timeline.dropped_qps],
                         color="tab:red", alpha=0.35, step=None, label="turned away")
        top.set_ylabel("requests / s")
        top.set_title(f"{label}\nserved {summary['served_fraction'] * 100:.2f}%, turned away {summary['requests_turned_away']:,}, "
                      f"{summary['cost']:,.2f} {summary['currency']}", fontsize=10)
        top.legend(loc="upper right", fontsize=8)
        top.grid(alpha=0.3)
        bottom.step(x, timeline.desired_replicas, where="post", color="tab:orange", lw=1.2, label="desired replicas (HPA)")
        bottom.step(x, timeline.ready_replicas, where="post", color="tab:green", lw=1.2, label="ready replicas")
        bottom.set_ylabel("replicas")
        bottom.set_xlabel(f"time ({unit})")
        bottom.legend(loc="upper right", fontsize=8)
        bottom.grid(alpha=0.3)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def comparison_table(rows: Sequence[tuple[str, dict[str, Any]]]) -> str:
    keys = [("served_fraction", "served fraction"), ("requests_turned_away", "requests turned away"),
            ("max_seconds_to_capacity", "longest shortage (s)"), ("ready_replica_hours", "ready replica-hours"),
            ("cost", "cost"), ("cost_per_million_requests", "cost per million requests")]
    head = "| | " + " | ".join(label for label, _ in rows) + " |"
    lines = [head, "|---|" + "---:|" * len(rows)]
    for key, label in keys:
        lines.append(f"| {label} | " + " | ".join(_fmt(summary.get(key)) for _, summary in rows) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value: Optional[Any]) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if value < 10 else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
