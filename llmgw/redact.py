"""Keeping secrets and huge or hostile text out of what llmgw shows.

Every diff, and every message that quotes text from outside llmgw (helm's output, a template's
error, a value from a file), goes through here: known secret values are masked in every form
the template may have written them in, values under secret-looking keys are masked even when
the value is not known (an older key still on disk or in the live release), and quotes are cut
to a short one-line excerpt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from llmgw.yamlout import yaml_scalar

MASK = "********"

#: Values keys that hold secrets in the charts' values (inline mode), masked in any diff.
SECRET_KEYS = frozenset(
    {
        "masterkey",
        "password",
        "postgres-password",
        "PROXY_MASTER_KEY",
        "LITELLM_MASTER_KEY",
        "LITELLM_SALT_KEY",
        "UI_USERNAME",
        "UI_PASSWORD",
        "LANGFUSE_PUBLIC_KEY",
        "LANGFUSE_SECRET_KEY",
        "PHOENIX_API_KEY",
    }
)
_KEYS = "|".join(re.escape(k) for k in sorted(SECRET_KEYS))
_SECRET_LINE = re.compile(r"^([-+ ]?\s*(?:" + _KEYS + r")\s*:\s*)\S.*$", re.MULTILINE)
#: The same in JSON (``"masterkey": "…"``), as helm prints values.
_SECRET_JSON = re.compile(r'("(?:' + _KEYS + r')"\s*:\s*)"(?:[^"\\]|\\.)*"')
#: And mid-line, as tools quote values in their errors (``… masterkey: sk-…, x: …``).
_SECRET_INLINE = re.compile(r"(?<![\w-])((?:" + _KEYS + r")['\"]?\s*[:=]\s*)(?!\*{8})[^\s,'\"}\]]+")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def mask(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret, raw or as the template encoded it, with asterisks."""
    forms = {form for s in secrets if s for form in (s, yaml_scalar(s), yaml_scalar(s)[1:-1])}
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= 3:
            text = text.replace(form, MASK)
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secrets and any value under a secret key (YAML, diff or JSON lines)."""
    text = _SECRET_LINE.sub(rf"\1{MASK}", mask(text, secrets))
    text = _SECRET_JSON.sub(rf'\1"{MASK}"', text)
    return _SECRET_INLINE.sub(rf"\1{MASK}", text)


def excerpt(value: object, limit: int = 60) -> str:
    """``repr`` of a value cut to ``limit`` characters: a 5 MB scalar is not a message."""
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def printable(text: str) -> str:
    """Text safe to print on a terminal: control characters (ANSI escapes) shown escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def one_line(message: object, limit: int = 300) -> str:
    """Text from outside llmgw (a tool's or a library's message) on one line, cut short."""
    text = printable(" ".join(str(message or "").split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."
