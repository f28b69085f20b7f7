"""Rows as prisma-client-py returns them: pydantic models with the table's fields as
attributes, Json fields decoded, DateTime fields as aware datetimes."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from prisma import _schema


class Row(BaseModel):
    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)


@cache
def row_class(name: str) -> type[Row]:
    return type(name, (Row,), {"__module__": "prisma.models"})


def to_datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def encode(value: Any) -> Any:
    """A Python value as JSON for the store (datetimes as ISO text)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return encode(value.model_dump())
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [encode(v) for v in value]
    return value


def decode_json_input(value: Any) -> Any:
    """What a Json field receives: ``Json(x)``, a serialized JSON string, or a plain value."""
    data = getattr(value, "data", value) if type(value).__name__ == "Json" else value
    if isinstance(data, str):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data


def build(model: _schema.Model, stored: dict[str, Any]) -> Row:
    values: dict[str, Any] = {}
    for f in model.fields.values():
        if not f.scalar:
            values[f.name] = [] if f.is_list else None
            continue
        v = stored.get(f.name)
        if f.type == "DateTime" and v is not None:
            v = [to_datetime(x) for x in v] if f.is_list else to_datetime(v)
        values[f.name] = v
    for k, v in stored.items():  # keys the schema does not know (a newer LiteLLM)
        values.setdefault(k, v)
    return row_class(model.name)(**values)
