"""``elastic-inference simulate STACK --service NAME --trace FILE|step|spike|diurnal [--out DIR] [--compare OTHER_STACK]``.

Exit codes: 0 simulated; 2 unusable input (stack, service, trace, prices or
assumptions, an output directory it must not replace), with one line saying
which and why; 4 the render's preflight found what a real deployment would hit
(a stack the render refuses is not simulated).

It writes, all or nothing, ``timeline.csv``, ``summary.json``, ``timeline.png``
and with ``--compare`` ``timeline.OTHER.csv`` and ``comparison.md``, into a
directory it replaces only when that holds its own earlier output of the same
program (``..outputs``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Mapping, Optional, Sequence

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


def _trace(spec: str, model: ServiceModel, duration: Optional[int]) -> list[float]:
    if os.path.exists(spec) or spec not in traces.SHAPES:
        return traces.from_csv(spec, duration)
    target = model.hpa.target_milli / 1000 if model.hpa else model.replica_capacity_qps / 1.5
    low_replicas = model.hpa.min_replicas if model.hpa else model.fixed_replicas
    high_replicas = model.hpa.max_replicas if model.hpa else model.fixed_replicas
    # Low: under the scale-out threshold of the minimum; high: 80% of the maximum's target load.
    return traces.shape(spec, 0.5 * target * low_replicas, 0.8 * target * high_replicas, duration)


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


def _run(stack: str, service: str, trace_spec: str, program_dir: str, prices: Mapping[str, Any], assumed: Mapping[str, Any],
         duration: Optional[int], qps: Optional[Sequence[float]] = None,
         outages: Sequence[tuple[int, int]] = ()) -> tuple[ServiceModel, Timeline, dict[str, Any]]:
    model = build.service_model(build.rendered_stack(program_dir, stack), service, prices, assumed)
    if qps is None:
        qps = _trace(trace_spec, model, duration)
    timeline = simulate(model, qps, outages)
    return model, timeline, summarize(model, timeline, prices.get("currency", ""))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="elastic-inference simulate", description=DESCRIPTION)
    parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--service", required=True, help="the service: the name of its ModelEndpoint (or InferenceService)")
    parser.add_argument("--trace", required=True, help="a CSV of `t_seconds,qps`, or step | spike | diurnal")
    parser.add_argument("--out", help="output directory (default PROGRAM/build/simulate/STACK-SERVICE)")
    parser.add_argument("--compare", metavar="OTHER_STACK", help="also simulate the same service of another stack, side by side")
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
        prices = build.load_yaml(args.prices, "prices file")
        assumed = build.assumptions(args.assumptions)
        runs = [(args.stack, *_run(args.stack, args.service, args.trace, args.dir, prices, assumed, args.duration,
                                   outages=args.outage))]
        if args.compare:
            # The same traffic for both: a built-in shape is sized from the first stack's service.
            runs.append((args.compare, *_run(args.compare, args.service, args.trace, args.dir, prices, assumed, args.duration,
                                             qps=runs[0][2].qps, outages=args.outage)))
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

    def fill(staging: str) -> None:
        (label, _, timeline, summary) = runs[0]
        report.write_timeline(os.path.join(staging, TIMELINE), timeline)
        if len(runs) == 1:
            report.write_summary(os.path.join(staging, SUMMARY), summary)
        else:
            other_label, _, other_timeline, other_summary = runs[1]
            report.write_timeline(os.path.join(staging, f"timeline.{other_label}.csv"), other_timeline)
            report.write_summary(os.path.join(staging, SUMMARY), {**summary, "compare": {"stack": other_label, **other_summary}})
            tables.append(report.comparison_table([(label, summary), (other_label, other_summary)]))
            with open(os.path.join(staging, COMPARISON), "w", encoding="utf-8") as fh:
                fh.write(tables[0])
        if not args.no_plot:
            report.plot(os.path.join(staging, PLOT), [(f"{lab} / {args.service}", tl, sm) for lab, _, tl, sm in runs],
                        f"{args.service}: trace {os.path.basename(args.trace)}")

    try:
        OUTPUTS.replace(out, project, fill)
    except OutputDirError as exc:  # it changed while the stacks ran
        print(f"simulate: {exc}", file=sys.stderr)
        return EXIT_INPUT
    for table in tables:
        print(table)
    for lab, _, _, sm in runs:
        print(f"{lab}/{args.service}: served {sm['served_fraction'] * 100:.2f}%, turned away {sm['requests_turned_away']:,} requests, "
              f"replicas {sm['replicas']['min']}-{sm['replicas']['max']}, cost {sm['cost']:,.2f} {sm['currency']}")
    print(f"Wrote {out}/{TIMELINE}, {SUMMARY}" + ("" if args.no_plot else f", {PLOT}"))
    return EXIT_OK
