"""Day 2 on the gateway's helm release: ``history``, ``rollback`` and ``uninstall``.

A rollback goes through the same preview, guard and confirmation as a deploy: what the target
revision serves is compared with what is live, and a rollback that drops a served name needs
``--allow-removal``. An uninstall says what goes (the release, the Secret llmgw manages, which
``helm uninstall`` leaves behind) and what stays (the database's volumes, unless
``--delete-data``) before it asks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw import config as config_mod
from llmgw import helm
from llmgw.errors import ExternalError, InputError
from llmgw.render import model_names, models_by_name
from llmgw.review import Preview, Reporter, ask, guard


@dataclass(frozen=True)
class Settings:
    config_path: Path
    kubeconfig: Path | None = None
    context: str | None = None
    release: str | None = None
    namespace: str | None = None
    timeout: str = "10m"
    wait: bool = True
    dry_run: bool = False
    yes: bool = False
    allow_removal: bool = False
    #: uninstall: delete the database's PersistentVolumeClaims too.
    delete_data: bool = False


@dataclass(frozen=True)
class _Release:
    config: config_mod.Config
    release: helm.Release
    tool: helm.Helm
    past: list[helm.Revision]

    @property
    def current(self) -> helm.Revision:
        return self.past[-1]


def _open(settings: Settings) -> _Release:
    """The release the config names (or --release/-n), and its history; none is an error."""
    config = config_mod.load(settings.config_path)
    gw = config.gateway
    helm.check_timeout(settings.timeout)
    release = helm.Release(
        name=settings.release or gw.release,
        namespace=settings.namespace or gw.namespace,
        chart=gw.chart,
        version=gw.chart_version,
        values_file=Path("-"),
        timeout=settings.timeout,
        wait=settings.wait,
        kube_context=settings.context,
        kubeconfig=str(settings.kubeconfig) if settings.kubeconfig else None,
    )
    h = helm.find()
    past = helm.history(h, release, strict=True)
    if not past:
        raise ExternalError(
            f"no release {release.name} in namespace {release.namespace}",
            hint="check --release and -n (or gateway.release / gateway.namespace); "
            f"`helm list -n {release.namespace}` lists the releases there",
        )
    return _Release(config, release, h, past)


def _where(r: _Release) -> dict[str, str]:
    return {"kind": "release", "release": r.release.name, "namespace": r.release.namespace}


# -- history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    revision: int
    status: str
    chart: str
    chart_version: str
    app_version: str
    #: Public names the revision's values serve (None: its values could not be read).
    models: int | None
    updated: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def history(settings: Settings) -> list[Row]:
    """helm's revisions, each with what it served (read from that revision's values)."""
    r = _open(settings)
    rows = []
    for rev in r.past:
        values = helm.live_values(r.tool, r.release, rev.revision)
        rows.append(
            Row(
                rev.revision,
                rev.status,
                rev.chart_name,
                rev.chart_version,
                rev.app_version,
                None if values is None else len(model_names(values)),
                rev.updated,
                rev.description,
            )
        )
    return rows


# -- rollback ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    preview: Preview
    applied: bool
    notes: list[str] = field(default_factory=list)
    revision: int | None = None


def rollback_preview(
    live: dict[str, Any] | None,
    target: dict[str, Any] | None,
    current: helm.Revision,
    to: helm.Revision,
) -> Preview:
    """What the release would serve after rolling back to ``to``, against what is live."""
    old, new = models_by_name(live), models_by_name(target)
    lines = [f"roll back: revision {current.revision} → revision {to.revision}'s chart and values"]
    if current.chart != to.chart or current.app_version != to.app_version:
        lines.append(
            f"chart {current.chart} → {to.chart}"
            + (
                f" (LiteLLM {current.app_version} → {to.app_version})"
                if current.app_version != to.app_version
                else ""
            )
        )
    return Preview(
        new_install=False,
        added=[m for m in new if m not in old],
        removed=[m for m in old if m not in new],
        changed=[m for m in new if m in old and new[m] != old[m]],
        release_changes=lines,
    )


def _choose(past: list[helm.Revision], revision: int | None) -> helm.Revision:
    current = past[-1]
    if revision is None:
        earlier = [r for r in past[:-1] if r.status in ("superseded", "deployed")]
        if not earlier:
            raise InputError(
                f"revision {current.revision} is the release's first revision kept: "
                "there is nothing to roll back to",
                hint="`llmgw history` lists the revisions",
            )
        return earlier[-1]
    by_number = {r.revision: r for r in past}
    if revision not in by_number:
        known = ", ".join(str(r.revision) for r in past)
        raise InputError(
            f"the release has no revision {revision} (kept: {known})",
            hint="`llmgw history` lists the revisions",
        )
    if revision == current.revision:
        raise InputError(f"revision {revision} is the live one", hint="name an earlier revision")
    return by_number[revision]


def rollback(settings: Settings, revision: int | None, ui: Reporter) -> Outcome:
    r = _open(settings)
    to = _choose(r.past, revision)
    ui.phase("read the revisions' values")
    live = helm.live_values(r.tool, r.release)
    target = helm.live_values(r.tool, r.release, to.revision)
    preview = rollback_preview(live, target, r.current, to)
    preview = Preview(**{**preview.__dict__, "target": _where(r)})
    ui.preview(preview)
    if preview.removed and not settings.allow_removal:
        guard(
            f"the rollback to revision {to.revision} would drop models the live release serves",
            {name: f"not in revision {to.revision}" for name in preview.removed},
        )
    if settings.dry_run:
        return Outcome(preview, applied=False)
    if not settings.yes:
        ask(
            ui,
            f"Roll release {r.release.name} in namespace {r.release.namespace} back to "
            f"revision {to.revision}?",
            "roll back",
        )
    ui.phase("helm rollback and rollout")
    helm.rollback(r.tool, r.release, to.revision, r.current.revision)
    notes = [
        "values.rendered.yaml still holds what the config renders, not revision "
        f"{to.revision}'s values: the next `llmgw deploy` applies the config again"
    ]
    return Outcome(preview, applied=True, notes=notes, revision=helm.revision(r.tool, r.release))


# -- uninstall --------------------------------------------------------------------------------


def uninstall(settings: Settings, ui: Reporter, connect: Callable[[], Any]) -> Outcome:
    from llmgw.kube import write

    r = _open(settings)
    ns, secret = r.release.namespace, r.config.managed_secret_name()
    live = helm.live_values(r.tool, r.release)
    cluster = connect()
    ui.phase("read what the release leaves behind")
    has_secret = (
        r.config.secrets.mode == "reference" and write.read_secret(cluster, ns, secret) is not None
    )
    claims = write.data_claims(cluster, ns, r.release.name)
    goes = [f"release {r.release.name} (revision {r.current.revision}, {r.current.chart})"]
    if has_secret:
        goes.append(f"Secret {secret} (written by llmgw; helm uninstall leaves it)")
    notes = []
    if claims and settings.delete_data:
        goes.extend(f"PersistentVolumeClaim {c} (--delete-data)" for c in claims)
    elif claims:
        notes.append(
            f"kept: PersistentVolumeClaim {', '.join(claims)} (the database's data; "
            "--delete-data deletes it)"
        )
    preview = Preview(
        new_install=False,
        added=[],
        removed=model_names(live or {}),
        changed=[],
        release_changes=[f"uninstall {g}" for g in goes],
        target=_where(r),
    )
    ui.preview(preview)
    if settings.dry_run:
        return Outcome(preview, applied=False, notes=notes)
    if not settings.yes:
        ask(ui, f"Uninstall release {r.release.name} from namespace {ns}?", "uninstall")
    ui.phase("helm uninstall")
    helm.uninstall(r.tool, r.release)
    if has_secret:
        write.delete(cluster, ns, "secrets", secret)
    if settings.delete_data:
        for claim in claims:
            write.delete(cluster, ns, "persistentvolumeclaims", claim)
    return Outcome(preview, applied=True, notes=notes)
