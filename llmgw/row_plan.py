"""Pure: the rows and router settings llmgw wants in the gateway's database, and the plan.

llmgw only ever deletes rows it created for this gateway: each carries
``model_info.llmgw_managed``, ``llmgw_owner`` (``<namespace>/<release>``) and ``llmgw_spec`` (a
hash of what was sent: LiteLLM returns stored params decrypted with some secret values
masked, so they cannot be compared as they come back). Ids are deterministic: uuid5 of owner,
public name, engine, namespace, model and spec. A re-run never duplicates a row, a run that
failed part-way converges on the next, and a changed deployment is a new row created before
the old one is deleted, so no replica is ever without the name (LiteLLM's PATCH merges
``model_info`` and cannot clear a param; make-before-break needs neither).

What ``/model/info`` lists is planned as stored: for each ``model_group_alias`` entry LiteLLM
lists copies of the target's rows under the alias name, with the same id and llmgw keys;
such a copy is neither ours to delete nor a served name to guard. Config-file models
(``db_model: false``) and rows people added in the UI are "not managed" and never touched.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The namespace of llmgw's row ids (uuid5): fixed, so ids are the same on every machine.
ID_NAMESPACE = uuid.UUID("6f1d2c44-9a8e-5c3b-8f4e-11c0a7d9e2b5")
MANAGED, OWNER, SPEC = "llmgw_managed", "llmgw_owner", "llmgw_spec"
#: The router settings llmgw keeps in step at run time (``desired.LIVE_ROUTER_KEYS``).
ROUTER_KEYS = ("fallbacks", "context_window_fallbacks", "model_group_alias")


def owner_of(namespace: str, release: str) -> str:
    return f"{namespace}/{release}"


def spec(model_name: str, params: Mapping[str, Any], info: Mapping[str, Any]) -> str:
    """A hash of what a row says, without llmgw's own bookkeeping keys."""
    own = {k: v for k, v in info.items() if k != "id" and not k.startswith("llmgw_")}
    text = json.dumps([model_name, dict(params), own], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def row_id(owner: str, entry: Mapping[str, Any], row_spec: str) -> str:
    parts = [
        owner,
        entry["public_name"],
        entry["kind"],
        entry.get("namespace", ""),
        entry["name"],
        row_spec,
    ]
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def desired_rows(entries: Iterable[Mapping[str, Any]], owner: str) -> list[dict[str, Any]]:
    """One row per served deployment (``desired.model_entries``), ready for /model/new."""
    rows = []
    for entry in entries:
        params = dict(entry["litellm_params"])
        info = dict(entry["model_info"])
        row_spec = spec(entry["public_name"], params, info)
        rows.append(
            {
                "model_name": entry["public_name"],
                "litellm_params": params,
                "model_info": {
                    **info,
                    "id": row_id(owner, entry, row_spec),
                    MANAGED: True,
                    OWNER: owner,
                    SPEC: row_spec,
                },
            }
        )
    return rows


def _info(row: Mapping[str, Any]) -> Mapping[str, Any]:
    info = row.get("model_info")
    return info if isinstance(info, Mapping) else {}


def _id(row: Mapping[str, Any]) -> str:
    return str(_info(row).get("id"))


def row_key(row: Mapping[str, Any]) -> tuple[str, str]:
    """A row as one replica lists it: its id and public name (alias copies differ by name)."""
    return (_id(row), str(row.get("model_name")))


def is_ours(row: Mapping[str, Any], owner: str) -> bool:
    info = _info(row)
    return (
        bool(info.get(MANAGED)) and info.get(OWNER) == owner and info.get("db_model") is not False
    )


def stored_rows(
    current: Sequence[Mapping[str, Any]], aliases: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """``/model/info`` without the copies LiteLLM lists under each alias name."""
    names_by_id: dict[str, set[str]] = {}
    for row in current:
        names_by_id.setdefault(_id(row), set()).add(str(row.get("model_name")))
    return [
        row
        for row in current
        if not (
            str(row.get("model_name")) in aliases and len(names_by_id[_id(row)] - set(aliases)) > 0
        )
    ]


def router_state(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keys llmgw keeps in step, as LiteLLM reports them (None and absent: empty)."""
    return {
        "fallbacks": list(settings.get("fallbacks") or []),
        "context_window_fallbacks": list(settings.get("context_window_fallbacks") or []),
        "model_group_alias": dict(settings.get("model_group_alias") or {}),
    }


@dataclass(frozen=True)
class SyncPlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    delete: list[Mapping[str, Any]] = field(default_factory=list)
    #: The router settings to write (all of ROUTER_KEYS), or None when they are in step.
    router: dict[str, Any] | None = None
    #: Router keys whose value changes, for the preview.
    router_changes: list[str] = field(default_factory=list)
    #: Rows llmgw does not own (config models, rows added in the UI, other gateways'): kept.
    unmanaged: list[Mapping[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.delete) + (1 if self.router is not None else 0)


def plan(
    desired: Sequence[dict[str, Any]],
    current: Sequence[Mapping[str, Any]],
    owner: str,
    router: Mapping[str, Any] | None = None,
    current_router: Mapping[str, Any] | None = None,
) -> SyncPlan:
    """What to create, delete and set so the gateway holds exactly ``desired`` of ours and
    the router settings ``router`` (None: leave the router as it is)."""
    live = router_state(current_router or {})
    rows = stored_rows(current, live["model_group_alias"])
    ours = {_id(r): r for r in rows if is_ours(r, owner)}
    unmanaged = [r for r in rows if not is_ours(r, owner)]
    wanted = {_id(d): d for d in desired}
    create = [d for i, d in wanted.items() if i not in ours]
    delete = [r for i, r in ours.items() if i not in wanted]
    before = {str(r.get("model_name")) for r in ours.values()}
    after = {str(d["model_name"]) for d in desired}
    touched = {str(d["model_name"]) for d in create} | {str(r.get("model_name")) for r in delete}
    new_router: dict[str, Any] | None = None
    changes: list[str] = []
    if router is not None:
        target = router_state(router)
        changes = [k for k in ROUTER_KEYS if target[k] != live[k]]
        new_router = target if changes else None
    return SyncPlan(
        create=create,
        delete=delete,
        router=new_router,
        router_changes=[f"changed router_settings.{k}" for k in changes],
        unmanaged=unmanaged,
        added=sorted(after - before),
        removed=sorted(before - after),
        changed=sorted(touched & before & after),
    )
