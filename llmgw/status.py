"""``llmgw status``: what the gateway serves right now, beside what it should.

One row per public name, from the same desired state ``render`` and ``sync`` use: the config
(engines, deploy flags), the cluster (ready pods, the reason when not), and the gateway as it
is now (values mode: the live release's values; api mode: its rows and router settings), with
what the next deploy or sync would do about it. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmgw import desired, inputs, row_plan, targets
from llmgw.desired import DesiredState
from llmgw.errors import ExternalError
from llmgw.render import models_by_name
from llmgw.review import Reporter
from llmgw.targets import values as values_target


@dataclass(frozen=True)
class Settings:
    config_path: Path
    source: inputs.Source
    gateway_url: str | None = None


@dataclass(frozen=True)
class Row:
    name: str
    config: str
    cluster: str
    gateway: str
    #: in step, would be added, would be removed, changed, served but not wanted, not served.
    state: str
    #: The same, typed, for scripts: each configured member with its pods, and what the
    #: gateway serves under the name.
    members: tuple[dict[str, Any], ...] = ()
    served: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Numbers and booleans, never the table's display strings."""
        return {
            "public_name": self.name,
            "state": self.state,
            "members": [dict(m) for m in self.members],
            "gateway": dict(self.served),
        }


OUT_OF_STEP = ("would be added", "would be removed", "changed")


@dataclass(frozen=True)
class Report:
    rows: list[Row]
    where: str
    #: Other differences the next deploy or sync would apply (settings, router keys).
    other: list[str] = field(default_factory=list)
    #: The helm release as it is now (values mode): name, namespace, installed, and when
    #: installed its revision, status, chart, chart_version and app_version.
    release: dict[str, Any] | None = None

    @property
    def in_step(self) -> bool:
        installed = self.release is None or self.release["installed"]
        return (
            installed
            and self.release_state in ("", "deployed")
            and not self.other
            and all(r.state not in OUT_OF_STEP for r in self.rows)
        )

    @property
    def release_state(self) -> str:
        return str((self.release or {}).get("status") or "")


def run(
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str] | None = None,
    connect: Callable[[], Any] | None = None,
) -> Report:
    ctx = inputs.context(settings.source, env, connect)
    env, connect = ctx.env, ctx.connect
    found = ctx.discover(settings.config_path)
    if found.state.problems:
        raise ExternalError(
            "cannot read the cluster: " + "; ".join(found.state.problems),
            hint="retry, or check the RBAC in docs/rbac.yaml",
        )
    state, config = found.desired, found.config
    api = targets.models_api(config, env, connect, settings.gateway_url)
    release: dict[str, Any] | None = None
    if api is not None:
        plan = api.plan(state, ui)
        aliases = plan.current_router.get("model_group_alias") or {}
        ours: dict[str, int] = {}
        foreign: dict[str, int] = {}
        for row in plan.current:
            bucket = ours if row_plan.is_ours(row, api.owner) else foreign
            name = str(row.get("model_name"))
            bucket[name] = bucket.get(name, 0) + 1
        preview, where = plan.preview, plan.preview.where()
        disagree = _replicas_disagree(api, plan.current, aliases)
        if disagree:
            preview = replace(preview, other=[*preview.other, disagree])
    else:
        chart = values_target.ValuesTarget(
            values_target.Settings(
                settings.config_path,
                kube_context=settings.source.context,
                kubeconfig=settings.source.kubeconfig,
                preview_only=True,
                chart_check=False,
            ),
            env,
            connect,
        )
        vplan = chart.plan(state, ui)
        ours = {n: len(e) for n, e in models_by_name(vplan.live).items()}
        foreign, aliases = {}, _live_aliases(vplan.live)
        preview, where = vplan.preview, vplan.preview.where()
        release = release_of(vplan)
    rows = _rows(state, ours, foreign, aliases, preview)
    return Report(rows, where, [*preview.release_changes, *preview.other], release)


def release_of(plan: values_target.Plan) -> dict[str, Any]:
    """The release as helm lists it, for people and for scripts (typed, not display text)."""
    out: dict[str, Any] = {
        "name": plan.release.name,
        "namespace": plan.release.namespace,
        "installed": plan.current is not None,
    }
    if plan.current is not None:
        c = plan.current
        out.update(
            revision=c.revision,
            status=c.status,
            chart=c.chart_name,
            chart_version=c.chart_version,
            app_version=c.app_version,
        )
    return out


def _replicas_disagree(api: Any, first: list[dict[str, Any]], aliases: Mapping[str, Any]) -> str:
    """Reads spread over the replicas behind the Service: two more reads must list the same
    rows of ours, or a replica has not reloaded the database yet."""
    seen = [{row_plan.row_key(r) for r in first if row_plan.is_ours(r, api.owner)}]
    for _ in range(2):
        rows = row_plan.stored_rows(api.gateway.models(), aliases) if api.gateway else []
        seen.append({row_plan.row_key(r) for r in rows if row_plan.is_ours(r, api.owner)})
    if all(s == seen[0] for s in seen):
        return ""
    return "replicas disagree: not every replica has reloaded the database yet (retry shortly)"


def _live_aliases(live: Mapping[str, Any] | None) -> Mapping[str, Any]:
    from llmgw.render import proxy_config_of

    proxy = proxy_config_of(live)
    router = proxy.get("router_settings") if isinstance(proxy, Mapping) else None
    aliases = router.get("model_group_alias") if isinstance(router, Mapping) else None
    return aliases if isinstance(aliases, Mapping) else {}


def _rows(
    state: DesiredState,
    ours: Mapping[str, int],
    foreign: Mapping[str, int],
    aliases: Mapping[str, Any],
    preview: Any,
) -> list[Row]:
    config = state.config
    found = {m.key: m for m in state.models}
    members: dict[str, list[str]] = {}
    cluster: dict[str, list[str]] = {}
    typed: dict[str, list[dict[str, Any]]] = {}
    for d in desired.deployments(config, state.models):
        label = d.kind if d.model.deploy else f"{d.kind} (deploy: false)"
        if d.rule is not None:
            label += f" (discover[{d.rule}])"
        members.setdefault(d.public_name, []).append(label)
        m = found.get(d.key)
        member: dict[str, Any] = {
            "engine": d.kind,
            "deploy": d.model.deploy,
            "found_by": "models" if d.rule is None else f"discover[{d.rule}]",
        }
        if m is not None:
            cluster.setdefault(d.public_name, []).append(
                f"{m.ready_replicas}/{m.replicas} ready"
                + ("" if m.ready else f" ({m.reason})" if m.reason else "")
            )
            member.update(
                ready=m.ready, ready_pods=m.ready_replicas, pods=m.replicas, reason=m.reason
            )
        typed.setdefault(d.public_name, []).append(member)
    wanted, alias_wanted = set(state.names), state.router.aliases
    names = list(dict.fromkeys([*members, *ours, *foreign, *aliases]))
    rows = []
    for name in names:
        served = []
        if ours.get(name):
            served.append(f"{ours[name]} deployment{'s' if ours[name] > 1 else ''}")
        if name in aliases:
            served.append(f"→ {aliases[name]} (fallback)")
        if foreign.get(name):
            served.append(f"{foreign[name]} not managed by llmgw")
        if name in preview.added:
            row_state = "would be added"
        elif name in preview.removed:
            row_state = "would be removed"
        elif name in preview.changed or alias_wanted.get(name) != _target(aliases.get(name)):
            row_state = "changed"
        elif name in wanted or name in alias_wanted:
            row_state = "in step"
        elif foreign.get(name) and name not in members:
            row_state = "served but not wanted"
        else:
            row_state = "not served"
        rows.append(
            Row(
                name,
                ", ".join(members.get(name, [])) or "-",
                "; ".join(cluster.get(name, [])) or "-",
                ", ".join(served) or "-",
                row_state,
                tuple(typed.get(name, [])),
                {
                    "deployments": ours.get(name, 0),
                    "fallback": _target(aliases.get(name)),
                    "not_managed": foreign.get(name, 0),
                },
            )
        )
    return rows


def _target(alias: Any) -> str | None:
    if isinstance(alias, Mapping):
        return str(alias.get("model")) if alias.get("model") else None
    return str(alias) if alias else None
