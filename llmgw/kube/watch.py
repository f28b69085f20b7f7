"""Watching pods and services: a LIST's resourceVersion, then a WATCH from it.

The official client makes the WATCH request (with bookmarks, a server-side timeout and a client
socket timeout: without it a dead connection hangs forever) and its line reader splits the
stream; the response is kept so another thread can close a superseded watch at once. A 410
Gone becomes ``Expired`` (the caller lists again); any other failure ``Broken``. Events are the
raw JSON objects, as discovery reads them.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llmgw.kube.api import RBAC_HINT, Ask
from llmgw.kube.auth import Cluster
from llmgw.kube.read import list_all, list_kind, pod_selector
from llmgw.state import Obj, Wanted, bad_objects


class Expired(Exception):
    """410 Gone: the version is too old; list again."""


class Broken(Exception):
    """The watch failed (connection, timeout, API error): back off and list again."""


@dataclass(frozen=True)
class Listing:
    pods: list[Obj]
    services: list[Obj]
    pods_version: str
    services_version: str
    #: kind → (objects, the list's version, the path to watch) for the serving kinds asked.
    resources: dict[str, tuple[list[Obj], str, str]] = field(default_factory=dict)
    #: The kinds asked for that the cluster does not serve (no CRD).
    missing: frozenset[str] = frozenset()


def list_namespace(cluster: Cluster, namespace: str, wanted: Wanted) -> Listing:
    """Pods (by the covering selector), services and the serving kinds of a namespace, with
    their versions: one LIST each."""
    ask = Ask(cluster, namespace)
    base = f"/api/v1/namespaces/{namespace}"
    pods, pods_version = list_all(ask, f"{base}/pods", pod_selector(wanted))
    services, services_version = list_all(ask, f"{base}/services", None)
    resources: dict[str, tuple[list[Obj], str, str]] = {}
    missing: set[str] = set()
    for kind in sorted(wanted.kinds):
        listed = list_kind(ask, namespace, kind)
        if listed is None:
            missing.add(kind)
        else:
            resources[kind] = listed
    objects = [*pods, *services, *(o for objs, _v, _p in resources.values() for o in objs)]
    bad = bad_objects(objects, limit=3)
    if bad:
        raise Broken(f"malformed objects in namespace {namespace}: {'; '.join(bad)}")
    return Listing(pods, services, pods_version, services_version, resources, frozenset(missing))


class Stream:
    """One WATCH request from ``version``: iterate for (type, object) events until the
    server's ``timeout_seconds`` ends it; ``close()`` from another thread ends it at once (a
    re-list supersedes its watches: they must not stay open until their timeout)."""

    def __init__(
        self,
        cluster: Cluster,
        namespace: str,
        resource: str,
        selector: str | None,
        version: str,
        timeout_seconds: int = 300,
        path: str | None = None,
    ) -> None:
        """``resource``: ``pods``, ``services``, or a serving kind listed at ``path``."""
        self.cluster = cluster
        self.path = path
        self.namespace = namespace
        self.resource = resource
        self.selector = selector
        self.version = version
        self.timeout_seconds = timeout_seconds
        self.closed = False
        #: When the server answered (monotonic seconds); None until then.
        self.opened_at: float | None = None
        self._response: Any = None

    def _custom(self, namespace: str, **kwargs: Any) -> Any:
        """A WATCH of a serving kind at its list path (the client has no typed method)."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", kwargs["resource_version"]),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", kwargs["timeout_seconds"]),
        ]
        if kwargs.get("label_selector"):
            query.append(("labelSelector", kwargs["label_selector"]))
        return self.cluster.api.call_api(
            self.path,
            "GET",
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
            _return_http_data_only=True,
            _preload_content=False,
            _request_timeout=kwargs["_request_timeout"],
        )

    def close(self) -> None:
        self.closed = True
        response = self._response
        if response is None:
            return
        # shutdown() unblocks a read in another thread (urllib3 >= 2.3); already closed is
        # the goal.
        with contextlib.suppress(Exception):
            getattr(response, "shutdown", response.close)()
        with contextlib.suppress(Exception):
            response.release_conn()

    def __iter__(self) -> Iterator[tuple[str, Obj]]:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from kubernetes.watch.watch import iter_resp_lines
        from urllib3.exceptions import HTTPError

        api = client.CoreV1Api(self.cluster.api)
        lister = api.list_namespaced_pod if self.resource == "pods" else api.list_namespaced_service
        if self.path is not None:
            lister = self._custom
        kwargs: dict[str, Any] = {
            "watch": True,
            "resource_version": self.version,
            "allow_watch_bookmarks": True,
            "timeout_seconds": self.timeout_seconds,
            "_request_timeout": (10, self.timeout_seconds + 30),
            "_preload_content": False,
        }
        if self.selector:
            kwargs["label_selector"] = self.selector
        try:
            if self.closed:
                return
            self._response = lister(self.namespace, **kwargs)
            self.opened_at = time.monotonic()
            if self.closed:  # closed while the request was being made
                self.close()
                return
            for line in iter_resp_lines(self._response):
                if not line:
                    continue
                event = json.loads(line)
                raw = event.get("object") or {}
                kind = str(event.get("type"))
                if kind == "ERROR":
                    if raw.get("code") == 410:
                        raise Expired(str(raw.get("message") or "410 Gone"))
                    raise Broken(str(raw.get("message") or raw))
                if isinstance(raw, dict):
                    if self.path is not None:
                        raw["kind"] = self.resource
                    raw.setdefault("kind", "Pod" if self.resource == "pods" else "Service")
                    yield kind, raw
        except ApiException as exc:
            if exc.status == 410:
                raise Expired(str(exc.reason)) from None
            if exc.status == 403:
                raise Broken(
                    f"403 Forbidden: cannot watch {self.resource} in namespace {self.namespace} "
                    f"({RBAC_HINT})"
                ) from None
            raise Broken(f"{exc.status} {exc.reason}") from None
        except (HTTPError, OSError, ValueError) as exc:
            if self.closed:
                return  # we ended it
            raise Broken(type(exc).__name__) from None
        finally:
            if self._response is not None:
                with contextlib.suppress(Exception):
                    self._response.release_conn()
