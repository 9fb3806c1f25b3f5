"""``elastic-inference simulate STACK --service NAME --trace FILE|step|spike|diurnal [--out DIR] [--compare OTHER_STACK]``.

Exit codes: 0 simulated; 2 unusable input (stack, service, trace, prices or
assumptions), with one line saying which and why.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Mapping, Optional, Sequence

from ..outputs import MARKER, OutputDirError, check, marker_text
from ..render import RenderError
from ..render.pipeline import load
from . import build, report, traces
from .model import ServiceModel, Timeline, simulate, summarize

EXIT_OK, EXIT_INPUT = 0, 2
TOOL = "simulate"
#: What the simulator wrote before its outputs held the marker.
_OUTPUTS = {"timeline.csv", "summary.json", "timeline.png", "comparison.md"}


def _earlier(entries: set[str]) -> bool:
    return all(e in _OUTPUTS or (e.startswith("timeline.") and e.endswith(".csv")) for e in entries)


def _trace(spec: str, model: ServiceModel, duration: Optional[int]) -> list[float]:
    if os.path.exists(spec) or spec not in traces.SHAPES:
        return traces.from_csv(spec, duration)
    target = model.hpa.target_milli / 1000 if model.hpa else model.replica_capacity_qps / 1.5
    low_replicas = model.hpa.min_replicas if model.hpa else model.fixed_replicas
    high_replicas = model.hpa.max_replicas if model.hpa else model.fixed_replicas
    # Low: under the scale-out threshold of the minimum; high: 80% of the maximum's target load.
    return traces.shape(spec, 0.5 * target * low_replicas, 0.8 * target * high_replicas, duration)


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
    parser = argparse.ArgumentParser(prog="elastic-inference simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--service", required=True, help="the service: the name of its ModelEndpoint (or InferenceService)")
    parser.add_argument("--trace", required=True, help="a CSV of `t_seconds,qps`, or step | spike | diurnal")
    parser.add_argument("--out", help="output directory (default PROGRAM/build/simulate/STACK-SERVICE)")
    parser.add_argument("--compare", metavar="OTHER_STACK", help="also simulate the same service of another stack, side by side")
    parser.add_argument("--prices", default=build.DEFAULT_PRICES, help="hourly prices (default: simulate/prices.yaml, example figures)")
    parser.add_argument("--assumptions", help="overrides of simulate/assumptions.yaml (delays, replica capacity)")
    parser.add_argument("--duration", type=int, help="seconds to simulate (default: the trace's length)")
    parser.add_argument("--dir", default=".", help="the Pulumi program's directory (default: current directory)")
    parser.add_argument("--outage", action="append", type=_outage, default=[], metavar="START:END",
                        help="seconds during which the QPS metric cannot be read (SLS or the adapter down); repeatable")
    parser.add_argument("--no-plot", action="store_true", help="skip timeline.png")
    args = parser.parse_args(argv)
    out = args.out or os.path.normpath(os.path.join(args.dir, "build", "simulate", f"{args.stack}-{args.service}"))
    try:
        project = load(args.dir, args.stack).project
        check(out, TOOL, project, _earlier)
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
    except (build.SimulationInputError, traces.TraceError, OutputDirError, LookupError, KeyError, ValueError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return EXIT_INPUT

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, MARKER), "w", encoding="utf-8") as fh:
        fh.write(marker_text(TOOL, project))
    (label, _, timeline, summary) = runs[0]
    report.write_timeline(os.path.join(out, "timeline.csv"), timeline)
    if len(runs) == 1:
        report.write_summary(os.path.join(out, "summary.json"), summary)
    else:
        other_label, _, other_timeline, other_summary = runs[1]
        report.write_timeline(os.path.join(out, f"timeline.{other_label}.csv"), other_timeline)
        report.write_summary(os.path.join(out, "summary.json"), {**summary, "compare": {"stack": other_label, **other_summary}})
        table = report.comparison_table([(label, summary), (other_label, other_summary)])
        with open(os.path.join(out, "comparison.md"), "w", encoding="utf-8") as fh:
            fh.write(table)
        print(table)
    if not args.no_plot:
        report.plot(os.path.join(out, "timeline.png"), [(f"{lab} / {args.service}", tl, sm) for lab, _, tl, sm in runs],
                    f"{args.service}: trace {os.path.basename(args.trace)}")
    for lab, _, _, sm in runs:
        print(f"{lab}/{args.service}: served {sm['served_fraction'] * 100:.2f}%, turned away {sm['requests_turned_away']:,} requests, "
              f"replicas {sm['replicas']['min']}-{sm['replicas']['max']}, cost {sm['cost']:,.2f} {sm['currency']}")
    print(f"Wrote {out}/timeline.csv, summary.json" + ("" if args.no_plot else ", timeline.png"))
    return EXIT_OK
