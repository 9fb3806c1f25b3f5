"""A structural fuzzer over the stack file, through the whole render (hypothesis).

Each example replaces one node of the dev stack's config (a section, a key, a
value at any depth) with something hostile, or wraps the file's text in YAML
an attacker would write (tags, anchors). Whatever it is: the render returns an
exit code in {0, 2, 3, 4} without raising, writes nothing unless it is 0, and
never prints the planted text. Bounded (a few dozen examples) so `make test`
stays quick; raise ``FUZZ_EXAMPLES`` to run it longer.
"""

import atexit
import contextlib
import copy
import io
import os
import shutil
import tempfile

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elastic_inference_tools.render.cli import main
from tests.conftest import ROOT, json_paths, link_program

DEV = yaml.safe_load(open(os.path.join(ROOT, "Pulumi.dev.yaml")))["config"]
PLANTED = "PLANTEDfuzz7c1"
# As a key, a planted text is hidden when it looks like a credential (an unknown key that does not is named).
SECRET_KEY = f"LTAI5t{PLANTED}XYZ"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
PROGRAM = link_program(tempfile.mkdtemp(prefix="fuzz-stack-"))
atexit.register(shutil.rmtree, PROGRAM, ignore_errors=True)

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([PLANTED, f"LTAI5t{PLANTED}XYZ", f"<!-- {PLANTED} -->", f"```\n@{PLANTED}", "", " ", "\x00", "../..", "0m",
                     "-1", "1e309", "specific:", "ecs.zz9.large", "kube-system", "a" * 300]),
    st.text(max_size=20).map(lambda t: t + PLANTED),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(["host", "mode", "gpu", "secure", SECRET_KEY, "1"]), st.text(max_size=8)), inner, max_size=3),
), max_leaves=8)


ALL_PATHS = [p for p in json_paths(DEV) if p]


@st.composite
def stacks(draw):
    config = copy.deepcopy(DEV)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        node = config
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.booleans()) and isinstance(node, dict):
                node[SECRET_KEY if draw(st.booleans()) else f"{path[-1]}x"] = draw(VALUES)  # an unknown key
            else:
                node[path[-1]] = draw(VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the path
    text = yaml.safe_dump({"config": config}, allow_unicode=True)
    wrap = draw(st.sampled_from(["", "anchor", "tag", "binary"]))
    if wrap == "anchor":
        text = text.replace("config:\n", f"x: &a [{PLANTED}, *a]\nconfig:\n", 1) if draw(st.booleans()) else "a: &a x\n" + text
    elif wrap == "tag":
        text = text.replace("bucket:", f"bucket: !!python/object:os.system\n  - {PLANTED}\n  other:", 1)
    elif wrap == "binary":
        text = text.replace("bucket:", "bucket: !!binary UExBTlRFRA== #", 1)
    return text


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stacks())
def test_any_stack_file_gets_a_clean_exit(text):
    with open(os.path.join(PROGRAM, "Pulumi.fuzz.yaml"), "w", encoding="utf-8") as fh:
        fh.write(text)
    out = os.path.join(PROGRAM, "out-fuzz")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(["fuzz", "--out", out, "--dir", PROGRAM])
    text_out = printed.getvalue()
    assert code in (0, 2, 3, 4), text_out
    assert "Traceback" not in text_out
    assert PLANTED not in text_out and "UExBTlRFRA" not in text_out, text_out
    if code != 0:
        assert not os.path.exists(out) or os.path.exists(os.path.join(out, ".elastic-inference-render"))
    else:
        for root, _, files in os.walk(out):
            for name in files:
                with open(os.path.join(root, name), encoding="utf-8") as fh:
                    assert f"LTAI5t{PLANTED}" not in fh.read()
