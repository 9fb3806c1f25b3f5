"""Scheduled floors: named cron entries that raise and lower an HPA's minimum ahead of known peaks.

ACK's ``ack-kubernetes-cronhpa-controller`` (AliyunContainerService/kubernetes-cronhpa-controller)
runs a ``CronHorizontalPodAutoscaler``'s jobs. Pointed at an HPA (its "HPA-compatible" mode,
``pkg/controller/cronjob.go`` ``ScaleHPA``), a job with ``targetSize`` N, when it fires:

- sets the HPA's ``minReplicas`` to N only when the HPA runs fewer than N replicas at that
  moment, and scales the workload to N; when it already runs N or more, the floor is left
  as it was (so repeat a raising entry through its window, e.g. ``0 */15 8-19 * * MON-FRI``:
  each firing sets the floor once the count has fallen below N);
- lowers ``minReplicas`` to N when N is below it, or when the HPA sits at its minimum above N;
- so the HPA keeps scaling on QPS above the floor, and the floor holds when the QPS metric
  cannot be read;
- raises the HPA's ``maxReplicas`` to N when N is above it: refused here, a schedule never
  widens the HPA's bounds behind its back (entries stay within ``min_replicas``..``max_replicas``).

The schedule is go-cron's (the controller's README; ringtail/go-cron parser.go, spec.go): six
fields, seconds first (``0 0 8 * * MON-FRI``; day of week 0-6 or SUN-SAT, 7 is not Sunday), or
``@daily``-style, ``@every <duration>`` and ``@date YYYY-MM-DD hh:mm:ss``, in the controller's
time zone (its chart's ``controller.timezone``, default ``Asia/Shanghai``). go-cron also takes
five fields, but as seconds-first with the day of week left out, so a crontab line would fire at
the wrong times: it is refused here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from ._annotations import with_skips
from .problems import ArgProblem

CRD = "cronhorizontalpodautoscalers.autoscaling.alibabacloud.com"
API_VERSION = "autoscaling.alibabacloud.com/v1beta1"
KIND = "CronHorizontalPodAutoscaler"
ADDON = "ack-kubernetes-cronhpa-controller"
PREREQUISITE = (f"the {ADDON} add-on serves CronHorizontalPodAutoscaler (autoscaling.schedule: scheduled floors; "
                "AliyunContainerService/kubernetes-cronhpa-controller)")
#: The controller updates the HPA's minReplicas itself, so a later apply of the HPA by Pulumi (Server-Side
#: Apply) would conflict on that field: the provider forces its apply when the resource carries this
#: annotation (pulumi_kubernetes Provider ``enable_patch_force``: "1. The `pulumi.com/patchForce`
#: annotation on the resource"). Such an apply resets the floor to min_replicas until the next entry fires.
#: QpsAutoscaler's HPA always carries it, so removing a schedule cannot leave a conflict behind either.
PATCH_FORCE = "pulumi.com/patchForce"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_FIELD = re.compile(r"^[0-9A-Za-z*/,?-]+$")
_EVERY = re.compile(r"^@every ((\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$")
_DATE = re.compile(r"^@date \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@dataclass(frozen=True, kw_only=True)
class ScheduledFloor:
    """One entry of a schedule: from ``cron`` on, the HPA's floor is ``min_replicas``."""

    name: str
    """Unique in the schedule (a DNS label): the controller reports each job's state by it."""
    cron: str
    """When: six fields, seconds first (``0 0 8 * * MON-FRI``), or ``@daily``, ``@every 1h``, ``@date 2026-11-11 08:00:00``."""
    min_replicas: int
    """The floor from then on (set when the HPA runs fewer replicas as the entry fires), within the HPA's
    ``min_replicas``..``max_replicas``."""


#: go-cron's fields (ringtail/go-cron spec.go bounds, parser.go names; names are case-insensitive).
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (("seconds", 0, 59, {}), ("minutes", 0, 59, {}), ("hours", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
           ("day of week", 0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}))


def _field_values(text: str, index: int) -> frozenset[int] | str:
    """The values field ``index`` of a six-field spec allows, or why go-cron refuses it (parser.go getRange)."""
    name, low, high, names = _FIELDS[index]
    allowed: set[int] = set()
    star = False
    for item in text.split(","):
        span, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) < 1):
            return f"its {name} field has a step that is not a positive number"
        every = int(step) if step else 1
        if span in ("*", "?"):
            if span == "?" and index not in (3, 5):
                return f"'?' is only for day of month or day of week, not {name}"
            star = star or not step
            allowed.update(range(low, high + 1, every))
            continue
        ends = span.split("-")
        if len(ends) > 2 or not all(ends):
            return f"its {name} field is not a value, a range or '*'"
        values = []
        for end in ends:
            value = names.get(end.lower()) if not end.isdigit() else int(end)
            if value is None or not low <= value <= high:
                extra = " (0 is Sunday; 7 is not a day)" if index == 5 else ""
                return f"its {name} field must be within {low}-{high}{' or names' if names else ''}{extra}"
            values.append(value)
        if len(values) == 2 and values[0] > values[1]:
            return f"its {name} field has a range that runs backwards"
        # "N/step" runs from N to the field's maximum (the README's "N-MAX/...").
        first, last = values[0], values[-1] if len(values) == 2 else (high if step else values[0])
        allowed.update(range(first, last + 1, every))
    return frozenset(allowed | ({-1} if star else set()))  # -1 marks '*' or '?' (go-cron's starBit)


#: The predefined schedules as six fields (go-cron parser.go parseDescriptor).
_DESCRIPTORS: dict[str, str] = {"@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *", "@weekly": "0 0 0 * * 0",
                "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *", "@hourly": "0 0 * * * *"}


def cron_fields(cron: str) -> tuple[frozenset[int], ...]:
    """The six value sets of a six-field spec or a predefined schedule; ValueError (its reason) otherwise."""
    text = _DESCRIPTORS.get(" ".join(cron.split()), " ".join(cron.split()))
    fields = text.split(" ")
    if len(fields) != 6:
        raise ValueError("must have 6 fields")
    found = [_field_values(f, i) for i, f in enumerate(fields)]
    for value in found:
        if isinstance(value, str):
            raise ValueError(value)
    return tuple(v for v in found if not isinstance(v, str))


def date_of(cron: str) -> Optional[datetime]:
    """The moment of an ``@date YYYY-MM-DD hh:mm:ss`` schedule, None for another; ValueError for a date that does not exist."""
    text = " ".join(cron.split())
    if not _DATE.match(text):
        return None
    return datetime.strptime(text[len("@date "):], "%Y-%m-%d %H:%M:%S")


def fires(fields: tuple[frozenset[int], ...], at: datetime) -> bool:
    """Whether a spec of :func:`cron_fields` fires at the whole second ``at`` (go-cron spec.go Next, dayMatches)."""
    second, minute, hour, dom, month, dow = fields
    if at.second not in second or at.minute not in minute or at.hour not in hour or at.month not in month:
        return False
    dom_match, dow_match = at.day in dom, (at.isoweekday() % 7) in dow
    # Day of month and day of week: both must match when either is '*' or '?', one suffices otherwise.
    return dom_match and dow_match if (-1 in dom or -1 in dow) else dom_match or dow_match


def cron_problem(cron: Any) -> Optional[str]:
    """Why ``cron`` is not a schedule the controller's go-cron reads as meant, or None."""
    if not isinstance(cron, str) or not cron.strip():
        return "must be a cron schedule"
    text = " ".join(cron.split())
    if text.startswith("@"):
        if text in _DESCRIPTORS or _EVERY.match(text):
            return None
        try:
            if date_of(text) is not None:
                return None
        except ValueError:
            return "names a date that does not exist"
        return "must be one of @yearly, @monthly, @weekly, @daily, @hourly, '@every <duration>' or '@date YYYY-MM-DD hh:mm:ss'"
    fields = text.split(" ")
    if len(fields) == 5:
        return ("has 5 fields: the controller reads them seconds first (seconds minutes hours day-of-month month), so a crontab "
                "line fires at the wrong times; write 6 fields, seconds first (a crontab line takes '0 ' in front: "
                "'0 */15 8-19 * * 1-5')")
    if len(fields) != 6 or not all(_FIELD.match(f) for f in fields):
        return "must have 6 fields, seconds first (seconds minutes hours day-of-month month day-of-week), e.g. '0 0 8 * * MON-FRI'"
    try:
        cron_fields(text)
    except ValueError as exc:
        return str(exc)
    return None


def schedule_problems(schedule: Sequence[ScheduledFloor], min_replicas: int, max_replicas: int, arg: str = "schedule") -> list[ArgProblem]:
    """What is wrong with ``schedule`` for an HPA of ``min_replicas``..``max_replicas``."""
    found: list[ArgProblem] = []
    seen: set[str] = set()
    for i, entry in enumerate(schedule):
        at = f"{arg}[{i}]"
        if not isinstance(entry.name, str) or not _NAME.match(entry.name):
            found.append(ArgProblem(f"{at}.name", "must be a DNS label (lowercase letters, digits, '-', at most 63)"))
        elif entry.name in seen:
            found.append(ArgProblem(f"{at}.name", "is used twice: each entry needs its own name"))
        else:
            seen.add(entry.name)
        why = cron_problem(entry.cron)
        if why:
            found.append(ArgProblem(f"{at}.cron", why))
        bad = checks.whole_number(f"{at}.min_replicas", entry.min_replicas, 1)
        if bad:
            found.append(bad)
        elif not min_replicas <= entry.min_replicas <= max_replicas:
            found.append(ArgProblem(f"{at}.min_replicas", f"must be within min_replicas..max_replicas ({min_replicas}..{max_replicas}): "
                                                          "above the maximum the controller would raise the HPA's maxReplicas, below the "
                                                          "minimum it would lower the floor"))
    floors = [e.min_replicas for e in schedule if isinstance(e.min_replicas, int)]
    if floors and min(floors) > min_replicas and not found:
        found.append(ArgProblem(arg, f"no entry returns the floor to min_replicas ({min_replicas}): once raised it would stay raised; "
                                     f"add an entry with min_replicas {min_replicas} for after the peak"))
    return found


def cron_hpa(name: str, namespace: str, hpa_name: str, schedule: Sequence[ScheduledFloor], parent: pulumi.Resource,
             depends_on: Any = None) -> k8s.apiextensions.CustomResource:
    """The CronHorizontalPodAutoscaler that runs ``schedule`` against the HPA ``hpa_name``."""
    return k8s.apiextensions.CustomResource(
        f"{name}-cron-hpa",
        api_version=API_VERSION,
        kind=KIND,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels={"app.kubernetes.io/managed-by": "pulumi"},
                                            annotations=with_skips(None, namespace=namespace)),
        spec={
            # The controller reads the HPA through autoscaling/v1 whatever the version named here; it only
            # needs group and version present (cronjob.go CronHPAJobFactory, checkRefValid).
            "scaleTargetRef": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": hpa_name},
            "jobs": [{"name": e.name, "schedule": " ".join(e.cron.split()), "targetSize": e.min_replicas} for e in schedule],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
