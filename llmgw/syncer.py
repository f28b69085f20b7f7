"""``llmgw sync``: put the models into the running gateway through LiteLLM's management API.

The same discovery, readiness, names and groups as ``render`` give the desired rows; the
gateway's own rows are read back; ``sync.plan`` says what to create, change and delete. The
words and exit codes are deploy's: a preview by public name, ``--dry-run`` exits 1 when
something would change, a served name is not dropped without ``--allow-removal``, nothing is
written without ``--yes`` or a terminal to ask on, and a gateway in step gets no write at all.
After writing, the rows are read back until every replica shows them (each reloads from the
database on its interval).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw import integration, litellm_api, pipeline, sync
from llmgw.config import Config
from llmgw.discovery import DiscoveredModel
from llmgw.errors import ExternalError, InputError, RefusedError
from llmgw.litellm_api import ApiError, Gateway

if TYPE_CHECKING:
    from llmgw.deploy import Preview, Reporter

#: Writes sent at once: the API round trips dominate a sync, the gateway's database the load.
CONCURRENCY = 8
GATEWAY_PORT = 4000


@dataclass(frozen=True)
class Settings:
    config_path: Path
    source: pipeline.Source
    gateway_url: str | None = None
    dry_run: bool = False
    yes: bool = False
    allow_removal: bool = False
    allow_partial: bool = False
    #: Seconds to wait for every replica to show the writes; default: 3 reload intervals + 5.
    confirm_timeout: float | None = None
    #: Read back until the replicas agree. The controller skips it: its next reconcile and
    #: resync check the gateway anyway, and the loop must not block on replicas reloading.
    confirm: bool = True


@dataclass(frozen=True)
class Outcome:
    plan: sync.SyncPlan
    applied: bool
    where: str = ""
    writes: int = 0
    #: Seconds until every replica showed the writes; None when they did not within the bound.
    converged_after: float | None = None
    warnings: list[str] = field(default_factory=list)
    #: The public names the gateway serves through its database after this run.
    names: list[str] = field(default_factory=list)


def preview_of(p: sync.SyncPlan) -> Preview:
    """The plan in deploy's words: models added, removed, changed by public name."""
    from llmgw.deploy import Preview

    return Preview(
        new_install=False, added=p.added, removed=p.removed, changed=p.changed, other=[], diff=""
    )


# -- reaching the gateway --------------------------------------------------------------------


def master_key(
    config: Config, env: Mapping[str, str], connect: Callable[[], Any]
) -> tuple[str, str]:
    """The master key and where it came from (for messages; never the value)."""
    from llmgw.kube import write

    ref = config.secrets.master_key
    ns = config.gateway.namespace
    if ref.env is not None and env.get(ref.env):
        return env[ref.env], f"${ref.env}"
    if ref.secret is not None:
        secret, key = ref.secret, str(ref.key)
    else:
        secret, key = config.managed_secret_name(), integration.master_key_env(config)
    data = write.read_secret(connect(), ns, secret) or {}
    if key not in data:
        raise InputError(
            f"no master key: {ref.env or 'the variable'} is not set and the Secret "
            f"{ns}/{secret} holds no {key}",
            hint=f"export {ref.env or 'the master key variable'}=…, or deploy first",
        )
    return data[key], f"Secret {ns}/{secret} key {key}"


def open_gateway(
    config: Config,
    settings: Settings,
    env: Mapping[str, str],
    connect: Callable[[], Any],
    transport: litellm_api.Transport | None = None,
) -> Gateway:
    key, source = master_key(config, env, connect)
    url = settings.gateway_url or config.gateway.url
    if transport is not None:
        return Gateway(transport, url or "gateway", source)
    if url:
        return Gateway(litellm_api.direct(url, key), url, source)
    cluster = connect()
    service = integration.gateway_service(config)
    ns = config.gateway.namespace
    return Gateway(
        litellm_api.via_service_proxy(cluster.api, ns, service, GATEWAY_PORT, key),
        f"service {ns}/{service} through {cluster.describe()}",
        source,
    )


# -- applying ----------------------------------------------------------------------------------


def _id(row: Mapping[str, Any]) -> str:
    return str((row.get("model_info") or {}).get("id"))


def _create(gateway: Gateway, row: dict[str, Any]) -> None:
    try:
        gateway.create(row)
    except ApiError as exc:
        # An existing id answers 400 or 500 (by version); "saved to the database, but not
        # live in this pod" is a write that landed. Read back before calling it a failure.
        if "saved to the database" in exc.message:
            return
        if exc.status not in (400, 409, 500):
            raise
        found = _read_back(gateway, _id(row))
        if found is None:
            raise
        if (found.get("model_info") or {}).get(sync.SPEC) != row["model_info"][sync.SPEC]:
            gateway.update(_id(row), row)


def _read_back(
    gateway: Gateway, model_id: str, tries: int = 8, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any] | None:
    """The row by id, asking again a few times: a read may land on a replica that has not
    reloaded the database yet (reads spread over the replicas behind the Service)."""
    for attempt in range(tries):
        found = gateway.model(model_id)
        if found is not None:
            return found
        if attempt + 1 < tries:
            sleep(0.25)
    return None


def _delete(gateway: Gateway, model_id: str) -> None:
    try:
        gateway.delete(model_id)
    except ApiError as exc:
        if exc.status == 400 and "not found" in exc.message:
            return  # already gone: the goal
        raise


def _change(gateway: Gateway, change: sync.Change) -> None:
    if change.how == "patch":
        gateway.update(_id(change.desired), change.desired)
    else:  # a param must go, and no endpoint clears one
        _delete(gateway, _id(change.desired))
        _create(gateway, change.desired)


def apply(gateway: Gateway, p: sync.SyncPlan) -> tuple[int, list[str]]:
    """Creates and changes (bounded concurrency), then deletes; (writes done, failures)."""
    jobs: list[tuple[str, Callable[[], None]]] = []
    for row in p.create:
        jobs.append((f"create {row['model_name']}", partial(_create, gateway, row)))
    for change in p.change:
        jobs.append((f"change {change.desired['model_name']}", partial(_change, gateway, change)))
    done, failed = _run(jobs)
    if not failed:  # removals last, and only when everything new is in
        deletes = [
            (f"delete {row.get('model_name')}", partial(_delete, gateway, _id(row)))
            for row in p.delete
        ]
        more, failed = _run(deletes)
        done += more
    return done, failed


def _run(jobs: Sequence[tuple[str, Callable[[], None]]]) -> tuple[int, list[str]]:
    def one(job: tuple[str, Callable[[], None]]) -> str:
        # A refused key, no database or an unreachable gateway (ExternalError) ends the run
        # with its own message and fix; only what LiteLLM answered about one row is collected.
        what, call = job
        try:
            call()
        except ApiError as exc:
            return f"{what}: {exc}"
        return ""

    if not jobs:
        return 0, []
    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(jobs))) as pool:
        results = list(pool.map(one, jobs))
    return sum(1 for r in results if not r), [r for r in results if r]


def confirm(
    gateway: Gateway,
    expected: Mapping[str, str | None],
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """Seconds until three reads in a row show ``expected`` (id → spec, None: gone).

    Reads are spread over the replicas behind the Service, and each replica reloads the
    database on its own interval, so one good read proves little; three in a row do.
    """
    start = clock()
    streak, first_good = 0, 0.0
    while True:
        rows = {_id(r): r for r in gateway.models()}
        good = all(
            (rows.get(i) is None)
            if want is None
            else (rows.get(i, {}).get("model_info") or {}).get(sync.SPEC) == want
            for i, want in expected.items()
        )
        now = clock() - start
        if good:
            first_good = first_good if streak else now
            streak += 1
            if streak >= 3:
                return first_good
        else:
            streak = 0
        if now > timeout:
            return None
        sleep(0.2)


# -- the run -----------------------------------------------------------------------------------


def run(
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str] | None = None,
    connect: Callable[[], Any] | None = None,
    transport: litellm_api.Transport | None = None,
) -> Outcome:
    env = os.environ if env is None else env
    ui.phase("discover")
    found = pipeline.discover(settings.config_path, settings.source)
    warnings = pipeline.require_complete(found.state, settings.allow_partial)
    return sync_models(found.config, found.models, settings, ui, env, connect, transport, warnings)


def sync_models(
    config: Config,
    models: list[DiscoveredModel],
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str],
    connect: Callable[[], Any] | None = None,
    transport: litellm_api.Transport | None = None,
    warnings: list[str] | None = None,
) -> Outcome:
    """Plan, guard, confirm, write and confirm on the replicas, for models already found."""
    from llmgw.deploy import removal_reasons

    warnings = list(warnings or [])
    if config.gateway.model_source != "api":
        raise InputError(
            "gateway.model_source is values: the models go out with the chart values "
            "(llmgw deploy), so there is nothing to sync",
            hint="set gateway.model_source: api (see docs/sync.md) and run `llmgw deploy` once",
        )
    if connect is None:
        from llmgw.kube import auth

        source = settings.source
        connect = auth.connector(auth.Connection(source.kubeconfig, source.context))
    owner = sync.owner_of(config.gateway.namespace, config.gateway.release)
    desired = sync.desired_rows(integration.model_entries(config, models), owner)
    warnings += integration.router_plan(config, models).warnings
    gateway = open_gateway(config, settings, env, connect, transport)
    ui.phase("read the gateway's models")
    p = sync.plan(desired, gateway.models(), owner)
    ui.preview(preview_of(p))
    if p.removed and not settings.allow_removal:
        reasons = removal_reasons(config, models, p.removed)
        raise RefusedError(
            "the sync would drop models the gateway serves: "
            + "; ".join(f"{name} ({why})" for name, why in reasons.items()),
            hint="wait until they are ready again, or pass --allow-removal to drop them",
        )
    names = list(dict.fromkeys(str(r["model_name"]) for r in desired))
    if not p.writes or settings.dry_run:
        return Outcome(p, applied=False, where=gateway.where, warnings=warnings, names=names)
    if not settings.yes:
        answer = ui.confirm(f"Apply {p.writes} writes to {gateway.where}?")
        if answer is None:
            raise InputError(
                "refusing to sync without confirmation: no terminal to ask on",
                hint="pass --yes to sync unattended (review with --dry-run first)",
            )
        if not answer:
            raise RefusedError("sync cancelled; nothing was changed")
    ui.phase("write through the management API")
    done, failed = apply(gateway, p)
    if failed:
        raise ExternalError(
            f"{gateway.where}: {done} of {p.writes} writes applied; failed: "
            + "; ".join(failed[:5])
            + (f"; … and {len(failed) - 5} more" if len(failed) > 5 else ""),
            hint="fix the cause and run `llmgw sync` again: it picks up where this one stopped",
        )
    if not settings.confirm:
        return Outcome(p, True, gateway.where, p.writes, None, warnings, names)
    ui.phase("confirm on the replicas")
    expected: dict[str, str | None] = {
        _id(r): r["model_info"][sync.SPEC] for r in [*p.create, *(c.desired for c in p.change)]
    }
    expected.update({_id(r): None for r in p.delete})
    timeout = settings.confirm_timeout
    if timeout is None:
        timeout = 3 * config.gateway.reload_interval_seconds + 5.0
    after = confirm(gateway, expected, timeout)
    if after is None:
        warnings.append(
            f"applied, but not every replica showed the change within {timeout:.0f} s; each "
            f"reloads from the database every {config.gateway.reload_interval_seconds} s"
        )
    return Outcome(p, True, gateway.where, p.writes, after, warnings, names)
