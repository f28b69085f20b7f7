"""The adapter for LiteLLM's management API: requests, auth, and its known quirks as errors.

Behaviour it relies on (LiteLLM 1.100.5 and 1.108.7, run here over a storage shim):

- ``GET /model/info[?litellm_model_id=ID]`` answers from the replica's memory; each row has
  ``model_info.id`` and ``model_info.db_model`` (false for config-file models); stored params
  come back decrypted, some secret values masked. For every ``model_group_alias`` entry it
  also lists copies of the target's rows under the alias name, with the same ``model_info``.
- ``POST /model/new`` stores ``model_info.id`` as the row's key; an existing id answers 500
  "Failed to add model to db"; 500 "saved to the database, but … not live in this pod" means
  the row was written but the router dropped the deployment (invalid params).
- ``POST /model/delete {id}`` answers 400 "… not found in db" for unknown and config models.
- ``GET /router/settings`` gives the replica's live router settings (``current_values``);
  ``POST /config/update {"router_settings": …}`` merges the given keys into the database row
  every replica re-reads on its reload (1.108.7 refuses keys the config file sets).
- writes without a database answer 500 "No DB Connected" or "Set STORE_MODEL_IN_DB='True'".
- the key is accepted as ``Authorization: Bearer`` or ``x-litellm-api-key``; through the
  Kubernetes API server's service proxy only the latter reaches the proxy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from llmgw.errors import ExternalError
from llmgw.redact import one_line

TIMEOUT = 30.0


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    #: Response headers, names in lowercase (LiteLLM's x-litellm-model-* say who answered).
    headers: Mapping[str, str] = field(default_factory=dict)


#: (method, path, JSON body or None) → response; raises ExternalError when nothing answered.
Transport = Callable[[str, str, Any], Response]


class ApiError(ExternalError):
    """A request LiteLLM answered with an error: the caller may know how to handle it (by
    ``status``); left alone it is the gateway's failure, one line naming the endpoint and
    the status (exit 3), never "a bug in llmgw"."""

    def __init__(self, status: int, message: str, endpoint: str = "") -> None:
        where = f"{endpoint}: " if endpoint else ""
        super().__init__(
            f"{where}{status} {message}",
            hint="the gateway refused the request: its pods' logs say why; run again once it "
            "answers",
        )
        self.status = status
        self.detail = message

    # What LiteLLM's answers mean, read here (its words are its only signal) so that callers
    # decide on these flags, not on text.
    @property
    def router_rejected(self) -> bool:
        """A create whose row was stored but whose deployment the router dropped."""
        return "saved to the database" in self.detail

    @property
    def no_such_row(self) -> bool:
        """A delete of a row that is not there (LiteLLM answers 400)."""
        return self.status == 400 and "not found" in self.detail

    def __str__(self) -> str:
        return f"{self.status} {self.detail}"


class GatewayTimeout(ExternalError):
    """The gateway took longer than the request's timeout: it is there, but slow."""


def direct(base_url: str, key: str, timeout: float = TIMEOUT) -> Transport:
    """Requests straight to the gateway's URL."""
    import urllib.error
    import urllib.request

    def send(method: str, path: str, body: Any) -> Response:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            base_url.rstrip("/") + path,
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {key}",
                "x-litellm-api-key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Response(answer.status, _json(answer.read()), _headers(answer.headers))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, _json(exc.read()), _headers(exc.headers))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise GatewayTimeout(
                    f"gateway {base_url} did not answer {method} {path} within {timeout:g} s"
                ) from None
            raise ExternalError(
                f"gateway {base_url} unreachable ({one_line(reason, 120)})",
                hint="check gateway.url / --gateway-url, or leave it empty to go through the "
                "Kubernetes API server",
            ) from None

    return send


def via_service_proxy(
    api: Any, namespace: str, service: str, port: int, key: str, timeout: float = TIMEOUT
) -> Transport:
    """Requests through the API server's services proxy (a kubernetes ``ApiClient``).

    Needs ``services/proxy`` get and create in the gateway namespace.
    """
    base = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"

    def send(method: str, path: str, body: Any) -> Response:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout

        path, _, query = path.partition("?")
        params = [tuple(p.split("=", 1)) for p in query.split("&") if "=" in p]
        try:
            answer = api.call_api(
                base + path,
                method,
                query_params=params,
                body=body,
                header_params={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "x-litellm-api-key": key,
                },
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=False,
                _request_timeout=timeout,
            )
            return Response(200, _json(answer.data), _headers(answer.headers))
        except ApiException as exc:
            return Response(int(exc.status or 0), _json(exc.body), _headers(exc.headers))
        except (Urllib3Timeout, TimeoutError):
            raise GatewayTimeout(
                f"service {namespace}/{service} did not answer {method} {path} within "
                f"{timeout:g} s (through the Kubernetes API server)"
            ) from None
        except (HTTPError, OSError) as exc:
            raise ExternalError(
                f"the Kubernetes API server did not answer for service {namespace}/{service} "
                f"({type(exc).__name__})",
                hint="check the kubeconfig, or give gateway.url / --gateway-url",
            ) from None

    return send


def _headers(headers: Any) -> dict[str, str]:
    try:
        return {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    except AttributeError:
        return {}


def _json(data: bytes | str | None) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return {
            "error": one_line(
                data if isinstance(data, str) else (data or b"").decode(errors="replace")
            )
        }


def error_message(body: Any) -> str:
    """LiteLLM's error text, wherever this version put it (or the Kubernetes API server's,
    when its services proxy answered for a Service that is not there)."""
    if isinstance(body, Mapping) and body.get("kind") == "Status" and body.get("message"):
        return one_line(body["message"], 300)
    if isinstance(body, Mapping):
        for key in ("detail", "error"):
            value = body.get(key)
            if isinstance(value, Mapping):
                value = value.get("error") or value.get("message") or value
            if value:
                return one_line(value, 300)
    return one_line(body, 300)


#: What LiteLLM answers when it keeps no models in a database, by version and endpoint.
_NO_DATABASE = (
    "STORE_MODEL_IN_DB",
    "No DB Connected",
    "DB not connected",
    "only supported for DB-stored models",
)


class GatewayClient:
    """The management API of one gateway; ``where`` and ``key_source`` name it in errors."""

    def __init__(self, transport: Transport, where: str, key_source: str, key: str = "") -> None:
        self.send = transport
        self.where = where
        self.key_source = key_source
        #: The master key, only to mask it in anything quoted from the gateway.
        self.key = key

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.send(method, path, body)
        if 200 <= response.status < 300:
            return response.body
        message = error_message(response.body)
        if response.status in (401, 403):
            raise ExternalError(
                f"{self.where}: {response.status}: the gateway refused the master key ({message})",
                hint=f"the key comes from {self.key_source}: check it is the gateway's master key",
            )
        if any(word in message for word in _NO_DATABASE):
            raise ExternalError(
                f"{self.where}: the gateway stores no models in a database ({message})",
                hint="set gateway.model_source: api and run `llmgw deploy` (it sets "
                "store_model_in_db and STORE_MODEL_IN_DB=True, with a database and salt key)",
            )
        if "is set in the config file" in message:
            raise ExternalError(
                f"{self.where}: the gateway's config file sets router settings llmgw keeps in "
                f"its database ({message})",
                hint="run `llmgw deploy` once: its values leave fallbacks and aliases out of the "
                "config file, so they can follow the cluster",
            )
        if (
            response.status == 404
            and isinstance(response.body, Mapping)
            and (response.body.get("kind") == "Status")
        ):
            raise ExternalError(
                f"{self.where}: {message}",
                hint="is the gateway deployed (`llmgw status`)? or give its URL with "
                "--gateway-url / gateway.url",
            )
        if response.status == 404 and "not found on proxy" not in message:
            raise ExternalError(
                f"{self.where}: {path.split('?')[0]} not found: is this a LiteLLM proxy?",
                hint="check gateway.url / --gateway-url (llmgw needs LiteLLM 1.100 or newer)",
            )
        raise ApiError(response.status, message, f"{self.where}: {method} {path.split('?')[0]}")

    def models(self) -> list[dict[str, Any]]:
        """Every model this replica serves: config models and database rows."""
        body = self._call("GET", "/model/info")
        data = body.get("data") if isinstance(body, Mapping) else None
        return [dict(m) for m in data or [] if isinstance(m, Mapping)]

    def model(self, model_id: str) -> dict[str, Any] | None:
        """One row by id from this replica's memory; None when it does not have it."""
        try:
            body = self._call("GET", f"/model/info?litellm_model_id={quote(model_id)}")
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise
        data = body.get("data") if isinstance(body, Mapping) else None
        rows = [dict(m) for m in data or [] if isinstance(m, Mapping)]
        return next((r for r in rows if (r.get("model_info") or {}).get("id") == model_id), None)

    def create(self, row: Mapping[str, Any]) -> None:
        self._call("POST", "/model/new", dict(row))

    def router_settings(self) -> dict[str, Any]:
        """The router settings this replica runs with now."""
        body = self._call("GET", "/router/settings")
        values = body.get("current_values") if isinstance(body, Mapping) else None
        return dict(values) if isinstance(values, Mapping) else {}

    def update_router(self, settings: Mapping[str, Any]) -> None:
        """Merge ``settings`` into the router settings every replica reloads."""
        self._call("POST", "/config/update", {"router_settings": dict(settings)})

    def delete(self, model_id: str) -> None:
        self._call("POST", "/model/delete", {"id": model_id})
