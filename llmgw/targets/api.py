"""The api target: the desired state as rows and router settings in the gateway's database,
through LiteLLM's management API, with no pod restart.

``row_plan.plan`` (pure) says which rows llmgw owns to create and delete, and whether the router
settings that follow the cluster (fallbacks, the alias that keeps a down name answering) must
change. This module reads what the gateway serves, and writes make-before-break: new rows
first (bounded concurrency), then the router settings, then — only when everything before
succeeded — the removals. So a name coming back is served by its own rows before its alias
goes, and a name going down is aliased before its rows go. Then it reads back until every
replica shows the change (each reloads from the database on its own interval).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from llmgw import row_plan
from llmgw.config import Config
from llmgw.desired import DesiredState
from llmgw.errors import ExternalError
from llmgw.litellm_api import ApiError, GatewayClient
from llmgw.review import Preview, Reporter
from llmgw.targets.base import Result

#: Writes sent at once: the API round trips dominate a sync, the gateway's database the load.
CONCURRENCY = 8


@dataclass(frozen=True)
class Plan:
    rows: row_plan.SyncPlan
    preview: Preview
    #: The public names the gateway serves through its database once this plan is applied.
    names: list[str]
    #: What the gateway serves now: /model/info (alias copies left out) and its router.
    current: list[dict[str, Any]] = field(default_factory=list)
    current_router: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(self.rows.writes)

    @property
    def writes(self) -> int:
        return self.rows.writes

    @property
    def counts(self) -> dict[str, int]:
        counts = {
            "create": len(self.rows.create),
            "delete": len(self.rows.delete),
            "router": 1 if self.rows.router is not None else 0,
        }
        return {k: n for k, n in counts.items() if n}


@dataclass(frozen=True)
class Applied:
    writes: int
    #: Seconds until every replica showed the writes; None when they did not within the bound
    #: (or were not asked: ``confirm=False``).
    converged_after: float | None
    warnings: list[str] = field(default_factory=list)


def waiting_for_deploy(fixed: Mapping[str, Any], running: Mapping[str, Any]) -> list[str]:
    """Router settings the config fixes that the gateway does not run: they live in the chart
    values (the config file LiteLLM reads), which only ``llmgw deploy`` writes. A key the
    gateway does not report is not compared."""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, int | float) and isinstance(b, int | float):
            return float(a) == float(b)
        return bool(a == b)

    return [
        f"router.{key}: the gateway runs {running[key]!r}, the config says {value!r}: "
        "it waits for `llmgw deploy` (a chart value, which sync does not write)"
        for key, value in fixed.items()
        if key in running and not same(running[key], value)
    ]


def preview_of(p: row_plan.SyncPlan) -> Preview:
    """The plan in the common words: models added, removed, changed by public name, and the
    router settings that change."""
    return Preview(
        new_install=False,
        added=p.added,
        removed=p.removed,
        changed=p.changed,
        other=p.router_changes,
    )


class ApiTarget:
    verb = "sync"
    restarts = False
    refusal = "the sync would drop models the gateway serves"

    def __init__(
        self,
        config: Config,
        open_gateway: Callable[[], GatewayClient],
        confirm: bool = True,
        confirm_timeout: float | None = None,
        cluster_names: Callable[[], dict[str, str]] = dict,
    ) -> None:
        """``confirm``: read back until the replicas agree. The controller skips it: its next
        reconcile checks the gateway anyway, and its loop must not block on reloads."""
        self.config = config
        self.open_gateway = open_gateway
        self.gateway: GatewayClient | None = None
        self.confirm = confirm
        self.confirm_timeout = confirm_timeout
        #: The kube context and API server, when the gateway is reached through the cluster.
        self.cluster_names = cluster_names
        self.owner = row_plan.owner_of(config.gateway.namespace, config.gateway.release)

    @property
    def where(self) -> str:
        return self.gateway.where if self.gateway is not None else ""

    def _gateway(self) -> GatewayClient:
        if self.gateway is None:
            self.gateway = self.open_gateway()
        return self.gateway

    def plan(self, state: DesiredState, ui: Reporter) -> Plan:
        desired = row_plan.desired_rows(state.entries, self.owner)
        gateway = self._gateway()
        ui.phase("read the gateway's models")
        listed, live = gateway.models(), gateway.router_settings()
        rows = row_plan.plan(desired, listed, self.owner, state.router.live, live)
        current = [
            dict(r)
            for r in row_plan.stored_rows(listed, row_plan.router_state(live)["model_group_alias"])
        ]
        names = list(dict.fromkeys(str(r["model_name"]) for r in desired))
        gw = self.config.gateway
        target = {
            "kind": "api",
            "gateway": gateway.where,
            "release": gw.release,
            "namespace": gw.namespace,
            **self.cluster_names(),
        }
        preview = replace(
            preview_of(rows),
            target=target,
            release_changes=waiting_for_deploy(state.router.fixed, live),
        )
        return Plan(rows, preview, names, current, row_plan.router_state(live))

    def question(self, plan: Plan) -> str:
        return f"Apply {plan.writes} writes to {plan.preview.where()}?"

    def apply(self, plan: Plan, ui: Reporter) -> Applied:
        gateway = self._gateway()
        p = plan.rows
        ui.phase("write through the management API")
        done, failed = apply(gateway, p)
        if failed:
            raise ExternalError(
                f"{gateway.where}: {done} of {p.writes} writes applied; failed: "
                + "; ".join(failed[:5])
                + (f"; … and {len(failed) - 5} more" if len(failed) > 5 else ""),
                hint="fix the cause and run `llmgw sync` again: it picks up where this one stopped",
            )
        if not self.confirm:
            return Applied(p.writes, None)
        ui.phase("confirm on the replicas")
        expected: dict[str, str | None] = {_id(r): r["model_info"][row_plan.SPEC] for r in p.create}
        expected.update({_id(r): None for r in p.delete})
        interval = self.config.gateway.reload_interval_seconds
        timeout = self.confirm_timeout
        if timeout is None:
            timeout = 3 * interval + 5.0
        after = confirm(gateway, expected, p.router, timeout)
        warnings = []
        if after is None:
            warnings.append(
                f"applied, but not every replica showed the change within {timeout:.0f} s; each "
                f"reloads from the database every {interval} s"
            )
        return Applied(p.writes, after, warnings)


@dataclass(frozen=True)
class Outcome:
    plan: row_plan.SyncPlan
    applied: bool
    where: str = ""
    writes: int = 0
    #: Seconds until every replica showed the writes; None when they did not within the bound.
    converged_after: float | None = None
    warnings: list[str] = field(default_factory=list)
    #: The public names the gateway serves through its database after this run.
    names: list[str] = field(default_factory=list)


def outcome(target: ApiTarget, result: Result[Any], warnings: list[str] | None = None) -> Outcome:
    """A converge through the api target, in the words ``sync`` and ``deploy`` report."""
    state_warnings = list(warnings or [])
    plan = result.plan
    applied: Applied | None = result.detail
    if applied is None:
        return Outcome(plan.rows, False, target.where, warnings=state_warnings, names=plan.names)
    return Outcome(
        plan.rows,
        True,
        target.where,
        applied.writes,
        applied.converged_after,
        [*state_warnings, *applied.warnings],
        plan.names,
    )


# -- writing -----------------------------------------------------------------------------------


def _id(row: Mapping[str, Any]) -> str:
    return str((row.get("model_info") or {}).get("id"))


def _create(gateway: GatewayClient, row: dict[str, Any]) -> None:
    try:
        gateway.create(row)
    except ApiError as exc:
        if exc.router_rejected:
            # The row landed but the router dropped the deployment (invalid params): no
            # replica will serve it. Take it out again, so the next run is not stuck on it.
            _delete(gateway, _id(row))
            raise ApiError(
                exc.status,
                f"the gateway's router rejected {row['litellm_params'].get('model')!r}, so no "
                f"replica would serve it; the row was removed again ({exc.detail})",
            ) from None
        # An existing id answers 500 (400 in some versions): a write an earlier run made, or
        # another replica. The same id means the same spec; read back before failing.
        if exc.status not in (400, 409, 500) or _read_back(gateway, _id(row)) is None:
            raise


def _read_back(
    gateway: GatewayClient,
    model_id: str,
    tries: int = 8,
    sleep: Callable[[float], None] = time.sleep,
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


def _delete(gateway: GatewayClient, model_id: str) -> None:
    try:
        gateway.delete(model_id)
    except ApiError as exc:
        if exc.no_such_row:
            return  # already gone: the goal
        raise


def _router(gateway: GatewayClient, settings: Mapping[str, Any]) -> None:
    gateway.update_router(settings)


def apply(gateway: GatewayClient, p: row_plan.SyncPlan) -> tuple[int, list[str]]:
    """Creates (bounded concurrency), the router settings, then deletes; each step only when
    the one before succeeded. (writes done, failures)."""
    jobs = [(f"create {row['model_name']}", partial(_create, gateway, row)) for row in p.create]
    done, failed = _run(jobs)
    if not failed and p.router is not None:
        more, failed = _run([("router settings", partial(_router, gateway, p.router))])
        done += more
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
    gateway: GatewayClient,
    expected: Mapping[str, str | None],
    router: Mapping[str, Any] | None,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """Seconds until three reads in a row show ``expected`` (id → spec, None: gone) and the
    ``router`` settings (None: not written).

    Reads are spread over the replicas behind the Service, and each replica reloads the
    database on its own interval, so one good read proves little; three in a row do.
    """
    start = clock()
    streak, first_good = 0, 0.0
    while True:
        listed = gateway.models()
        aliases = row_plan.router_state(router or {})["model_group_alias"]
        rows = {_id(r): r for r in row_plan.stored_rows(listed, aliases)}
        good = all(
            (rows.get(i) is None)
            if want is None
            else (rows.get(i, {}).get("model_info") or {}).get(row_plan.SPEC) == want
            for i, want in expected.items()
        )
        if good and router is not None:
            good = row_plan.router_state(gateway.router_settings()) == row_plan.router_state(router)
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
