"""The public API of the components is frozen: a type token, argument or output that changes or
disappears must come with an alias (type tokens: ``TYPE_ALIASES`` in the module) or a CHANGELOG entry.

After an intended change (with its CHANGELOG entry), refresh the snapshot:
``.venv-dev/bin/python -m tests.test_public_api``.
"""

import dataclasses
import inspect
import json
import os
import sys

import pulumi

import components
from tests.conftest import ROOT

SNAPSHOT = os.path.join(os.path.dirname(__file__), "public_api.json")
CHANGELOG = os.path.join(ROOT, "CHANGELOG.md")


def current_api() -> dict:
    api = {}
    for name in components.__all__:
        obj = getattr(components, name)
        if name == "__version__":
            continue
        if isinstance(obj, type) and issubclass(obj, pulumi.ComponentResource):
            module = sys.modules[obj.__module__]
            outputs = sorted(k for k in inspect.get_annotations(obj) if not k.startswith("_"))
            api[name] = {"type": module.TYPE, "outputs": outputs}
        elif dataclasses.is_dataclass(obj):
            api[name] = {"fields": [f.name for f in dataclasses.fields(obj)]}
        elif isinstance(obj, type):
            api[name] = {"class": obj.__name__}
        elif callable(obj):
            api[name] = {"parameters": list(inspect.signature(obj).parameters)}
        else:
            api[name] = {"value": sorted(obj) if isinstance(obj, (dict, set, frozenset)) or hasattr(obj, "keys") else repr(obj)}
    return api


def unexplained_changes(old: dict, new: dict, changelog: str) -> list[str]:
    """Every change from ``old`` to ``new`` that neither an alias nor the CHANGELOG accounts for."""
    problems = []
    for name, before in old.items():
        after = new.get(name)
        if after is None:
            if f"`{name}`" not in changelog:
                problems.append(f"{name} was removed: add a CHANGELOG entry naming `{name}`")
            continue
        if before.get("type") and before["type"] != after.get("type"):
            module = sys.modules[getattr(components, name).__module__]
            if before["type"] not in getattr(module, "TYPE_ALIASES", ()) and f"`{before['type']}`" not in changelog:
                problems.append(f"{name}: type token {before['type']} -> {after.get('type')}: add the old token to "
                                f"{module.__name__}.TYPE_ALIASES (and pass it as a pulumi.Alias) or a CHANGELOG entry")
        for key in ("outputs", "fields", "parameters"):
            for item in before.get(key, []):
                if item not in after.get(key, []) and f"`{item}`" not in changelog:
                    problems.append(f"{name}: {key[:-1]} `{item}` removed or renamed: add a CHANGELOG entry naming `{item}`")
    for name, after in new.items():
        before = old.get(name, {})
        for key in ("outputs", "fields", "parameters"):
            for item in after.get(key, []):
                if item not in before.get(key, []) and f"`{item}`" not in changelog and f"`{name}`" not in changelog:
                    problems.append(f"{name}: new {key[:-1]} `{item}`: add it to the CHANGELOG")
    return problems


def test_public_api_changes_are_aliased_or_in_the_changelog():
    old = json.load(open(SNAPSHOT))
    problems = unexplained_changes(old, current_api(), open(CHANGELOG).read())
    assert problems == [], "\n".join(problems + ["then refresh the snapshot: .venv-dev/bin/python -m tests.test_public_api"])


def test_the_check_catches_a_renamed_argument_and_a_changed_type_token():
    old = json.loads(json.dumps(current_api()))
    new = json.loads(json.dumps(old))
    fields = new["InferenceServiceArgs"]["fields"]
    fields[fields.index("model_name")] = "model"
    new["ModelStore"]["type"] = "elastic-inference:storage:ModelBucket"
    problems = unexplained_changes(old, new, changelog="")
    assert any("`model_name` removed or renamed" in p for p in problems)
    assert any("type token elastic-inference:storage:ModelStore" in p for p in problems)
    assert unexplained_changes(old, new, changelog="renamed `model_name` to `model`; `elastic-inference:storage:ModelStore`") == []


def test_type_tokens_are_the_documented_ones():
    tokens = {name: api["type"] for name, api in current_api().items() if "type" in api}
    changelog = open(CHANGELOG).read()
    for name, token in tokens.items():
        assert token.startswith("elastic-inference:") and f"`{token}`" in changelog, (name, token)


if __name__ == "__main__":
    with open(SNAPSHOT, "w") as fh:
        json.dump(current_api(), fh, indent=2, sort_keys=True)
        fh.write("\n")
    print(f"wrote {SNAPSHOT}")
