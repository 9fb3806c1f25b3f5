"""The policy pack, for the Pulumi CLI: ``pulumi preview --policy-pack elastic_inference_tools/policy``.

Where the package is installed rather than checked out, pass a copy of this
directory (the CLI creates the pack's virtualenv inside it).

Per-stack settings: ``--policy-pack-config policy/stacks/<stack>.json`` (dev
makes `ingress-tls` advisory). The offline render applies the same files.
"""

import os
import sys
from typing import TYPE_CHECKING

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pulumi_policy import PolicyPack  # noqa: E402

if TYPE_CHECKING:
    # The same file, as the type checker finds it from the repository root (it checks `policy`
    # as a package); the CLI runs this file from the pack's own directory, as below.
    from elastic_inference_tools.policy.policies import PACK_NAME, POLICIES
else:
    from policies import PACK_NAME, POLICIES  # noqa: E402

PolicyPack(name=PACK_NAME, policies=POLICIES)
