"""``eci-tiers``: ECI in tiers filled in order, e.g. on-demand then spot.

Replaces seed 000's deprecated ``ElasticWorkload`` with a ResourcePolicy of one
ECI unit per tier; a spot tier sets the ECI spot annotations on its pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..problems import ArgProblem, one_of
from ..types import EciSpotStrategy, choices
from .base import TOLERATE_VIRTUAL_NODE, PlacementMode, PodScheduling, eci_spec_annotations, tolerate

if TYPE_CHECKING:
    from ..placement import PlacementArgs

ECI_SPOT_STRATEGY = "k8s.aliyun.com/eci-spot-strategy"
ECI_SPOT_PRICE_LIMIT = "k8s.aliyun.com/eci-spot-price-limit"
ECI_SPOT_FALLBACK = "k8s.aliyun.com/eci-spot-fallback"
ECI_SPOT_DURATION = "k8s.aliyun.com/eci-spot-duration"


class EciTiers(PlacementMode):
    name = "eci-tiers"
    uses_node_pool = False
    uses_eci = True
    options = frozenset({"eci_instance_types", "tiers"})

    def pod_scheduling(self, args: PlacementArgs) -> PodScheduling:
        return PodScheduling(tolerations=[*tolerate(args.node_taints), dict(TOLERATE_VIRTUAL_NODE)])

    def resource_policy(self, args: PlacementArgs) -> Optional[dict[str, Any]]:
        units = []
        for tier in args.tiers:
            annotations = eci_spec_annotations(args)
            if tier.spot_strategy:
                annotations[ECI_SPOT_STRATEGY] = tier.spot_strategy
                if tier.spot_price_limit is not None:
                    annotations[ECI_SPOT_PRICE_LIMIT] = f"{tier.spot_price_limit:g}"
                if tier.spot_fallback:
                    annotations[ECI_SPOT_FALLBACK] = "true"
                annotations[ECI_SPOT_DURATION] = str(tier.spot_protection_hours)
            unit: dict[str, Any] = {"resource": "eci"}
            if tier.max is not None:
                unit["max"] = tier.max
            if annotations:
                unit["podAnnotations"] = annotations
            units.append(unit)
        return {"units": units}


    def problems(self, args: PlacementArgs) -> list[ArgProblem]:
        if not args.tiers:
            return [ArgProblem("tiers", "required with mode 'eci-tiers': list the tiers in fill order, "
                                        "e.g. [{max: 3}, {max: 10, spotStrategy: SpotAsPriceGo}]")]
        found = []
        for i, tier in enumerate(args.tiers):
            at = f"tiers[{i}]"
            if tier.max is None and i != len(args.tiers) - 1:
                found.append(ArgProblem(f"{at}.max", "required on every tier but the last (only the last may be unbounded)"))
            if tier.spot_strategy is not None:
                bad = one_of(f"{at}.spot_strategy", tier.spot_strategy, choices(EciSpotStrategy))
                found += [bad] if bad else []
            if tier.spot_strategy == "SpotWithPriceLimit" and tier.spot_price_limit is None:
                found.append(ArgProblem(f"{at}.spot_price_limit", "required with spot strategy SpotWithPriceLimit"))
            if tier.spot_price_limit is not None and tier.spot_strategy != "SpotWithPriceLimit":
                found.append(ArgProblem(f"{at}.spot_price_limit", "only used with spot strategy SpotWithPriceLimit"))
            if tier.spot_protection_hours not in (0, 1):
                found.append(ArgProblem(f"{at}.spot_protection_hours", "must be 0 or 1 (ECI's protection period)"))
        return found
