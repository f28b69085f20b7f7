"""``llmgw deploy``: the desired state through the values target (render, preview, guard,
secrets, helm upgrade), then — with ``gateway.model_source: api`` — the models through the
api target once the gateway's settings are rolled out.

Both targets see the one desired state this run computed, and both go through the one
preview, guard and confirmation (``targets.base.converge``). Nothing outside is touched until
every check has passed; the values file on disk is replaced only after helm succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from llmgw import inputs, targets
from llmgw.desired import DesiredState
from llmgw.errors import ExternalError, InputError
from llmgw.review import Preview, Reporter
from llmgw.targets import base
from llmgw.targets import values as values_target
from llmgw.targets.api import ApiTarget, preview_of
from llmgw.targets.api import Outcome as SyncOutcome
from llmgw.targets.api import outcome as sync_outcome


@dataclass(frozen=True)
class Settings:
    #: The release, chart and values file (``values.config_path`` is the config's).
    values: values_target.Settings
    source: inputs.Source
    dry_run: bool = False
    yes: bool = False
    allow_removal: bool = False
    allow_partial: bool = False
    #: After the rollout (and the sync): the names added or changed must answer.
    verify: bool = False


@dataclass(frozen=True)
class Outcome:
    preview: Preview
    applied: bool
    release: str = ""
    revision: int | None = None
    models: list[str] = field(default_factory=list)
    url: str = ""
    port_forward: str = ""
    warnings: list[str] = field(default_factory=list)
    #: What the run decided that a user should know (a stored secret kept, a variable to set).
    notes: list[str] = field(default_factory=list)
    #: With gateway.model_source: api, what the model sync did after the rollout.
    sync: SyncOutcome | None = None


def preflight(settings: Settings, can_ask: bool, connect: Callable[[], Any]) -> None:
    """What a deploy needs before anything else is touched (``add-bedrock-model --deploy``
    checks it before it edits the config): helm, a cluster to reach (the run's connection,
    which the deploy then uses), and a confirmation."""
    from llmgw import helm

    helm.find()
    connect()
    if not (settings.yes or settings.dry_run or can_ask):
        raise InputError(
            "refusing to deploy without confirmation: no terminal to ask on",
            hint="pass --yes to deploy unattended (review with --dry-run first)",
        )


def run(
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str] | None = None,
    connect: Callable[[], Any] | None = None,
) -> Outcome:
    ctx = inputs.context(settings.source, env, connect)  # one connection for the whole run
    env, connect = ctx.env, ctx.connect
    ui.phase("discover")
    found = ctx.discover(settings.values.config_path)
    partial = inputs.require_complete(found.state, settings.allow_partial)
    chart = replace(
        settings.values,
        kube_context=settings.source.context,
        kubeconfig=settings.source.kubeconfig,
        preview_only=settings.dry_run,
    )
    target = values_target.ValuesTarget(chart, env, connect)
    policy = base.Policy(settings.dry_run, settings.yes, settings.allow_removal)
    result = base.converge(target, found.desired, policy, ui)
    plan: values_target.Plan = result.plan
    if plan.chart_error is not None:
        raise plan.chart_error
    warnings = [*partial, *plan.rendered.warnings]
    outcome = Outcome(plan.preview, applied=False, warnings=warnings, notes=plan.notes)
    if result.applied:
        applied: values_target.Applied = result.detail
        outcome = replace(
            outcome,
            applied=True,
            release=plan.release.name,
            revision=applied.revision,
            models=applied.models,
            url=applied.url,
            port_forward=applied.port_forward,
        )
    api = targets.models_api(found.config, env, connect)
    if api is not None:
        # Once the settings are rolled out (or were in step), the models go through the api
        # target: the same desired state, guard and confirmation; accepted once is enough.
        policy = replace(policy, yes=settings.yes or result.applied)
        outcome = _then_sync(outcome, api, found.desired, policy, ui)
    if settings.verify and not settings.dry_run:
        synced = outcome.sync
        preview = preview_of(synced.plan) if synced is not None else outcome.preview
        names = [*preview.added, *preview.changed]
        if names and (outcome.applied or (synced is not None and synced.applied)):
            from llmgw import gateway_client, verification

            ui.phase("verify through the gateway")
            gw = gateway_client.open_api(found.config, None, env, connect)
            verification.require_answers(gw, found.desired, names, "the deploy was applied")
    return outcome


def _then_sync(
    outcome: Outcome, target: ApiTarget, state: DesiredState, policy: base.Policy, ui: Reporter
) -> Outcome:
    try:
        synced = sync_outcome(target, base.converge(target, state, policy, ui))
    except ExternalError as exc:
        if policy.dry_run or not outcome.applied:
            if policy.dry_run:  # a first install has no gateway to ask yet
                note = f"the models are synced after the rollout (cannot preview: {exc.message})"
                return replace(outcome, notes=[*outcome.notes, note])
            raise
        exc.message = f"the gateway was deployed, but the model sync failed: {exc.message}"
        exc.hint = (exc.hint + "; then " if exc.hint else "") + "run `llmgw sync`"
        raise
    new = [w for w in synced.warnings if w not in outcome.warnings]
    return replace(outcome, sync=synced, warnings=[*outcome.warnings, *new], models=synced.names)
