"""``python -m simulate``: the simulator's entry point from a checkout; the code is ``elastic_inference_tools.simulate``."""
