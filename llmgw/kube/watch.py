"""Watching pods and services: a LIST's resourceVersion, then a WATCH from it.

The official client's ``Watch().stream`` is used with bookmarks, a server-side timeout and a
client socket timeout (without it a dead connection hangs forever). A 410 Gone becomes
``Expired`` (the caller lists again); any other failure ``Broken``. Events are the raw JSON
objects, as discovery reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llmgw.kube.api import Ask
from llmgw.kube.auth import Cluster
from llmgw.kube.read import list_all, selectors
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


def pod_selector(wanted: Wanted) -> str | None:
    """One selector that covers every model of a namespace (None: the whole namespace)."""
    chosen = selectors(wanted)
    return chosen[0] if len(chosen) == 1 else None


def list_namespace(cluster: Cluster, namespace: str, wanted: Wanted) -> Listing:
    """Pods (by the covering selector) and services of a namespace, with their versions."""
    ask = Ask(cluster, namespace)
    base = f"/api/v1/namespaces/{namespace}"
    pods, pods_version = list_all(ask, f"{base}/pods", pod_selector(wanted))
    services, services_version = list_all(ask, f"{base}/services", None)
    bad = bad_objects([*pods, *services], limit=3)
    if bad:
        raise Broken(f"malformed objects in namespace {namespace}: {'; '.join(bad)}")
    return Listing(pods, services, pods_version, services_version)


def stream(
    cluster: Cluster,
    namespace: str,
    resource: str,
    selector: str | None,
    version: str,
    timeout_seconds: int = 300,
) -> Iterator[tuple[str, Obj]]:
    """(type, object) events after ``version`` until the server's timeout ends the watch."""
    from kubernetes import client, watch
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = client.CoreV1Api(cluster.api)
    lister = api.list_namespaced_pod if resource == "pods" else api.list_namespaced_service
    kwargs: dict[str, Any] = {
        "resource_version": version,
        "allow_watch_bookmarks": True,
        "timeout_seconds": timeout_seconds,
        "_request_timeout": (10, timeout_seconds + 30),
    }
    if selector:
        kwargs["label_selector"] = selector
    w = watch.Watch()
    try:
        for event in w.stream(lister, namespace, **kwargs):
            raw = event.get("raw_object") or {}
            kind = str(event.get("type"))
            if kind == "ERROR":
                if raw.get("code") == 410:
                    raise Expired(str(raw.get("message") or "410 Gone"))
                raise Broken(str(raw.get("message") or raw))
            if isinstance(raw, dict):
                raw.setdefault("kind", "Pod" if resource == "pods" else "Service")
                yield kind, raw
    except ApiException as exc:
        if exc.status == 410:
            raise Expired(str(exc.reason)) from None
        raise Broken(f"{exc.status} {exc.reason}") from None
    except (HTTPError, OSError, ValueError) as exc:
        raise Broken(type(exc).__name__) from None
    finally:
        w.stop()
