"""The configuration reference, generated from the schema so the docs cannot drift from it."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from llmgw.config import Config
from llmgw.yamlout import yaml_flow


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "mapping"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return (
            "mapping"
            if tp.__name__ != "SecretRef"
            else "`{env: VAR}` or `{secret: NAME, key: KEY}`"
        )
    return {str: "string", int: "integer", bool: "boolean"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _models_in(tp: Any) -> list[type[BaseModel]]:
    """The model classes a field's type holds (``X``, ``X | None``, ``list[X]``, unions)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [] if tp.__name__ == "SecretRef" else [tp]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(tp):
        found.extend(_models_in(arg))
    return found


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_defaults=True) or value.model_dump()
    return f"`{yaml_flow(value)}`"


def rows(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key path, type, default, description) for every key, depth first.

    Sibling lists of the same kind of entry (``bedrock.llm``/``embedding``, the engines under
    ``models``) list the entry's keys once, under the first.
    """
    out: list[tuple[str, str, str, str]] = []
    expanded: dict[type[BaseModel], str] = {}
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = _models_in(field.annotation)
        is_list = typing.get_origin(field.annotation) is list
        default = "" if nested and not is_list else _default(field)
        description = (field.description or "").replace("\n", " ")
        kind = _type_name(field.annotation)
        for sub in nested:
            if sub in expanded:
                kind = f"list, entries as `{expanded[sub]}`"
        out.append((path, kind, default, description))
        for sub in nested:
            if sub in expanded:
                continue
            sep = "[]." if is_list else "."
            expanded[sub] = f"{path}[]" if is_list else path
            out.extend(rows(sub, f"{path}{sep}"))
    return out


def markdown() -> str:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for path, kind, default, description in rows():
        lines.append(f"| `{path}` | {kind} | {default} | {description} |")
    return "\n".join(lines) + "\n"
