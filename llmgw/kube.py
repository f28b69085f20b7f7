"""Reading cluster state from the live Kubernetes API, with the official client.

The adapter's job is to fill a ``ClusterState`` cheaply and to turn every way the API can fail
into a message naming the cluster, context, namespace and what to do. Which models are ready
is not decided here: ``discovery.discover`` does that for every source alike.

Cost: per namespace holding configured models, one paged LIST of pods whose label selector
covers all of that namespace's default-selected models (``app in (a,b,c)``), one more per
distinct custom selector, and one LIST of services; a GET of the namespace only when nothing
was found, to tell "no pods" from "namespace missing".
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llmgw.config import Config
from llmgw.discovery import ClusterState, DiscoveredModel, Obj, model_namespace
from llmgw.engines import ENGINES
from llmgw.errors import ExternalError, InputError

PAGE_SIZE = 500
LIST_TIMEOUT = 30.0
RBAC_HINT = "grant it with docs/rbac.yaml (kubectl apply -f docs/rbac.yaml), or ask an admin"


@dataclass(frozen=True)
class Connection:
    kubeconfig: Path | None = None
    context: str | None = None


@dataclass(frozen=True)
class Cluster:
    """A connected client and how to name it in messages."""

    api: Any  # kubernetes.client.ApiClient
    server: str
    context: str

    def describe(self) -> str:
        return f"cluster {self.server} (context {self.context})"


def kubeconfig_path(explicit: Path | None, env: Mapping[str, str], home: Path) -> str | None:
    """Which kubeconfig to read, in kubectl's order; None means none exists."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"{explicit}: kubeconfig not found")
        return str(explicit)
    if env.get("KUBECONFIG"):
        paths = [p for p in env["KUBECONFIG"].split(os.pathsep) if p]
        existing = [p for p in paths if Path(p).expanduser().is_file()]
        if not existing:
            raise InputError(
                f"KUBECONFIG names no file that exists: {env['KUBECONFIG']}",
                hint="fix KUBECONFIG, or pass --kubeconfig PATH",
            )
        return os.pathsep.join(existing)
    default = home / ".kube" / "config"
    return str(default) if default.is_file() else None


def connect(
    conn: Connection,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Cluster:
    """A client for the cluster: kubeconfig (with --context), else in-cluster config."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    path = kubeconfig_path(conn.kubeconfig, env, home)
    configuration = client.Configuration()
    if path is not None:
        try:
            contexts, current = config.list_kube_config_contexts(config_file=path)
            names = [c["name"] for c in contexts]
            if conn.context and conn.context not in names:
                raise InputError(
                    f"context {conn.context!r} is not in {path}",
                    hint=f"known contexts: {', '.join(names) or 'none'}",
                )
            context = conn.context or (current or {}).get("name", "")
            config.load_kube_config(
                config_file=path,
                context=conn.context,
                client_configuration=configuration,
                persist_config=False,
            )
        except ConfigException as exc:
            raise InputError(
                f"{path}: cannot use this kubeconfig: {exc}",
                hint="check it with: kubectl config view --minify",
            ) from None
    elif env.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise InputError(f"in-cluster config failed: {exc}") from None
        context = "in-cluster"
    else:
        raise InputError(
            "no kubeconfig found (~/.kube/config, KUBECONFIG) and not running in a pod",
            hint="pass --kubeconfig PATH, set KUBECONFIG, or use --pods-from FILE for a snapshot",
        )
    configuration.retries = 0
    return Cluster(client.ApiClient(configuration), configuration.host, context)


# -- requests ------------------------------------------------------------------------------


class _ListFailed(Exception):
    """A request that failed after the cluster answered, or timed out: data is incomplete."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Ask:
    cluster: Cluster
    namespace: str

    def get(
        self, path: str, query: Sequence[tuple[str, str | int]] = (), timeout: float | None = None
    ) -> Any:
        """GET a path, returning parsed JSON; errors become ExternalError or _ListFailed."""
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
            raise self._api_error(exc, path) from None
        except (SSLError, MaxRetryError, Urllib3Timeout, ProtocolError, HTTPError, OSError) as exc:
            raise self._transport_error(exc) from None
        return json.loads(bytes(response.data))

    def _api_error(self, exc: Any, path: str) -> Exception:
        where = f"{self.cluster.describe()}, namespace {self.namespace}"
        status = int(exc.status or 0)
        reason = _api_message(exc)
        resource = (
            "services/proxy"
            if "/proxy" in path
            else (
                "pods"
                if path.endswith("/pods")
                else ("services" if path.endswith("/services") else "namespaces")
            )
        )
        if status == 401:
            return ExternalError(
                f"{where}: 401 Unauthorized: the credentials were refused ({reason})",
                hint="log in again (refresh the token, e.g. aws eks update-kubeconfig) "
                "or pick another --context",
            )
        if status == 403:
            verb = "get" if resource in ("namespaces", "services/proxy") else "list"
            return ExternalError(
                f"{where}: 403 Forbidden: cannot {verb} {resource} in namespace {self.namespace}",
                hint=RBAC_HINT,
            )
        return _ListFailed(f"{where}: {status} {reason}", status)

    def _transport_error(self, exc: BaseException) -> Exception:
        from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError, SSLError

        inner = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
        if isinstance(inner, SSLError):
            return ExternalError(
                f"{self.cluster.describe()}: TLS error: {inner}",
                hint="check the cluster's certificate-authority data in the kubeconfig",
            )
        if isinstance(inner, ReadTimeoutError) and not isinstance(inner, NewConnectionError):
            return _ListFailed(f"{self.cluster.describe()}, namespace {self.namespace}: timed out")
        return ExternalError(
            f"{self.cluster.describe()}: API server unreachable ({type(inner).__name__})",
            hint="check the network/VPN and the server address: kubectl cluster-info",
        )


def _api_message(exc: Any) -> str:
    try:
        return str(json.loads(exc.body).get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason or "error")


def _selector_string(selector: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


#: Longer selectors go unsent: URLs past a few KB are refused by some proxies in front of API
#: servers, and the server filters them slower than the client does.
MAX_SELECTOR = 1500


def _selectors(names: Sequence[str], custom: Sequence[Mapping[str, str]]) -> list[str | None]:
    """Label selectors that together cover every model of one namespace (None: all pods)."""
    out: list[str | None] = []
    if names:
        covering = f"app in ({','.join(sorted(set(names)))})"
        if len(covering) > MAX_SELECTOR:
            return [None]  # the whole namespace covers custom selectors too
        out.append(covering)
    for selector in custom:
        text = _selector_string(selector)
        if text not in out:
            out.append(text)
    return out


def _paged(ask: _Ask, path: str, selector: str | None) -> Iterator[Obj]:
    """Every item of a LIST, page by page; an expired continue token restarts the list once."""
    restarted = False
    token = ""
    while True:
        query: list[tuple[str, str | int]] = [("limit", PAGE_SIZE)]
        if selector:
            query.append(("labelSelector", selector))
        if token:
            query.append(("continue", token))
        try:
            page = ask.get(path, query)
        except _ListFailed as exc:
            if exc.status == 410 and not restarted:
                restarted, token = True, ""
                continue
            raise
        kind = str(page.get("kind") or "")
        implied = kind[:-4] if kind.endswith("List") else ""
        for item in page.get("items") or []:
            yield {**item, "kind": item.get("kind") or implied}
        token = (page.get("metadata") or {}).get("continue") or ""
        if not token:
            return


@dataclass(frozen=True)
class _NamespaceResult:
    namespace: str
    pods: list[Obj]
    services: list[Obj]
    exists: bool
    problem: str = ""


def _read_namespace(
    cluster: Cluster, namespace: str, selectors: Sequence[str | None]
) -> _NamespaceResult:
    ask = _Ask(cluster, namespace)
    base = f"/api/v1/namespaces/{namespace}"
    try:
        seen: dict[str, Obj] = {}
        for selector in selectors:
            for pod in _paged(ask, f"{base}/pods", selector):
                seen[str((pod.get("metadata") or {}).get("uid") or id(pod))] = pod
        pods = list(seen.values())
        services = list(_paged(ask, f"{base}/services", None))
    except _ListFailed as exc:
        if exc.status == 404:
            return _NamespaceResult(namespace, [], [], exists=False)
        return _NamespaceResult(namespace, [], [], exists=True, problem=str(exc))
    exists = True
    if not pods and not services:
        try:
            ask.get(base)
        except _ListFailed as exc:
            exists = exc.status != 404
        except ExternalError:
            exists = True  # not allowed to read namespaces: assume it exists and is empty
    return _NamespaceResult(namespace, pods, services, exists)


def read_state(config: Config, cluster: Cluster) -> ClusterState:
    names: dict[str, list[str]] = {}
    custom: dict[str, list[Mapping[str, str]]] = {}
    for engine, _index, model in config.models.by_engine():
        ns = model_namespace(engine, model)
        if model.selector:
            custom.setdefault(ns, []).append(model.selector)
        else:
            names.setdefault(ns, []).append(model.name)
    namespaces = sorted(set(names) | set(custom))
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(namespaces)))) as pool:
        results = list(
            pool.map(
                lambda ns: _read_namespace(
                    cluster, ns, _selectors(names.get(ns, []), custom.get(ns, []))
                ),
                namespaces,
            )
        )
    return ClusterState(
        pods={r.namespace: r.pods for r in results},
        services={r.namespace: r.services for r in results},
        namespaces=frozenset(r.namespace for r in results if r.exists),
        source=cluster.describe(),
        problems=tuple(r.problem for r in results if r.problem),
        failed_namespaces=frozenset(r.namespace for r in results if r.problem),
    )


# -- probing the engines -------------------------------------------------------------------

PROBE_TIMEOUT = 2.0


def probe(
    cluster: Cluster,
    models: Sequence[DiscoveredModel],
    configured: Callable[[DiscoveredModel], bool],
    timeout: float = PROBE_TIMEOUT,
) -> list[DiscoveredModel]:
    """Ask each ready model's Service, through the API server's proxy, what it serves.

    ``configured(m)`` says whether the served name came from config (then a difference is
    worth a warning). A failed probe marks the model unverified; it does not hide it.
    """
    targets = [m for m in models if m.ready and m.service]
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(targets)))) as pool:
        answers = dict(
            zip(
                [id(m) for m in targets],
                pool.map(lambda m: _probe_one(cluster, m, timeout), targets),
                strict=True,
            )
        )
    out = []
    for m in models:
        if id(m) not in answers:
            out.append(m)
            continue
        ids, problem = answers[id(m)]
        if problem:
            out.append(replace(m, notes=(*m.notes, f"unverified: {problem}")))
        elif m.served_name in ids or not ids:
            out.append(m)
        elif len(ids) == 1:
            note = f"engine serves {ids[0]!r}"
            if configured(m):
                note += f", not {m.served_name!r} as configured; using {ids[0]!r}"
            out.append(replace(m, served_name=ids[0], notes=(*m.notes, note)))
        else:
            out.append(
                replace(
                    m, notes=(*m.notes, f"engine serves {', '.join(ids)}, not {m.served_name!r}")
                )
            )
    return out


def _probe_one(cluster: Cluster, m: DiscoveredModel, timeout: float) -> tuple[list[str], str]:
    engine = ENGINES[m.engine]
    port = m.api_base.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    path = f"/api/v1/namespaces/{m.namespace}/services/{m.service}:{port}/proxy{engine.models_path}"
    try:
        data = _Ask(cluster, m.namespace).get(path, timeout=timeout)
    except (_ListFailed, ExternalError) as exc:
        return [], str(exc.args[0] if exc.args else exc).split(": ", 1)[-1]
    except ValueError:
        return [], f"{engine.models_path} did not answer JSON"
    if engine.name == "ollama":
        return [str(x.get("name") or x.get("model")) for x in data.get("models") or []], ""
    return [str(x.get("id")) for x in data.get("data") or [] if x.get("id")], ""


def snapshot(state: ClusterState) -> dict[str, Any]:
    """The state as a kubectl-style List that ``--pods-from`` reads back."""
    items: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        for ns in sorted(state.namespaces or ())
    ]
    for ns in sorted(state.pods):
        items += [{"apiVersion": "v1", **p, "kind": "Pod"} for p in state.pods[ns]]
    for ns in sorted(state.services):
        items += [{"apiVersion": "v1", **s, "kind": "Service"} for s in state.services[ns]]
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


# -- writing the Secret llmgw manages -----------------------------------------------------

FIELD_MANAGER = "llmgw"


def apply_secret(cluster: Cluster, namespace: str, name: str, data: Mapping[str, str]) -> None:
    """Create or update a Secret by server-side apply; values never appear in errors."""
    import base64

    _ensure_namespace(cluster, namespace)
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


def _ensure_namespace(cluster: Cluster, namespace: str) -> None:
    ask = _Ask(cluster, namespace)
    try:
        ask.get(f"/api/v1/namespaces/{namespace}")
        return
    except _ListFailed as exc:
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
) -> None:
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
        if ok_conflict and exc.status == 409:
            return
        ask = _Ask(cluster, namespace)
        if exc.status == 403:
            raise ExternalError(
                f"{cluster.describe()}: 403 Forbidden: cannot {what} in namespace {namespace}",
                hint="the deploy needs create/patch on secrets (and create on namespaces) there; "
                + RBAC_HINT,
            ) from None
        error = ask._api_error(exc, path)
        raise (
            error if isinstance(error, ExternalError) else ExternalError(f"cannot {what}: {error}")
        ) from None
    except Exception as exc:  # transport errors: same wording as reads
        from urllib3.exceptions import HTTPError

        if isinstance(exc, HTTPError | OSError):
            error = _Ask(cluster, namespace)._transport_error(exc)
            if isinstance(error, ExternalError):
                raise error from None
            raise ExternalError(f"cannot {what}: {error}") from None
        raise
