"""A structural fuzzer over `render diff`'s input (hypothesis): any plan.json, a clean exit.

Each example replaces nodes of a plan the render writes with arbitrary JSON, or
plants hostile text in keys, names and values. `render diff` must exit 0 or 2
without raising, and what it prints as Markdown must carry no planted `<!--`,
fence or @mention unescaped. Bounded; raise ``FUZZ_EXAMPLES`` to run it longer.
"""

import contextlib
import copy
import io
import json
import os
import re
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elastic_inference_tools.render.diff import main as diff_main
from tests.conftest import json_paths, replace_at

PLANTED = "<!-- @planted ``` -->"
# Planted too: a multi-line value (shown as a line diff) and a Markdown link.
MULTI = "line\n<!-- @planted\n```\n[link](https://planted.example)"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
RESOURCE = {
    "urn": "urn:pulumi:s::p::t:a::a", "type": "alicloud:oss/bucketObject:BucketObject", "name": "a", "parent": None, "custom": True,
    "inputs": {"bucket": "b", "key": "k", "nested": {"list": [1, "two", {"x": None}]}},
    "options": {"protect": True, "retainOnDelete": False, "ignoreChanges": ["x"], "dependsOn": []},
    "propertyDependencies": {"bucket": ["urn:pulumi:s::p::t:b::b"]}, "aliases": [],
}
PLAN = {"project": "p", "stack": "s", "outputs": {"url": "http://x"}, "config": {"p:k": {"a": 1}}, "configSecrets": {"p:s": "sha256:0"},
        "resources": [RESOURCE, {**RESOURCE, "urn": "urn:pulumi:s::p::t:b::b", "name": "b", "type": "kubernetes:core/v1:ConfigMap"}]}

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10),
              st.just(PLANTED), st.just(MULTI), st.just("line\n" + MULTI)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.one_of(st.text(max_size=6), st.just(PLANTED), st.just(MULTI)), inner, max_size=3)),
    max_leaves=6,
)


ALL = [p for p in json_paths(PLAN) if p]


@st.composite
def plans(draw):
    plan = copy.deepcopy(PLAN)
    for _ in range(draw(st.integers(1, 3))):
        replace_at(plan, draw(st.sampled_from(ALL)), draw(JSON))
    return plan


@settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), st.booleans())
def test_any_plan_gets_a_clean_exit_and_an_escaped_comment(head, as_base):
    with tempfile.TemporaryDirectory() as root:
        dirs = {}
        for side, plan in (("base", PLAN if not as_base else head), ("head", head if not as_base else PLAN)):
            os.makedirs(os.path.join(root, side, "s"))
            with open(os.path.join(root, side, "s", "plan.json"), "w", encoding="utf-8") as fh:
                json.dump(plan, fh)
            dirs[side] = os.path.join(root, side)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = diff_main([dirs["base"], dirs["head"]])
    assert code in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
    if code == 0:
        body = out.getvalue().split("\n", 1)[1]
        assert "<!--" not in body and "@planted" not in body and "``` -->" not in body
        assert "```\n" not in body.replace("```diff\n", "").replace("    ```\n", "")  # only the line diff's own fences
        assert "[link](" not in re.sub(r"<pre>.*?</pre>", "", body, flags=re.S)  # in <pre>, Markdown is not read
