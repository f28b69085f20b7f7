"""A small Kubernetes API stand-in on loopback: real HTTP for the real client.

It honours label selectors (=, ==, !=, in, notin, exists), limit/continue paging, namespace
GETs, and the services proxy; faults (status codes, delays) are injected by path pattern.
Every request is logged so tests and benchmarks can count them.

For the controller it also serves WATCH: every change made through ``put``/``delete`` gets
the next resourceVersion and an event; a watch from a version streams the events after it,
BOOKMARKs when asked, and ends at ``timeoutSeconds``. A version older than the retained
events gets 410 Gone; ``stale`` makes watches go silent without closing (a managed cloud's
watch gone stale); ``lose_events`` drops events (a disconnect that missed a DELETE);
``down`` refuses every request (an API server outage); ``flap`` ends every watch right after
its headers. Leases (coordination.k8s.io/v1) are
stored with optimistic concurrency, as leader election needs.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests import loopback

TOKEN = "test-token"


@dataclass
class Fault:
    pattern: str
    status: int = 500
    times: int = 1_000_000
    delay: float = 0.0
    message: str = "injected"


@dataclass
class Cluster:
    pods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    services: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    namespaces: set[str] = field(default_factory=set)
    #: Serving resources, by their list path's "group/version/plural", then namespace.
    custom: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    #: services proxy answers by "ns/svc:port/path".
    proxy: dict[str, tuple[int, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    #: Secrets written with server-side apply, by "ns/name": (query, body).
    applied: dict[str, tuple[dict[str, str], dict[str, Any]]] = field(default_factory=dict)
    content_types: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    #: services proxy forwarding: "ns/svc:port" → base URL of a server on loopback.
    forward: dict[str, str] = field(default_factory=dict)
    token: str = TOKEN
    #: The latest resourceVersion, and the retained events: (rv, ns, resource, type, object).
    rv: int = 1000
    events: list[tuple[int, str, str, str, dict[str, Any]]] = field(default_factory=list)
    #: Events older than this resourceVersion are compacted: a watch from before gets 410.
    compacted: int = 0
    stale: bool = False
    lose_events: bool = False
    down: bool = False
    #: Watches that end right after their headers, as an API server or proxy in trouble
    #: answers: "end" (a clean last chunk) or "drop" (the connection closed); None: normal.
    flap: str | None = None
    #: Watch requests being served now (a client's close is seen at the next write).
    open_watches: int = 0
    leases: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add(self, *objects: dict[str, Any]) -> None:
        from llmgw.state import RESOURCE_KINDS

        for obj in objects:
            ns = obj["metadata"]["namespace"]
            self.namespaces.add(ns)
            if obj["kind"] in RESOURCE_KINDS:
                plural = RESOURCE_KINDS[obj["kind"]][0]
                key = f"{obj['apiVersion']}/{plural}"
                self.custom.setdefault(key, {}).setdefault(ns, []).append(obj)
                continue
            bucket = self.pods if obj["kind"] == "Pod" else self.services
            bucket.setdefault(ns, []).append(obj)

    def _event(self, ns: str, resource: str, kind: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if not self.lose_events:
            self.events.append((self.rv, ns, resource, kind, copy.deepcopy(obj)))

    def put(self, obj: dict[str, Any]) -> None:
        """Create or replace a Pod or Service by name, as a controller or kubelet would."""
        with self.lock:
            ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
            self.namespaces.add(ns)
            resource = "pods" if obj["kind"] == "Pod" else "services"
            bucket = (self.pods if resource == "pods" else self.services).setdefault(ns, [])
            old = next((i for i, o in enumerate(bucket) if o["metadata"]["name"] == name), None)
            if old is None:
                bucket.append(obj)
            else:
                bucket[old] = obj
            self._event(ns, resource, "ADDED" if old is None else "MODIFIED", obj)

    def delete(self, kind: str, ns: str, name: str) -> None:
        with self.lock:
            resource = "pods" if kind == "Pod" else "services"
            bucket = (self.pods if resource == "pods" else self.services).get(ns, [])
            gone = next(o for o in bucket if o["metadata"]["name"] == name)
            bucket.remove(gone)
            self._event(ns, resource, "DELETED", gone)

    def compact(self) -> None:
        """Forget every event so far: a watch from an older version gets 410 Gone."""
        with self.lock:
            self.compacted = self.rv + 1
            self.events.clear()


def _requirement(text: str) -> Any:
    text = text.strip()
    m = re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", text)
    if m:
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    m = re.fullmatch(r"([\w./-]+)\s*(!=|==|=)\s*([\w./-]*)", text)
    if m:
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if text.startswith("!"):
        return lambda labels: text[1:] not in labels
    return lambda labels: text in labels


def _split_selector(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return parts


def compile_selector(selector: str) -> Any:
    """A predicate over a labels dict, parsed once per request."""
    requirements = [_requirement(part) for part in _split_selector(selector) if part.strip()]
    return lambda labels: all(req(labels) for req in requirements)


def matches(selector: str, labels: dict[str, str]) -> bool:
    return bool(compile_selector(selector)(labels))


class _Handler(loopback.JsonHandler):
    cluster: Cluster

    def _send(self, status: int, body: Any) -> None:
        self.send_json(status, body)

    def _status(self, code: int, message: str, reason: str = "") -> None:
        self._send(
            code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": code,
            },
        )

    def _forwarded(self) -> bool:
        """Proxy to a real server, as the API server does: its own Authorization dropped."""
        m = re.fullmatch(
            r"/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy(/.*)", urlsplit(self.path).path
        )
        target = self.cluster.forward.get(f"{m.group(1)}/{m.group(2)}") if m else None
        if m is None or target is None:
            return False
        if self.headers.get("Authorization") != f"Bearer {self.cluster.token}":
            self._status(401, "Unauthorized", "Unauthorized")
            return True
        import urllib.error
        import urllib.request

        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        query = urlsplit(self.path).query
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("authorization", "host", "content-length")
        }
        request = urllib.request.Request(
            target + m.group(3) + (f"?{query}" if query else ""),
            data=data,
            method=self.command,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def do_GET(self) -> None:
        cluster = self.cluster
        url = urlsplit(self.path)
        if cluster.down:
            self._status(503, "the API server is down (injected)")
            return
        if url.path.startswith("/apis/coordination.k8s.io/"):
            self._lease("GET", url.path)
            return
        if self._forwarded():
            cluster.requests.append(self.path)
            return
        if url.path == "/_requests":  # for benchmarks running the stand-in in another process
            self._send(200, {"count": len(cluster.requests)})
            return
        cluster.requests.append(self.path)
        for fault in cluster.faults:
            if fault.times > 0 and re.search(fault.pattern, self.path):
                fault.times -= 1
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.status:
                    self._status(fault.status, fault.message)
                    return
        if self.headers.get("Authorization") != f"Bearer {cluster.token}":
            self._status(401, "Unauthorized", "Unauthorized")
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/(pods|services)", url.path)
        if m and query.get("watch") in ("1", "true", "True"):
            self._watch(m.group(1), m.group(2), query)
            return
        if m:
            self._list(m.group(1), m.group(2), query)
            return
        m = re.fullmatch(r"/apis/([^/]+/[^/]+)/namespaces/([^/]+)/([^/]+)", url.path)
        if m and f"{m.group(1)}/{m.group(3)}" in cluster.custom:
            self._list(m.group(2), f"{m.group(1)}/{m.group(3)}", query)
            return
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)", url.path)
        if m:
            if m.group(1) in cluster.namespaces:
                self._send(
                    200, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": m.group(1)}}
                )
            else:
                self._status(404, f'namespaces "{m.group(1)}" not found', "NotFound")
            return
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/secrets/([^/]+)", url.path)
        if m:
            stored = cluster.applied.get(f"{m.group(1)}/{m.group(2)}")
            if stored is None:
                self._status(404, f'secrets "{m.group(2)}" not found', "NotFound")
            else:
                self._send(200, stored[1])
            return
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy/(.*)", url.path)
        if m:
            key = f"{m.group(1)}/{m.group(2)}/{m.group(3)}"
            status, body = cluster.proxy.get(key, (503, {"message": "no endpoints available"}))
            self._send(status, body)
            return
        self._status(
            404, f"the server could not find the requested resource {url.path}", "NotFound"
        )

    def _check(self) -> bool:
        cluster = self.cluster
        cluster.requests.append(f"{self.command} {self.path}")
        for fault in cluster.faults:
            if fault.times > 0 and re.search(fault.pattern, f"{self.command} {self.path}"):
                fault.times -= 1
                self._status(fault.status, fault.message)
                return False
        if self.headers.get("Authorization") != f"Bearer {cluster.token}":
            self._status(401, "Unauthorized", "Unauthorized")
            return False
        return True

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        self.cluster.content_types.append(self.headers.get("Content-Type", ""))
        return dict(json.loads(self.rfile.read(length) or b"{}"))

    def do_PATCH(self) -> None:
        if self._forwarded():
            return
        if not self._check():
            return
        url = urlsplit(self.path)
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/secrets/([^/]+)", url.path)
        body = self._body()
        if not m or m.group(1) not in self.cluster.namespaces:
            self._status(404, "not found", "NotFound")
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        key = f"{m.group(1)}/{m.group(2)}"
        # Server-side apply keeps data keys this apply does not name (other managers' keys).
        before = (self.cluster.applied.get(key) or ({}, {}))[1].get("data") or {}
        body = {**body, "data": {**before, **(body.get("data") or {})}}
        self.cluster.applied[key] = (query, body)
        self._send(200, body)

    def do_PUT(self) -> None:
        if self.cluster.down:
            self._status(503, "the API server is down (injected)")
            return
        self.cluster.requests.append(f"PUT {self.path}")
        self._lease("PUT", urlsplit(self.path).path)

    def do_POST(self) -> None:
        if self.cluster.down:
            self._status(503, "the API server is down (injected)")
            return
        if urlsplit(self.path).path.startswith("/apis/coordination.k8s.io/"):
            self.cluster.requests.append(f"POST {self.path}")
            self._lease("POST", urlsplit(self.path).path)
            return
        if self._forwarded():
            return
        if not self._check():
            return
        body = self._body()
        if urlsplit(self.path).path == "/api/v1/namespaces":
            name = body["metadata"]["name"]
            if name in self.cluster.namespaces:
                self._status(409, f'namespaces "{name}" already exists', "AlreadyExists")
                return
            self.cluster.namespaces.add(name)
            self._send(201, body)
            return
        self._status(404, "not found", "NotFound")

    def _list(self, namespace: str, resource: str, query: dict[str, str]) -> None:
        source = (
            self.cluster.pods
            if resource == "pods"
            else self.cluster.services
            if resource == "services"
            else self.cluster.custom[resource]
        )
        selected = compile_selector(query.get("labelSelector", ""))
        # As etcd does: a page continues after the last key read, filtering only what follows
        # (the token is a position in the whole list, not in the filtered one).
        every = source.get(namespace, [])
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or 0) or len(every) or 1
        page: list[dict[str, Any]] = []
        at = start
        while at < len(every) and len(page) < limit:
            if selected(every[at]["metadata"].get("labels") or {}):
                page.append(every[at])
            at += 1
        while at < len(every) and not selected(every[at]["metadata"].get("labels") or {}):
            at += 1  # up to the next match: a continue token only when one is left
        token = str(at) if at < len(every) else ""
        kind = {"pods": "PodList", "services": "ServiceList"}.get(resource, "List")
        stripped = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]
        self._send(
            200,
            {
                "kind": kind,
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self.cluster.rv), "continue": token},
                "items": stripped,
            },
        )

    def _watch(self, namespace: str, resource: str, query: dict[str, str]) -> None:
        with self.cluster.lock:
            self.cluster.open_watches += 1
        try:
            self._stream(namespace, resource, query)
        finally:
            with self.cluster.lock:
                self.cluster.open_watches -= 1

    def _stream(self, namespace: str, resource: str, query: dict[str, str]) -> None:
        cluster = self.cluster
        since = int(query.get("resourceVersion") or 0)
        selector = compile_selector(query.get("labelSelector", ""))
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 300)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "True", "1")
        # As the API server does: chunked transfer encoding, one chunk per event, so a client
        # sees each event when it is sent (a close-delimited body is read in large blocks).
        self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def emit(event: dict[str, Any] | None) -> bool:
            data = json.dumps(event).encode() + b"\n" if event is not None else b""
            try:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                return True
            except OSError:
                return False

        if cluster.flap == "end":
            emit(None)
            return
        if cluster.flap == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if since and since < cluster.compacted:
            emit(
                {
                    "type": "ERROR",
                    "object": {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "code": 410,
                        "reason": "Expired",
                        "message": f"too old resource version: {since} ({cluster.compacted})",
                    },
                }
            )
            emit(None)
            return
        last_bookmark = time.monotonic()
        while time.monotonic() < deadline and not cluster.down:
            if cluster.flap == "end":  # open watches end too, from now on at once
                break
            if cluster.flap == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if cluster.stale:
                time.sleep(0.05)
                continue
            with cluster.lock:
                pending = [
                    e
                    for e in cluster.events
                    if e[0] > since and e[1] == namespace and e[2] == resource
                ]
            for rv, _ns, _res, kind, obj in pending:
                since = rv
                wanted = selector(obj["metadata"].get("labels") or {}) or kind == "DELETED"
                if wanted and not emit({"type": kind, "object": obj}):
                    return
                if cluster.stale:
                    break
            if bookmarks and time.monotonic() - last_bookmark > 0.5:
                last_bookmark = time.monotonic()
                # "Everything up to here was sent": the last version this stream delivered.
                mark = {
                    "kind": "Pod" if resource == "pods" else "Service",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(since)},
                }
                if not emit({"type": "BOOKMARK", "object": mark}):
                    return
            time.sleep(0.02)
        emit(None)  # the last chunk: the watch ends (timeoutSeconds)

    def _lease(self, method: str, path: str) -> None:
        cluster = self.cluster
        for fault in cluster.faults:  # "METHOD path", e.g. PUT /apis/coordination…: 409
            if fault.times > 0 and re.search(fault.pattern, f"{method} {path}"):
                fault.times -= 1
                self._status(fault.status, fault.message)
                return
        m = re.fullmatch(
            r"/apis/coordination.k8s.io/v1/namespaces/([^/]+)/leases(?:/([^/]+))?", path
        )
        if m is None:
            self._status(404, "not found", "NotFound")
            return
        if self.headers.get("Authorization") != f"Bearer {cluster.token}":
            self._status(401, "Unauthorized", "Unauthorized")
            return
        key = f"{m.group(1)}/{m.group(2)}"
        with cluster.lock:
            if method == "GET":
                if key not in cluster.leases:
                    self._status(
                        404, f'leases.coordination.k8s.io "{m.group(2)}" not found', "NotFound"
                    )
                else:
                    self._send(200, cluster.leases[key])
                return
            body = self._body()
            name = body["metadata"]["name"]
            key = f"{m.group(1)}/{name}"
            stored = cluster.leases.get(key)
            if method == "POST" and stored is not None:
                self._status(
                    409, f'leases.coordination.k8s.io "{name}" already exists', "AlreadyExists"
                )
                return
            if method == "PUT":
                if stored is None:
                    self._status(404, "not found", "NotFound")
                    return
                if body["metadata"].get("resourceVersion") != stored["metadata"]["resourceVersion"]:
                    self._status(
                        409,
                        "the object has been modified; please apply your changes to the latest version",
                        "Conflict",
                    )
                    return
            cluster.rv += 1
            body["metadata"]["resourceVersion"] = str(cluster.rv)
            body["metadata"]["namespace"] = m.group(1)
            cluster.leases[key] = body
            self._send(201 if method == "POST" else 200, body)


def serve(cluster: Cluster) -> AbstractContextManager[str]:
    """Serve ``cluster`` on 127.0.0.1; yields the base URL."""
    return loopback.serve(_Handler, cluster=cluster)


def kubeconfig(path: Path, server: str, token: str = TOKEN, context: str = "test") -> Path:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "standin", "cluster": {"server": server}}],
                "users": [{"name": "dev", "user": {"token": token}}],
                "contexts": [{"name": context, "context": {"cluster": "standin", "user": "dev"}}],
                "current-context": context,
            }
        )
    )
    return path


@contextmanager
def serve_apart(cluster: Cluster) -> Iterator[str]:
    """The stand-in in its own process, so its CPU time is not the benchmarked client's."""
    import multiprocessing

    queue: multiprocessing.Queue[str] = multiprocessing.Queue()
    stop = multiprocessing.Event()

    def child() -> None:
        with serve(cluster) as url:
            queue.put(url)
            stop.wait()

    process = multiprocessing.get_context("fork").Process(target=child, daemon=True)
    process.start()
    try:
        yield queue.get(timeout=30)
    finally:
        stop.set()
        process.join(5)
