"""``llmgw sync --watch``: keep the gateway in step with the cluster until stopped.

Level-triggered, as peers learned the hard way: the informer (``kube/informer.py``) keeps a
live view of the pods and services the config asks for; any change schedules one debounced
reconcile of the whole desired state, through the same stages as every driver: ``inputs``
finds the models in the view, ``grace`` keeps a not-ready one in place for a while, ``desired``
builds the state, ``targets.base.converge`` writes it. Nothing is applied from a view that is
incomplete, and only the holder of a Lease writes. The config file is re-read when it changes
(a ConfigMap mount swaps a symlink); an invalid one is logged and the last good one kept.

What stays here: the Lease, the config reload, the debounce, and the reconcile's bookkeeping.
Metrics, logs and the health endpoint are ``health``; probing is ``inputs.Prober``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw import config as config_mod
from llmgw import desired, discovery, grace, inputs, targets
from llmgw.discovery import DiscoveredModel
from llmgw.errors import LlmgwError
from llmgw.health import Metrics
from llmgw.kube.informer import Backoff, Informer
from llmgw.targets import base

log = logging.getLogger("llmgw.controller")

#: Failed verifications in a row before a name is logged as down (once).
VERIFY_FAILS = 3


@dataclass(frozen=True)
class Options:
    config_path: Path
    kubeconfig: Path | None = None
    context: str | None = None
    gateway_url: str | None = None
    debounce: float = 2.0
    grace: float = 60.0
    resync: float = 300.0
    min_upgrade_interval: float = 300.0
    watch_timeout: int = 300
    probe: bool = False
    listen: str | None = None
    lease_name: str = "llmgw-sync"
    lease_namespace: str | None = None
    lease_duration: float = 15.0
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    #: Back-off after a failed list, watch or apply: from this, doubling, up to backoff_max
    #: (client-go's reflector: 0.8 s to 30 s), with jitter.
    backoff_start: float = 0.8
    backoff_max: float = 30.0
    #: Seconds between verifications of every served name (0: off); each request's timeout.
    verify_interval: float = 0.0
    verify_timeout: float = 30.0


class Controller:
    """The loop. It writes through the target of the config in force (``targets.for_config``):
    the management API (model_source: api) or the chart values and helm (values)."""

    def __init__(
        self,
        options: Options,
        connect: Callable[[], Any],
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.connect = connect
        self.env = os.environ if env is None else env
        self.clock = clock
        self.stopping = threading.Event()
        self.metrics = Metrics()
        self.backoff = Backoff(options.backoff_start, options.backoff_max)
        self.informer = Informer(
            None,
            options.watch_timeout,
            self.backoff,
            lambda cause: self.metrics.watch_restarts.labels(cause).inc(),
            clock,
        )
        self.prober = inputs.Prober(self.backoff)
        self.news = _News(self.metrics)
        self.verifier = _Verifier(self)
        self.config = config_mod.load(options.config_path)
        self.config_sig = self._signature()
        self.dirty_at: float | None = None
        self.last_resync = 0.0
        self.last_ok: float | None = None
        #: Applies failed in a row (the gateway refused or did not answer): not ready, and the
        #: next try backs off as a failed watch does.
        self.apply_failures = 0
        self.last_upgrade = -1e12
        self.not_ready_since: dict[tuple[str, ...], float] = {}
        self.leader = False
        self.next_lease = 0.0
        self.cluster: Any = None
        self.elector: Any = None
        self.target: base.Target[Any] | None = None
        self.target_config: config_mod.Config | None = None
        #: Namespaces a reconcile last waited for (logged when this changes).
        self.blocked: list[str] = []

    @property
    def left_out(self) -> dict[str, str]:
        return self.news.left_out

    # -- the config ---------------------------------------------------------------------------

    def _signature(self) -> tuple[int, int, int] | None:
        """What changes when the file does, a ConfigMap's symlink swap included."""
        try:
            st = os.stat(self.options.config_path)  # follows the symlinks
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_config(self) -> None:
        sig = self._signature()
        if sig == self.config_sig:
            return
        self.config_sig = sig
        try:
            new = config_mod.load(self.options.config_path)
        except LlmgwError as exc:
            first = exc.message.splitlines()[0]
            log.error("config change ignored, keeping the last good one: %s", first)
            self.metrics.errors.labels("config").inc()
            return
        self.config = new
        log.info("config reloaded from %s", self.options.config_path)
        # What is asked of the API server follows the config: a namespace whose selector
        # changed (a model added or removed there) is listed again now, not at the resync.
        self.informer.want(discovery.wanted(new), cause="config")
        self._mark_dirty()

    def _mark_dirty(self, delay: float | None = None) -> None:
        at = self.clock() + (self.options.debounce if delay is None else delay)
        self.dirty_at = at if self.dirty_at is None else min(self.dirty_at, at)

    # -- reconciling --------------------------------------------------------------------------

    def desired(self, models: list[DiscoveredModel], now: float) -> list[DiscoveredModel]:
        """Models with the grace applied (``grace.hold``): the kept ones are logged."""
        held = grace.hold(models, self.news.served, self.not_ready_since, self.options.grace, now)
        self.not_ready_since = held.since
        for m, left in held.kept:
            log.info(
                "keeping %s for %.0f s more: %d/%d ready, %s",
                m.public_name,
                left,
                m.ready_replicas,
                m.replicas,
                m.reason,
            )
        if held.wake_in is not None:
            self._mark_dirty(held.wake_in + 0.05)
        return held.models

    def reconcile(self) -> bool:
        """One pass over the whole desired state; True when it applied or had nothing to do."""
        now = self.clock()
        self.dirty_at = None
        incomplete = self.informer.unsettled()
        if incomplete:
            if incomplete != self.blocked:  # said once, not every retry
                log.warning(
                    "not applying: cluster data incomplete or not watched (%s)",
                    ", ".join(incomplete),
                )
            self.blocked = incomplete
            self._mark_dirty(max(self.options.debounce, 0.5))  # until the watches work again
            return False
        self.blocked = []
        self.metrics.reconciles.inc()
        found = inputs.found_in(self.config, self.informer.state())
        self.news.pods_left_out(found.reports)
        models = self.desired(found.models, now)
        if self.options.probe and self.cluster is not None:
            probed = self.prober.probe(
                self.cluster, self.config, models, self.informer.pods_signature, now
            )
            models = probed.models
            self.metrics.probes.inc(probed.asked)
            if probed.retry_in is not None:
                self._mark_dirty(probed.retry_in)  # ask a failed engine again then
        wanted = desired.deployments(self.config, models)
        self.metrics.desired.set(sum(1 for d in wanted if d.model.deploy))
        if not self.leader:
            log.debug("not the leader: nothing written")
            self.last_ok = self.clock()  # the view is fresh: ready to take over
            return True
        try:
            done = self._apply(models, now)
        except LlmgwError as exc:
            self.apply_failures += 1
            delay = self.backoff.delay(self.apply_failures)
            log.error(
                "apply failed (%s): %s; trying again in %.1f s",
                type(exc).__name__,
                exc.message.splitlines()[0],
                delay,
            )
            self.metrics.errors.labels("apply").inc()
            self._mark_dirty(delay)
            return False
        if self.apply_failures:
            log.info("applied again after %d failed tries", self.apply_failures)
            self.apply_failures = 0
        if done:
            self.news.applied(self.config, models, first=self.last_ok is None)
            self.last_ok = self.clock()
        return done

    def _apply(self, models: list[DiscoveredModel], now: float) -> bool:
        target = self._target()
        if target.restarts:
            wait = self.last_upgrade + self.options.min_upgrade_interval - now
            if wait > 0:
                log.info(
                    "next %s in %.0f s at the earliest (--min-upgrade-interval)", target.verb, wait
                )
                self._mark_dirty(wait)
                return False
        # allow_removal: the grace is the guard here.
        policy = base.Policy(yes=True, allow_removal=True)
        state = desired.build(self.config, models)
        result = base.converge(target, state, policy, _Quiet())
        self.verifier.state = state
        if result.applied:
            if target.restarts:
                self.last_upgrade = self.clock()
            for kind, n in result.plan.counts.items():
                self.metrics.writes.labels(kind).inc(n)
        return True

    def _target(self) -> base.Target[Any]:
        """The target for the config in force, made anew when the config changes."""
        if self.target is None or self.target_config is not self.config:
            self.target = targets.for_config(
                self.config,
                self.options.config_path,
                self.env,
                lambda: self.cluster,
                self.options.gateway_url,
                self.options.context,
                self.options.kubeconfig,
            )
            self.target_config = self.config
        return self.target

    # -- the loop -----------------------------------------------------------------------------

    def _leadership(self, now: float) -> None:
        if now < self.next_lease:
            return
        self.next_lease = now + max(0.2, self.options.lease_duration / 3)
        held = self.elector.try_acquire_or_renew()
        if held != self.leader:
            log.info("%s the Lease %s", "took" if held else "lost", self.options.lease_name)
            if held:
                self._mark_dirty(0)
        self.leader = held
        self.metrics.leader.set(1 if held else 0)

    def ready(self) -> bool:
        """/readyz: the last list and reconcile succeeded recently, the watches work, and the
        gateway took the last apply."""
        if self.last_ok is None or self.informer.unsettled() or self.apply_failures:
            return False
        return self.clock() - self.last_ok <= max(2 * self.options.resync, 60.0)

    def start(self) -> None:
        from llmgw import __version__, gateway
        from llmgw.kube import lease

        self.cluster = self.informer.cluster = self.connect()
        gw = self.config.gateway
        where = self.options.gateway_url or gw.url or f"service {gw.namespace}/"
        where += "" if self.options.gateway_url or gw.url else gateway.service(self.config)
        log.info(
            "llmgw %s sync --watch: config %s, %s, gateway %s, model_source %s, identity %s",
            __version__,
            self.options.config_path,
            self.cluster.describe(),
            where,
            gw.model_source,
            self.options.identity,
        )
        self.elector = lease.Elector(
            self.cluster,
            self.options.lease_namespace or gw.namespace,
            self.options.lease_name,
            self.options.identity,
            self.options.lease_duration,
        )
        self.informer.wanted = discovery.wanted(self.config)
        self._resync()

    def _resync(self) -> None:
        self.informer.relist_all()
        self.last_resync = self.clock()
        self._mark_dirty()

    def run(self) -> None:
        """Until stop(): finishes the write in flight, then releases the Lease."""
        self.start()
        try:
            while not self.stopping.is_set():
                self.step()
        finally:
            self.informer.stop()
            if self.leader:
                self.elector.release()
                log.info("released the Lease %s", self.options.lease_name)

    def step(self, wait: float = 0.1) -> None:
        self._leadership(self.clock())
        self._reload_config()
        if self.informer.pump(wait):
            self._mark_dirty()
        now = self.clock()
        if now - self.last_resync >= self.options.resync:
            log.info("resync: listing everything again")
            self.metrics.watch_restarts.labels("resync").inc()
            self._resync()
        if self.dirty_at is not None and self.clock() >= self.dirty_at:
            self.reconcile()
        if self.last_ok is not None:
            self.metrics.since_ok.set(self.clock() - self.last_ok)
        if self.leader:
            self.verifier.maybe_start(now)

    def stop(self) -> None:
        self.stopping.set()
        self.informer.stopping.set()


class _News:
    """What the log and the metrics say of a reconcile: models added and removed, configured
    ones left out and why, pods a rule left out — each said once, and again when it changes."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        #: The models the gateway serves (keys), and their public names for the log line.
        self.served: set[tuple[str, ...]] = set()
        self.served_names: dict[tuple[str, ...], str] = {}
        #: Configured models not served, and why.
        self.left_out: dict[str, str] = {}
        self.pods_reported: set[str] = set()

    def pods_left_out(self, reports: tuple[str, ...]) -> None:
        for report in sorted(set(reports) - self.pods_reported):
            log.warning("%s", report)
        self.pods_reported = set(reports)

    def applied(
        self, config: config_mod.Config, models: list[DiscoveredModel], first: bool
    ) -> None:
        ready = {m.key for m in models if m.ready and m.deploy}
        by_key = {m.key: m for m in models}
        if first:  # the first reconcile: what runs already is no news
            names = sorted({m.public_name for m in models if m.key in ready})
            log.info("serving %d self-hosted models: %s", len(names), ", ".join(names) or "-")
            self.served = set(ready)
        self._left_out(models)
        for key in sorted(ready - self.served):
            up = by_key[key]
            log.info("added %s: %d/%d ready", up.public_name, up.ready_replicas, up.replicas)
        for key in sorted(self.served - ready):
            down = by_key.get(key)
            if down is None:  # no longer in the config, or its pods are gone
                log.info("removed %s", self.served_names.get(key, "/".join(key[:2])))
                continue
            log.info(
                "removed %s: %d/%d ready, %s",
                down.public_name,
                down.ready_replicas,
                down.replicas,
                down.reason,
            )
        self.served = ready
        self.served_names = {m.key: m.public_name for m in models if m.key in ready}
        self.metrics.served.set(len(desired.served(config, models)))

    def _left_out(self, models: list[DiscoveredModel]) -> None:
        """``llmgw_model_left_out{public_name,reason}`` explains desired vs served."""
        left = {
            m.public_name or m.name: ("deploy: false" if not m.deploy else m.reason or "not ready")
            for m in models
            if not (m.ready and m.deploy)
        }
        for name, reason in sorted(left.items()):
            if self.left_out.get(name) != reason:
                log.info("left out %s: %s", name, reason)
        self.left_out = left
        self.metrics.left_out.clear()
        for name, reason in left.items():
            self.metrics.left_out.labels(name, reason[:80]).set(1)


class _Verifier:
    """--verify-interval: every served name gets one small request through the gateway, in a
    thread of its own; a name that fails VERIFY_FAILS times in a row is logged once, and once
    when it is back."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        #: The desired state of the last reconcile: what to verify.
        self.state: desired.DesiredState | None = None
        self.next_at = 0.0
        self.running = threading.Event()
        #: Failed verifications in a row, by name.
        self.fails: dict[str, int] = {}

    def maybe_start(self, now: float) -> None:
        interval = self.controller.options.verify_interval
        if interval and now >= self.next_at and not self.running.is_set():
            self.next_at = now + interval
            self.running.set()
            threading.Thread(target=self.run, daemon=True, name="verify").start()

    def run(self) -> None:
        from llmgw import gateway_client, verification

        c = self.controller
        try:
            state = self.state
            if state is None:
                return
            gw = gateway_client.open_api(
                c.config, c.options.gateway_url, c.env, lambda: c.cluster, c.options.verify_timeout
            )
            verdicts = verification.run(gw, state, verification.checks(state))
        except LlmgwError as exc:
            log.warning("verification skipped: %s", exc.message.splitlines()[0])
            return
        finally:
            self.running.clear()
        for v in verdicts:
            c.metrics.model_up.labels(v.name).set(1 if v.ok else 0)
            c.metrics.model_latency.labels(v.name).set(v.latency)
            fails = 0 if v.ok else self.fails.get(v.name, 0) + 1
            if fails == VERIFY_FAILS:
                log.warning(
                    "%s failed %d verifications in a row: %s %s", v.name, fails, v.status, v.error
                )
            elif not fails and self.fails.get(v.name, 0) >= VERIFY_FAILS:
                log.info("%s answers again (%.2f s)", v.name, v.latency)
            self.fails[v.name] = fails


class _Quiet:
    """The reporter for unattended runs: phases and previews go to the log."""

    def phase(self, name: str) -> None:
        log.debug("%s", name)

    def preview(self, preview: Any) -> None:
        for label, names in (
            ("add", preview.added),
            ("remove", preview.removed),
            ("change", preview.changed),
        ):
            for name in names:
                log.info("%s %s", label, name)
        for key in preview.other:
            log.info("value %s", key)

    def confirm(self, question: str) -> bool | None:
        return True
