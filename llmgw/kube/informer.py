"""A live view of the pods and services of the namespaces asked for, kept by LIST + WATCH.

The way client-go's reflector does it, per namespace: LIST (keeping the list's
resourceVersion), then WATCH from it with bookmarks, a server timeout and a socket timeout; on
410 Gone, an error or an outage, back off with jitter and LIST again, which also heals an event
lost while disconnected. A watch that ends at once with no event counts as a failure (an API
server or proxy in trouble answers exactly that way); failures reset only after a watch that
lived.

A leaf: it knows namespaces and selectors (``Wanted``), never the config or the controller. It
reports change through return values (``pump``, ``want``) and restarts through ``on_restart``.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmgw.kube.auth import Cluster
from llmgw.state import ClusterState, Obj, Wanted

log = logging.getLogger("llmgw.kube.informer")


@dataclass(frozen=True)
class Backoff:
    """Doubling from ``start`` to ``cap``, with jitter (client-go's reflector: 0.8 s to 30 s).

    The cap is what keeps a long outage from growing the delay to hours: a failure that
    clears is noticed within one capped delay."""

    start: float = 0.8
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        base = min(self.cap, self.start * 2 ** min(max(failures, 1) - 1, 16))
        return float(base * random.uniform(1.0, 1.5))


@dataclass
class Namespace:
    """One namespace's view: its objects by uid, and the state of its list and watches."""

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
    #: Serving resources by kind, then uid; and the kinds the cluster does not serve.
    resources: dict[str, dict[str, Obj]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()


def _ignore(cause: str) -> None:
    pass


class Informer:
    """The namespaces of ``want``, listed and watched; ``pump`` applies what the watches saw."""

    def __init__(
        self,
        cluster: Cluster | None,
        watch_timeout: int = 300,
        backoff: Backoff = Backoff(),
        on_restart: Callable[[str], None] = _ignore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cluster = cluster
        self.watch_timeout = watch_timeout
        self.backoff = backoff
        #: Called with the cause of each list or watch started again (for metrics): ended,
        #: error, expired (410), list, resync, config.
        self.on_restart = on_restart
        self.clock = clock
        self.wanted: dict[str, Wanted] = {}
        self.view: dict[str, Namespace] = {}
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        #: Guards what the watch threads share with the loop: streams and failure counts.
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    # -- what to watch ------------------------------------------------------------------------

    def want(self, wanted: Mapping[str, Wanted], cause: str = "config") -> bool:
        """Follow a new set of namespaces and selectors: a namespace no longer wanted is
        forgotten, one whose selector changed is listed again now. True when anything is."""
        old, self.wanted = self.wanted, dict(wanted)
        for ns in sorted(set(old) - set(wanted)):
            self._forget(ns)
        changed = False
        for ns in sorted(wanted):
            if old.get(ns) != wanted[ns]:
                self.on_restart(cause)
                self._relist(ns)
                changed = True
        return changed

    def relist_all(self) -> None:
        """List every wanted namespace again (the start, and the periodic resync: managed
        clouds' watches go silent without closing)."""
        for ns in list(self.view):
            if ns not in self.wanted:
                self._forget(ns)
        for ns in self.wanted:
            self._relist(ns)

    def stop(self) -> None:
        self.stopping.set()
        for entry in list(self.view.values()):
            self._supersede(entry)

    # -- the view -----------------------------------------------------------------------------

    def state(self) -> ClusterState:
        resources: dict[str, dict[str, list[Obj]]] = {}
        for ns, e in self.view.items():
            for kind, objects in e.resources.items():
                resources.setdefault(kind, {})[ns] = list(objects.values())
        return ClusterState(
            pods={ns: list(e.pods.values()) for ns, e in self.view.items()},
            services={ns: list(e.services.values()) for ns, e in self.view.items()},
            namespaces=frozenset(self.view),
            source="watch",
            resources=resources,
            missing_kinds=frozenset(k for e in self.view.values() for k in e.missing),
        )

    def unsettled(self) -> list[str]:
        """Namespaces not listed, or with a watch failing: their view may be behind."""
        return sorted(ns for ns, e in self.view.items() if not self._settled(e))

    def pods_signature(self, ns: str) -> tuple[tuple[str, str], ...]:
        """Which pods a namespace has, and their IPs (a probe is asked again when it changes)."""
        entry = self.view.get(ns)
        pods = entry.pods.values() if entry is not None else []
        return tuple(
            sorted((key(p), str((p.get("status") or {}).get("podIP") or "")) for p in pods)
        )

    def pump(self, wait: float) -> bool:
        """Apply what the watches delivered (waiting up to ``wait`` for the first), and list
        again the namespaces whose back-off is over. True when the view changed."""
        changed = False
        try:
            changed |= self.handle(self.events.get(timeout=wait))
            while True:
                changed |= self.handle(self.events.get_nowait())
        except queue.Empty:
            pass
        now = self.clock()
        for ns, entry in list(self.view.items()):
            if not entry.healthy and now >= entry.retry_at:
                changed |= self._relist(ns)
        return changed

    def handle(self, message: tuple[Any, ...]) -> bool:
        """One message of a watch thread; True when it changed the view. A message of a
        watch from before the last list is stale and ignored."""
        what, ns, resource, gen = message[:4]
        entry = self.view.get(ns)
        if entry is None or entry.generation != gen:
            return False
        if what == "relist":
            self._supersede(entry)
            self._unhealthy(ns, message[4], f"watch of {resource}: {message[5]}")
            return False
        kind, obj = message[4], message[5]
        if kind == "BOOKMARK":
            return False
        if resource == "pods":
            bucket = entry.pods
        elif resource == "services":
            bucket = entry.services
        else:  # a serving kind
            bucket = entry.resources.setdefault(resource, {})
        if kind == "DELETED":
            bucket.pop(key(obj), None)
        else:
            bucket[key(obj)] = obj
        return True

    # -- listing and watching -----------------------------------------------------------------

    def _forget(self, ns: str) -> None:
        entry = self.view.pop(ns, None)
        if entry is not None:
            self._supersede(entry)

    def _supersede(self, entry: Namespace) -> None:
        """A new list (or none) replaces this one: its watches' events are ignored from now
        on, and their connections are closed rather than left open until their timeout."""
        with self.lock:
            entry.generation += 1
            streams, entry.streams = entry.streams, []
        for stream in streams:
            stream.close()

    def _relist(self, ns: str) -> bool:
        from llmgw.kube import read
        from llmgw.kube import watch as kwatch

        entry = self.view.setdefault(ns, Namespace())
        self._supersede(entry)
        gen = entry.generation
        wanted = self.wanted.get(ns)
        if wanted is None:
            return False
        try:
            listing = kwatch.list_namespace(self.cluster, ns, wanted)  # type: ignore[arg-type]
        except Exception as exc:  # any failure of a list is retried with back-off
            self._unhealthy(ns, "list", f"listing failed: {why(exc)}")
            return False
        entry.pods = {key(p): p for p in listing.pods}
        entry.services = {key(s): s for s in listing.services}
        entry.resources = {
            kind: {key(o): o for o in objects}
            for kind, (objects, _v, _p) in listing.resources.items()
        }
        entry.missing = listing.missing  # (discovery says it, once, for the rule)
        entry.healthy = True  # the failures are reset only by a watch that lived
        selector = read.pod_selector(wanted)
        watches: list[tuple[str, str | None, str, str | None]] = [
            ("pods", selector, listing.pods_version, None),
            ("services", None, listing.services_version, None),
            *((kind, None, v, path) for kind, (_o, v, path) in listing.resources.items()),
        ]
        for resource, sel, version, path in watches:
            threading.Thread(
                target=self._watch,
                args=(ns, resource, sel, version, gen, path),
                daemon=True,
                name=f"watch-{ns}-{resource}",
            ).start()
        return True

    def _current(self, ns: str, gen: int) -> Namespace | None:
        entry = self.view.get(ns)
        return entry if entry is not None and entry.generation == gen else None

    def _watch(
        self,
        ns: str,
        resource: str,
        selector: str | None,
        version: str,
        gen: int,
        path: str | None = None,
    ) -> None:
        """A watch thread: events to the queue, watching again from the last version seen.

        A watch that ends within a second with no event is a failure, as client-go's reflector
        treats it, and so is a dropped connection: the thread backs off (growing, capped) and
        watches again from its version. A 410 Gone goes to the loop, which lists again.
        """
        from llmgw.kube import watch as kwatch

        failures = 0  # this watch's own, so the pods and services watches back off alike
        while not self.stopping.is_set():
            entry = self._current(ns, gen)
            if entry is None:
                return
            stream = kwatch.Stream(
                self.cluster,  # type: ignore[arg-type]
                ns,
                resource,
                selector,
                version,
                self.watch_timeout,
                path,
            )
            with self.lock:
                if entry.generation != gen:
                    return
                entry.streams.append(stream)
            started, delivered, cause, reason = time.monotonic(), 0, "", ""
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
                self.events.put(("relist", ns, resource, gen, "expired", why(exc)))
                return
            except Exception as exc:  # a broken watch, whatever broke it, is watched again
                cause, reason = "error", f"watch of {resource} failed: {why(exc)}"
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
                cause, reason = "ended", f"watch of {resource} ended at once with no events"
            failures += 1
            with self.lock:
                entry.failing.add(resource)
            delay = self.backoff.delay(failures)
            self.on_restart(cause)
            log.warning("namespace %s: %s; watching again in %.1f s", ns, reason, delay)
            if self.stopping.wait(delay):
                return

    def _lived(self, entry: Namespace, resource: str) -> None:
        with self.lock:
            entry.failing.discard(resource)
            entry.failures = 0

    def _unhealthy(self, ns: str, cause: str, reason: str) -> None:
        entry = self.view.setdefault(ns, Namespace())
        entry.healthy = False
        entry.failures += 1
        delay = self.backoff.delay(entry.failures)
        entry.retry_at = self.clock() + delay
        self.on_restart(cause)
        log.warning("namespace %s: %s; listing again in %.1f s", ns, reason, delay)

    def _settled(self, entry: Namespace) -> bool:
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


def key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")


def why(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:200]
