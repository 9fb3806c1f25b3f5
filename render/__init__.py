"""``python -m render``: the offline render's entry point of the design contract (DESIGN.md), in this repository.

The code is the package ``elastic_inference_tools`` (the ``elastic-inference``
command); this directory only keeps ``python -m render STACK [--out DIR]`` and
``python -m render diff BASE HEAD`` working from a checkout.
"""
