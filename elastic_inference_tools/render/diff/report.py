"""Reporting a diff: JSON for machines, Markdown for a pull-request comment, every user-given string escaped."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import asdict
from typing import Any

from ..engine import SECRET
from .model import MISSING, MODEL_DATA, OPS, Change, SecureValue, StackDiff, has_secret

MARKER = "<!-- elastic-inference:offline-diff -->"
_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "read": "="}


def _plain(value: Any) -> Any:
    if value is MISSING:
        return None
    if isinstance(value, SecureValue):
        return SECRET
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _change_json(change: Change) -> dict[str, Any]:
    out = asdict(change)
    out["before"], out["after"] = _plain(change.before), _plain(change.after)
    out["added"], out["removed"] = change.before is MISSING, change.after is MISSING
    if change.secret:
        out["before"] = SECRET if has_secret(change.before) else out["before"]
        out["after"] = SECRET if has_secret(change.after) else out["after"]
    return out


def to_json(diffs: list[StackDiff]) -> dict[str, Any]:
    return {
        "stacks": [
            {
                "stack": d.stack,
                "status": d.status,
                "summary": d.counts(),
                "config": [_change_json(c) for c in d.config],
                "resources": [
                    {
                        "urn": r.urn,
                        "type": r.type,
                        "name": r.name,
                        "op": r.op,
                        "protected": r.protected,
                        "changes": [_change_json(c) for c in r.changes],
                        "options": [_change_json(c) for c in r.options],
                        "notes": r.notes,
                    }
                    for r in d.resources
                ],
                "outputs": [_change_json(c) for c in d.outputs],
                "moved": [{"from": old, "to": new} for old, new in sorted(d.moved.items())],
            }
            for d in diffs
        ]
    }


def _short(value: Any, limit: int = 80) -> str:
    if value is MISSING:
        return "(none)"
    if isinstance(value, SecureValue) or value == SECRET:
        return SECRET
    text = json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# What a comment may show of a user-given string as it is; everything else becomes an HTML entity,
# so that no key, name or value can open a comment (<!--), a fence, a link ([...](...)), a table,
# strikethrough, math ($) or an @mention.
_SAFE = re.compile(r"[A-Za-z0-9 ._:/,=+{}()'\"%^;?-]")


def escape(text: Any) -> str:
    """``text`` for a Markdown comment: every character that Markdown or HTML could act on as an entity."""
    return "".join(c if _SAFE.match(c) else "↵" if c == "\n" else f"&#{ord(c)};" for c in str(text))


def _text(text: Any) -> str:
    """``text`` escaped for running text: GitHub links an @mention in text after decoding ``&#64;``,
    so a word joiner follows each ``@`` (in ``<code>`` no mention is linked)."""
    return escape(text).replace("&#64;", "&#64;&#8288;")


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


# In a <pre> block (raw HTML: no Markdown, no mention) only HTML's own characters need entities;
# backticks and @ become entities too, so that the comment's text holds no fence or mention at all.
_PRE = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "&#96;", "@": "&#64;"}


def _pre_line(line: str) -> str:
    return "".join(_PRE.get(c, c) if c == "\t" or c.isprintable() else f"&#{ord(c)};" for c in line)


def pre(lines: list[str]) -> list[str]:
    """``lines`` shown as they are, in a ``<pre>`` block they cannot close or escape."""
    return ["<pre>", *(_pre_line(line) for line in lines), "</pre>"]


def _fence_safe(line: str) -> bool:
    return not any(c in "`<>@&" or not (c == "\t" or c.isprintable()) for c in line)


def fenced(lines: list[str], info: str = "") -> list[str]:
    """A fenced block longer than any run of backticks in ``lines`` (which then cannot close it)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *lines, fence]


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value)


def _change_lines(change: Change) -> list[str]:
    if change.via:
        what = "[secret] recomputed" if change.secret else "recomputed"
        line = f"  - {_code(change.path)}: {what}, since {_code(change.via)} is replaced"
    elif change.secret:
        if change.before is MISSING:
            text = "secret added"
        elif change.after is MISSING:
            text = "secret removed"
        else:
            text = "[secret] changed (value not shown)"
        line = f"  - {_code(change.path)}: {text}"
    elif isinstance(change.before, str) and isinstance(change.after, str) and "\n" in change.before + change.after:
        diff = difflib.unified_diff(change.before.splitlines(), change.after.splitlines(), lineterm="", n=1)
        body = [line for line in diff if not line.startswith(("---", "+++"))]
        # A fence colours the diff; lines that carry HTML, fences or mentions go in a <pre> instead.
        user_lines = [line for line in body if not line.startswith("@@")]
        block = fenced(body, "diff") if all(_fence_safe(line) for line in user_lines) else pre(body)
        return [f"  - {_code(change.path)}:", *("    " + line for line in block)] + (
            ["    **forces replacement**"] if change.replaces else []
        )
    elif _scalars(change.before) and _scalars(change.after):
        added = [v for v in change.after if v not in change.before]
        removed = [v for v in change.before if v not in change.after]
        words = [f"added {_code(_short(v))}" for v in added] + [f"removed {_code(_short(v))}" for v in removed]
        line = f"  - {_code(change.path)}: " + (", ".join(words) or "reordered")
    else:
        line = f"  - {_code(change.path)}: {_code(_short(change.before))} → {_code(_short(change.after))}"
    return [line + (" **(forces replacement)**" if change.replaces else "")]


def _summary(d: StackDiff) -> str:
    counts = d.counts()
    parts = [f"{counts[op]} to {op}" for op in OPS if counts[op]]
    if d.config:
        parts.append(f"{len(d.config)} setting{'s' if len(d.config) != 1 else ''} changed")
    if d.outputs and not counts["create"] and not counts["delete"]:
        parts.append("outputs changed")
    if d.moved:
        parts.append(f"{len(d.moved)} moved by alias")
    return ", ".join(parts) or "no resource changes"


def to_markdown(diffs: list[StackDiff], max_chars: int = 60000) -> str:
    """A PR comment: one line per unchanged stack, details for the others (shortened to fit)."""
    for details in (True, False):
        text = _markdown(diffs, details)
        if len(text) <= max_chars:
            return text
    cut = text[: max_chars - 200].rsplit("\n", 1)[0]
    return cut + "\n\n… the diff is too long for one comment: see the job's `offline-diff` artifact for all of it.\n"


def _markdown(diffs: list[StackDiff], details: bool) -> str:
    lines = [MARKER, "### Offline preview diff", ""]
    lines.append("Rendered without credentials by `elastic-inference render`; the real `pulumi preview` remains the authority.")
    lines.append("")
    for d in diffs:
        if d.status == "unchanged":
            lines.append(f"- **{_text(d.stack)}**: no changes.")
    for d in diffs:
        if d.status == "unchanged":
            continue
        label = {"added": " (new stack)", "removed": " (stack removed)"}.get(d.status, "")
        lines += ["", f"#### {_text(d.stack)}{label}: {_summary(d)}", ""]
        lost = [r.name for r in d.resources if r.type in MODEL_DATA and r.op in ("replace", "delete")]
        if lost:
            lines += [
                "> [!CAUTION]",
                "> Model data or a bucket's protections would be deleted (uploaded objects, encryption, public-access "
                "block, versioning, ACL): " + ", ".join(_code(n) for n in lost),
                "",
            ]
        blocked = [r.name for r in d.resources if r.protected and r.op in ("replace", "delete")]
        if blocked:
            lines += [
                "> [!WARNING]",
                "> Protected resources would be replaced or deleted; `pulumi up` will refuse: "
                + ", ".join(_code(n) for n in blocked),
                "",
            ]
        if d.config:
            lines.append("Settings:")
            lines += [line for c in d.config for line in _change_lines(c)]
            lines.append("")
        for r in d.resources:
            head = f"- `{_SYMBOL[r.op]}` **{r.op}** {_code(r.name)} ({_code(r.type)})"
            if r.notes:
                head += " — " + "; ".join(_text(n).replace("&#96;", "`") for n in r.notes)
            lines.append(head)
            if details:
                for c in r.changes:
                    lines += _change_lines(c)
                for c in r.options:
                    lines.append(f"  - option {_code(c.path)}: {_code(_short(c.before))} → {_code(_short(c.after))}")
        if d.moved:
            unchanged = sum(1 for new in d.moved.values() if new not in {r.urn for r in d.resources})
            lines += ["", f"{len(d.moved)} resource(s) keep their identity under a new URN through aliases "
                          f"({unchanged} of them without any other change): no replacement."]
        if d.outputs and details:
            lines += ["", "Stack outputs:"]
            lines += [line for c in d.outputs for line in _change_lines(c)]
    return "\n".join(lines).rstrip() + "\n"


def failed_render_comment(log: str, max_lines: int = 200) -> str:
    """The PR comment when the head does not render: the end of the render's log, escaped in a
    ``<pre>`` block (the log may carry text from the PR's stack files: no HTML, fence, link or mention)."""
    lines = log.splitlines()
    if len(lines) > max_lines:
        lines = [f"... {len(lines) - max_lines} earlier lines in the job's log"] + lines[-max_lines:]
    return "\n".join([MARKER, "### Offline preview diff", "", "The head does not render; fix it first:", "",
                      *pre([line[:500] for line in lines])]) + "\n"
