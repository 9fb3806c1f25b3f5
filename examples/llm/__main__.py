"""This repository's program (../../__main__.py), run on this directory's LLM stack.

The project is named ``elastic-inference`` so that the stacks' keys are the program's own
(``elastic-inference:services`` ...). The repository's root goes on the import path so that the
program finds its ``config`` and ``components`` packages, as it does when run from the root.
"""

import os
import runpy
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
sys.path.insert(0, ROOT)
runpy.run_path(os.path.join(ROOT, "__main__.py"), run_name="__main__")
