"""Simulator benchmark (part of ``make bench``): one day at one-second resolution for one service.

Times ``simulate.model.simulate`` over a 86,400-second diurnal trace (the target:
under 2 s on this project's 2-CPU machine), then the whole command (render the
stack, simulate, write timeline.csv and summary.json, plot) for reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_SECONDS = 2.0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simulate_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--service", default="bert")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from elastic_inference_tools.simulate import build, traces  # noqa: PLC0415
    from elastic_inference_tools.simulate.model import simulate  # noqa: PLC0415

    prices = build.load_yaml(build.DEFAULT_PRICES, "prices")
    model = build.service_model(build.rendered_stack(ROOT, args.stack), args.service, prices, build.assumptions(None))
    high = 0.8 * model.hpa.max_replicas * model.hpa.target_milli / 1000 if model.hpa and model.hpa.target_milli else 10.0
    day = traces.shape("diurnal", 0.1 * high, high)
    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        timeline = simulate(model, day)
        runs.append(time.perf_counter() - started)
    core = statistics.median(runs)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "elastic_inference_tools", "simulate", args.stack, "--service", args.service, "--trace", "diurnal", "--relative", "--out", out],
                       cwd=ROOT, check=True, capture_output=True)
        whole = time.perf_counter() - started
    print(f"Simulator benchmark ({os.cpu_count()} CPUs): {args.stack}/{args.service}, one day ({len(day):,} s), "
          f"{max(timeline.desired_replicas)} replicas at the peak")
    print(f"  simulate(): median {core:.3f} s of {args.repeat} (target < {TARGET_SECONDS:.0f} s: {'met' if core < TARGET_SECONDS else 'MISSED'})")
    print(f"  the whole command (render, simulate, CSV, JSON, plot; Python start-up included): {whole:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
