"""``llmgw sync --watch``: keep the gateway in step with the cluster until stopped.

Level-triggered, as peers learned the hard way: pod and service events only update a local
view; every change schedules one debounced reconcile of the whole desired state. Per
namespace: LIST (keeping the list's resourceVersion), then WATCH from it with bookmarks, a
server timeout and a socket timeout; on 410 Gone, an error or an outage: back off with jitter
and LIST again, which also heals an event lost while disconnected. A full re-list runs every
``resync`` seconds even when the watch looks healthy (managed clouds' watches go silent
without closing). Nothing is applied from partial data.

A model is added when its first pod is Ready. One whose pods are all NotReady keeps its place
for ``grace`` seconds; one whose pods are gone, terminating or without an IP is removed at
once. Only the holder of a Lease writes. The config file is re-read when it changes (a
ConfigMap mount swaps a symlink); an invalid one is logged and the last good one kept.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llmgw import config as config_mod
from llmgw import desired, discovery, grace, targets
from llmgw.discovery import DiscoveredModel
from llmgw.errors import InputError, LlmgwError
from llmgw.state import ClusterState, Obj, ProbeAnswer, ProbeTarget
from llmgw.targets import base

log = logging.getLogger("llmgw.watch")

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
    #: Back-off after a failed list or watch: from this, doubling, up to backoff_max
    #: (client-go's reflector: 0.8 s to 30 s), with jitter.
    backoff_start: float = 0.8
    backoff_max: float = 30.0
    #: Seconds between verifications of every served name (0: off); each request's timeout.
    verify_interval: float = 0.0
    verify_timeout: float = 30.0


@dataclass
class _Namespace:
    pods: dict[str, Obj] = field(default_factory=dict)
    services: dict[str, Obj] = field(default_factory=dict)
    healthy: bool = False
    generation: int = 0
    retry_at: float = 0.0
    #: Failed lists in a row (and 410s that forced one); reset by a watch that lived.
    failures: int = 0
    #: The resources whose watch is failing now (backing off): the view may be behind.
    failing: set[str] = field(default_factory=set)
    #: The open watches of this generation, closed when a new list supersedes them.
    streams: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class _Probe:
    """What a model's engine said, for the pods it said it about."""

    signature: tuple[Any, ...]
    answer: ProbeAnswer
    #: When a failed probe may be asked again.
    retry_at: float
    failures: int


class Metrics:
    """Prometheus metrics in a registry of their own (prometheus_client, imported here only)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "llmgw_reconciles", "Reconciles of the whole desired state", registry=self.registry
        )
        self.writes = Counter(
            "llmgw_writes", "Writes to the gateway, by kind", ["kind"], registry=self.registry
        )
        self.errors = Counter("llmgw_errors", "Errors, by kind", ["kind"], registry=self.registry)
        self.watch_restarts = Counter(
            "llmgw_watch_restarts",
            "Lists and watches started again, by cause (ended: a watch that ended at once; "
            "error; expired: 410 Gone; list: a failed list; resync; config)",
            ["cause"],
            registry=self.registry,
        )
        self.since_ok = Gauge(
            "llmgw_seconds_since_last_reconcile",
            "Seconds since the last successful reconcile",
            registry=self.registry,
        )
        self.served = Gauge(
            "llmgw_models_served", "Models the gateway serves", registry=self.registry
        )
        self.desired = Gauge(
            "llmgw_models_desired", "Models the config asks for", registry=self.registry
        )
        self.probes = Counter(
            "llmgw_probes", "Engines asked what they serve (--probe)", registry=self.registry
        )
        self.leader = Gauge(
            "llmgw_leader", "1 while this replica holds the Lease", registry=self.registry
        )
        self.left_out = Gauge(
            "llmgw_model_left_out",
            "1 for each configured model the gateway does not serve, with why",
            ["public_name", "reason"],
            registry=self.registry,
        )
        self.model_up = Gauge(
            "llmgw_model_up",
            "1 when the name answered its last verification through the gateway",
            ["public_name"],
            registry=self.registry,
        )
        self.model_latency = Gauge(
            "llmgw_model_verify_latency_seconds",
            "Latency of the name's last verification",
            ["public_name"],
            registry=self.registry,
        )

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


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
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        #: Guards what the watch threads share with the loop: streams and failure counts.
        self.lock = threading.Lock()
        self.view: dict[str, _Namespace] = {}
        self.stopping = threading.Event()
        self.metrics = Metrics()
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
        self.served: set[tuple[str, ...]] = set()
        #: The public names of the models served, for the log line when one goes.
        self.served_names: dict[tuple[str, ...], str] = {}
        self.probes: dict[tuple[str, ...], _Probe] = {}
        #: The desired state of the last reconcile, for --verify-interval.
        self.last_state: Any = None
        self.next_verify = 0.0
        self.verifying = threading.Event()
        #: Failed verifications in a row, by name: logged when it reaches VERIFY_FAILS.
        self.verify_fails: dict[str, int] = {}
        #: Configured models not served, and why (logged when it changes).
        self.left_out: dict[str, str] = {}
        #: Pods a discover rule selected but left out, and why (each logged once).
        self.pods_left_out: set[str] = set()
        self.leader = False
        self.next_lease = 0.0
        self.cluster: Any = None
        self.elector: Any = None
        self.target: base.Target[Any] | None = None
        #: Namespaces a reconcile last waited for (logged when this changes).
        self.blocked: list[str] = []
        self.target_config: config_mod.Config | None = None

    # -- the outside ------------------------------------------------------------------------

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
        old = discovery.wanted(self.config)
        self.config = new
        log.info("config reloaded from %s", self.options.config_path)
        # What is asked of the API server follows the config: a namespace whose selector
        # changed (a model added or removed there) is listed again now, not at the resync.
        wanted = discovery.wanted(new)
        for ns in sorted(set(old) - set(wanted)):
            self._forget(ns)
        for ns in sorted(wanted):
            if old.get(ns) != wanted[ns]:
                self.metrics.watch_restarts.labels("config").inc()
                self._relist(ns)
        self._mark_dirty()

    def _mark_dirty(self, delay: float | None = None) -> None:
        at = self.clock() + (self.options.debounce if delay is None else delay)
        self.dirty_at = at if self.dirty_at is None else min(self.dirty_at, at)

    # -- listing and watching ---------------------------------------------------------------

    def _relist_all(self) -> None:
        wanted = discovery.wanted(self.config)
        for ns in list(self.view):
            if ns not in wanted:
                self._forget(ns)
        for ns in wanted:
            self._relist(ns)
        self.last_resync = self.clock()

    def _forget(self, ns: str) -> None:
        entry = self.view.pop(ns, None)
        if entry is not None:
            self._supersede(entry)

    def _supersede(self, entry: _Namespace) -> None:
        """A new list (or none) replaces this one: its watches' events are ignored from now
        on, and their connections are closed rather than left open until their timeout."""
        with self.lock:
            entry.generation += 1
            streams, entry.streams = entry.streams, []
        for stream in streams:
            stream.close()

    def _relist(self, ns: str) -> None:
        from llmgw.kube import read
        from llmgw.kube import watch as kwatch

        entry = self.view.setdefault(ns, _Namespace())
        self._supersede(entry)
        gen = entry.generation
        wanted = discovery.wanted(self.config).get(ns)
        if wanted is None:
            return
        try:
            listing = kwatch.list_namespace(self.cluster, ns, wanted)
        except Exception as exc:
            self._unhealthy(ns, "list", f"listing failed: {_why(exc)}")
            return
        entry.pods = {_key(p): p for p in listing.pods}
        entry.services = {_key(s): s for s in listing.services}
        entry.healthy = True  # the failures are reset only by a watch that lived
        selector = read.pod_selector(wanted)
        for resource, version in (
            ("pods", listing.pods_version),
            ("services", listing.services_version),
        ):
            threading.Thread(
                target=self._watch,
                args=(ns, resource, selector if resource == "pods" else None, version, gen),
                daemon=True,
                name=f"watch-{ns}-{resource}",
            ).start()
        self._mark_dirty()

    def _current(self, ns: str, gen: int) -> _Namespace | None:
        entry = self.view.get(ns)
        return entry if entry is not None and entry.generation == gen else None

    def _watch(self, ns: str, resource: str, selector: str | None, version: str, gen: int) -> None:
        """A watch thread: events to the queue, watching again from the last version seen.

        A watch that ends within a second with no event is a failure, as client-go's reflector
        treats it (an API server or proxy in trouble answers exactly that way), and so is a
        dropped connection: the thread backs off (per namespace, growing) and watches again
        from its version. The failures reset only after a watch that lived. A 410 Gone or a
        watch that cannot be resumed goes to the main loop, which lists again.
        """
        from llmgw.kube import watch as kwatch

        failures = 0  # this watch's own, so the pods and services watches back off alike
        while not self.stopping.is_set():
            entry = self._current(ns, gen)
            if entry is None:
                return
            stream = kwatch.Stream(
                self.cluster, ns, resource, selector, version, self.options.watch_timeout
            )
            with self.lock:
                if entry.generation != gen:
                    return
                entry.streams.append(stream)
            started, delivered, cause, why = time.monotonic(), 0, "", ""
            try:
                for kind, obj in stream:
                    if not delivered:
                        self._lived(entry, resource)  # a watch that delivers is one that works
                        failures = 0
                    delivered += 1
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    self.events.put(("event", ns, resource, gen, kind, obj))
                    if self.stopping.is_set():
                        return
            except kwatch.Expired as exc:
                self.events.put(("relist", ns, resource, gen, "expired", _why(exc)))
                return
            except Exception as exc:
                cause, why = "error", f"watch of {resource} failed: {_why(exc)}"
            finally:
                with self.lock:
                    if stream in entry.streams:
                        entry.streams.remove(stream)
            if stream.closed or self._current(ns, gen) is None:
                return  # superseded by a new list
            if not cause and (delivered or time.monotonic() - started >= 1.0):
                self._lived(entry, resource)
                failures = 0
                continue  # the server's timeout ended a watch that lived: watch again
            if not cause:
                cause, why = "ended", f"watch of {resource} ended at once with no events"
            failures += 1
            with self.lock:
                entry.failing.add(resource)
            delay = self._backoff(failures)
            self.metrics.watch_restarts.labels(cause).inc()
            log.warning("namespace %s: %s; watching again in %.1f s", ns, why, delay)
            if self.stopping.wait(delay):
                return

    def _lived(self, entry: _Namespace, resource: str) -> None:
        with self.lock:
            entry.failing.discard(resource)
            entry.failures = 0

    def _backoff(self, failures: int) -> float:
        """client-go's reflector: doubling from backoff_start to backoff_max, with jitter."""
        o = self.options
        base = min(o.backoff_max, o.backoff_start * 2 ** min(failures - 1, 16))
        return float(base * random.uniform(1.0, 1.5))

    def _unhealthy(self, ns: str, cause: str, why: str) -> None:
        entry = self.view.setdefault(ns, _Namespace())
        entry.healthy = False
        entry.failures += 1
        delay = self._backoff(entry.failures)
        entry.retry_at = self.clock() + delay
        self.metrics.watch_restarts.labels(cause).inc()
        log.warning("namespace %s: %s; listing again in %.1f s", ns, why, delay)

    def _handle(self, message: tuple[Any, ...]) -> None:
        what, ns, resource, gen = message[:4]
        entry = self.view.get(ns)
        if entry is None or entry.generation != gen:
            return  # a watch from before the last list
        if what == "relist":
            self._supersede(entry)
            self._unhealthy(ns, message[4], f"watch of {resource}: {message[5]}")
            return
        kind, obj = message[4], message[5]
        if kind == "BOOKMARK":
            return
        bucket = entry.pods if resource == "pods" else entry.services
        if kind == "DELETED":
            bucket.pop(_key(obj), None)
        else:
            bucket[_key(obj)] = obj
        self._mark_dirty()

    # -- reconciling ------------------------------------------------------------------------

    def state(self) -> ClusterState:
        return ClusterState(
            pods={ns: list(e.pods.values()) for ns, e in self.view.items()},
            services={ns: list(e.services.values()) for ns, e in self.view.items()},
            namespaces=frozenset(self.view),
            source="watch",
        )

    def desired(self, models: list[DiscoveredModel], now: float) -> list[DiscoveredModel]:
        """Models with the grace applied (``grace.hold``): the kept ones are logged."""
        held = grace.hold(models, self.served, self.not_ready_since, self.options.grace, now)
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

    def _pods_signature(self, ns: str) -> tuple[tuple[str, str], ...]:
        """Which pods a namespace has, and their IPs: a probe is asked again when it changes."""
        entry = self.view.get(ns)
        pods = entry.pods.values() if entry is not None else []
        return tuple(
            sorted((_key(p), str((p.get("status") or {}).get("podIP") or "")) for p in pods)
        )

    def _probed(self, models: list[DiscoveredModel], now: float) -> list[DiscoveredModel]:
        """``--probe``: ask a model's engine what it serves when its pods change (a new pod, a
        new IP), not on every reconcile; a failed probe is asked again with back-off."""
        from llmgw.kube import read

        answers: dict[int, ProbeAnswer] = {}
        asking: list[tuple[DiscoveredModel, ProbeTarget, tuple[Any, ...]]] = []
        for m, target in discovery.probe_targets(models):
            key = m.key
            signature = (target, self._pods_signature(m.namespace))
            cached = self.probes.get(key)
            fresh = cached is not None and cached.signature == signature
            if (
                cached is not None
                and fresh
                and (not cached.answer.problem or now < cached.retry_at)
            ):
                answers[id(m)] = cached.answer
                if cached.answer.problem:
                    self._mark_dirty(cached.retry_at - now)  # still ask again then
                continue
            asking.append((m, target, signature))
        if asking:
            got = read.probe(self.cluster, [t for _m, t, _s in asking])
            for (m, _t, signature), answer in zip(asking, got, strict=True):
                key = m.key
                failures = 0
                if answer.problem:
                    old = self.probes.get(key)
                    failures = (old.failures if old and old.signature == signature else 0) + 1
                delay = self._backoff(failures) if failures else 0.0
                self.probes[key] = _Probe(signature, answer, now + delay, failures)
                if failures:
                    self._mark_dirty(delay)  # ask again then
                answers[id(m)] = answer
        self.metrics.probes.inc(len(asking))
        return discovery.apply_probe(models, answers, lambda m: False)

    def reconcile(self) -> bool:
        """One pass over the whole desired state; True when it applied or had nothing to do."""
        now = self.clock()
        self.dirty_at = None
        incomplete = sorted(ns for ns, e in self.view.items() if not self._settled(e))
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
        found = discovery.find(self.config, self.state())
        for report in sorted(set(found.reports) - self.pods_left_out):
            log.warning("%s", report)
        self.pods_left_out = set(found.reports)
        models = self.desired(found.models, now)
        if self.options.probe and self.cluster is not None:
            models = self._probed(models, now)
        ready = {m.key for m in models if m.ready and m.deploy}
        serving = len(desired.served(self.config, models))
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
            delay = self._backoff(self.apply_failures)
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
            by_key = {m.key: m for m in models}
            if self.last_ok is None:  # the first reconcile: what runs already is no news
                names = sorted({m.public_name for m in models if m.key in ready})
                log.info("serving %d self-hosted models: %s", len(names), ", ".join(names) or "-")
                self.served = set(ready)
            self._report_left_out(models)
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
            self.last_ok = self.clock()
            self.metrics.served.set(serving)
        return done

    def _report_left_out(self, models: list[DiscoveredModel]) -> None:
        """Why a configured model is not served, said once (and again when the reason
        changes); ``llmgw_model_left_out{public_name,reason}`` explains desired vs served."""
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

    def _verify(self) -> None:
        """--verify-interval: every served name gets one small request through the gateway;
        a name that fails VERIFY_FAILS times in a row is logged once, and once when it is back."""
        from llmgw import gateway_client, verification

        try:
            state = self.last_state
            if state is None:
                return
            gw = gateway_client.open_api(
                self.config,
                self.options.gateway_url,
                self.env,
                lambda: self.cluster,
                self.options.verify_timeout,
            )
            verdicts = verification.run(gw, state, verification.checks(state))
        except LlmgwError as exc:
            log.warning("verification skipped: %s", exc.message.splitlines()[0])
            return
        finally:
            self.verifying.clear()
        for v in verdicts:
            self.metrics.model_up.labels(v.name).set(1 if v.ok else 0)
            self.metrics.model_latency.labels(v.name).set(v.latency)
            fails = 0 if v.ok else self.verify_fails.get(v.name, 0) + 1
            if fails == VERIFY_FAILS:
                log.warning(
                    "%s failed %d verifications in a row: %s %s",
                    v.name,
                    fails,
                    v.status,
                    v.error,
                )
            elif not fails and self.verify_fails.get(v.name, 0) >= VERIFY_FAILS:
                log.info("%s answers again (%.2f s)", v.name, v.latency)
            self.verify_fails[v.name] = fails

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
        self.last_state = state
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

    # -- the loop ---------------------------------------------------------------------------

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

    def _settled(self, entry: _Namespace) -> bool:
        """Listed, and watching: no watch failing, or the failing one open again for a second
        (a watch that lived)."""
        if not entry.healthy:
            return False
        now = time.monotonic()
        with self.lock:
            for stream in entry.streams:
                if stream.opened_at is not None and now - stream.opened_at >= 1.0:
                    entry.failing.discard(stream.resource)
                    entry.failures = 0
            return not entry.failing

    def ready(self) -> bool:
        """/readyz: the last list and reconcile succeeded recently, and the watches work."""
        if self.last_ok is None or not all(self._settled(e) for e in self.view.values()):
            return False
        if self.apply_failures:
            return False
        return self.clock() - self.last_ok <= max(2 * self.options.resync, 60.0)

    def start(self) -> None:
        from llmgw import __version__
        from llmgw.kube import lease

        self.cluster = self.connect()
        gw = self.config.gateway
        from llmgw import gateway

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
        self._relist_all()

    def run(self) -> None:
        """Until stop(): finishes the write in flight, then releases the Lease."""
        self.start()
        try:
            while not self.stopping.is_set():
                self.step()
        finally:
            if self.leader:
                self.elector.release()
                log.info("released the Lease %s", self.options.lease_name)

    def step(self, wait: float = 0.1) -> None:
        now = self.clock()
        self._leadership(now)
        self._reload_config()
        try:
            message = self.events.get(timeout=wait)
            self._handle(message)
            while True:
                self._handle(self.events.get_nowait())
        except queue.Empty:
            pass
        now = self.clock()
        for ns, entry in list(self.view.items()):
            if not entry.healthy and now >= entry.retry_at:
                self._relist(ns)
        if now - self.last_resync >= self.options.resync:
            log.info("resync: listing everything again")
            self.metrics.watch_restarts.labels("resync").inc()
            self._relist_all()
        if self.dirty_at is not None and self.clock() >= self.dirty_at:
            self.reconcile()
        if self.last_ok is not None:
            self.metrics.since_ok.set(self.clock() - self.last_ok)
        interval = self.options.verify_interval
        if interval and self.leader and now >= self.next_verify and not self.verifying.is_set():
            self.next_verify = now + interval
            self.verifying.set()
            threading.Thread(target=self._verify, daemon=True, name="verify").start()

    def stop(self) -> None:
        self.stopping.set()


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


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")


def _why(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:200]


# -- logs and the health endpoint ---------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            }
        )


def configure_logging(fmt: Literal["text", "json"]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger("llmgw")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def parse_listen(listen: str) -> tuple[str, int]:
    """``[HOST]:PORT``: ``:8080``, ``0.0.0.0:8080``, ``[::1]:8080`` → (host, port)."""
    host, sep, port = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = "\x00"  # an IPv6 address without brackets: ambiguous
    if (
        not sep
        or not port.isdigit()
        or not 1 <= int(port) <= 65535
        or "\x00" in host
        or any(c.isspace() for c in host)
    ):
        raise InputError(
            f"--listen {listen!r} is not [HOST]:PORT",
            hint="e.g. --listen :8080, --listen 127.0.0.1:8080 or --listen [::1]:8080 "
            "(a port from 1 to 65535)",
        )
    return host or "0.0.0.0", int(port)


def serve_health(controller: Controller, listen: str) -> Any:
    """/healthz, /readyz and /metrics on ``[host]:port``; returns the server (a thread runs it)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/healthz":
                status, body, kind = 200, b"ok\n", "text/plain"
            elif self.path == "/readyz":
                ok = controller.ready()
                status, body, kind = (
                    (200 if ok else 503),
                    (b"ready\n" if ok else b"not ready\n"),
                    "text/plain",
                )
            elif self.path == "/metrics":
                status, body, kind = 200, controller.metrics.text(), "text/plain; version=0.0.4"
            else:
                status, body, kind = 404, b"not found\n", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    host, port = parse_listen(listen)
    server_class = ThreadingHTTPServer
    if ":" in host:

        class Server6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = Server6
    try:
        server = server_class((host, port), Handler)
    except OSError as exc:
        raise InputError(
            f"--listen {listen}: cannot serve there ({exc.strerror})",
            hint="pick a free port, and an address of this machine (or none: all of them)",
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
    return server
