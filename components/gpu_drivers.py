"""Which NVIDIA driver a GPU pod gets, and which CUDA builds run on it: one place for these facts.

A server image is built against one CUDA version, and the host's driver branch (R535, R550, R580...) decides whether
it runs. On ACK there are two hosts, each with its own driver:

- An ECS node of a node pool: ACK installs its default driver, or the version the pool's label
  ``ack.aliyun.com/nvidia-driver-version`` names, when the node joins (ACK "Specify an NVIDIA driver version for nodes
  by adding a label"; "List of NVIDIA driver versions supported by ACK": clusters 1.28 and later default to
  535.161.07, ACK changes that default from time to time, and a version it does not list falls back to the default).
- An ECI pod: the instance's pre-installed driver, chosen per pod by ``k8s.aliyun.com/eci-gpu-driver-version``
  among the few ECI offers for the GPU family (ECI "Create a GPU-accelerated ECI pod": gn7i, gn7, gn6i and the
  other gn5-gn7 families offer Tesla 470 (their default, CUDA 11.4), 535 and 550; gn8ia and gn8is 535 (default) and
  550).

A CUDA build runs natively on a driver of its own major version's minimum branch or newer (NVIDIA's minor-version
compatibility: CUDA 12.x on R525 and newer; CUDA 13 needs R580, vLLM docs/getting_started/installation/gpu.cuda.inc.md,
"Running on Systems with Older CUDA Drivers"). An image that carries NVIDIA's forward-compatibility libraries runs a
newer CUDA on some older branches of datacenter GPUs: for CUDA 13, R535 and R570 (same vLLM page) -- not R550.
"""

from __future__ import annotations

import re
from typing import Optional

NODE_DRIVER_LABEL = "ack.aliyun.com/nvidia-driver-version"
"""The node pool label that pins the driver ACK installs on the pool's new GPU nodes."""
ACK_DEFAULT_DRIVER = "535.161.07"
"""What ACK installs on a GPU node of a cluster 1.28 or newer when the pool does not pin a version (subject to change)."""
ACK_DRIVERS = ("570.169", "570.133.20", "550.163.01", "550.144.03", "550.90.07", "535.230.02", "535.161.07")
"""The versions ACK installs on clusters 1.28 and newer; a label naming another gets :data:`ACK_DEFAULT_DRIVER`."""
ECI_DRIVER_ANNOTATION = "k8s.aliyun.com/eci-gpu-driver-version"
"""The ECI pod annotation that picks the pod's driver (``tesla=535``: the major version only, since March 2025)."""

# GPU family -> (ECI's default branch, the branches an ECI pod may ask for).
_ECI_NEWER = (535, (535, 550))
_ECI_OLDER = (470, (470, 535, 550))
ECI_DRIVERS: dict[str, tuple[int, tuple[int, ...]]] = {
    **{family: _ECI_NEWER for family in ("gn8ia", "gn8is")},
    **{family: _ECI_OLDER for family in ("gn7e", "gn7i", "gn7s", "gn7", "gn6v", "gn6e", "gn6i", "gn5i", "gn5")},
}

# A GPU model's CUDA compute capability (NVIDIA "CUDA GPUs - Compute Capability"), by the instance catalog's gpuModel: a
# build runs on a GPU whose capability is at least the lowest architecture it was compiled for.
COMPUTE_CAPABILITY = {"NVIDIA P100": (6, 0), "NVIDIA P4": (6, 1), "NVIDIA V100": (7, 0), "NVIDIA T4": (7, 5),
                      "NVIDIA A100": (8, 0), "NVIDIA A10": (8, 6)}

# CUDA major version -> the oldest driver branch that runs it natively.
NATIVE_MIN_BRANCH = {11: 450, 12: 525, 13: 580}
# CUDA major version -> the older branches NVIDIA's forward-compatibility libraries run it on (datacenter GPUs only).
FORWARD_COMPATIBLE_BRANCHES = {13: (535, 570)}


def ack_installs(version: Optional[str]) -> str:
    """The driver ACK installs on a node of a pool whose label names ``version`` (None: no label)."""
    return version if version in ACK_DRIVERS else ACK_DEFAULT_DRIVER


def branch(version: str) -> Optional[int]:
    """The driver branch of ``535.161.07``, ``535`` or ``tesla=535`` (None: not a driver version)."""
    found = re.fullmatch(r"(?:[a-z]+=)?([0-9]{3})(?:\.[0-9]+)*", version.strip())
    return int(found.group(1)) if found else None


def family(instance_type: str) -> str:
    """``gn7i`` of ``ecs.gn7i-c8g1.2xlarge``."""
    return instance_type.removeprefix("ecs.").split("-")[0].split(".")[0]


def eci_default_branch(instance_type: str) -> Optional[int]:
    """The driver an ECI pod of ``instance_type`` gets when it names none (None: a family this table does not know)."""
    known = ECI_DRIVERS.get(family(instance_type))
    return known[0] if known else None


def eci_offers(instance_type: str, driver_branch: int) -> Optional[bool]:
    """Whether ECI offers ``driver_branch`` on ``instance_type`` (None: a family this table does not know)."""
    known = ECI_DRIVERS.get(family(instance_type))
    return driver_branch in known[1] if known else None


def runs_natively(cuda: tuple[int, int], driver_branch: int) -> bool:
    native = NATIVE_MIN_BRANCH.get(cuda[0])
    return native is not None and driver_branch >= native


def cannot_run(cuda: tuple[int, int], driver_branch: int, compatibility: bool) -> Optional[str]:
    """Why a CUDA ``cuda`` build cannot run on ``driver_branch`` (with its forward-compatibility libraries switched on
    or not), or None when it can."""
    native = NATIVE_MIN_BRANCH.get(cuda[0])
    compatible = FORWARD_COMPATIBLE_BRANCHES.get(cuda[0], ())
    if runs_natively(cuda, driver_branch):
        return None
    if compatibility and driver_branch in compatible:
        return None
    needs = f"R{native} or newer" if native else "a driver this table does not know"
    if compatible:
        needs += " natively, or " + " or ".join(f"R{b}" for b in compatible) + " with its CUDA forward-compatibility libraries"
    return f"CUDA {cuda[0]}.{cuda[1]} needs {needs}"
