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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from llmgw import config as config_mod
from llmgw import desired, discovery, inputs, targets
from llmgw.discovery import DiscoveredModel
from llmgw.errors import LlmgwError
from llmgw.state import ClusterState, Obj
from llmgw.targets import base

log = logging.getLogger("llmgw.watch")

#: Reasons that mean the pods are gone, not merely unready: removed without grace.
_GONE = ("no pods match", "terminating", "no pod IP", "namespace ", "unknown: listing")


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
    backoff_max: float = 30.0


@dataclass
class _Namespace:
    pods: dict[str, Obj] = field(default_factory=dict)
    services: dict[str, Obj] = field(default_factory=dict)
    healthy: bool = False
    generation: int = 0
    retry_at: float = 0.0
    failures: int = 0


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
            "Watches restarted (410, errors, resync)",
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
        self.leader = Gauge(
            "llmgw_leader", "1 while this replica holds the Lease", registry=self.registry
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
        self.view: dict[str, _Namespace] = {}
        self.stopping = threading.Event()
        self.metrics = Metrics()
        self.config = config_mod.load(options.config_path)
        self.config_sig = self._signature()
        self.dirty_at: float | None = None
        self.last_resync = 0.0
        self.last_ok: float | None = None
        self.last_upgrade = -1e12
        self.not_ready_since: dict[tuple[str, str], float] = {}
        self.served: set[tuple[str, str]] = set()
        self.leader = False
        self.next_lease = 0.0
        self.cluster: Any = None
        self.elector: Any = None
        self.target: base.Target[Any] | None = None
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
        old_namespaces = set(discovery.wanted(self.config))
        self.config = new
        log.info("config reloaded from %s", self.options.config_path)
        if set(discovery.wanted(new)) != old_namespaces:
            self._relist_all()
        self._mark_dirty()

    def _mark_dirty(self, delay: float | None = None) -> None:
        at = self.clock() + (self.options.debounce if delay is None else delay)
        self.dirty_at = at if self.dirty_at is None else min(self.dirty_at, at)

    # -- listing and watching ---------------------------------------------------------------

    def _relist_all(self) -> None:
        wanted = discovery.wanted(self.config)
        for ns in list(self.view):
            if ns not in wanted:
                self.view[ns].generation += 1  # its watches' events are ignored from now on
                del self.view[ns]
        for ns in wanted:
            self._relist(ns)
        self.last_resync = self.clock()

    def _relist(self, ns: str) -> None:
        from llmgw.kube import watch as kwatch

        entry = self.view.setdefault(ns, _Namespace())
        entry.generation += 1  # the old watches' events no longer count
        gen = entry.generation
        wanted = discovery.wanted(self.config).get(ns)
        if wanted is None:
            return
        try:
            listing = kwatch.list_namespace(self.cluster, ns, wanted)
        except Exception as exc:
            self._unhealthy(ns, f"listing failed: {_why(exc)}")
            return
        entry.pods = {_key(p): p for p in listing.pods}
        entry.services = {_key(s): s for s in listing.services}
        entry.healthy, entry.failures = True, 0
        selector = kwatch.pod_selector(wanted)
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

    def _watch(self, ns: str, resource: str, selector: str | None, version: str, gen: int) -> None:
        """A watch thread: events to the queue until the server's timeout, then again from the
        last version seen; a failure ends it with an "error" message."""
        from llmgw.kube import watch as kwatch

        while not self.stopping.is_set():
            try:
                for kind, obj in kwatch.stream(
                    self.cluster, ns, resource, selector, version, self.options.watch_timeout
                ):
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    self.events.put(("event", ns, resource, gen, kind, obj))
                    if self.stopping.is_set():
                        return
            except Exception as exc:
                self.events.put(("error", ns, resource, gen, _why(exc)))
                return
            if self.view.get(ns) is None or self.view[ns].generation != gen:
                return

    def _unhealthy(self, ns: str, why: str) -> None:
        entry = self.view.setdefault(ns, _Namespace())
        entry.healthy = False
        entry.failures += 1
        backoff = min(self.options.backoff_max, 0.5 * 2 ** min(entry.failures, 8))
        entry.retry_at = self.clock() + backoff * random.uniform(0.5, 1.0)
        self.metrics.watch_restarts.inc()
        log.warning(
            "namespace %s: %s; listing again in %.1f s", ns, why, entry.retry_at - self.clock()
        )

    def _handle(self, message: tuple[Any, ...]) -> None:
        what, ns, resource, gen = message[:4]
        entry = self.view.get(ns)
        if entry is None or entry.generation != gen:
            return  # a watch from before the last list
        if what == "error":
            entry.generation += 1
            self._unhealthy(ns, f"watch of {resource} ended: {message[4]}")
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
        """Models with the grace applied: all-NotReady ones keep their place for a while."""
        out = []
        for m in models:
            key = (m.engine, m.name)
            if m.ready or not m.deploy:
                self.not_ready_since.pop(key, None)
                out.append(m)
                continue
            gone = any(m.reason.startswith(g) for g in _GONE)
            if key not in self.served or gone:
                self.not_ready_since.pop(key, None)
                out.append(m)
                continue
            since = self.not_ready_since.setdefault(key, now)
            left = self.options.grace - (now - since)
            if left > 0:
                log.info(
                    "keeping %s for %.0f s more: %d/%d ready, %s",
                    m.public_name,
                    left,
                    m.ready_replicas,
                    m.replicas,
                    m.reason,
                )
                self._mark_dirty(left + 0.05)
                out.append(replace(m, ready=True, notes=(*m.notes, f"in grace: {m.reason}")))
            else:
                out.append(m)
        return out

    def reconcile(self) -> bool:
        """One pass over the whole desired state; True when it applied or had nothing to do."""
        now = self.clock()
        self.dirty_at = None
        incomplete = sorted(ns for ns, e in self.view.items() if not e.healthy)
        if incomplete:
            log.warning("not applying: cluster data incomplete (%s)", ", ".join(incomplete))
            return False
        self.metrics.reconciles.inc()
        models = self.desired(discovery.discover(self.config, self.state()), now)
        if self.options.probe and self.cluster is not None:
            models = inputs.probe_models(self.cluster, models, lambda m: False)
        ready = {(m.engine, m.name) for m in models if m.ready and m.deploy}
        serving = len(desired.served(self.config, models))
        self.metrics.desired.set(sum(1 for d in self.config.deployments() if d.model.deploy))
        if not self.leader:
            log.debug("not the leader: nothing written")
            self.last_ok = self.clock()  # the view is fresh: ready to take over
            return True
        try:
            done = self._apply(models, now)
        except LlmgwError as exc:
            log.error("apply failed (%s): %s", type(exc).__name__, exc.message.splitlines()[0])
            self.metrics.errors.labels("apply").inc()
            self._mark_dirty(min(self.options.backoff_max, max(self.options.debounce, 1.0)))
            return False
        if done:
            by_key = {(m.engine, m.name): m for m in models}
            for key in sorted(ready - self.served):
                up = by_key[key]
                log.info("added %s: %d/%d ready", up.public_name, up.ready_replicas, up.replicas)
            for key in sorted(self.served - ready):
                down = by_key.get(key)
                if down is None:  # no longer in the config
                    log.info("removed %s", "/".join(key))
                    continue
                log.info(
                    "removed %s: %d/%d ready, %s",
                    down.public_name,
                    down.ready_replicas,
                    down.replicas,
                    down.reason,
                )
            self.served = ready
            self.last_ok = self.clock()
            self.metrics.served.set(serving)
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
        result = base.converge(target, desired.build(self.config, models), policy, _Quiet())
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

    def ready(self) -> bool:
        """/readyz: the last list and reconcile succeeded recently."""
        if self.last_ok is None or any(not e.healthy for e in self.view.values()):
            return False
        return self.clock() - self.last_ok <= max(2 * self.options.resync, 60.0)

    def start(self) -> None:
        from llmgw.kube import lease

        self.cluster = self.connect()
        gw = self.config.gateway
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
            self.metrics.watch_restarts.inc()
            self._relist_all()
        if self.dirty_at is not None and self.clock() >= self.dirty_at:
            self.reconcile()
        if self.last_ok is not None:
            self.metrics.since_ok.set(self.clock() - self.last_ok)

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
            log.info("set %s", key)

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

    host, _, port = listen.rpartition(":")
    server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
    return server
