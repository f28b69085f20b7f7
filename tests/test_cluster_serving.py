"""Serving resources on the real control plane: minimal CRDs for each kind installed by the
test (a schema that keeps every field, a status subresource), the objects created through the
API server with their status written as their controllers would, their pods run by the
kubelet stand-in. `discover` reads them over real HTTPS: each model once, at its resource's
address, one LIST per kind and namespace; a kind whose CRD is gone is one line."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import serving_objects as so
from tests.conftest import Kube, Result
from tests.kubelet_standin import ANNOTATION, wait_for
from tests.test_cluster_discovery import audit_mark, llmgw_requests

pytestmark = pytest.mark.cluster
Cli = Callable[..., Result]

#: kind → (group, plural, versions served, the first stored)
CRDS = {
    "InferenceService": ("serving.kserve.io", "inferenceservices", ["v1beta1"]),
    "LLMInferenceService": ("serving.kserve.io", "llminferenceservices", ["v1alpha2", "v1alpha1"]),
    "LeaderWorkerSet": ("leaderworkerset.x-k8s.io", "leaderworkersets", ["v1"]),
    "InferencePool": ("inference.networking.k8s.io", "inferencepools", ["v1"]),
    "HTTPRoute": ("gateway.networking.k8s.io", "httproutes", ["v1"]),
    "Gateway": ("gateway.networking.k8s.io", "gateways", ["v1"]),
}
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def crd(kind: str) -> dict[str, Any]:
    group, plural, versions = CRDS[kind]
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{group}",
            # As the real CRDs of *.k8s.io groups carry it (the API server insists).
            "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs"}
            if group.endswith(".k8s.io")
            else {},
        },
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                      "listKind": f"{kind}List"},
            "versions": [
                {"name": v, "served": True, "storage": i == 0, "schema": schema,
                 "subresources": {"status": {}}}
                for i, v in enumerate(versions)
            ],
        },
    }  # fmt: skip


def install(kube: Kube, kind: str) -> None:
    from urllib.error import HTTPError

    body = crd(kind)
    try:
        kube.plane.request("POST", CRD_PATH, body)
    except HTTPError as exc:
        if exc.code != 409:  # installed by an earlier test
            raise AssertionError(f"CRD {kind}: {exc.code} {exc.read().decode()[:800]}") from None

    def established() -> bool:
        got = kube.plane.request("GET", f"{CRD_PATH}/{body['metadata']['name']}")
        conditions = (got.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    wait_for(established, what=f"the {kind} CRD established")


def request(kube: Kube, method: str, path: str, body: Any = None) -> Any:
    """An admin request whose refusal says why (the API server's message)."""
    from urllib.error import HTTPError

    try:
        return kube.plane.request(method, path, body)
    except HTTPError as exc:
        raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()[:500]}") from None


def create_world(kube: Kube, ns: str) -> None:
    """Every object of serving_objects.world: resources with their status written through
    the status subresource, pods with the state the kubelet stand-in gives them."""
    for obj in so.world(ns):
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        for key in ("uid", "resourceVersion", "creationTimestamp", "generation"):
            meta.pop(key, None)
        status = obj.pop("status", None)
        kind = obj["kind"]
        if kind == "Pod":
            ready = (status or {}).get("containerStatuses", [{}])[0].get("ready", True)
            meta.setdefault("annotations", {})[ANNOTATION] = "ready" if ready else "notready"
            obj["spec"]["terminationGracePeriodSeconds"] = 5
            request(kube, "POST", f"/api/v1/namespaces/{ns}/pods", obj)
        elif kind == "Service":
            if obj["spec"].get("clusterIP") != "None":
                obj["spec"].pop("clusterIP", None)
            request(kube, "POST", f"/api/v1/namespaces/{ns}/services", obj)
        else:
            group, plural, _versions = CRDS[kind]
            version = obj["apiVersion"].split("/")[1]
            base = f"/apis/{group}/{version}/namespaces/{ns}/{plural}"
            made = request(kube, "POST", base, obj)
            if status is not None:
                made["status"] = status
                request(kube, "PUT", f"{base}/{meta['name']}/status", made)


@pytest.fixture(scope="module")
def world(kube: Kube) -> Iterator[str]:
    for kind in CRDS:
        install(kube, kind)
    ns = kube.plane.namespace("serving")
    create_world(kube, ns)
    yield ns


def discover(cli: Cli, kube: Kube, tmp_path: Path, ns: str) -> tuple[Result, dict[str, Any]]:
    config = tmp_path / "config.yaml"
    config.write_text(so.CONFIG.format(ns=ns))
    kc = kube.plane.kubeconfig(tmp_path / "kc")
    result = cli("-c", config, "discover", "--kubeconfig", kc, "-o", "json")
    return result, json.loads(result.out or "{}")


def test_each_resource_is_discovered_once_at_its_address(
    kube: Kube, world: str, cli: Cli, tmp_path: Path
) -> None:
    ns = world

    def settled() -> bool:  # the kubelet stand-in has made the pods Ready (or not)
        _result, out = discover(cli, kube, tmp_path, ns)
        ready = {m["public_name"] for m in out.get("models", []) if m["ready"]}
        return ready == set(so.expected(ns))

    wait_for(settled, what="every Ready resource discovered")
    mark = audit_mark(kube)
    result, out = discover(cli, kube, tmp_path, ns)
    assert result.code == 0, result.err
    models = {m["public_name"]: m for m in out["models"]}
    ready = {n: (m["api_base"], m["served_name"]) for n, m in models.items() if m["ready"]}
    assert ready == so.expected(ns)
    assert models["vllm/slow"]["reason"] == "Ready False (MinimumReplicasUnavailable)"
    assert all(m["found_by"].split(" ", 1)[1:] for m in out["models"])  # none found as a pod
    assert models["vllm/big"]["found_by"] == "discover[2] LeaderWorkerSet/big"
    lists: dict[str, int] = {}
    for e in llmgw_requests(kube, mark):
        ref = e.get("objectRef", {})
        if e["verb"] == "list" and ref.get("namespace") == ns:
            lists[ref["resource"]] = lists.get(ref["resource"], 0) + 1
    assert lists == {
        "pods": 1, "services": 1, "inferenceservices": 1, "llminferenceservices": 1,
        "leaderworkersets": 1, "inferencepools": 1, "httproutes": 1, "gateways": 1,
    }  # fmt: skip


@contextmanager
def controller(kube: Kube, ns: str, tmp_path: Path) -> Iterator[Callable[[], set[str]]]:
    """`sync --watch` (in this process) on the serving config, writing to a management-API
    stand-in; yields what the gateway serves."""
    import threading

    from llmgw import row_plan
    from llmgw.controller import Controller, Options
    from llmgw.kube import auth
    from tests.litellm_api_standin import KEY, Api
    from tests.litellm_api_standin import serve as serve_api

    api = Api(lag=0.1)

    def served() -> set[str]:
        ours = [r for r in api.store.values() if r["model_info"].get(row_plan.MANAGED)]
        return {r["model_name"] for r in ours}

    with serve_api(api) as url:
        config = tmp_path / "config.yaml"
        config.write_text(
            so.CONFIG.format(ns=ns).replace(
                "gateway: {release: gw, namespace: gateway}",
                f"gateway: {{release: gw, namespace: {ns}, model_source: api, url: {url}}}\n"
                "secrets: {salt_key: {env: LITELLM_SALT_KEY}}",
            )
        )
        kc = kube.plane.kubeconfig(tmp_path / "kc")
        options = Options(
            config_path=config, kubeconfig=kc, debounce=0.2, grace=3.0, resync=60.0,
            watch_timeout=30, lease_duration=2.0, backoff_max=0.5, identity="serving",
        )  # fmt: skip
        c = Controller(options, lambda: auth.connect(auth.Connection(kc, None)),
                       env={"LITELLM_MASTER_KEY": KEY, "LITELLM_SALT_KEY": "salt"})  # fmt: skip
        thread = threading.Thread(target=c.run, daemon=True)
        thread.start()
        try:
            yield served
        finally:
            c.stop()
            thread.join(15)
    assert not thread.is_alive()


def test_the_controller_follows_an_inference_service_turning_ready_and_going(
    kube: Kube, world: str, tmp_path: Path
) -> None:
    """sync --watch lists and watches the kinds its rules name: the not-Ready `slow`
    InferenceService turning Ready reaches the gateway within debounce + 1 s; deleted, it
    leaves."""
    import time

    ns = world
    group, plural, _v = CRDS["InferenceService"]
    base = f"/apis/{group}/v1beta1/namespaces/{ns}/{plural}"
    with controller(kube, ns, tmp_path) as served:
        wait_for(lambda: served() == set(so.expected(ns)), what="the Ready resources served")
        slow = request(kube, "GET", f"{base}/slow")
        for cond in slow["status"]["conditions"]:
            cond["status"] = "True"
            cond.pop("reason", None)
        start = time.monotonic()
        request(kube, "PUT", f"{base}/slow/status", slow)
        wait_for(lambda: "vllm/slow" in served(), what="slow served once Ready")
        assert time.monotonic() - start <= 0.2 + 1.0 + 1.5  # debounce + 1 s (+ a margin)
        request(kube, "DELETE", f"{base}/slow")
        wait_for(lambda: "vllm/slow" not in served(), what="slow gone once deleted")
        assert set(so.expected(ns)) <= served()


def test_docs_rbac_serving_grants_what_the_rules_read_and_without_it_the_403_names_it(
    kube: Kube, world: str, cli: Cli, tmp_path: Path
) -> None:
    import yaml

    from tests.conftest import REPO
    from tests.test_cluster_rbac import identity, rbac_docs

    serving = [d for d in yaml.safe_load_all((REPO / "docs/rbac-serving.yaml").read_text()) if d]
    config = tmp_path / "config.yaml"
    config.write_text(so.CONFIG.format(ns=world))
    who = identity(kube, tmp_path, [*rbac_docs("discover"), *serving])
    allowed = cli("-c", config, "discover", "--kubeconfig", who.kc, "-o", "json")
    assert allowed.code == 0, allowed.err
    ready = {m["public_name"] for m in json.loads(allowed.out)["models"] if m["ready"]}
    assert ready == set(so.expected(world))
    short = identity(kube, tmp_path, rbac_docs("discover"))
    refused = cli("-c", config, "discover", "--kubeconfig", short.kc)
    assert refused.code == 3, refused.err
    # The first kind listed (in name order) is the one refused: named as RBAC names it.
    assert (
        f"403 Forbidden: cannot list gateways.gateway.networking.k8s.io in namespace {world}"
        in refused.err
    ), refused.err


def test_a_kind_whose_crd_is_gone_is_one_line_and_the_rest_is_found(
    kube: Kube, world: str, cli: Cli, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    group, plural, _versions = CRDS["LeaderWorkerSet"]
    kube.plane.request("DELETE", f"{CRD_PATH}/{plural}.{group}")

    def gone() -> bool:
        _result, out = discover(cli, kube, tmp_path, world)
        return "vllm/big" not in {m["public_name"] for m in out.get("models", [])}

    wait_for(gone, what="the LeaderWorkerSet CRD gone")
    try:
        result, out = discover(cli, kube, tmp_path, world)
        assert result.code == 0, result.err
        said = [line for line in out["left_out"] if "LeaderWorkerSet" in line and "CRD" in line]
        assert said == [
            "discover[2]: this cluster serves no LeaderWorkerSet (its CRD is not installed): "
            "the rule finds nothing"
        ]
        ready = {m["public_name"] for m in out["models"] if m["ready"]}
        assert ready == set(so.expected(world)) - {"vllm/big"}
        with caplog.at_level(logging.WARNING, logger="llmgw"):
            (tmp_path / "c").mkdir()
            with controller(kube, world, tmp_path / "c") as served:
                rest = set(so.expected(world)) - {"vllm/big"}
                wait_for(lambda: rest <= served(), what="the other kinds served")
            said = [r.getMessage() for r in caplog.records if "CRD" in r.getMessage()]
            assert said == [
                "discover[2]: this cluster serves no LeaderWorkerSet (its CRD is not installed): "
                "the rule finds nothing"
            ]  # once, though every reconcile finds it so
    finally:
        install(kube, "LeaderWorkerSet")
