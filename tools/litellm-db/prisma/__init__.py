"""A stand-in for prisma-client-py, so the real LiteLLM proxy runs its database path here.

prisma-client-py needs a Rust query engine downloaded from Prisma's host at generate time,
which no package carries. Everything LiteLLM does above ``import prisma`` is real: this
package answers the client calls it makes (``Prisma``, the per-table delegates, ``Json``,
``errors``, ``models``, ``types``) over one SQLite file that several proxy processes share
(``LLMGW_PRISMA_STORE``), so two proxies behave as two pods on one database. Table rules (ids,
uniques, defaults, ``@updatedAt``) come from LiteLLM's own ``schema.prisma``. Raw SQL is not
understood: ``query_raw`` answers no rows. Test infrastructure only (tests/litellm_db.py).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from prisma import _rows, _schema, _store, errors
from prisma import models as models
from prisma import types as types
from prisma._rows import Row

__all__ = ["Json", "Prisma", "errors", "models", "types"]


class Json:
    def __init__(self, data: Any) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Json({self.data!r})"


# -- filters ----------------------------------------------------------------------------------


def _comparable(value: Any, f: _schema.Field | None) -> Any:
    if f is not None and f.type == "DateTime" and value is not None:
        value = _rows.to_datetime(_rows.encode(value))
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value
    return _rows.encode(value)


def _cmp(value: Any, op: str, arg: Any, f: _schema.Field | None) -> bool:
    value = _comparable(value, f)
    if op == "not":
        return (
            not _field_match(value, arg, f)
            if isinstance(arg, dict)
            else value != _comparable(arg, f)
        )
    if op == "equals":
        return bool(value == _comparable(arg, f))
    if op == "in":
        return value in [_comparable(a, f) for a in arg]
    if op in ("not_in", "notIn"):
        return value not in [_comparable(a, f) for a in arg]
    if op in ("is_empty", "isEmpty"):
        return (not value) == bool(arg)
    if value is None:
        return False
    arg = _comparable(arg, f)
    try:
        if op == "lt":
            return bool(value < arg)
        if op == "lte":
            return bool(value <= arg)
        if op == "gt":
            return bool(value > arg)
        if op == "gte":
            return bool(value >= arg)
    except TypeError:
        return False
    if op == "contains":
        return str(arg) in str(value)
    if op in ("startswith", "starts_with"):
        return str(value).startswith(str(arg))
    if op in ("endswith", "ends_with"):
        return str(value).endswith(str(arg))
    if op == "has":
        return isinstance(value, list) and arg in value
    if op in ("has_some", "hasSome"):
        return isinstance(value, list) and any(a in value for a in arg)
    if op in ("has_every", "hasEvery"):
        return isinstance(value, list) and all(a in value for a in arg)
    return True  # mode and relation filters: not modelled


def _field_match(value: Any, cond: Any, f: _schema.Field | None) -> bool:
    if isinstance(cond, Json):
        cond = cond.data
    if f is not None and not f.scalar:
        return True  # a relation filter
    if f is not None and f.type == "Json":
        if isinstance(cond, dict) and "path" in cond:
            node = value
            for part in cond["path"]:
                node = node.get(part) if isinstance(node, dict) else None
            rest = {k: v for k, v in cond.items() if k != "path"}
            return all(_cmp(node, op, arg, None) for op, arg in rest.items())
        if isinstance(cond, dict) and "equals" in cond:
            want = cond["equals"]
            return bool(value == (want.data if isinstance(want, Json) else want))
        return isinstance(cond, dict) or value == cond
    if isinstance(cond, dict):
        if cond.get("mode") == "insensitive" and isinstance(value, str):
            value = value.lower()
            cond = {k: (v.lower() if isinstance(v, str) else v) for k, v in cond.items()}
        return all(_cmp(value, op, arg, f) for op, arg in cond.items() if op != "mode")
    return _cmp(value, "equals", cond, f)


def _matches(model: _schema.Model, data: dict[str, Any], where: Any) -> bool:
    if not where:
        return True
    for key, cond in where.items():
        if key == "AND":
            items = cond if isinstance(cond, list) else [cond]
            if not all(_matches(model, data, c) for c in items):
                return False
        elif key == "OR":
            if cond and not any(_matches(model, data, c) for c in cond):
                return False
        elif key == "NOT":
            items = cond if isinstance(cond, list) else [cond]
            if any(_matches(model, data, c) for c in items):
                return False
        elif key not in model.fields and isinstance(cond, dict):
            if not _matches(model, data, cond):  # a compound unique: {"a_b": {"a": 1, "b": 2}}
                return False
        elif not _field_match(data.get(key), cond, model.fields.get(key)):
            return False
    return True


def _order(found: list[dict[str, Any]], order: Any) -> list[dict[str, Any]]:
    for item in reversed(order if isinstance(order, list) else [order] if order else []):
        for key, direction in item.items():
            if not isinstance(direction, str):
                continue

            def sort_key(d: dict[str, Any], key: str = key) -> tuple[bool, str]:
                v = d.get(key)
                return (v is None, json.dumps(v, sort_keys=True, default=str))

            found = sorted(found, key=sort_key, reverse=direction.lower() == "desc")
    return found


# -- writes -----------------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _scalar_input(f: _schema.Field, value: Any) -> Any:
    if f.type == "Json":
        return _rows.encode(_rows.decode_json_input(value))
    if isinstance(value, dict) and "set" in value and f.is_list:
        return _rows.encode(value["set"])
    return _rows.encode(value)


def _default(model: _schema.Model, f: _schema.Field) -> Any:
    default = f.default
    if default is None:
        return [] if f.is_list else None
    if default in ("uuid()", "cuid()") or default.startswith("dbgenerated("):
        return str(uuid.uuid4())
    if default == "now()":
        return _now()
    if default == "autoincrement()":
        return _store.next_int(model.name, f.name)
    if default in ("true", "false"):
        return default == "true"
    try:
        value = json.loads(default)
    except ValueError:
        return default  # an enum value
    return _rows.decode_json_input(value) if f.type == "Json" else value


def _full_row(model: _schema.Model, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in model.fields.values():
        if not f.scalar:
            continue  # relation writes are dropped
        out[f.name] = _scalar_input(f, data[f.name]) if f.name in data else _default(model, f)
        if "@updatedAt" in f.attrs and f.name not in data:
            out[f.name] = _now()
    for k, v in data.items():  # scalars the schema does not know (a newer LiteLLM)
        if k not in model.fields and not isinstance(v, dict):
            out[k] = _rows.encode(v)
    return out


def _updated(model: _schema.Model, old: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    new = dict(old)
    for key, value in data.items():
        f = model.fields.get(key)
        if f is not None and not f.scalar:
            continue  # relation writes
        if f is not None and f.type != "Json" and isinstance(value, dict):
            current = new.get(key)
            for op, arg in value.items():
                if op == "set":
                    current = _rows.encode(arg)
                elif op == "increment":
                    current = (current or 0) + arg
                elif op == "decrement":
                    current = (current or 0) - arg
                elif op == "multiply":
                    current = (current or 0) * arg
                elif op == "divide":
                    current = (current or 0) / arg
                elif op == "push":
                    current = [*(current or []), *(arg if isinstance(arg, list) else [arg])]
            new[key] = current
        elif f is not None:
            new[key] = _scalar_input(f, value)
        else:
            new[key] = _rows.encode(value)
    for f in model.fields.values():
        if "@updatedAt" in f.attrs and f.name not in data:
            new[f.name] = _now()
    return new


def _key_of(model: _schema.Model, data: dict[str, Any]) -> str:
    if model.key:
        return json.dumps([data.get(k) for k in model.key])
    return str(uuid.uuid4())


def _check_unique(model: _schema.Model, data: dict[str, Any], key: str, skip: str | None) -> None:
    for other_key, other in _store.rows(model.name):
        if other_key == skip:
            continue
        if other_key == key and model.key:
            raise errors.UniqueViolationError(
                f"Unique constraint failed on the fields: ({', '.join(model.key)})"
            )
        for cols in model.uniques:
            if all(data.get(c) is not None and data.get(c) == other.get(c) for c in cols):
                raise errors.UniqueViolationError(
                    f"Unique constraint failed on the fields: ({', '.join(cols)})"
                )


class Delegate:
    """One table (``db.litellm_proxymodeltable``): prisma-client-py's query methods."""

    def __init__(self, model: _schema.Model) -> None:
        self.model = model

    def _find(self, where: Any) -> list[tuple[str, dict[str, Any]]]:
        return [(k, d) for k, d in _store.rows(self.model.name) if _matches(self.model, d, where)]

    def _row(self, data: dict[str, Any]) -> Row:
        return _rows.build(self.model, data)

    def _insert(self, data: dict[str, Any], conn: Any) -> dict[str, Any]:
        full = _full_row(self.model, data)
        key = _key_of(self.model, full)
        _check_unique(self.model, full, key, None)
        _store.insert(conn, self.model.name, key, full)
        return full

    def _replace(self, conn: Any, key: str, new: dict[str, Any]) -> None:
        new_key = _key_of(self.model, new) if self.model.key else key
        _check_unique(self.model, new, new_key, key)
        _store.replace(conn, self.model.name, key, new_key, new)

    async def create(self, data: dict[str, Any], **_: Any) -> Row:
        with _store.write() as conn:
            return self._row(self._insert(dict(data), conn))

    async def create_many(
        self, data: list[dict[str, Any]], skip_duplicates: bool = False, **_: Any
    ) -> int:
        done = 0
        with _store.write() as conn:
            for item in data:
                try:
                    self._insert(dict(item), conn)
                    done += 1
                except errors.UniqueViolationError:
                    if not skip_duplicates:
                        raise
        return done

    async def find_unique(self, where: Any, **_: Any) -> Row | None:
        found = self._find(where)
        return self._row(found[0][1]) if found else None

    async def find_unique_or_raise(self, where: Any, **_: Any) -> Row:
        row = await self.find_unique(where)
        if row is None:
            raise errors.RecordNotFoundError("Expected a record, found none.")
        return row

    async def find_many(
        self,
        where: Any = None,
        take: int | None = None,
        skip: int | None = None,
        order: Any = None,
        distinct: Any = None,
        **_: Any,
    ) -> list[Row]:
        found = _order([d for _k, d in self._find(where)], order)
        if distinct:
            seen: set[str] = set()
            unique = []
            for d in found:
                mark = json.dumps([d.get(k) for k in distinct], default=str)
                if mark not in seen:
                    seen.add(mark)
                    unique.append(d)
            found = unique
        if skip:
            found = found[skip:]
        if take is not None:
            found = found[:take] if take >= 0 else found[take:]
        return [self._row(d) for d in found]

    async def find_first(self, where: Any = None, order: Any = None, **kw: Any) -> Row | None:
        rows = await self.find_many(where=where, order=order, take=1, skip=kw.get("skip"))
        return rows[0] if rows else None

    async def find_first_or_raise(self, where: Any = None, **kw: Any) -> Row:
        row = await self.find_first(where=where, **kw)
        if row is None:
            raise errors.RecordNotFoundError("Expected a record, found none.")
        return row

    async def update(self, where: Any, data: dict[str, Any], **_: Any) -> Row | None:
        with _store.write() as conn:
            found = self._find(where)
            if not found:
                return None
            key, old = found[0]
            new = _updated(self.model, old, data)
            self._replace(conn, key, new)
            return self._row(new)

    async def update_many(self, where: Any, data: dict[str, Any], **_: Any) -> int:
        with _store.write() as conn:
            found = self._find(where)
            for key, old in found:
                self._replace(conn, key, _updated(self.model, old, data))
            return len(found)

    async def upsert(self, where: Any, data: dict[str, Any], **_: Any) -> Row:
        with _store.write() as conn:
            found = self._find(where)
            if found:
                key, old = found[0]
                new = _updated(self.model, old, data.get("update") or {})
                self._replace(conn, key, new)
                return self._row(new)
            return self._row(self._insert(dict(data.get("create") or {}), conn))

    async def delete(self, where: Any, **_: Any) -> Row | None:
        with _store.write() as conn:
            found = self._find(where)
            if not found:
                return None
            key, old = found[0]
            _store.remove(conn, self.model.name, key)
            return self._row(old)

    async def delete_many(self, where: Any = None, **_: Any) -> int:
        with _store.write() as conn:
            found = self._find(where)
            for key, _old in found:
                _store.remove(conn, self.model.name, key)
            return len(found)

    async def count(self, where: Any = None, **_: Any) -> int:
        return len(self._find(where))

    async def group_by(self, by: list[str], where: Any = None, **kw: Any) -> list[dict[str, Any]]:
        groups: dict[str, dict[str, Any]] = {}
        for _k, d in self._find(where):
            mark = json.dumps([d.get(b) for b in by], default=str)
            group = groups.setdefault(mark, {**{b: d.get(b) for b in by}, "_count": {"_all": 0}})
            group["_count"]["_all"] += 1
            for name in kw.get("sum") or {}:
                sums = group.setdefault("_sum", {})
                sums[name] = (sums.get(name) or 0) + (d.get(name) or 0)
        return list(groups.values())


class _Queued:
    """A table in a batch: calls are recorded, run on ``commit``."""

    def __init__(self, batch: _Batch, delegate: Delegate) -> None:
        self._batch = batch
        self._delegate = delegate

    def __getattr__(self, method: str) -> Any:
        def queue(*args: Any, **kwargs: Any) -> None:
            self._batch.calls.append((self._delegate, method, args, kwargs))

        return queue


class _Batch:
    """``db.batch_()``: the queued calls run in one transaction on ``commit``."""

    def __init__(self, client: Prisma) -> None:
        self._client = client
        self.calls: list[tuple[Delegate, str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> _Queued:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Queued(self, self._client.delegate(name))

    async def commit(self) -> None:
        with _store.write():
            for delegate, method, args, kwargs in self.calls:
                await getattr(delegate, method)(*args, **kwargs)
        self.calls.clear()

    async def __aenter__(self) -> _Batch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            await self.commit()


class _Tx:
    def __init__(self, client: Prisma) -> None:
        self._client = client

    async def __aenter__(self) -> Prisma:
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        return None


class Prisma:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connected = False
        self._delegates: dict[str, Delegate] = {}

    def delegate(self, name: str) -> Delegate:
        if name not in self._delegates:
            model = _schema.by_delegate().get(name)
            if model is None:
                raise AttributeError(name)
            self._delegates[name] = Delegate(model)
        return self._delegates[name]

    def __getattr__(self, name: str) -> Delegate:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.delegate(name)

    async def connect(self, timeout: Any = None) -> None:
        self._connected = True

    async def disconnect(self, timeout: Any = None) -> None:
        self._connected = False

    def is_connected(self) -> bool:
        return self._connected

    def is_registered(self) -> bool:
        return False

    async def query_raw(self, query: str, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    async def query_first(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return None

    async def execute_raw(self, query: str, *args: Any, **kwargs: Any) -> int:
        return 0

    def tx(self, *args: Any, **kwargs: Any) -> _Tx:
        return _Tx(self)

    def batch_(self) -> _Batch:
        return _Batch(self)
