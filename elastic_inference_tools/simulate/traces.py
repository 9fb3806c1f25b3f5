"""Traffic traces: a CSV file (``t_seconds,qps``), or a built-in shape between two QPS levels, given
(absolute) or sized from a service's HPA (relative)."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from typing import Any, Optional

SHAPES = ("step", "spike", "diurnal")
ABSOLUTE, RELATIVE = "absolute", "relative"
#: How a relative trace is sized from the service's HPA (``target``: its QPS target per replica).
RELATIVE_RULE = "low = 0.5 x target x minReplicas, high = 0.8 x target x maxReplicas"


class TraceError(ValueError):
    pass


@dataclass(frozen=True)
class Trace:
    """A trace as played, and what a reader needs to know of its load."""

    name: str
    """The shape, or the CSV file's name."""
    kind: str
    """``absolute`` (QPS given, or a CSV file) or ``relative`` (sized from ``sized_from``'s HPA)."""
    low_qps: float
    high_qps: float
    """A shape's two levels (the spike goes to 1.2 x high); a CSV file's lowest and highest QPS."""
    qps: list[float]
    sized_from: Optional[str] = None
    """``STACK/SERVICE`` whose HPA sized a relative trace."""

    def describe(self) -> dict[str, Any]:
        """What summary.json says of the trace."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "low_qps": round(self.low_qps, 3),
                               "high_qps": round(self.high_qps, 3), "peak_qps": round(max(self.qps, default=0.0), 3),
                               "seconds": len(self.qps)}
        if self.kind == RELATIVE:
            out["sized_from"] = self.sized_from
            out["sizing"] = RELATIVE_RULE
        return out

    def headline(self) -> str:
        """One line: ``trace step, absolute: 20 to 200 QPS``."""
        text = f"trace {self.name}, {self.kind}: {self.low_qps:,.4g} to {self.high_qps:,.4g} QPS"
        peak = max(self.qps, default=0.0)
        if peak > self.high_qps + 1e-9:
            text += f" (peak {peak:,.4g})"
        if self.kind == RELATIVE:
            text += f", sized from {self.sized_from}'s HPA"
        return text


def is_shape(spec: str) -> bool:
    """A built-in shape (a file of that name wins, as it always did)."""
    return spec in SHAPES and not os.path.exists(spec)


def csv_trace(path: str, duration: Optional[int] = None) -> Trace:
    qps = from_csv(path, duration)
    return Trace(os.path.basename(path), ABSOLUTE, min(qps, default=0.0), max(qps, default=0.0), qps)


def shape_trace(name: str, low: float, high: float, duration: Optional[int] = None, sized_from: Optional[str] = None) -> Trace:
    """A built-in shape: absolute, or relative when ``sized_from`` names the service whose HPA sized it."""
    return Trace(name, RELATIVE if sized_from else ABSOLUTE, low, high, shape(name, low, high, duration), sized_from)


def from_csv(path: str, duration: Optional[int] = None) -> list[float]:
    """Per-second QPS from rows ``t_seconds,qps``: each value holds until the next row's time."""
    points: list[tuple[int, float]] = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise TraceError(f"{path}: cannot read the trace: {exc.strerror} (a trace is a CSV file of t_seconds,qps rows, or one of "
                         f"{', '.join(SHAPES)})") from None
    for number, row in enumerate(rows, start=1):
        if not row or row[0].strip().startswith("#"):
            continue
        if number == 1 and row[0].strip() == "t_seconds":
            continue
        try:
            t, qps = int(float(row[0])), float(row[1])
        except (ValueError, IndexError):
            raise TraceError(f"{path}:{number}: expected `t_seconds,qps` numbers") from None
        if t < 0 or qps < 0 or not math.isfinite(qps):
            raise TraceError(f"{path}:{number}: t_seconds and qps must be >= 0")
        if points and t <= points[-1][0]:
            raise TraceError(f"{path}:{number}: t_seconds must increase")
        points.append((t, qps))
    if not points:
        raise TraceError(f"{path}: no `t_seconds,qps` rows")
    end = duration or points[-1][0] + 1
    series = [0.0] * end
    for i, (t, qps) in enumerate(points):
        stop = points[i + 1][0] if i + 1 < len(points) else end
        for s in range(t, min(stop, end)):
            series[s] = qps
    first = points[0][1]
    for s in range(min(points[0][0], end)):
        series[s] = first
    return series


def shape(name: str, low: float, high: float, duration: Optional[int] = None) -> list[float]:
    """A built-in trace between ``low`` and ``high`` QPS.

    step: the seed's stress test: 5 min low, 20 min high, 15 min low.
    spike: 10 min low, a 2 min spike at 1.2 x high, 18 min low.
    diurnal: one day, a smooth day/night curve from low (04:00) to high (16:00).
    """
    if name == "step":
        series = [low] * 300 + [high] * 1200 + [low] * 900
    elif name == "spike":
        series = [low] * 600 + [1.2 * high] * 120 + [low] * 1080
    elif name == "diurnal":
        day = 86400
        series = [low + (high - low) * (1 - math.cos(2 * math.pi * ((s / day) - 4 / 24))) / 2 for s in range(day)]
    else:
        raise TraceError(f"unknown trace shape {name!r}: use a CSV file or one of {', '.join(SHAPES)}")
    if duration:
        series = (series * (duration // len(series) + 1))[:duration]
    return series
