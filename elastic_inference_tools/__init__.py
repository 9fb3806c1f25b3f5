"""The ``elastic-inference`` command: guardrails for any Pulumi Python program built on the components.

``elastic-inference render STACK`` runs a program offline under Pulumi's mock
runtime (no Pulumi CLI, no credentials), validates what it declares against the
Kubernetes schemas, runs the preflight (``render/preflight/``) and the built-in
policy pack (``policy/``), and writes ``plan.json`` and the manifests;
``elastic-inference diff BASE HEAD`` compares two renders; ``elastic-inference
simulate STACK --service NAME`` plays a traffic trace through a rendered
service's autoscaling. Installed with ``pip install
"elastic-inference-components[tools]"``; in this repository, ``make`` installs it.

Packages: ``render`` (run, validate, preflight, policy, write; ``render.diff``),
``simulate`` (the autoscaling simulator), ``policy`` (the CrossGuard pack, also
run by ``pulumi preview --policy-pack``), ``outputs`` (what an output directory
may be replaced), ``cli`` (the command line).
"""
