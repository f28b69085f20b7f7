"""Adding an entry to config.yaml without touching anything else in the file.

A YAML round-trip dump re-flows lines, normalises indentation and moves comments, so the edit
is textual instead: ruamel composes the document only to find where ``bedrock.<section>`` and
its items are, and the new entry is spliced into the original text there, shaped like its
neighbours (block or flow, indentation, quoting). Every other byte of the file stays as it was,
by construction; the result is then validated as a whole before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw.errors import InputError
from llmgw.yamlout import quoted, yaml_scalar


@dataclass(frozen=True)
class Entry:
    name: str
    model: str
    #: Only when it differs from bedrock.region.
    region: str | None = None
    #: To join a group: its public name, share and priority.
    model_name: str | None = None
    weight: float | None = None
    order: int | None = None

    def fields(self) -> list[tuple[str, str | float]]:
        """The keys the entry is written with, in the order a person writes them."""
        given = [
            ("name", self.name),
            ("model", self.model),
            ("region", self.region),
            ("model_name", self.model_name),
            ("weight", self.weight),
            ("order", self.order),
        ]
        return [(k, v) for k, v in given if v is not None and v != ""]


def _value(value: str | float, style: str | None = None) -> str:
    return scalar(value, style) if isinstance(value, str) else number(value)


def number(value: float) -> str:
    """A number as a person writes it (``2``, not ``2.0``), which YAML reads back as that."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def scalar(value: str, style: str | None = None) -> str:
    """``value`` as a YAML scalar (block context), in the neighbour's quoting style if it had one.

    Plain or double-quoted text comes from the project's one scalar writer, so a name like
    ``0x1F`` or ``on`` is quoted here exactly as ``render`` would quote it.
    """
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return quoted(value)
    # An inner ':' (``…-v1:0``) stays plain in flow entries too: only ``: ``, ``:,`` and ``:}``
    # end a plain scalar there, and the block rule allows none of them.
    return yaml_scalar(value, block=True)


def _lines_end(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _indent_unit(root: Any) -> int:
    """How far this file indents a nested mapping (2 when it cannot tell)."""
    for key, value in getattr(root, "value", []):
        if value.__class__.__name__ == "MappingNode" and not value.flow_style and value.value:
            return max(1, int(value.value[0][0].start_mark.column) - int(key.start_mark.column))
    return 2


def add_bedrock_model(text: str, section: str, entry: Entry) -> str:
    """The text of config.yaml with ``entry`` appended to ``bedrock.<section>``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        root = YAML(typ="rt").compose(text)
    except YAMLError as exc:
        raise InputError(f"cannot edit: the config is not valid YAML: {exc}") from None
    nl = _lines_end(text)
    unit = _indent_unit(root)
    if root is None or (root.__class__.__name__ == "ScalarNode" and root.value in ("", None)):
        return _append_section(text, nl, unit, section, entry)
    if root.__class__.__name__ != "MappingNode":
        raise InputError("cannot edit: the config's top level is not a mapping")
    bedrock = _child(root, "bedrock")
    if bedrock is None:
        return _append_section(text, nl, unit, section, entry, root=root)
    key_node, node = bedrock
    _refuse_alias(key_node, node, "bedrock")
    if _is_null(node):
        return _fill_null(
            text,
            nl,
            key_node,
            node,
            f"{section}:",
            unit,
            _item_lines(entry, 2 * unit, unit, None),
        )
    if node.__class__.__name__ != "MappingNode":
        raise InputError("cannot edit: bedrock is not a mapping")
    found = _child(node, section)
    if found is None:
        if node.flow_style:
            return _insert_flow(text, node, f"{section}: [{_flow_entry(entry, None)}]")
        col = (
            node.value[0][0].start_mark.column if node.value else key_node.start_mark.column + unit
        )
        lines = [" " * col + f"{section}:", *_item_lines(entry, col + unit, unit, None)]
        return _insert_after_block(text, node, col, lines, nl)
    sec_key, seq = found
    _refuse_alias(sec_key, seq, f"bedrock.{section}")
    if _is_null(seq):
        col = sec_key.start_mark.column
        return _fill_null(
            text, nl, sec_key, seq, None, unit, _item_lines(entry, col + unit, unit, None)
        )
    if seq.__class__.__name__ != "SequenceNode":
        raise InputError(f"cannot edit: bedrock.{section} is not a list")
    if seq.flow_style:
        neighbour = seq.value[-1] if seq.value else None
        return _insert_flow(text, seq, _flow_entry(entry, neighbour))
    last = seq.value[-1]
    dash_col = seq.start_mark.column
    if last.__class__.__name__ == "MappingNode" and last.flow_style:
        lines = [" " * dash_col + "- " + _flow_entry(entry, last)]
    else:
        key_col = (
            last.start_mark.column if last.__class__.__name__ == "MappingNode" else dash_col + 2
        )
        lines = _item_lines(entry, dash_col, key_col - dash_col, last)
    return _insert_after_block(text, seq, dash_col, lines, nl)


def _child(mapping: Any, name: str) -> tuple[Any, Any] | None:
    for key, value in mapping.value:
        if getattr(key, "value", None) == name:
            return key, value
    return None


def _is_null(node: Any) -> bool:
    return node.__class__.__name__ == "ScalarNode" and str(node.tag).endswith(":null")


def _refuse_alias(key: Any, node: Any, where: str) -> None:
    # An alias (`llm: *shared`) resolves to the anchored node, which starts before its key.
    if node.anchor is None:
        return
    if (node.start_mark.line, node.start_mark.column) < (
        key.start_mark.line,
        key.start_mark.column,
    ):
        raise InputError(
            f"cannot edit {where}: it is an alias of &{node.anchor}",
            hint="add the entry where the anchor is defined, by hand",
        )


def _styles(neighbour: Any) -> dict[str, str | None]:
    if neighbour is None or neighbour.__class__.__name__ != "MappingNode":
        return {}
    return {k.value: v.style for k, v in neighbour.value if v.__class__.__name__ == "ScalarNode"}


def _flow_entry(entry: Entry, neighbour: Any) -> str:
    style = _styles(neighbour)
    return "{" + ", ".join(f"{k}: {_value(v, style.get(k))}" for k, v in entry.fields()) + "}"


def _item_lines(entry: Entry, dash_col: int, key_offset: int, neighbour: Any) -> list[str]:
    style = _styles(neighbour)
    pad = " " * dash_col
    gap = " " * max(1, key_offset - 1)
    return [
        f"{pad}{'-' + gap if i == 0 else ' ' * key_offset}{k}: {_value(v, style.get(k))}"
        for i, (k, v) in enumerate(entry.fields())
    ]


def _insert_flow(text: str, node: Any, item: str) -> str:
    """Put ``item`` before the closing bracket of a flow collection."""
    end = _offset(text, node.end_mark.line, node.end_mark.column) - 1
    if text[end] not in "]}":
        raise InputError("cannot edit: could not find the end of a flow collection")
    inner = text[_offset(text, node.start_mark.line, node.start_mark.column) + 1 : end]
    stripped = inner.rstrip()
    if not stripped.strip():
        return text[: end - len(inner)] + item + text[end:]
    cut = end - (len(inner) - len(stripped))
    sep = ", " if not stripped.endswith(",") else " "
    return text[:cut] + sep + item + text[cut:]


def _offset(text: str, line: int, column: int) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[:line]) + column


def _insert_after_block(text: str, node: Any, col: int, new: list[str], nl: str) -> str:
    """Insert lines after the last line that belongs to a block collection starting at col."""
    lines = text.splitlines(keepends=True)
    start = node.start_mark.line
    last = start
    for i in range(start + 1, len(lines)):
        body = lines[i].rstrip("\r\n")
        stripped = body.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(body) - len(stripped)
        # A block sequence may sit at its key's indentation ("- " lines at col).
        belongs = indent > col or (indent == col and (stripped == "-" or stripped.startswith("- ")))
        if not belongs:
            break
        last = i
    if not lines[last].endswith(("\n", "\r")):
        lines[last] += nl
    lines[last + 1 : last + 1] = [line + nl for line in new]
    return "".join(lines)


def _fill_null(
    text: str, nl: str, key: Any, value: Any, header: str | None, unit: int, items: list[str]
) -> str:
    """Give an empty value (``llm:``, ``llm: ~``, ``llm: null``) its first entry.

    Only the null token itself is removed; the rest of the key's line stays as it was.
    """
    lines = text.splitlines(keepends=True)
    row = key.start_mark.line
    raw = lines[row]
    body = raw.rstrip("\r\n")
    ending = raw[len(body) :] or nl
    if value.start_mark.line == row and value.end_mark.column > value.start_mark.column:
        body = body[: value.start_mark.column] + body[value.end_mark.column :]
        if not body[value.start_mark.column :].strip():
            body = body.rstrip()
    lines[row] = body + ending
    new = items
    if header is not None:
        new = [" " * (key.start_mark.column + unit) + header, *items]
    lines[row + 1 : row + 1] = [line + nl for line in new]
    return "".join(lines)


def _append_section(
    text: str, nl: str, unit: int, section: str, entry: Entry, root: Any = None
) -> str:
    block = [
        "bedrock:",
        " " * unit + f"{section}:",
        *_item_lines(entry, 2 * unit, unit, None),
    ]
    if root is not None and root.flow_style:
        return _insert_flow(text, root, f"bedrock: {{{section}: [{_flow_entry(entry, None)}]}}")
    prefix = text if not text or text.endswith(("\n", "\r")) else text + nl
    return prefix + nl.join(block) + nl
