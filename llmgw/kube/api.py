"""One request to the API server, and its failures as errors a user can act on.

401 and 403 (with the verb, resource and namespace the RBAC role lacks) and an unreachable
server are final (``ExternalError``); anything else after the server answered, or a timeout,
is ``ListFailed``: the caller records the data as incomplete rather than failing the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmgw.errors import ExternalError
from llmgw.kube.auth import Cluster

LIST_TIMEOUT = 30.0
RBAC_HINT = "grant it with docs/rbac.yaml (kubectl apply -f docs/rbac.yaml), or ask an admin"


class Forbidden(ExternalError):
    """403: the RBAC role lacks a verb on a resource in one namespace (others may be fine)."""


class ListFailed(Exception):
    """A request that failed after the cluster answered, or timed out: data is incomplete."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Ask:
    cluster: Cluster
    namespace: str

    def get(
        self, path: str, query: Sequence[tuple[str, str | int]] = (), timeout: float | None = None
    ) -> Any:
        """GET a path, returning parsed JSON; errors become ExternalError or ListFailed."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError, MaxRetryError, ProtocolError, SSLError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout

        try:
            response = self.cluster.api.call_api(
                path,
                "GET",
                query_params=list(query),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=False,
                _request_timeout=LIST_TIMEOUT if timeout is None else timeout,
            )
        except ApiException as exc:
            raise self.api_error(exc, path) from None
        except (SSLError, MaxRetryError, Urllib3Timeout, ProtocolError, HTTPError, OSError) as exc:
            raise self.transport_error(exc) from None
        return json.loads(bytes(response.data))

    def api_error(self, exc: Any, path: str) -> Exception:
        where = f"{self.cluster.describe()}, namespace {self.namespace}"
        status = int(exc.status or 0)
        reason = _api_message(exc)
        resource = (
            "services/proxy"
            if "/proxy" in path
            else "secrets"
            if "/secrets/" in path
            else "pods"
            if path.endswith("/pods")
            else "services"
            if path.endswith("/services")
            else _listed_resource(path)
        )
        if status == 401:
            return ExternalError(
                f"{where}: 401 Unauthorized: the credentials were refused ({reason})",
                hint="log in again (refresh the token, e.g. aws eks update-kubeconfig) "
                "or pick another --context",
            )
        if status == 403:
            verb = "get" if resource in ("namespaces", "services/proxy", "secrets") else "list"
            return Forbidden(
                f"{where}: 403 Forbidden: cannot {verb} {resource} in namespace {self.namespace}",
                hint=RBAC_HINT,
            )
        return ListFailed(f"{where}: {status} {reason}", status)

    def transport_error(self, exc: BaseException) -> Exception:
        from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError, SSLError

        inner = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
        if isinstance(inner, SSLError):
            return ExternalError(
                f"{self.cluster.describe()}: TLS error: {inner}",
                hint="check the cluster's certificate-authority data in the kubeconfig",
            )
        if isinstance(inner, ReadTimeoutError) and not isinstance(inner, NewConnectionError):
            return ListFailed(f"{self.cluster.describe()}, namespace {self.namespace}: timed out")
        return ExternalError(
            f"{self.cluster.describe()}: API server unreachable ({type(inner).__name__})",
            hint="check the network/VPN and the server address: kubectl cluster-info",
        )


def _api_message(exc: Any) -> str:
    try:
        return str(json.loads(exc.body).get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason or "error")


def _listed_resource(path: str) -> str:
    """``inferenceservices.serving.kserve.io`` for a list of a custom kind (as RBAC names it),
    ``namespaces`` for a namespace read."""
    parts = path.strip("/").split("/")
    if len(parts) >= 6 and parts[0] == "apis" and parts[3] == "namespaces":
        return f"{parts[5]}.{parts[1]}"
    return "namespaces"
