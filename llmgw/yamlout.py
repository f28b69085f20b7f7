"""The one YAML scalar writer: text that YAML 1.1 (Helm) and 1.2 both read back as written.

Everything llmgw writes as YAML goes through here: rendered values, config edits, snapshots and
``-o yaml`` output. A value is written plain only when no YAML reader could take it for
anything but the same string (not ``yes``/``on``/``0x1F``/``1:20``/``.inf``, not a number,
no indicator characters); anything else is double-quoted with JSON escapes, so names, labels and
served names from a config or a cluster can never add YAML structure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from llmgw.errors import InputError

#: Scalars YAML 1.1 (Helm's parser) reads as something other than a string.
_YAML11_SPECIAL = frozenset(["y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"])
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_PLAIN_BLOCK = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./:-]*[A-Za-z0-9_./-]$|^[A-Za-z_/]$")
_NUMBER_LIKE = re.compile(r"^[-+.]?[0-9]")
#: Characters YAML needs escaped even inside double quotes (JSON leaves them raw).
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


class Raw(str):
    """Text a filter has already made YAML-safe; ``finalize`` passes it through."""


def yaml_scalar(value: Any, block: bool = False) -> str:
    """One YAML scalar. ``block``: the value follows ``key: `` in block context, where an
    inner ``:`` (``us.amazon.nova-pro-v1:0``) may stay plain; in flow context it may not."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"cannot render the non-finite number {value!r}")
        return repr(value)
    text = str(value)
    pattern = _PLAIN_BLOCK if block else _PLAIN
    if (
        pattern.match(text)
        and text.lower() not in _YAML11_SPECIAL
        and not _NUMBER_LIKE.match(text)
        and ": " not in text
    ):
        return text
    return quoted(text)


def quoted(text: str) -> str:
    """``text`` double-quoted, with the escapes YAML needs (JSON's, plus C1 and separators)."""
    encoded = json.dumps(text, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


def yaml_flow(value: Any) -> str:
    """A value as one line of YAML: a scalar, or a flow mapping/sequence."""
    if isinstance(value, Mapping):
        items = ", ".join(f"{yaml_scalar(str(k))}: {yaml_flow(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    return yaml_scalar(value)


def yaml_value(value: Any) -> str:
    """Jinja ``finalize``: what any ``{{ expression }}`` prints."""
    if isinstance(value, Raw):
        return value
    return yaml_flow(value)


def _block_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, (Mapping, list, tuple)) and item:
                lines.append(f"{pad}{yaml_scalar(str(key))}:")
                lines.extend(_block_lines(item, indent + 2))
            else:
                lines.append(f"{pad}{yaml_scalar(str(key))}: {_block_value(item)}")
    else:
        for item in value:
            if isinstance(item, (Mapping, list, tuple)) and item:
                nested = _block_lines(item, indent + 2)
                nested[0] = f"{pad}- {nested[0].lstrip()}"
                lines.extend(nested)
            else:
                lines.append(f"{pad}- {_block_value(item)}")
    return lines


def _block_value(value: Any) -> str:
    """A value that ends a block line: scalars may use the block rule, collections are flow."""
    if isinstance(value, (Mapping, list, tuple)):
        return yaml_flow(value)
    return yaml_scalar(value, block=True)


def block(value: Any, indent: int) -> Raw:
    """Filter: a mapping or list as indented block YAML, to follow ``key:`` directly.

    ``resources:{{ gateway.resources | block(2) }}`` gives a readable nested block, or
    `` {}`` when the value is empty.
    """
    if isinstance(value, (Mapping, list, tuple)) and value:
        return Raw("\n" + "\n".join(_block_lines(value, indent)))
    return Raw(" " + yaml_flow(value))


def document(value: Any) -> str:
    """A whole YAML document (block style) of a mapping or list, ending in a newline."""
    return block(value, 0).lstrip("\n") + "\n"
