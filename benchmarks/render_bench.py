"""Render benchmark: ``make bench`` (``python -m benchmarks.render_bench``).

For each size (default 1, 10 and 100 services) it generates a stack from a
template stack file (default ``Pulumi.prod.yaml``: its services are repeated,
each copy renamed ``svcNNNN`` with its own ingress host) in a program directory
that links this project's program files and its per-stack policy levels
(``policy/``, as in a checkout; the render runs the built-in pack on every
program), and measures, each in a fresh Python process so that sizes do not
share caches or memory:

- render: the command users run, ``elastic-inference render STACK --dir PROGRAM --out
  DIR`` (its entry point ``elastic_inference_tools.render.cli.main``, in the measured process) end to
  end: load the stack, run the program under the mock runtime, record, build
  and validate every manifest, the preflight, the policy pack (the generated
  stack has no ``policy/stacks/<stack>.json``: every policy at its own level),
  write ``plan.json`` and the manifests, print the resource tree; it must exit 0;
- render without the pack: the same with every policy disabled for the
  stack (``policy/stacks/<stack>.json``: ``{"all": "disabled"}``; the render
  runs the built-in pack on every program, so it still loads it): what the
  pack's checks cost is the difference;
- baseline: only registering the same resources (same types, names, parents,
  inputs and options, taken from the render's plan) with the Pulumi SDK under
  the SDK's own mock runtime (``pulumi.runtime.set_mocks``, inputs echoed as in
  a preview), through the provider SDKs' resource classes
  (``pulumi_kubernetes.apps.v1.Deployment`` ...), as any program creating
  these resources does;
- floor (for information): the same registrations through the generic
  ``pulumi.CustomResource``, which skips the provider classes' typed
  input/output handling no real program avoids.

All four run with the garbage collector paused, as the render does (see
``elastic_inference_tools.render.engine.paused_gc``). Times exclude interpreter start-up and module
imports (reported apart). Each figure is the median of ``--repeat`` runs;
peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import inspect
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional, Sequence

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The program as a checkout holds it, its per-stack policy levels (policy/stacks/) included.
PROGRAM_ENTRIES = ("Pulumi.yaml", "__main__.py", "config", "components", "policy")
POLICY_ENTRY = "policy"
SERVICES_KEY = "elastic-inference:services"
TARGET_SECONDS, TARGET_RATIO = 5.0, 1.5
# Imported by both measured processes before their clocks start (the provider SDKs load
# their submodules lazily, on first use).
PRELOAD = (
    "pulumi", "pulumi_alicloud.cs", "pulumi_alicloud.oss", "pulumi_alicloud.ram", "pulumi_kubernetes.apiextensions",
    "pulumi_kubernetes.apps.v1", "pulumi_kubernetes.autoscaling.v2", "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.helm.v3", "pulumi_kubernetes.meta.v1", "pulumi_kubernetes.networking.v1",
    "pulumi_kubernetes.policy.v1", "pulumi_kubernetes.apps", "pulumi_kubernetes.autoscaling",
    "pulumi_kubernetes.helm", "pulumi_kubernetes.networking", "importlib_resources.readers",
    "elastic_inference_tools.render.cli", "elastic_inference_tools.render.engine", "config", "components",
)
# The render also imports the pack's SDK (when the program has a pack); preloaded in both renders alike.
RENDER_PRELOAD = (*PRELOAD, "pulumi_policy")


def _preload(modules: Sequence[str] = PRELOAD) -> None:
    sys.path.insert(0, ROOT)
    for name in modules:
        module = importlib.import_module(name)
        getattr(module, "_loaded_by_the_benchmark", None)  # a lazy SDK module loads on first attribute access


# -- stack generation --------------------------------------------------------------------------


def generate_stack(template: dict[str, Any], size: int) -> dict[str, Any]:
    """``template`` with its services repeated to ``size`` services."""
    config = copy.deepcopy(template.get("config") or {})
    services = config.get(SERVICES_KEY) or {}
    if not services:
        raise SystemExit(f"the template stack has no {SERVICES_KEY} to repeat")
    shapes = list(services.values())
    generated = {}
    for i in range(size):
        name = f"svc{i:04d}"
        service = copy.deepcopy(shapes[i % len(shapes)])
        ingress = service.setdefault("ingress", {})
        ingress["host"] = f"{name}.bench.example.com"
        generated[name] = service
    config[SERVICES_KEY] = generated
    return {"config": config}


def make_program(workdir: str, template: dict[str, Any], size: int, pack: bool = True) -> tuple[str, str]:
    """A program directory (links to this project's code, its policy pack unless ``pack`` is false)
    holding the generated stack."""
    program = os.path.join(workdir, f"program-{size}" + ("" if pack else "-nopack"))
    os.makedirs(program, exist_ok=True)
    stack = f"bench{size}"
    for entry in PROGRAM_ENTRIES:
        if entry == POLICY_ENTRY and not pack:
            # The render runs the built-in pack on every program: here every policy is disabled for the stack.
            os.makedirs(os.path.join(program, POLICY_ENTRY, "stacks"), exist_ok=True)
            with open(os.path.join(program, POLICY_ENTRY, "stacks", f"{stack}.json"), "w", encoding="utf-8") as fh:
                json.dump({"all": "disabled"}, fh)
            continue
        link = os.path.join(program, entry)
        if not os.path.lexists(link):
            os.symlink(os.path.join(ROOT, entry), link)
    with open(os.path.join(program, f"Pulumi.{stack}.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(generate_stack(template, size), fh, sort_keys=False)
    return program, stack


# -- the measured children ---------------------------------------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_render(program: str, stack: str, out: str) -> dict[str, Any]:
    started = time.perf_counter()
    _preload(RENDER_PRELOAD)
    from elastic_inference_tools.render.cli import main as render_main  # noqa: PLC0415 - imports are timed apart

    imported = time.perf_counter()
    rss_before = _peak_mib()
    # The tree goes to stderr: this process's stdout carries its figures to the driver.
    with contextlib.redirect_stdout(sys.stderr):
        code = render_main([stack, "--dir", program, "--out", out])
    figures = _figures(started, imported, rss_before)
    if code != 0:
        raise SystemExit(f"python -m render {stack} --dir {program} exited {code}")
    from elastic_inference_tools.render.policy import stack_levels  # noqa: PLC0415 - after the clock: what was measured

    with open(os.path.join(out, "plan.json"), encoding="utf-8") as fh:
        plan = json.load(fh)
    return {**figures, "resources": len(plan["resources"]), "manifests": len(os.listdir(os.path.join(out, "manifests"))),
            "policy_pack": stack_levels(program, stack).get("all") != "disabled"}


def _figures(started: float, imported: float, rss_before: float, **counts: int) -> dict[str, Any]:
    """A measured process's report; its clock stops now."""
    done = time.perf_counter()
    return {
        "seconds": done - imported,
        "import_seconds": imported - started,
        "peak_mib": _peak_mib(),
        "peak_over_imports_mib": _peak_mib() - rss_before,
        **counts,
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _provider_class(type_: str) -> Any:
    """The provider SDK class registering ``type_`` (None: use the generic CustomResource)."""
    package, module, kind = type_.split(":")
    if package == "kubernetes":
        import pulumi_kubernetes  # noqa: PLC0415

        group, version = module.rsplit("/", 1)
        if group == "helm.sh":
            return pulumi_kubernetes.helm.v3.Release
        known = {"core": "core", "apps": "apps", "autoscaling": "autoscaling", "policy": "policy",
                 "networking.k8s.io": "networking", "batch": "batch"}
        if group in known:
            return getattr(importlib.import_module(f"pulumi_kubernetes.{known[group]}.{version}"), kind)
        return pulumi_kubernetes.apiextensions.CustomResource
    if package == "alicloud":
        return getattr(importlib.import_module(f"pulumi_alicloud.{module.split('/')[0]}"), kind)
    return None


def child_baseline(plan_path: str, typed: bool) -> dict[str, Any]:
    started = time.perf_counter()
    _preload()
    import pulumi  # noqa: PLC0415
    from pulumi.runtime import mocks, settings  # noqa: PLC0415
    from pulumi.runtime import stack as runtime_stack  # noqa: PLC0415
    from pulumi.runtime.sync_await import _sync_await  # noqa: PLC0415

    from elastic_inference_tools.render.engine import _PreviewMocks, paused_gc  # noqa: PLC0415 - the same echoing mocks

    with open(plan_path, encoding="utf-8") as fh:
        plan = json.load(fh)
    resources = {r["urn"]: r for r in plan["resources"] if not r.get("read")}
    classes = {r["type"]: _provider_class(r["type"]) for r in resources.values() if r["custom"]} if typed else {}
    # The SDK classes' real signature (their public __init__ is overloaded).
    params = {t: set(inspect.signature(c._internal_init).parameters) for t, c in classes.items()  # noqa: SLF001
              if c is not None and hasattr(c, "_internal_init")}
    imported = time.perf_counter()
    rss_before = _peak_mib()

    def program() -> None:
        made: dict[str, Any] = {}

        def make(res: dict[str, Any]) -> Any:
            if res["urn"] in made:
                return made[res["urn"]]
            parent = make(resources[res["parent"]]) if res.get("parent") in resources else None
            options = res.get("options", {})
            opts = pulumi.ResourceOptions(parent=parent, protect=options.get("protect"),
                                          ignore_changes=options.get("ignoreChanges") or None,
                                          retain_on_delete=options.get("retainOnDelete"))
            obj: pulumi.Resource
            if not res["custom"]:
                obj = pulumi.ComponentResource(res["type"], res["name"], None, opts)
            elif res["type"] in params:
                kwargs = {_snake(k): v for k, v in res["inputs"].items() if _snake(k) in params[res["type"]]}
                obj = classes[res["type"]](res["name"], opts=opts, **kwargs)
            elif classes.get(res["type"]) is not None:  # the generic Kubernetes CustomResource (a CRD)
                obj = classes[res["type"]](res["name"], opts=opts, **{_snake(k): v for k, v in res["inputs"].items()})
            else:
                obj = pulumi.CustomResource(res["type"], res["name"], dict(res["inputs"]), opts)
            made[res["urn"]] = obj
            return obj

        for res in resources.values():
            make(res)

    with paused_gc():
        settings.reset_options(project=plan["project"], stack=plan["stack"], preview=True)
        mocks.set_mocks(_PreviewMocks(), project=plan["project"], stack=plan["stack"], preview=True)
        _sync_await(runtime_stack.run_pulumi_func(program))
    return _figures(started, imported, rss_before, resources=len(resources))


# -- the driver --------------------------------------------------------------------------------


def _run_child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.render_bench", "--child", *args],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def _median(runs: list[dict[str, Any]], key: str) -> float:
    values: list[float] = [r[key] for r in runs]
    return statistics.median(values)


def measure(sizes: Sequence[int], template_path: str, repeat: int, workdir: str) -> list[dict[str, Any]]:
    with open(template_path, encoding="utf-8") as fh:
        template = yaml.safe_load(fh)
    rows = []
    for size in sizes:
        program, stack = make_program(workdir, template, size)
        bare_program, _ = make_program(workdir, template, size, pack=False)
        out, bare_out = os.path.join(workdir, f"out-{size}"), os.path.join(workdir, f"out-{size}-nopack")
        plan = os.path.join(out, "plan.json")
        render_runs: list[dict[str, Any]] = []
        bare_runs: list[dict[str, Any]] = []
        typed_runs: list[dict[str, Any]] = []
        floor_runs: list[dict[str, Any]] = []
        for _ in range(repeat):  # interleaved, so that a drift in machine load hits all four alike
            render_runs.append(_run_child(["render", program, stack, out]))
            bare_runs.append(_run_child(["render", bare_program, stack, bare_out]))
            typed_runs.append(_run_child(["baseline", plan, "typed"]))
            floor_runs.append(_run_child(["baseline", plan, "generic"]))
        if not all(r["policy_pack"] for r in render_runs) or any(r["policy_pack"] for r in bare_runs):
            raise SystemExit("the policy pack ran where it should not, or did not run where it should")
        row: dict[str, Any] = {
            "services": size,
            "resources": render_runs[0]["resources"],
            "manifests": render_runs[0]["manifests"],
            "render_s": _median(render_runs, "seconds"),
            "render_nopack_s": _median(bare_runs, "seconds"),
            # Paired by round (the runs are interleaved): what the pack adds.
            "pack_s": statistics.median(r["seconds"] - b["seconds"] for r, b in zip(render_runs, bare_runs, strict=True)),
            "render_peak_mib": max(r["peak_mib"] for r in render_runs),
            "render_over_imports_mib": _median(render_runs, "peak_over_imports_mib"),
            "baseline_s": _median(typed_runs, "seconds"),
            "baseline_peak_mib": max(r["peak_mib"] for r in typed_runs),
            "floor_s": _median(floor_runs, "seconds"),
            "import_s": _median(render_runs, "import_seconds"),
        }
        row["ratio"] = row["render_s"] / row["baseline_s"]
        row["ratio_floor"] = row["render_s"] / row["floor_s"]
        row["ms_per_service"] = 1000 * row["render_s"] / size
        rows.append(row)
        print(f"  {size:>4} services: render {row['render_s']:.2f} s ({row['render_nopack_s']:.2f} s without the pack), "
              f"baseline {row['baseline_s']:.2f} s", file=sys.stderr)
    return rows


def linear_fit(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Least squares ``render_s = a + b * services`` and its R^2."""
    xs = [r["services"] for r in rows]
    ys = [r["render_s"] for r in rows]
    if len(rows) < 2:
        return {"intercept_s": ys[0], "per_service_ms": 0.0, "r2": 1.0}
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - my) ** 2 for y in ys) or 1.0
    return {"intercept_s": intercept, "per_service_ms": 1000 * slope, "r2": 1 - ss_res / ss_tot}


def report(rows: list[dict[str, Any]], fit: dict[str, float], template: str) -> str:
    lines = [
        f"Render benchmark ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, template {os.path.relpath(template, ROOT)})",
        "",
        "| services | resources | manifests | render (s) | without the pack (s) | pack (s) | baseline (s) | render/baseline "
        "| floor (s) | render peak RSS (MiB) | baseline peak RSS (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['services']} | {r['resources']} | {r['manifests']} | {r['render_s']:.2f} | {r['render_nopack_s']:.2f} | "
            f"{r['pack_s']:.2f} | {r['baseline_s']:.2f} | {r['ratio']:.2f}x | {r['floor_s']:.2f} | {r['render_peak_mib']:.0f} | "
            f"{r['baseline_peak_mib']:.0f} |"
        )
    lines += [
        "",
        "render: `elastic-inference render STACK --dir PROGRAM --out DIR` (elastic_inference_tools.render.cli.main) with the preflight and the policy pack;",
        "without the pack: every policy disabled for the stack; pack: the median of the per-round differences.",
        f"Imports before timing: {statistics.median(r['import_s'] for r in rows):.2f} s.",
        f"Linear fit: render = {fit['intercept_s']:.2f} s + {fit['per_service_ms']:.1f} ms x services (R^2 = {fit['r2']:.4f}).",
    ]
    big = max(rows, key=lambda r: r["services"])
    if big["services"] >= 100:
        ok_time, ok_ratio = big["render_s"] < TARGET_SECONDS, big["ratio"] <= TARGET_RATIO
        lines.append(
            f"At {big['services']} services: render {big['render_s']:.2f} s (target < {TARGET_SECONDS:.0f} s: "
            f"{'met' if ok_time else 'MISSED'}), render/baseline {big['ratio']:.2f}x (target <= {TARGET_RATIO}x: "
            f"{'met' if ok_ratio else 'MISSED'}); render/floor {big['ratio_floor']:.2f}x."
        )
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        kind, *rest = argv[1:]
        if kind == "render":
            result = child_render(*rest)
        else:
            result = child_baseline(rest[0], typed=rest[1] == "typed")
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,100", help="comma-separated service counts (default 1,10,100)")
    parser.add_argument("--template", default=os.path.join(ROOT, "Pulumi.prod.yaml"), help="stack file whose services are repeated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported (default 5)")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error("--sizes: comma-separated whole numbers, e.g. 1,10,100")
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        parser.error("--sizes must be positive and --repeat at least 1")
    with tempfile.TemporaryDirectory(prefix="render-bench-") as workdir:
        rows = measure(sizes, os.path.abspath(args.template), args.repeat, workdir)
    fit = linear_fit(rows)
    sys.stdout.write(report(rows, fit, os.path.abspath(args.template)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"rows": rows, "fit": fit}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
