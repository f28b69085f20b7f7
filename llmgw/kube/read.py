"""Reading pods and services cheaply, and asking engines what they serve.

Cost: per namespace, one paged LIST of pods whose label selector covers every model and rule of
that namespace (``app in (a,b,c)``; the whole namespace when nothing short covers them), and
one LIST of services; a GET of the namespace only when nothing was found, to tell
"no pods" from "namespace missing". Objects are checked at this boundary like a snapshot's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from llmgw.errors import ExternalError
from llmgw.kube.api import Ask, Forbidden, ListFailed
from llmgw.kube.auth import Cluster
from llmgw.selector import cover
from llmgw.state import (
    RESOURCE_KINDS,
    ClusterState,
    Obj,
    ProbeAnswer,
    ProbeTarget,
    Wanted,
    bad_objects,
)

PAGE_SIZE = 500


#: Longer selectors go unsent: URLs past a few KB are refused by some proxies in front of API
#: servers, and the server filters them slower than the client does.
MAX_SELECTOR = 1500


def pod_selector(wanted: Wanted) -> str | None:
    """The one selector a namespace's pods are listed (and watched) by; None: all its pods.

    One request per namespace, whatever the number of models and rules in it: the API server
    has no OR, so the selector covers them all and discovery tells them apart.
    """
    if wanted.everything:
        return None
    chosen = cover(wanted.selectors, MAX_SELECTOR)
    return chosen.text() if chosen is not None else None


def list_all(ask: Ask, path: str, selector: str | None) -> tuple[list[Obj], str]:
    """Every item of a LIST and the list's resourceVersion, page by page.

    An expired continue token (410 Gone) restarts the list once, from scratch: the pages read
    before it are dropped, so nothing is counted twice. A second 410 is raised.
    """
    for attempt in range(2):
        items: list[Obj] = []
        token = ""
        try:
            while True:
                query: list[tuple[str, str | int]] = [("limit", PAGE_SIZE)]
                if selector:
                    query.append(("labelSelector", selector))
                if token:
                    query.append(("continue", token))
                page = ask.get(path, query)
                kind = str(page.get("kind") or "")
                implied = kind[:-4] if kind.endswith("List") else ""
                for item in page.get("items") or []:
                    if isinstance(item, dict) and "kind" not in item:
                        item["kind"] = implied
                    items.append(item)
                meta = page.get("metadata") or {}
                token = meta.get("continue") or ""
                if not token:
                    return items, str(meta.get("resourceVersion") or "")
        except ListFailed as exc:
            if exc.status != 410 or attempt == 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _NamespaceResult:
    namespace: str
    pods: list[Obj]
    services: list[Obj]
    exists: bool
    problem: str = ""
    forbidden: bool = False
    #: Objects of the serving kinds asked for, by kind; and the kinds the cluster lacks.
    resources: dict[str, list[Obj]] = field(default_factory=dict)
    missing_kinds: frozenset[str] = frozenset()


def list_kind(ask: Ask, namespace: str, kind: str) -> tuple[list[Obj], str, str] | None:
    """One LIST of a serving kind in a namespace (the newest API version the cluster serves,
    then the older): the items, the list's version and the path it was listed at (a watch
    goes there); None when the cluster serves none (no CRD: 404)."""
    plural, versions = RESOURCE_KINDS[kind]
    for version in versions:
        path = f"/apis/{version}/namespaces/{namespace}/{plural}"
        try:
            items, rv = list_all(ask, path, None)
        except ListFailed as exc:
            if exc.status == 404:
                continue
            raise
        for item in items:
            if isinstance(item, dict):
                item["kind"] = kind
        return items, rv, path
    return None


def _read_namespace(cluster: Cluster, namespace: str, wanted: Wanted) -> _NamespaceResult:
    ask = Ask(cluster, namespace)
    base = f"/api/v1/namespaces/{namespace}"
    resources: dict[str, list[Obj]] = {}
    missing: set[str] = set()
    try:
        pods = list_all(ask, f"{base}/pods", pod_selector(wanted))[0]
        services = list_all(ask, f"{base}/services", None)[0]
        for kind in sorted(wanted.kinds):
            listed = list_kind(ask, namespace, kind)
            if listed is None:
                missing.add(kind)
            else:
                resources[kind] = listed[0]
    except ListFailed as exc:
        if exc.status == 404:
            return _NamespaceResult(namespace, [], [], exists=False)
        return _NamespaceResult(namespace, [], [], exists=True, problem=str(exc))
    except Forbidden as exc:  # per-namespace Roles: one namespace denied is a partial read
        return _NamespaceResult(namespace, [], [], exists=True, problem=exc.message, forbidden=True)
    bad = bad_objects(
        [*pods, *services, *(o for objs in resources.values() for o in objs)], limit=3
    )
    if bad:
        where = f"{cluster.describe()}, namespace {namespace}"
        return _NamespaceResult(
            namespace, [], [], exists=True, problem=f"{where}: malformed objects: {'; '.join(bad)}"
        )
    exists = True
    if not pods and not services:
        try:
            ask.get(base)
        except ListFailed as exc:
            exists = exc.status != 404
        except ExternalError:
            exists = True  # not allowed to read namespaces: assume it exists and is empty
    return _NamespaceResult(
        namespace, pods, services, exists, resources=resources, missing_kinds=frozenset(missing)
    )


def read_state(cluster: Cluster, wanted: Mapping[str, Wanted]) -> ClusterState:
    """Pods and services of each namespace in ``wanted``, read in parallel."""
    namespaces = sorted(wanted)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(namespaces)))) as pool:
        results = list(pool.map(lambda ns: _read_namespace(cluster, ns, wanted[ns]), namespaces))
    return ClusterState(
        pods={r.namespace: r.pods for r in results},
        services={r.namespace: r.services for r in results},
        namespaces=frozenset(r.namespace for r in results if r.exists),
        source=cluster.describe(),
        problems=tuple(r.problem for r in results if r.problem),
        failed_namespaces=frozenset(r.namespace for r in results if r.problem),
        forbidden_namespaces=frozenset(r.namespace for r in results if r.forbidden),
        resources=_by_kind(results),
        missing_kinds=frozenset(k for r in results for k in r.missing_kinds),
    )


def _by_kind(results: Sequence[_NamespaceResult]) -> dict[str, dict[str, list[Obj]]]:
    out: dict[str, dict[str, list[Obj]]] = {}
    for r in results:
        for kind, objects in r.resources.items():
            out.setdefault(kind, {})[r.namespace] = objects
    return out


# -- asking the engines --------------------------------------------------------------------

PROBE_TIMEOUT = 2.0


def probe(
    cluster: Cluster, targets: Sequence[ProbeTarget], timeout: float = PROBE_TIMEOUT
) -> list[ProbeAnswer]:
    """Ask each target, through the API server's services proxy, which models it serves."""
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(targets)))) as pool:
        return list(pool.map(lambda t: _probe_one(cluster, t, timeout), targets))


def _probe_one(cluster: Cluster, target: ProbeTarget, timeout: float) -> ProbeAnswer:
    path = (
        f"/api/v1/namespaces/{target.namespace}/services/{target.service}:{target.port}"
        f"/proxy{target.path}"
    )
    try:
        data: Any = Ask(cluster, target.namespace).get(path, timeout=timeout)
    except Forbidden:  # --probe's right is granted per namespace, apart from the read
        return ProbeAnswer(
            problem=f"403 Forbidden: cannot get services/proxy in namespace {target.namespace} "
            f"(kubectl apply -n {target.namespace} -f docs/rbac-probe.yaml)"
        )
    except (ListFailed, ExternalError) as exc:
        return ProbeAnswer(problem=str(exc.args[0] if exc.args else exc).split(": ", 1)[-1])
    except ValueError:
        return ProbeAnswer(problem=f"{target.path} did not answer JSON")
    if not isinstance(data, dict):
        return ProbeAnswer(problem=f"{target.path} did not answer a JSON object")
    if target.ollama:
        items = data.get("models") or []
        return ProbeAnswer(
            [str(x.get("name") or x.get("model")) for x in items if isinstance(x, dict)]
        )
    items = data.get("data") or []
    return ProbeAnswer([str(x["id"]) for x in items if isinstance(x, dict) and x.get("id")])
