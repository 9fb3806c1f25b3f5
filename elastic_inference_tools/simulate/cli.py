"""``elastic-inference simulate STACK --service NAME --trace FILE | --trace step|spike|diurnal (--qps LOW:HIGH | --relative)
[--out DIR] [--compare OTHER_STACK[:SERVICE]]``.

A CSV trace is absolute QPS; a built-in shape takes its levels in absolute QPS (``--qps``) or, with
``--relative``, from the first stack's HPA; summary.json, the plot and the output say which, and the QPS.

Exit codes: 0 simulated; 2 unusable input (stack, service, trace, prices or
assumptions, an output directory it must not replace), with one line saying
which and why; 4 the render's preflight found what a real deployment would hit
(a stack the render refuses is not simulated).

It writes, all or nothing, ``timeline.csv``, ``summary.json``, ``timeline.png``
and with ``--compare`` ``timeline.OTHER.csv`` (``timeline.OTHER.SERVICE.csv`` for another service) and ``comparison.md``, into a
directory it replaces only when that holds its own earlier output of the same
program (``..outputs``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Mapping, Optional, Sequence

from ..outputs import OutputDirError, Outputs
from ..render import RenderError
from ..render.pipeline import load
from ..render.preflight import EXIT_PREFLIGHT
from . import build, report, traces
from .model import ServiceModel, Timeline, simulate, summarize

EXIT_OK, EXIT_INPUT = 0, 2
DESCRIPTION = ("Play a traffic trace through a rendered service's autoscaling: the metric pipeline, the HPA, capacity coming "
               "up (node pool, ECI), what is served and turned away, and what it costs. Exit 0 simulated; 2 unusable input; "
               "4 the render's preflight refuses the stack.")
TIMELINE, SUMMARY, PLOT, COMPARISON = "timeline.csv", "summary.json", "timeline.png", "comparison.md"


def _owned(entry: str) -> bool:
    return entry in (TIMELINE, SUMMARY, PLOT, COMPARISON) or (entry.startswith("timeline.") and entry.endswith(".csv"))


OUTPUTS = Outputs("simulate", owns=_owned, unmarked=lambda entries: SUMMARY in entries)


def _relative_levels(model: ServiceModel) -> tuple[float, float]:
    """A shape's levels from the service's HPA (``--relative``): low under the scale-out threshold of the
    minimum, high 80% of the maximum's target load (without an HPA: the fixed replicas at 1/1.5 of their capacity)."""
    target = model.hpa.target_milli / 1000 if model.hpa and model.hpa.target_milli else model.replica_capacity_qps / 1.5
    low_replicas = model.hpa.min_replicas if model.hpa else model.fixed_replicas
    high_replicas = model.hpa.max_replicas if model.hpa else model.fixed_replicas
    return 0.5 * target * low_replicas, 0.8 * target * high_replicas


def _trace(spec: str, model: ServiceModel, label: str, duration: Optional[int], levels: Optional[tuple[float, float]]) -> traces.Trace:
    """The trace: a CSV file; a shape between ``levels`` (absolute QPS); or, without levels, sized from ``model``."""
    if not traces.is_shape(spec):
        return traces.csv_trace(spec, duration)
    if levels is not None:
        return traces.shape_trace(spec, *levels, duration)
    return traces.shape_trace(spec, *_relative_levels(model), duration, sized_from=label)


def _trace_options(spec: str, qps: Optional[tuple[float, float]], relative: bool) -> None:
    """A shape needs --qps or --relative; a CSV file is absolute by nature and takes neither."""
    if traces.is_shape(spec):
        if qps is None and not relative:
            raise traces.TraceError(f"--trace {spec} is a shape: give its load, --qps LOW:HIGH in absolute requests per second "
                                    f"(e.g. --qps 20:200), or --relative to size it from the first stack's HPA ({traces.RELATIVE_RULE})")
    elif qps is not None or relative:
        raise traces.TraceError(f"--trace {spec} is a CSV file, its QPS absolute: --qps and --relative are for the shapes "
                                f"{', '.join(traces.SHAPES)}")


def _qps(text: str) -> tuple[float, float]:
    low, sep, high = text.partition(":")
    try:
        levels = (float(low), float(high)) if sep else None
    except ValueError:
        levels = None
    if levels is None or not all(math.isfinite(v) for v in levels) or not 0 <= levels[0] < levels[1]:
        raise argparse.ArgumentTypeError("--qps is LOW:HIGH in requests per second, 0 <= LOW < HIGH (e.g. 20:200)")
    return levels


def _compare(text: str) -> tuple[str, Optional[str]]:
    stack, sep, service = text.partition(":")
    if not stack or (sep and not service):
        raise argparse.ArgumentTypeError("--compare is OTHER_STACK or OTHER_STACK:SERVICE")
    return stack, service or None


#: A week, second by second: longer runs take minutes and say nothing a week does not.
MAX_DURATION = 7 * 86_400


def _duration(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_DURATION:
        raise argparse.ArgumentTypeError(f"a duration is whole seconds from 1 to {MAX_DURATION}")
    return int(text)


def _outage(text: str) -> tuple[int, int]:
    start, sep, end = text.partition(":")
    if not sep or not start.isdigit() or not end.isdigit() or int(end) <= int(start):
        raise argparse.ArgumentTypeError("an outage is START:END in whole seconds, END after START (e.g. 600:1200)")
    return int(start), int(end)


@dataclass(frozen=True)
class _Run:
    stack: str
    service: str
    model: ServiceModel
    timeline: Timeline
    summary: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.stack}/{self.service}"


def _run(stack: str, service: str, trace: Callable[[ServiceModel, str], traces.Trace], program_dir: str,
         prices: Mapping[str, Any], assumed: Mapping[str, Any], outages: Sequence[tuple[int, int]] = (),
         start: Optional[datetime] = None) -> tuple[_Run, traces.Trace]:
    """Simulate ``stack``'s ``service`` under ``trace(model, "STACK/SERVICE")``; its scheduled floors from wall-clock ``start``."""
    model = build.service_model(build.rendered_stack(program_dir, stack), service, prices, assumed)
    played = trace(model, f"{stack}/{service}")
    if model.schedule and start is not None:
        model = replace(model, floor_events=build.floor_events(model.schedule, start, len(played.qps)))
    timeline = simulate(model, played.qps, outages)
    summary = summarize(model, timeline, prices.get("currency", ""))
    if model.schedule:
        summary["schedule"] = {"entries": [{"name": n, "cron": c, "minReplicas": size} for n, c, size in model.schedule],
                               "applied": start is not None, "start": start.isoformat() if start else None,
                               "floors_set": [list(e) for e in model.floor_events]}
    return _Run(stack, service, model, timeline, summary), played


def _start(text: str) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a start is a date and time like 2026-11-23T08:00 (the CronHPA controller's time zone)") from None
    if start.tzinfo is not None:
        # The controller fires in its own zone (its chart's timezone, Asia/Shanghai by default), which the plan does not say.
        raise argparse.ArgumentTypeError("give the start without a UTC offset, as a time in the CronHPA controller's time zone")
    return start


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="elastic-inference simulate", description=DESCRIPTION)
    parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--service", required=True, help="the service: the name of its ModelEndpoint (or InferenceService)")
    parser.add_argument("--trace", required=True,
                        help="a CSV of `t_seconds,qps` rows (absolute QPS), or a shape, step | spike | diurnal, with --qps or --relative")
    load_group = parser.add_mutually_exclusive_group()
    load_group.add_argument("--qps", type=_qps, metavar="LOW:HIGH",
                            help="a shape's load in requests per second: step is 5 min LOW, 20 min HIGH, 15 min LOW; spike 10 min LOW, "
                                 "2 min at 1.2 x HIGH, 18 min LOW; diurnal a day from LOW (04:00) to HIGH (16:00)")
    load_group.add_argument("--relative", action="store_true",
                            help=f"size a shape from the first stack's HPA instead ({traces.RELATIVE_RULE}); the outputs say so, "
                                 "with the QPS it came to")
    parser.add_argument("--out", help="output directory (default PROGRAM/build/simulate/STACK-SERVICE)")
    parser.add_argument("--start", type=_start, metavar="YYYY-MM-DDTHH:MM",
                        help="the wall-clock time of the trace's first second, in the CronHPA controller's time zone: a service's "
                             "scheduled floors (autoscaling.schedule) fire as they would then; without it they are not applied (said)")
    parser.add_argument("--compare", type=_compare, metavar="OTHER_STACK[:SERVICE]",
                        help="also simulate a service of another stack (default: the same --service) under the same traffic, side by side")
    parser.add_argument("--prices", default=build.DEFAULT_PRICES, help="hourly prices (default: the prices.yaml shipped with the simulator, example figures)")
    parser.add_argument("--assumptions", help="overrides of the simulator's assumptions.yaml (delays, replica capacity)")
    parser.add_argument("--duration", type=_duration, help=f"seconds to simulate, 1 to {MAX_DURATION} (default: the trace's length)")
    parser.add_argument("--dir", default=".", help="the Pulumi program's directory (default: current directory)")
    parser.add_argument("--outage", action="append", type=_outage, default=[], metavar="START:END",
                        help="seconds during which the QPS metric cannot be read (SLS or the adapter down); repeatable")
    parser.add_argument("--no-plot", action="store_true", help="skip timeline.png")
    args = parser.parse_args(argv)
    out = os.path.normpath(args.out or os.path.join(args.dir, "build", "simulate", f"{args.stack}-{args.service}"))
    try:
        project = load(args.dir, args.stack).project
        OUTPUTS.check(out, project)
        _trace_options(args.trace, args.qps, args.relative)
        prices = build.load_yaml(args.prices, "prices file")
        assumed = build.assumptions(args.assumptions)
        first, trace = _run(args.stack, args.service, lambda model, label: _trace(args.trace, model, label, args.duration, args.qps),
                            args.dir, prices, assumed, args.outage, args.start)
        runs = [first]
        if args.start is not None and not first.model.schedule:
            print(f"simulate: {first.label}: --start is not used: the service has no scheduled floors", file=sys.stderr)
        if args.compare:
            # The same traffic for both: a relative shape is sized from the first stack's service.
            other_stack, other_service = args.compare
            try:
                runs.append(_run(other_stack, other_service or args.service, lambda _model, _label: trace, args.dir, prices, assumed,
                                 args.outage, args.start)[0])
            except build.SimulationInputError as exc:
                if isinstance(exc, build.PreflightRefusedError):
                    raise
                # The other stack's service is --compare's, not --service's.
                raise build.SimulationInputError(str(exc).replace(f"--service {other_service or args.service}:",
                                                                  f"--compare {other_stack}:{other_service or args.service}:", 1)) from None
    except RenderError as exc:
        print("\n".join(f"simulate: {line}" for line in exc.lines), file=sys.stderr)
        return EXIT_INPUT
    except build.PreflightRefusedError as exc:
        print("\n".join(f"simulate: {line}" for line in exc.lines), file=sys.stderr)
        return EXIT_PREFLIGHT
    except KeyError as exc:  # a prices or assumptions file without a section or value the model reads
        print(f"simulate: the prices or assumptions file lacks {exc}: see the shipped prices.yaml and assumptions.yaml", file=sys.stderr)
        return EXIT_INPUT
    except (build.SimulationInputError, traces.TraceError, OutputDirError, LookupError, ValueError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return EXIT_INPUT

    tables: list[str] = []
    summary = {"stack": first.stack, **first.summary, "trace": trace.describe()}

    def fill(staging: str) -> None:
        report.write_timeline(os.path.join(staging, TIMELINE), first.timeline)
        if len(runs) == 1:
            report.write_summary(os.path.join(staging, SUMMARY), summary)
        else:
            other = runs[1]
            name = other.stack if other.service == first.service else f"{other.stack}.{other.service}"
            report.write_timeline(os.path.join(staging, f"timeline.{name}.csv"), other.timeline)
            report.write_summary(os.path.join(staging, SUMMARY), {**summary, "compare": {"stack": other.stack, **other.summary}})
            tables.append(report.comparison_table([(run.label, run.summary) for run in runs]))
            with open(os.path.join(staging, COMPARISON), "w", encoding="utf-8") as fh:
                fh.write(f"{trace.headline()}\n\n{tables[0]}")
        if not args.no_plot:
            report.plot(os.path.join(staging, PLOT), [(run.label, run.model, run.timeline, run.summary) for run in runs],
                        trace.headline())

    try:
        OUTPUTS.replace(out, project, fill)
    except OutputDirError as exc:  # it changed while the stacks ran
        print(f"simulate: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(trace.headline())
    for table in tables:
        print(table)
    for run in runs:
        sm, split = run.summary, run.summary["by_capacity"]
        print(f"{run.label}: served {sm['served_fraction'] * 100:.2f}%, turned away {sm['requests_turned_away']:,} requests, "
              f"replicas {sm['replicas']['min']}-{sm['replicas']['max']}, cost {sm['cost']:,.2f} {sm['currency']} "
              f"(ECS nodes {split['ecs']['cost']:,.2f}, ECI pods {split['eci']['cost']:,.2f})")
        schedule = sm.get("schedule")
        if schedule and not schedule["applied"]:
            print(f"{run.label}: its {len(schedule['entries'])} scheduled floor(s) are not applied: give --start (the trace's wall-clock start)")
        elif schedule:
            print(f"{run.label}: scheduled floors fired {len(schedule['floors_set'])} time(s) from {schedule['start']}")
    print(f"Wrote {out}/{TIMELINE}, {SUMMARY}" + ("" if args.no_plot else f", {PLOT}"))
    return EXIT_OK
