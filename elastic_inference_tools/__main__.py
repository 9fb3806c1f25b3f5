"""``python -m elastic_inference_tools``: the ``elastic-inference`` command, where its script is not on PATH."""

import sys

from .cli import main

sys.exit(main())
