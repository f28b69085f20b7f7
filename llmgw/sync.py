"""Pure: the rows llmgw wants in the gateway's database, and the plan to get there.

llmgw only ever updates or deletes rows it created for this gateway: each carries
``model_info.llmgw_managed``, ``llmgw_owner`` (``<namespace>/<release>``) and ``llmgw_spec``
(a hash of what was sent, since LiteLLM returns stored params encrypted or stripped). Ids are
deterministic (uuid5 of owner, public name, engine, namespace and model), so a re-run never
duplicates a row and a run that failed part-way converges on the next. Config-file models
(``db_model: false``) and rows people added in the UI are "not managed" and never touched.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: The namespace of llmgw's row ids (uuid5): fixed, so ids are the same on every machine.
ID_NAMESPACE = uuid.UUID("6f1d2c44-9a8e-5c3b-8f4e-11c0a7d9e2b5")
MANAGED, OWNER, SPEC, KEYS = "llmgw_managed", "llmgw_owner", "llmgw_spec", "llmgw_keys"


def owner_of(namespace: str, release: str) -> str:
    return f"{namespace}/{release}"


def row_id(owner: str, entry: Mapping[str, Any]) -> str:
    parts = [owner, entry["public_name"], entry["kind"], entry.get("namespace", ""), entry["name"]]
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def spec(model_name: str, params: Mapping[str, Any], info: Mapping[str, Any]) -> str:
    """A hash of what a row says, without llmgw's own bookkeeping keys."""
    own = {k: v for k, v in info.items() if k != "id" and not k.startswith("llmgw_")}
    text = json.dumps([model_name, dict(params), own], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def desired_rows(entries: Iterable[Mapping[str, Any]], owner: str) -> list[dict[str, Any]]:
    """One row per served deployment (``integration.model_entries``), ready for /model/new."""
    rows = []
    for entry in entries:
        params = dict(entry["litellm_params"])
        info = dict(entry["model_info"])
        rows.append(
            {
                "model_name": entry["public_name"],
                "litellm_params": params,
                "model_info": {
                    **info,
                    "id": row_id(owner, entry),
                    MANAGED: True,
                    OWNER: owner,
                    SPEC: spec(entry["public_name"], params, info),
                    KEYS: sorted(params),
                },
            }
        )
    return rows


def _info(row: Mapping[str, Any]) -> Mapping[str, Any]:
    info = row.get("model_info")
    return info if isinstance(info, Mapping) else {}


def is_ours(row: Mapping[str, Any], owner: str) -> bool:
    info = _info(row)
    return (
        bool(info.get(MANAGED)) and info.get(OWNER) == owner and info.get("db_model") is not False
    )


@dataclass(frozen=True)
class Change:
    desired: dict[str, Any]
    current: Mapping[str, Any]
    #: ``patch`` merges; ``replace`` (delete + create) when a param must go, since no
    #: management endpoint can clear one.
    how: Literal["patch", "replace"]


@dataclass(frozen=True)
class SyncPlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    change: list[Change] = field(default_factory=list)
    delete: list[Mapping[str, Any]] = field(default_factory=list)
    #: Rows llmgw does not own (config models, rows added in the UI, other gateways'): kept.
    unmanaged: list[Mapping[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return (
            len(self.create)
            + len(self.delete)
            + sum(2 if c.how == "replace" else 1 for c in self.change)
        )


def plan(
    desired: Sequence[dict[str, Any]], current: Sequence[Mapping[str, Any]], owner: str
) -> SyncPlan:
    """What to create, change and delete so the gateway holds exactly ``desired`` of ours."""
    ours = {str(_info(r).get("id")): r for r in current if is_ours(r, owner)}
    unmanaged = [r for r in current if not is_ours(r, owner)]
    wanted = {str(d["model_info"]["id"]): d for d in desired}
    create = [d for i, d in wanted.items() if i not in ours]
    change = []
    for i, d in wanted.items():
        row = ours.get(i)
        if row is None or _info(row).get(SPEC) == d["model_info"][SPEC]:
            continue
        old_keys = set(_info(row).get(KEYS) or [])
        how: Literal["patch", "replace"] = (
            "patch" if old_keys <= set(d["litellm_params"]) else "replace"
        )
        change.append(Change(d, row, how))
    delete = [r for i, r in ours.items() if i not in wanted]
    before = {str(r.get("model_name")) for r in ours.values()}
    after = {str(d["model_name"]) for d in desired}
    touched = (
        {str(d["model_name"]) for d in create}
        | {str(c.desired["model_name"]) for c in change}
        | {str(r.get("model_name")) for r in delete}
    )
    return SyncPlan(
        create=create,
        change=change,
        delete=delete,
        unmanaged=unmanaged,
        added=sorted(after - before),
        removed=sorted(before - after),
        changed=sorted(touched & before & after),
    )
