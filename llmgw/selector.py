"""Kubernetes label selectors: parsed once, matched by discovery, merged for one LIST.

The syntax is kubectl's ``-l``: requirements joined by commas, each ``key``, ``!key``,
``key=value`` (or ``==``), ``key!=value``, ``key in (a,b)`` or ``key notin (a,b)``, so a
``discover:`` rule reads the way its author already writes ``kubectl get pods -l …``. The API
server has no OR, so several selectors in one namespace are listed with one selector that
covers them all (``cover``) and told apart here, on the client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: What a label key and a label value may hold, as the API server checks them.
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

#: Operators, as they are written.
_SET_OPS = ("in", "notin")


@dataclass(frozen=True)
class Requirement:
    key: str
    #: ``=``, ``!=``, ``in``, ``notin``, ``exists`` or ``!``.
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return value is not None and value in self.values
        if self.op in ("!=", "notin"):
            return value is None or value not in self.values
        if self.op == "exists":
            return value is not None
        return value is None

    def text(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        if self.op in _SET_OPS:
            return f"{self.key} {self.op} ({','.join(sorted(self.values))})"
        return f"{self.key}{self.op}{next(iter(self.values))}"


@dataclass(frozen=True)
class Selector:
    """Requirements that all hold (the API server ANDs them)."""

    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def text(self) -> str:
        return ",".join(r.text() for r in self.requirements)

    def equal_to(self, key: str) -> frozenset[str] | None:
        """The values a matching pod's ``key`` label can hold, when the selector pins them."""
        for r in self.requirements:
            if r.key == key and r.op in ("=", "in"):
                return r.values
        return None


class SelectorError(ValueError):
    pass


def _split(text: str) -> list[str]:
    """Requirements at the top level: commas inside ``( … )`` belong to a set."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError("')' without '('")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise SelectorError("'(' without ')'")
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _key(key: str) -> str:
    if len(key.rpartition("/")[2]) > 63 or not LABEL_KEY.match(key):
        raise SelectorError(f"{key[:70]!r} is not a label key")
    return key


def _value(value: str) -> str:
    if len(value) > 63 or not LABEL_VALUE.match(value):
        raise SelectorError(
            f"{value[:70]!r} is not a label value (at most 63 letters, digits, '-', '_', '.')"
        )
    return value


_SET = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", re.S)
_EQ = re.compile(r"^([^=!\s]+)\s*(==|=|!=)\s*(.*)$", re.S)


def _requirement(part: str) -> Requirement:
    if not part:
        raise SelectorError("an empty requirement (two commas, or one at an end)")
    m = _SET.match(part)
    if m:
        values = [v.strip() for v in m.group(3).split(",")]
        if not any(values):
            raise SelectorError(f"{part[:70]!r}: a set needs at least one value")
        return Requirement(_key(m.group(1)), m.group(2), frozenset(_value(v) for v in values))
    m = _EQ.match(part)
    if m:
        op = "=" if m.group(2) == "==" else m.group(2)
        return Requirement(_key(m.group(1)), op, frozenset({_value(m.group(3).strip())}))
    if part.startswith("!"):
        return Requirement(_key(part[1:].strip()), "!")
    if re.search(r"\s|[<>()]", part):
        raise SelectorError(
            f"{part[:70]!r} is not a requirement: use key=value, key!=value, key in (a,b), "
            "key notin (a,b), key or !key"
        )
    return Requirement(_key(part), "exists")


def parse(text: str) -> Selector:
    """A selector from kubectl's syntax; ``SelectorError`` says what is wrong."""
    if not text.strip():
        raise SelectorError("an empty selector would select every pod; give at least one label")
    return Selector(tuple(_requirement(p) for p in _split(text.strip())))


def equality(labels: Mapping[str, str]) -> Selector:
    """A ``matchLabels``-style mapping as a selector."""
    return Selector(tuple(Requirement(k, "=", frozenset({v})) for k, v in labels.items()))


def cover(selectors: Sequence[Selector], limit: int) -> Selector | None:
    """One selector every pod of any of ``selectors`` matches, as tight as can be cheaply said;
    None when nothing short covers them all (then the whole namespace is listed).

    It keeps the requirements all of them share, and for a key every one of them pins to
    values (``app=a`` and ``app in (b,c)``), the union (``app in (a,b,c)``). Pods it lets
    through that none of ``selectors`` selects are dropped by the caller's matching.
    """
    if not selectors:
        return None
    first, rest = selectors[0], selectors[1:]
    shared = [r for r in first.requirements if all(r in s.requirements for s in rest)]
    pinned: list[Requirement] = []
    for key in dict.fromkeys(r.key for r in first.requirements):
        sets = [s.equal_to(key) for s in selectors]
        if all(v is not None for v in sets) and not any(r.key == key for r in shared):
            union = frozenset().union(*(v for v in sets if v is not None))
            op = "=" if len(union) == 1 else "in"
            pinned.append(Requirement(key, op, union))
    chosen = Selector(tuple(shared + pinned))
    while chosen.requirements and len(chosen.text()) > limit:
        # Drop the longest requirement first: it is the one that makes the URL too long.
        longest = max(chosen.requirements, key=lambda r: len(r.text()))
        chosen = Selector(tuple(r for r in chosen.requirements if r is not longest))
    return chosen if chosen.requirements else None
