"""The values target: the desired state as the LiteLLM chart's values, rolled out by helm.

``render`` turns the desired state into the values text (template, validation, secrets); the
target reads the live release's values, previews the difference, and applies it: the chart
check (``helm template``), the Secret llmgw manages, ``helm upgrade --install``, and only then
the values file on disk. Nothing outside is touched before every check has passed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmgw import charts, desired, files, helm, integration, yamlout, yamlsrc
from llmgw import gateway as gateway_mod
from llmgw import render as render_mod
from llmgw.config import Config
from llmgw.desired import DesiredState
from llmgw.errors import InputError, LlmgwError, RefusedError
from llmgw.helm import Revision
from llmgw.redact import redact
from llmgw.render import (
    chart_kind_of,
    has_model_list,
    model_names,
    models_by_name,
    proxy_config_path,
)
from llmgw.review import Preview, Reporter

# -- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    state: DesiredState
    integration: dict[str, Any]
    text: str
    #: ``text`` parsed: the chart values.
    values: dict[str, Any]
    #: Secret values the text carries (inline mode), for masking anything shown.
    secrets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: (pod env var, environment variable, key path) of secrets whose variable is not set.
    unset: list[tuple[str, str, str]] = field(default_factory=list)
    #: What the cluster state was read from (a snapshot file, a context), for messages.
    source: str = ""

    @property
    def model_names(self) -> list[str]:
        """The public model names the values serve."""
        return model_names(self.values)


def _nothing_served(state: DesiredState, config_path: Path) -> InputError:
    """No model to route: the proxy would not start. Said of the config or of the cluster,
    whichever it is (the template is never the cause)."""
    known = desired.deployments(state.config, state.models)
    if not known and not state.config.discover:
        return InputError(
            f"{config_path} configures no model, and the LiteLLM proxy does not start without one",
            hint="add one: `llmgw add-bedrock-model NAME MODEL_ID`, an entry under models:, "
            "or a discover: rule",
        )
    if not known:
        return InputError(
            f"{config_path} lists no model and its discover: rules found none, and the LiteLLM "
            "proxy does not start without one",
            hint="see what the rules select with `llmgw discover`, or add a Bedrock model",
        )
    off = sum(1 for d in known if not d.model.deploy)
    said = f" ({off} with deploy: false)" if off else ""
    return InputError(
        f"none of the {len(known)} models {config_path} names is served now{said}, and the "
        "LiteLLM proxy does not start without one",
        hint="see why with `llmgw discover`: a self-hosted model is served once a pod of it "
        "is Ready; a Bedrock model with deploy: true always is",
    )


def render(
    state: DesiredState,
    config_path: Path,
    env: Mapping[str, str],
    template: Path | None = None,
    placeholders: bool = False,
    source: str = "",
    command: str = "",
    chart: tuple[str, str] | None = None,
) -> Rendered:
    """``placeholders``: render even when secret variables are not set (a preview), with a
    placeholder where an inline secret would be; ``Rendered.unset`` names them. ``chart``:
    the chart and version a deploy really uses (``--chart``, ``--chart-version``), for the
    header."""
    config = state.config
    if not state.entries and config.gateway.model_source != "api":
        raise _nothing_served(state, config_path)
    unset = integration.unset_secret_vars(config, env)
    if placeholders and unset:
        env = {**env, **{var: f"(unset {var})" for _name, var, _path in unset}}
    obj = integration.template_object(state, env)
    secrets = integration.inline_secret_values(obj)
    chosen = template or render_mod.default_template(config.gateway.chart_kind)
    gw = config.gateway
    header = {
        "cluster": source or "-",
        "chart": chart[0] if chart else gw.chart,
        "chart_version": chart[1] if chart else gw.chart_version,
        "command": command or f"llmgw render -c {config_path}",
        "left_out": [
            {"name": m.public_name or m.name, "reason": m.reason or "deploy: false"}
            for m in state.models
            if not (m.ready and m.deploy)
        ],
        "aliases": [{"name": k, "target": v} for k, v in state.router.aliases.items()],
    }
    text = render_mod.render(chosen, obj, config_path.name, secrets, header)
    values = yamlsrc.load(text, config_path)
    if gw.values:
        text, values = _with_own_values(text, values, gw.values, config_path)
    return Rendered(state, obj, text, values, secrets, list(obj["warnings"]), unset, source)


def _with_own_values(
    text: str, values: dict[str, Any], own: Mapping[str, Any], config_path: Path
) -> tuple[str, dict[str, Any]]:
    """``gateway.values`` merged under the rendered values; a key both set is refused."""
    from llmgw.config import passthrough

    clash = passthrough.overlaps(values, own)
    if clash:
        raise InputError(
            f"{config_path}: gateway.values.{clash[0]}: llmgw sets this chart value itself"
            + (f" (and {len(clash) - 1} more)" if len(clash) > 1 else ""),
            hint="remove it from gateway.values; the config key that sets it is in "
            "docs/configuration.md",
        )
    merged = passthrough.merge_under(values, own)
    lines = text.splitlines(keepends=True)
    top = next((n for n, line in enumerate(lines) if not line.startswith("#")), len(lines))
    header = "".join(lines[:top])
    body = yamlout.document(merged)
    return f"{header}# gateway.values from the config, merged under llmgw's own\n{body}", merged


# -- the preview ----------------------------------------------------------------------------


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


#: Keys an entry of a list shows first (a model entry reads from its name), the rest sorted.
_FIRST = ("model_name", "name")


def _sorted(value: Any, entry: bool = False) -> Any:
    """Keys sorted at every level: helm returns the live values key-sorted, the render is in
    template order, and a diff of the two as they come shows one hunk over the whole file.
    A list entry's own keys start with its name (``model_name`` first, as it is written)."""
    if isinstance(value, dict):
        keys = sorted(value, key=str)
        if entry:
            keys = [k for k in _FIRST if k in value] + [k for k in keys if k not in _FIRST]
        return {k: _sorted(value[k]) for k in keys}
    if isinstance(value, list):
        return [_sorted(v, entry=True) for v in value]
    return value


def _scalar(value: Any) -> str:
    text = yamlout.document(value).strip()
    return text if "\n" not in text and len(text) <= 80 else "…"


def _value_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``changed a.b: 1 → 2``, ``added a.c (= 3)``, ``removed a.d (was 4)``, by key path."""
    out = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            out.append(f"removed {key} (was {_scalar(old[key])})")
        elif key not in old:
            out.append(f"added {key} (= {_scalar(new[key])})")
        elif old[key] != new[key]:
            out.append(f"changed {key}: {_scalar(old[key])} → {_scalar(new[key])}")
    return out


def preview(
    live: Mapping[str, Any] | None, new: Mapping[str, Any], secrets: Sequence[str]
) -> Preview:
    """What applying ``new`` over the live release's values would change, secrets masked.

    Both sides are parsed values dumped the same way (keys sorted), so the diff shows only
    real changes, as ``helm diff`` does."""
    old_models, new_models = models_by_name(live), models_by_name(new)
    old_flat, new_flat = _flatten(dict(live or {})), _flatten(dict(new))
    other = [redact(line, secrets) for line in _value_changes(old_flat, new_flat)]
    if live is not None and has_model_list(live) != has_model_list(new):
        # Values that leave model_list out keep the chart's default (demo) models.
        other.append(f"set {proxy_config_path(new)}.model_list")
    old_text = yamlout.document(_sorted(dict(live))) if live else ""
    new_text = yamlout.document(_sorted(dict(new)))
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


def managed_secret_data(
    config: Config,
    env: Mapping[str, str],
    stored: Callable[[], Mapping[str, str] | None] | None,
    preview: bool = False,
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
    if missing and preview:  # the dry run says now what would stop the real one
        return data, [
            f"{var} is not set, and the Secret {secret} does not hold {name}: the real deploy "
            f"stops until it is set ({path})"
            for name, var, path in missing
        ] + notes
    if missing:
        names = ", ".join(f"{var} ({path})" for _name, var, path in missing)
        raise InputError(
            f"environment variables not set, and the Secret {secret} does not hold them yet: "
            f"{names}",
            hint="export them before deploying: a first install needs every value "
            f"(export {missing[0][1]}=…)",
        )
    return data, notes


#: The pod annotation that rolls the gateway when a value of the managed Secret changes, as
#: litellm-helm's own ``checksum/config`` does for its ConfigMap (the chart merges
#: ``podAnnotations`` into the pod template).
CHECKSUM_KEY = "checksum/llmgw-secret"


def secret_checksum(data: Mapping[str, str]) -> str:
    """One digest of every value together: the annotation names no key and no single value
    can be tried against it alone."""
    import hashlib

    text = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    return hashlib.sha256(text.encode()).hexdigest()


def split_checksum(live: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, str]:
    """The live values without llmgw's checksum annotation, and that checksum ("" if none):
    the annotation is compared on its own, never as a value the config sets."""
    if live is None:
        return None, ""
    values = dict(live)
    annotations = values.get("podAnnotations")
    if not isinstance(annotations, dict) or CHECKSUM_KEY not in annotations:
        return values, ""
    rest = {k: v for k, v in annotations.items() if k != CHECKSUM_KEY}
    if rest:
        values["podAnnotations"] = rest
    else:
        del values["podAnnotations"]
    return values, str(annotations[CHECKSUM_KEY])


def release_changes(current: helm.Revision | None, chart: helm.ChartId) -> list[str]:
    """What differs in the release itself: the chart version it runs, and a state that the
    deploy mends (a failed last revision)."""
    if current is None:
        return []
    lines = []
    live_name, live_version = helm.split_chart(current.chart)
    if chart.version and live_version and chart.version != live_version.removeprefix("v"):
        line = f"chart {live_name} {live_version} → {chart.name} {chart.version}"
        if chart.app_version and chart.app_version != current.app_version:
            line += f" (LiteLLM {current.app_version or '?'} → {chart.app_version})"
        lines.append(line)
    if current.status != "deployed":
        lines.append(f"release revision {current.revision} is {current.status}: upgrading it")
    return lines


def secret_changes(name: str, held: Mapping[str, str] | None, data: Mapping[str, str]) -> list[str]:
    """Which keys of the managed Secret the deploy writes anew: names only, never values."""
    if held is None:
        return []
    changed = [k for k in sorted(data) if k in held and held[k] != data[k]]
    added = [k for k in sorted(data) if k not in held]
    return [f"Secret {name}: {k} changed" for k in changed] + (
        [f"Secret {name}: {', '.join(added)} added"] if added else []
    )


# -- the target -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    config_path: Path
    template: Path | None = None
    out: Path = Path("values.rendered.yaml")
    release: str | None = None
    namespace: str | None = None
    chart: str | None = None
    chart_version: str | None = None
    timeout: str = "10m"
    wait: bool = True
    kube_context: str | None = None
    #: The kubeconfig llmgw reads (``--kubeconfig``); helm is given the same one.
    kubeconfig: Path | None = None
    #: Only a preview will follow: secrets need not be set, the managed Secret is not read.
    preview_only: bool = False
    #: With ``preview_only``: still run ``helm template`` (the dry run does; status does not).
    chart_check: bool = True


@dataclass(frozen=True)
class Plan:
    """Everything checked and decided, nothing outside touched yet."""

    rendered: Rendered
    release: helm.Release
    helm: helm.Helm
    preview: Preview
    secret_data: dict[str, str]
    notes: list[str] = field(default_factory=list)
    #: The live release's values (None: no release yet).
    live: dict[str, Any] | None = None
    #: The live revision (0: no release yet): what a failed upgrade is measured against.
    revision: int = 0
    #: The checksum annotation of the managed Secret's values ("": none is set).
    checksum: str = ""
    #: The live release's last revision as helm lists it (None: no release yet).
    current: Revision | None = None
    #: A dry run's chart check that failed: raised once the preview is shown.
    chart_error: LlmgwError | None = None

    @property
    def changes(self) -> bool:
        return self.preview.changes

    @property
    def counts(self) -> dict[str, int]:
        return {"upgrade": 1} if self.changes else {}


@dataclass(frozen=True)
class Applied:
    revision: int | None
    models: list[str]
    url: str
    port_forward: str


class ValuesTarget:
    verb = "deploy"
    restarts = True
    refusal = "the new values would drop models the live release serves"

    def __init__(
        self, settings: Settings, env: Mapping[str, str], connect: Callable[[], Any]
    ) -> None:
        self.settings = settings
        self.env = env
        self.connect = connect

    def plan(self, state: DesiredState, ui: Reporter) -> Plan:
        """Render, read the live release, preview; refuse a chart kind switch."""
        s = self.settings
        ui.phase("render")
        gw = state.config.gateway
        chart = s.chart or gw.chart
        used = (chart, "" if helm.is_local(chart) else s.chart_version or gw.chart_version)
        rendered = render(state, s.config_path, self.env, s.template, s.preview_only, chart=used)
        config = state.config
        gw = config.gateway
        release = helm.Release(
            name=s.release or gw.release,
            namespace=s.namespace or gw.namespace,
            chart=s.chart or gw.chart,
            version=s.chart_version or gw.chart_version,
            values_file=s.out,
            timeout=s.timeout,
            wait=s.wait,
            kube_context=s.kube_context,
            kubeconfig=str(s.kubeconfig) if s.kubeconfig else None,
        )
        helm.check_chart(
            release.chart,
            release.version,
            "--chart-version" if s.chart_version else "gateway.chart_version",
        )
        helm.check_timeout(release.timeout)

        notes: list[str] = []
        held: list[Mapping[str, str] | None] = []  # the Secret as read, once
        secret_name = config.managed_secret_name()

        def stored() -> Mapping[str, str] | None:
            """The managed Secret as the cluster holds it, read once (a preview reads it when
            it may: a dry run needs no right it does not have)."""
            from llmgw.errors import ExternalError
            from llmgw.kube import write

            if not held:
                ui.phase("read the managed Secret")
                try:
                    held.append(write.read_secret(self.connect(), release.namespace, secret_name))
                except ExternalError as exc:
                    if not s.preview_only:
                        raise
                    notes.append(f"cannot compare the Secret {secret_name}: {exc.message}")
                    held.append(None)
            return held[0]

        reference = config.secrets.mode == "reference"
        secret_data, secret_notes = managed_secret_data(config, self.env, stored, s.preview_only)
        notes.extend(secret_notes)
        cluster = self.connect()  # a deploy needs the cluster: said before helm is looked for
        h = helm.find()
        ui.phase("read live release")
        past = helm.history(h, release)
        current = past[-1] if past else None
        if current is not None and current.status in helm.PENDING:
            from llmgw.errors import ExternalError

            last_good = [r.revision for r in past if r.status in ("deployed", "superseded")]
            back = f"helm rollback {release.name} {last_good[-1]} -n {release.namespace}"
            raise ExternalError(
                f"release {release.name} in namespace {release.namespace} is {current.status} "
                f"(revision {current.revision}): another helm operation is running, or one "
                "was interrupted; helm refuses to upgrade it until it ends",
                hint="wait for the other operation; if none is running, roll back: "
                + (back if last_good else f"helm uninstall {release.name} -n {release.namespace}"),
            )
        live, live_checksum = split_checksum(helm.live_values(h, release))
        checksum = ""
        changes = release_changes(current, helm.chart_id(release))
        if reference and secret_data and charts.chart(gw.chart_kind).rolls_on_secret_change:
            current_secret = stored() if live is not None else None
            full = dict(secret_data)
            wanted = [n for n, ref, _p in integration.secret_refs(config) if ref.env is not None]
            for name in wanted:
                if name not in full and current_secret and name in current_secret:
                    full[name] = current_secret[name]
            if all(n in full for n in wanted):
                checksum = secret_checksum(full)
            rotated = secret_changes(secret_name, current_secret, full)
            changes.extend(rotated)
            if live is not None and checksum and checksum != live_checksum and not rotated:
                changes.append(
                    f"Secret {secret_name}: the gateway pods roll to run with what it holds "
                    f"({CHECKSUM_KEY})"
                )
        if live is not None and chart_kind_of(live) != gw.chart_kind:
            raise RefusedError(
                f"release {release.name} runs the {chart_kind_of(live)} chart; the config asks "
                f"for the {gw.chart_kind} chart, whose values differ in almost every key: "
                "switching is a new install, not an upgrade",
                hint="install the new chart under another release (gateway.release, or "
                "--release), move clients to it, then `helm uninstall` the old one",
            )
        masked = [*rendered.secrets, *secret_data.values()]
        values_change = preview(live, rendered.values, masked)
        change = replace(
            values_change,
            release_changes=changes if live is not None else [],
            target={
                "kind": "values",
                "context": cluster.context,
                "server": cluster.server,
                "release": release.name,
                "namespace": release.namespace,
                "chart": release.chart,
                "version": "" if helm.is_local(release.chart) else release.version,
            },
        )
        chart_error: LlmgwError | None = None
        if s.preview_only and s.chart_check:  # the dry run checks what it can
            try:
                self._chart_check(rendered, release, h, masked, ui)
            except LlmgwError as exc:  # said after the preview: it shows what would change
                chart_error = exc
        revision = current.revision if current is not None else 0
        return Plan(
            rendered,
            release,
            h,
            change,
            secret_data,
            notes,
            live,
            revision,
            checksum,
            current,
            chart_error,
        )

    def _chart_check(
        self,
        rendered: Rendered,
        release: helm.Release,
        h: helm.Helm,
        masked: Sequence[str],
        ui: Reporter,
    ) -> None:
        """``helm template`` of the chart with the values, from a private staging file."""
        out = self.settings.out
        staging = out.with_name(f".{out.name}.deploy")
        files.write_atomic(staging, rendered.text, private=True)
        try:
            ui.phase("chart check")
            helm.template(h, replace(release, values_file=staging), masked)
        finally:
            staging.unlink(missing_ok=True)

    def question(self, plan: Plan) -> str:
        return f"Apply to {plan.preview.where()}?"

    def apply(self, plan: Plan, ui: Reporter) -> Applied:
        """Chart check, the managed Secret, helm upgrade; the values file only after success."""
        rendered, release = plan.rendered, plan.release
        config = rendered.state.config
        out = self.settings.out
        masked = [*rendered.secrets, *plan.secret_data.values()]
        self._chart_check(rendered, release, plan.helm, masked, ui)
        staging = out.with_name(f".{out.name}.deploy")
        annotations = out.with_name(f".{out.name}.pod-annotations")
        files.write_atomic(staging, rendered.text, private=True)
        try:
            staged = replace(release, values_file=staging)
            if plan.checksum:
                files.write_atomic(
                    annotations,
                    yamlout.document({"podAnnotations": {CHECKSUM_KEY: plan.checksum}}),
                    private=True,
                )
                staged = replace(staged, extra_values=(annotations,))
            from llmgw.kube import write

            if plan.secret_data:
                ui.phase("secrets")
                write.apply_secret(
                    self.connect(),
                    release.namespace,
                    config.managed_secret_name(),
                    plan.secret_data,
                )
            else:
                write.ensure_namespace(self.connect(), release.namespace)
            ui.phase("helm upgrade and rollout")
            helm.upgrade(plan.helm, staged, masked, plan.revision)
            files.write_atomic(out, rendered.text, private=bool(rendered.secrets))
        finally:
            staging.unlink(missing_ok=True)
            annotations.unlink(missing_ok=True)
        url, forward = gateway_mod.access(config, release.name, release.namespace)
        return Applied(
            helm.revision(plan.helm, release), model_names(rendered.values), url, forward
        )
