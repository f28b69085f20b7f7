"""``llmgw deploy``: render, preview, guard, write secrets, helm upgrade, report.

Nothing outside is touched until every check has passed: the values render and validate, the
chart is pinned, every secret's environment variable is set, the chart renders the values
(``helm template``), the preview is shown and accepted, and no served model would be dropped
by accident. The values file on disk is replaced only after helm succeeded.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from llmgw import files, helm, integration, pipeline, yamlout
from llmgw.config import Config, Deployment
from llmgw.discovery import DiscoveredModel
from llmgw.errors import InputError, RefusedError
from llmgw.redact import redact
from llmgw.render import chart_kind_of, model_names, models_by_name


@dataclass(frozen=True)
class Settings:
    config_path: Path
    source: pipeline.Source
    template: Path | None = None
    out: Path = Path("values.rendered.yaml")
    release: str | None = None
    namespace: str | None = None
    chart: str | None = None
    chart_version: str | None = None
    timeout: str = "10m"
    wait: bool = True
    dry_run: bool = False
    yes: bool = False
    allow_removal: bool = False
    allow_partial: bool = False


class Reporter(Protocol):
    def phase(self, name: str) -> None: ...
    def preview(self, preview: Preview) -> None: ...
    def confirm(self, question: str) -> bool | None:
        """True/False from the user; None when there is no terminal to ask on."""


@dataclass(frozen=True)
class Preview:
    new_install: bool
    added: list[str]
    removed: list[str]
    changed: list[str]
    other: list[str]
    diff: str

    @property
    def changes(self) -> bool:
        return bool(self.new_install or self.added or self.removed or self.changed or self.other)


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
    sync: Any = None


# -- the pure part -------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if path.endswith("proxy_config.model_list"):
                continue
            out.update(_flatten(item, path))
        return out
    return {prefix: value} if prefix else {}


def preview(
    live: Mapping[str, Any] | None, new: Mapping[str, Any], secrets: Sequence[str]
) -> Preview:
    """What applying ``new`` over the live release's values would change, secrets masked."""
    old_models, new_models = models_by_name(live), models_by_name(new)
    old_flat, new_flat = _flatten(dict(live or {})), _flatten(dict(new))
    other = sorted(k for k in set(old_flat) | set(new_flat) if old_flat.get(k) != new_flat.get(k))
    old_text = yamlout.document(dict(live)) if live else ""
    new_text = yamlout.document(dict(new))
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile="live release values",
            tofile="new values",
        )
    )
    return Preview(
        new_install=live is None,
        added=[m for m in new_models if m not in old_models],
        removed=[m for m in old_models if m not in new_models],
        changed=[m for m in new_models if m in old_models and new_models[m] != old_models[m]],
        other=other if live is not None else [],
        diff=redact(diff, secrets),
    )


def removal_reasons(
    config: Config, models: list[DiscoveredModel], names: list[str]
) -> dict[str, str]:
    """Why each served public name is missing from the new values, in words a user can act on."""
    found = {(m.engine, m.name): m for m in models}
    members: dict[str, list[Deployment]] = {}
    former: dict[str, Deployment] = {}  # the names a model had before a rename
    for d in config.deployments():
        members.setdefault(d.public_name, []).append(d)
        for old in (str(d.model.name), f"{d.kind}/{d.model.name}"):
            former.setdefault(old, d)
    reasons: dict[str, str] = {}
    for name in names:
        if name in members:
            why = [_member_reason(d, found) for d in members[name]]
            reasons[name] = "; ".join(why)
        elif name in former:
            reasons[name] = (
                f"renamed to {former[name].public_name} (gateway.model_names, or model_name)"
            )
        else:
            reasons[name] = "no longer in the config"
    return reasons


def _member_reason(d: Deployment, found: Mapping[tuple[str, str], DiscoveredModel]) -> str:
    if not d.model.deploy:
        return "deploy: false in the config"
    m = found.get((d.kind, str(d.model.name)))
    return f"not ready: {m.reason}" if m is not None else "not served"


def managed_secret_data(
    config: Config,
    env: Mapping[str, str],
    stored: Callable[[], Mapping[str, str] | None] | None,
) -> tuple[dict[str, str], list[str]]:
    """Keys and values of the Secret llmgw manages (reference mode), and notes.

    A variable that is not set keeps the value the Secret already holds in the cluster
    (``stored()`` reads it; None for a preview, which needs no values); only a first install
    needs every value. The whole set is applied, so updating one key never drops another.
    """
    if config.secrets.mode != "reference":
        return {}, []
    unset = integration.unset_secret_vars(config, env)
    data = {
        name: env[ref.env]
        for name, ref, _path in integration.secret_refs(config)
        if ref.env is not None and env.get(ref.env)
    }
    secret = config.managed_secret_name()
    if not unset:
        return data, []
    if stored is None:
        return data, [
            f"{var} is not set: the real deploy needs it ({path}) unless the Secret {secret} "
            f"already holds {name}"
            for name, var, path in unset
        ]
    held = stored() or {}
    notes: list[str] = []
    missing: list[tuple[str, str, str]] = []
    for name, var, path in unset:
        if name in held:
            data[name] = held[name]
            notes.append(f"{var} is not set: keeping the {name} the Secret {secret} holds")
        else:
            missing.append((name, var, path))
    if missing:
        names = ", ".join(f"{var} ({path})" for _name, var, path in missing)
        raise InputError(
            f"environment variables not set, and the Secret {secret} does not hold them yet: "
            f"{names}",
            hint="export them before deploying: a first install needs every value "
            f"(export {missing[0][1]}=…)",
        )
    return data, notes


def gateway_access(config: Config, release: str, namespace: str) -> tuple[str, str]:
    host = integration.gateway_host(config)
    service = integration.gateway_service(config, release)
    forward = f"kubectl port-forward -n {namespace} svc/{service} 4000:4000"
    return (f"https://{host}" if host else ""), forward


# -- the run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Everything checked and decided, nothing outside touched yet."""

    rendered: pipeline.Rendered
    release: helm.Release
    helm: helm.Helm
    preview: Preview
    secret_data: dict[str, str]
    notes: list[str] = field(default_factory=list)


def _connector(settings: Settings, connect: Callable[[], Any] | None) -> Callable[[], Any]:
    if connect is not None:
        return connect
    from llmgw.kube import auth

    return auth.connector(auth.Connection(settings.source.kubeconfig, settings.source.context))


def plan(
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str],
    connect: Callable[[], Any] | None = None,
) -> Plan:
    """Render, read the live release, preview, and refuse an accidental removal."""
    ui.phase("render")
    rendered = pipeline.render(
        settings.config_path,
        settings.source,
        settings.template,
        env,
        allow_partial=settings.allow_partial,
        placeholders=settings.dry_run,
    )
    config = rendered.discovery.config
    gw = config.gateway
    release = helm.Release(
        name=settings.release or gw.release,
        namespace=settings.namespace or gw.namespace,
        chart=settings.chart or gw.chart,
        version=settings.chart_version or gw.chart_version,
        values_file=settings.out,
        timeout=settings.timeout,
        wait=settings.wait,
        kube_context=settings.source.context,
    )
    helm.check_chart(release.chart, release.version)

    def stored() -> Mapping[str, str] | None:
        from llmgw.kube import write

        ui.phase("read the managed Secret")
        return write.read_secret(
            _connector(settings, connect)(), release.namespace, config.managed_secret_name()
        )

    secret_data, notes = managed_secret_data(config, env, None if settings.dry_run else stored)
    h = helm.find()
    ui.phase("read live release")
    live = helm.live_values(h, release)
    if live is not None and chart_kind_of(live) != gw.chart_kind:
        raise RefusedError(
            f"release {release.name} runs the {chart_kind_of(live)} chart; the config asks for "
            f"the {gw.chart_kind} chart, whose values differ in almost every key: switching is "
            "a new install, not an upgrade",
            hint="install the new chart under another release (gateway.release, or "
            "--release), move clients to it, then `helm uninstall` the old one",
        )
    masked = [*rendered.secrets, *secret_data.values()]
    change = preview(live, rendered.values, masked)
    ui.preview(change)
    if change.removed and not settings.allow_removal:
        reasons = removal_reasons(config, rendered.discovery.models, change.removed)
        renamed = any(why.startswith("renamed to") for why in reasons.values())
        raise RefusedError(
            "the new values would drop models the live release serves: "
            + "; ".join(f"{name} ({why})" for name, why in reasons.items()),
            hint=(
                "clients asking for the old names would break: keep them with "
                "gateway.model_names: plain (or a model_name each), or pass --allow-removal "
                "to switch"
            )
            if renamed
            else "wait until they are ready again, or pass --allow-removal to drop them",
        )
    return Plan(rendered, release, h, change, secret_data, notes)


def apply(
    p: Plan, settings: Settings, ui: Reporter, connect: Callable[[], Any] | None = None
) -> Outcome:
    """Chart check, the managed Secret, helm upgrade; the values file only after success."""
    rendered, release = p.rendered, p.release
    config = rendered.discovery.config
    staging = settings.out.with_name(f".{settings.out.name}.deploy")
    files.write_atomic(staging, rendered.text, private=True)
    try:
        staged = replace(release, values_file=staging)
        ui.phase("chart check")
        masked = [*rendered.secrets, *p.secret_data.values()]
        helm.template(p.helm, staged, masked)
        if p.secret_data:
            ui.phase("secrets")
            from llmgw.kube import write

            cluster = _connector(settings, connect)()
            write.apply_secret(
                cluster, release.namespace, config.managed_secret_name(), p.secret_data
            )
        ui.phase("helm upgrade and rollout")
        helm.upgrade(p.helm, staged, masked)
        files.write_atomic(settings.out, rendered.text, private=bool(rendered.secrets))
    finally:
        staging.unlink(missing_ok=True)
    url, forward = gateway_access(config, release.name, release.namespace)
    return Outcome(
        p.preview,
        applied=True,
        release=release.name,
        revision=helm.revision(p.helm, release),
        models=model_names(rendered.values),
        url=url,
        port_forward=forward,
        warnings=rendered.warnings,
        notes=p.notes,
    )


def run(
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str] | None = None,
    connect: Callable[[], Any] | None = None,
) -> Outcome:
    env = os.environ if env is None else env
    connect = _connector(settings, connect)  # one connection for the whole run
    p = plan(settings, ui, env, connect)
    if not p.preview.changes or settings.dry_run:
        outcome = Outcome(p.preview, applied=False, warnings=p.rendered.warnings, notes=p.notes)
        return _then_sync(outcome, p, settings, ui, env, connect)
    if not settings.yes:
        answer = ui.confirm(
            f"Apply to release {p.release.name} in namespace {p.release.namespace}?"
        )
        if answer is None:
            raise InputError(
                "refusing to deploy without confirmation: no terminal to ask on",
                hint="pass --yes to deploy unattended (review with --dry-run first)",
            )
        if not answer:
            raise RefusedError("deploy cancelled; nothing was changed")
    outcome = apply(p, settings, ui, connect)
    return _then_sync(outcome, p, replace(settings, yes=True), ui, env, connect)


def _then_sync(
    outcome: Outcome,
    p: Plan,
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str],
    connect: Callable[[], Any] | None,
) -> Outcome:
    """With gateway.model_source: api, the models go through the management API once the
    gateway's settings are rolled out: the same plan, guard and confirmation as `llmgw sync`."""
    if p.rendered.discovery.config.gateway.model_source != "api":
        return outcome
    from llmgw import syncer
    from llmgw.errors import ExternalError

    sync_settings = syncer.Settings(
        config_path=settings.config_path,
        source=settings.source,
        dry_run=settings.dry_run,
        yes=settings.yes,
        allow_removal=settings.allow_removal,
        allow_partial=settings.allow_partial,
    )
    try:
        synced = syncer.run(sync_settings, ui, env, connect)
    except ExternalError as exc:
        if settings.dry_run or not outcome.applied:
            if settings.dry_run:  # a first install has no gateway to ask yet
                note = f"the models are synced after the rollout (cannot preview: {exc.message})"
                return replace(outcome, notes=[*outcome.notes, note])
            raise
        exc.message = f"the gateway was deployed, but the model sync failed: {exc.message}"
        exc.hint = (exc.hint + "; then " if exc.hint else "") + "run `llmgw sync`"
        raise
    new = [w for w in synced.warnings if w not in outcome.warnings]
    return replace(outcome, sync=synced, warnings=[*outcome.warnings, *new], models=synced.names)
