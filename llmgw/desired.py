"""The gateway's whole desired state: config + discovered models → what it should serve.

The one place that decides which deployments stand behind each public name (with the params
LiteLLM gets) and what the router does about the names that are down: fallback chains with
only served targets, and an alias for a name whose every deployment is down. Both targets read
it — the values target writes it into the chart values, the api target into the gateway's
database rows and router settings — so ``render``, ``deploy``, ``sync`` and the controller can
never disagree about what the gateway should serve. Pure: no I/O, nothing printed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmgw.config import BedrockModel, Config, Deployment, key_env, passthrough
from llmgw.discovery import DiscoveredModel
from llmgw.engines import ENGINES

#: Router settings that follow the cluster (a target going down, a name coming back): in api
#: mode they live in the gateway's database, where every replica re-reads them on its reload.
LIVE_ROUTER_KEYS = ("fallbacks", "context_window_fallbacks", "model_group_alias")
#: Router settings a user fixes in the config: they change only with the config.
FIXED_ROUTER_KEYS = ("routing_strategy", "num_retries", "timeout", "allowed_fails", "cooldown_time")


@dataclass(frozen=True)
class RouterPlan:
    #: ``router_settings`` as LiteLLM reads them (only what is set).
    settings: dict[str, Any]
    #: Public name → the served name that answers for it while it is down.
    aliases: dict[str, str]
    warnings: list[str]

    @property
    def live(self) -> dict[str, Any]:
        """The cluster-dependent keys, each present (empty when unused), so writing them
        replaces what a replica holds: LiteLLM's ``update_settings`` only sets the keys given,
        so a key left out would keep an alias that is no longer wanted."""
        return {
            "fallbacks": list(self.settings.get("fallbacks", [])),
            "context_window_fallbacks": list(self.settings.get("context_window_fallbacks", [])),
            "model_group_alias": dict(self.aliases),
        }

    @property
    def fixed(self) -> dict[str, Any]:
        return {k: v for k, v in self.settings.items() if k not in LIVE_ROUTER_KEYS}


@dataclass(frozen=True)
class DesiredState:
    config: Config
    #: Every configured self-hosted model as discovery (and the controller's grace) saw it.
    models: tuple[DiscoveredModel, ...]
    #: One entry per served deployment, in config order (see ``model_entries``).
    entries: tuple[dict[str, Any], ...]
    router: RouterPlan
    warnings: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """The public names the gateway serves from its own deployments, each once."""
        return list(dict.fromkeys(str(e["public_name"]) for e in self.entries))

    def removal_reasons(self, names: Iterable[str]) -> dict[str, Removal]:
        """Why each public name is missing from this state, in words a user can act on."""
        return removal_reasons(self.config, self.models, names)


def build(config: Config, models: Sequence[DiscoveredModel]) -> DesiredState:
    plan = router_plan(config, models)
    entries = tuple(model_entries(config, models))
    return DesiredState(config, tuple(models), entries, plan, tuple(plan.warnings))


def deployments(config: Config, discovered: Sequence[DiscoveredModel]) -> list[Deployment]:
    """Every deployment the gateway could route to: the configured ones, in config order,
    then the ones the ``discover:`` rules found (ready or not)."""
    return [
        *config.deployments(),
        *(
            Deployment(
                ("discover", m.rule, m.namespace, m.name),
                m.engine,
                m.spec,
                m.public_name,
                ENGINES[m.engine].mode,
            )
            for m in discovered
            if m.spec is not None and m.rule is not None
        ),
    ]


def served(config: Config, discovered: Sequence[DiscoveredModel]) -> list[Deployment]:
    """The deployments the gateway routes to now: Bedrock models with deploy: true, and
    self-hosted ones with deploy: true and a ready pod."""
    ready = {d.key for d in discovered if d.ready}
    return [
        d
        for d in deployments(config, discovered)
        if d.model.deploy and (d.kind == "bedrock" or d.key in ready)
    ]


def model_entries(config: Config, discovered: Sequence[DiscoveredModel]) -> list[dict[str, Any]]:
    """One model_list entry per served deployment, in config order.

    Deployments sharing a public name become one LiteLLM model group (several entries, one
    ``model_name``); ``weight``/``order``/``rpm``/``tpm`` go into ``litellm_params``, where
    LiteLLM's router reads them.
    """
    found = {d.key: d for d in discovered}
    out: list[dict[str, Any]] = []
    for d in served(config, discovered):
        model = d.model
        namespace = ""
        if isinstance(model, BedrockModel):
            region = model.region or config.bedrock.region
            params: dict[str, Any] = {
                "model": litellm_model("bedrock", model.model),
                "aws_region_name": region,
            }
            info: dict[str, Any] = {"mode": d.mode}
        else:
            f = found[d.key]
            namespace = f.namespace
            params = {
                "model": litellm_model(ENGINES[d.kind].provider, f.served_name),
                "api_base": f.api_base,
            }
            info = {"mode": d.mode, **model.model_info}
            if model.api_key is not None:
                params["api_key"] = f"os.environ/{key_env(model.api_key)}"
        params.update(model.routing_params())
        params.update(passthrough.resolve(model.litellm_params))
        out.append(
            {
                "public_name": d.public_name,
                "name": model.name,
                "kind": d.kind,
                "namespace": namespace,
                "mode": d.mode,
                "litellm_params": params,
                "model_info": info,
            }
        )
    return out


def router_plan(config: Config, discovered: Sequence[DiscoveredModel]) -> RouterPlan:
    """Router settings for what is served now.

    Fallback targets that are not served are left out of the chain (a chain left empty is
    dropped); a public name with no ready deployment but a served fallback keeps answering
    through ``model_group_alias`` to its first served target, until its pods are back.
    """
    router = config.router
    up = {d.public_name for d in served(config, discovered)}
    known = {d.public_name: d for d in deployments(config, discovered)}
    wanted = {name for name, d in known.items() if d.model.deploy}
    warnings: list[str] = []
    settings: dict[str, Any] = {}
    for key in FIXED_ROUTER_KEYS:
        value = getattr(router, key)
        if value is not None:
            settings[key] = value
    aliases: dict[str, str] = {}
    for key in ("fallbacks", "context_window_fallbacks"):
        chains: list[dict[str, list[str]]] = []
        for source, targets in getattr(router, key).items():
            live = [t for t in targets if t in up]
            for target in targets:
                if target not in up:
                    warnings.append(
                        f"{key}: {target} is {_unknown(target, known)}; left out of "
                        f"{source}'s chain"
                    )
            if not live:
                if targets:
                    warnings.append(f"{key}: {source} has no served target; chain dropped")
                continue
            if source in up:
                chains.append({source: live})
            elif key == "fallbacks" and source in wanted:
                aliases[source] = live[0]
                warnings.append(f"{source} → {live[0]} while {source} is down")
        if chains:
            settings[key] = chains
    if aliases:
        settings["model_group_alias"] = aliases
    return RouterPlan(settings, aliases, warnings)


def _unknown(name: str, known: Mapping[str, Deployment]) -> str:
    """Why a fallback target is not served: down, or named by no model (with discover rules
    a name is known only once a rule finds it, so an unknown one is said, not fatal)."""
    if name in known:
        return "not served in this render"
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    tip = f" (did you mean {close[0]}?)" if close else ""
    return f"neither configured nor found by a discover rule{tip}"


def litellm_model(provider: str, served_name: str) -> str:
    return f"{provider}/{served_name}"


class Removal(str):
    """Why a served name would go, in words; ``renamed`` when it is there under a new name
    (a decision reads the flag, never the words)."""

    renamed: bool

    def __new__(cls, why: str, renamed: bool = False) -> Removal:
        out = super().__new__(cls, why)
        out.renamed = renamed
        return out


def removal_reasons(
    config: Config, models: Sequence[DiscoveredModel], names: Iterable[str]
) -> dict[str, Removal]:
    """Why each public name is not served, in words a user can act on."""
    found = {m.key: m for m in models}
    members: dict[str, list[Deployment]] = {}
    former: dict[str, Deployment] = {}  # the names a model had before a rename
    for d in deployments(config, models):
        members.setdefault(d.public_name, []).append(d)
        for old in (str(d.model.name), f"{d.kind}/{d.model.name}"):
            former.setdefault(old, d)
    reasons: dict[str, Removal] = {}
    for name in names:
        if name in members:
            reasons[name] = Removal("; ".join(_member_reason(d, found) for d in members[name]))
        elif name in former:
            reasons[name] = Removal(
                f"renamed to {former[name].public_name} (gateway.model_names, or model_name)",
                renamed=True,
            )
        elif config.discover:
            reasons[name] = Removal("no longer in the config, and no discover rule finds its pods")
        else:
            reasons[name] = Removal("no longer in the config")
    return reasons


def _member_reason(d: Deployment, found: Mapping[tuple[str, ...], DiscoveredModel]) -> str:
    if not d.model.deploy:
        return "deploy: false in the config"
    m = found.get(d.key)
    return f"not ready: {m.reason}" if m is not None else "not served"
