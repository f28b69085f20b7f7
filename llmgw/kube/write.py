"""The Secret llmgw manages: read back what it holds, write it by server-side apply.

Values never appear in errors. Reading it back lets a deploy keep a stored key whose
environment variable is not set on this machine (only a first install needs every value).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from llmgw.errors import ExternalError
from llmgw.kube.api import LIST_TIMEOUT, RBAC_HINT, Ask, Forbidden, ListFailed
from llmgw.kube.auth import Cluster

FIELD_MANAGER = "llmgw"


def apply_secret(cluster: Cluster, namespace: str, name: str, data: Mapping[str, str]) -> None:
    """Create or update a Secret by server-side apply; values never appear in errors."""
    ensure_namespace(cluster, namespace)
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "llmgw"},
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())},
    }
    _send(
        cluster,
        namespace,
        "PATCH",
        f"/api/v1/namespaces/{namespace}/secrets/{name}",
        [("fieldManager", FIELD_MANAGER), ("force", "true")],
        body,
        "application/apply-patch+yaml",
        f"apply Secret {name}",
    )


def read_secret(cluster: Cluster, namespace: str, name: str) -> dict[str, str] | None:
    """The Secret's data, decoded; None when it (or its namespace) does not exist."""
    ask = Ask(cluster, namespace)
    try:
        body = ask.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except ListFailed as exc:
        if exc.status == 404:
            return None
        raise ExternalError(f"cannot read Secret {name}: {exc}") from None
    except Forbidden:
        raise ExternalError(
            f"{cluster.describe()}: 403 Forbidden: cannot get secrets in namespace {namespace}",
            hint="the deploy reads back the Secret it manages (get on secrets); " + RBAC_HINT,
        ) from None
    data = body.get("data") if isinstance(body, dict) else None
    out: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value)).decode()
        except (ValueError, UnicodeDecodeError):
            continue  # not ours to read: it is kept by whoever wrote it
    return out


def ensure_namespace(cluster: Cluster, namespace: str) -> None:
    """Create the gateway namespace when it is missing (a GET first, so an identity without
    `create` on namespaces deploys into one that exists). llmgw does this itself rather than
    pass helm ``--create-namespace``: Helm 4 applies the Namespace object server-side, a
    cluster-wide PATCH that an admin of the namespace is refused even when it exists."""
    ask = Ask(cluster, namespace)
    try:
        ask.get(f"/api/v1/namespaces/{namespace}")
        return
    except ListFailed as exc:
        if exc.status != 404:
            raise ExternalError(str(exc)) from None
    except ExternalError:
        return  # may not read namespaces: let the Secret write say what is wrong
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    _send(
        cluster,
        namespace,
        "POST",
        "/api/v1/namespaces",
        [],
        body,
        "application/json",
        f"create namespace {namespace}",
        ok_conflict=True,
    )


def _send(
    cluster: Cluster,
    namespace: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: Any,
    content_type: str,
    what: str,
    ok_conflict: bool = False,
    ok_missing: bool = False,
) -> bool:
    """Send one write; False when it was a conflict or a missing object the caller allows."""
    from kubernetes.client.exceptions import ApiException

    try:
        cluster.api.call_api(
            path,
            method,
            query_params=query,
            body=body,
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            auth_settings=["BearerToken"],
            _return_http_data_only=True,
            _preload_content=False,
            _request_timeout=LIST_TIMEOUT,
        )
    except ApiException as exc:
        if (ok_conflict and exc.status == 409) or (ok_missing and exc.status == 404):
            return False
        ask = Ask(cluster, namespace)
        if exc.status == 403:
            raise ExternalError(
                f"{cluster.describe()}: 403 Forbidden: cannot {what} in namespace {namespace}",
                hint="the deploy needs create/patch on secrets (and create on namespaces) there; "
                + RBAC_HINT,
            ) from None
        error = ask.api_error(exc, path)
        raise (
            error if isinstance(error, ExternalError) else ExternalError(f"cannot {what}: {error}")
        ) from None
    except Exception as exc:  # transport errors: same wording as reads
        from urllib3.exceptions import HTTPError

        if isinstance(exc, HTTPError | OSError):
            error = Ask(cluster, namespace).transport_error(exc)
            if isinstance(error, ExternalError):
                raise error from None
            raise ExternalError(f"cannot {what}: {error}") from None
        raise
    return True


def delete(cluster: Cluster, namespace: str, kind: str, name: str) -> bool:
    """Delete one object (``secrets`` or ``persistentvolumeclaims``); False if it was gone."""
    return _send(
        cluster,
        namespace,
        "DELETE",
        f"/api/v1/namespaces/{namespace}/{kind}/{name}",
        [],
        None,
        "application/json",
        f"delete {kind} {name}",
        ok_missing=True,
    )


def data_claims(cluster: Cluster, namespace: str, release: str) -> list[str]:
    """The PersistentVolumeClaims a release's StatefulSets left (the bundled PostgreSQL's and
    Redis's data): helm uninstall keeps them."""
    ask = Ask(cluster, namespace)
    try:
        body = ask.get(
            f"/api/v1/namespaces/{namespace}/persistentvolumeclaims",
            [("labelSelector", f"app.kubernetes.io/instance={release}")],
        )
    except ListFailed as exc:
        raise ExternalError(f"cannot list persistentvolumeclaims: {exc}") from None
    return sorted(
        str((item.get("metadata") or {}).get("name"))
        for item in (body.get("items") or [])
        if isinstance(item, dict)
    )
