"""The tables of LiteLLM's own ``schema.prisma``: fields, types, ids, uniques and defaults.

Read from the installed ``litellm_proxy_extras`` (the schema LiteLLM migrates PostgreSQL
with), so the shim follows whatever LiteLLM version the proxy runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SCALARS = {"String", "Int", "BigInt", "Float", "Decimal", "Boolean", "DateTime", "Json", "Bytes"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    optional: bool
    is_list: bool
    attrs: str

    @property
    def scalar(self) -> bool:
        return self.type in SCALARS or self.type in enums()

    @property
    def default(self) -> str | None:
        """What ``@default(…)`` holds, parentheses balanced (``now()``, ``"{}"``)."""
        start = self.attrs.find("@default(")
        if start < 0:
            return None
        depth, i = 0, start + len("@default")
        for j in range(i, len(self.attrs)):
            depth += {"(": 1, ")": -1}.get(self.attrs[j], 0)
            if depth == 0:
                return self.attrs[i + 1 : j].strip()
        return None


@dataclass(frozen=True)
class Model:
    name: str
    fields: dict[str, Field]
    #: Field names that identify a row (``@id`` or ``@@id([...])``).
    key: tuple[str, ...]
    uniques: tuple[tuple[str, ...], ...] = field(default=())


def _path() -> Path:
    if os.environ.get("LLMGW_PRISMA_SCHEMA"):
        return Path(os.environ["LLMGW_PRISMA_SCHEMA"])
    spec = importlib.util.find_spec("litellm_proxy_extras")
    assert spec is not None and spec.origin is not None, "litellm_proxy_extras is not installed"
    return Path(spec.origin).parent / "schema.prisma"


@cache
def enums() -> frozenset[str]:
    return frozenset(re.findall(r"^enum\s+(\w+)\s*\{", _path().read_text(), re.M))


@cache
def models() -> dict[str, Model]:
    text = re.sub(r"//.*", "", _path().read_text())
    out: dict[str, Model] = {}
    for name, body in re.findall(r"^model\s+(\w+)\s*\{(.*?)^\}", text, re.M | re.S):
        fields: dict[str, Field] = {}
        key: tuple[str, ...] = ()
        uniques: list[tuple[str, ...]] = []
        for raw in body.splitlines():
            line = raw.strip()
            if not line:
                continue
            if line.startswith("@@"):
                cols = re.search(r"\[([^\]]*)\]", line)
                names = tuple(c.strip() for c in cols.group(1).split(",")) if cols else ()
                if line.startswith("@@id"):
                    key = names
                elif line.startswith("@@unique"):
                    uniques.append(names)
                continue
            m = re.match(r"(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)", line)
            if not m:
                continue
            fname, ftype, is_list, optional, attrs = m.groups()
            fields[fname] = Field(fname, ftype, bool(optional), bool(is_list), attrs)
            if re.search(r"@id\b", attrs):
                key = (fname,)
            if re.search(r"@unique\b", attrs):
                uniques.append((fname,))
        out[name] = Model(name, fields, key, tuple(uniques))
    return out


def by_delegate() -> dict[str, Model]:
    """``litellm_proxymodeltable`` → its model: prisma-client-py names delegates in lowercase."""
    return {name.lower(): model for name, model in models().items()}
