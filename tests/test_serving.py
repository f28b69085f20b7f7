"""Models behind serving resources, found from a snapshot: each once, at the resource's
address, with its served name; a not-Ready one left out with its reason; the pods underneath
never registered on their own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmgw import config, discovery, snapshot
from llmgw.discovery import Absence
from tests import serving_objects as so
from tests.conftest import Result
from tests.k8s_objects import kube_list

NS = "ml"


def found(tmp_path: Path, objects: list[dict[str, Any]] | None = None) -> discovery.Findings:
    path = tmp_path / "config.yaml"
    path.write_text(so.CONFIG.format(ns=NS))
    cfg = config.load(path)
    state = snapshot.state_from_objects(so.world(NS) if objects is None else objects, "t")
    return discovery.find(cfg, state)


def test_each_resource_is_one_model_at_its_address_with_its_served_name(tmp_path: Path) -> None:
    f = found(tmp_path)
    ready = {m.public_name: (m.api_base, m.served_name) for m in f.models if m.ready}
    assert ready == so.expected(NS)
    by_name = {m.public_name: m for m in f.models}
    assert by_name["vllm/llama3"].found_by == "discover[0] InferenceService/llama3"
    assert by_name["vllm/mistral"].found_by == "discover[4] ProductionStack/stack"
    assert by_name["vllm/big"].ready_replicas == 1  # groups, not pods


def test_a_not_ready_resource_is_left_out_with_its_own_reason(tmp_path: Path) -> None:
    slow = next(m for m in found(tmp_path).models if m.name == "slow")
    assert not slow.ready and slow.absence is Absence.NOT_READY
    assert slow.reason == "Ready False (MinimumReplicasUnavailable)"


def test_the_pods_underneath_are_left_to_their_resource_and_say_so(tmp_path: Path) -> None:
    """Every pod of the world carries llmgw.io/serve=true, which the pod rule selects."""
    f = found(tmp_path)
    assert [m for m in f.models if m.resource == ""] == []  # no pod registered by itself
    left = [r for r in f.reports if "left to it" in r]
    for resource in ("InferenceService/llama3", "LLMInferenceService/opt", "LeaderWorkerSet/big",
                     "InferencePool/qwen-pool", "ProductionStack/stack"):  # fmt: skip
        assert any(f"belongs to {resource}" in r for r in left), (resource, left)
    assert not any("no rule selects it" in r for r in f.reports), f.reports
    # Once per resource, not once per pod: the LWS's leader and worker are one line.
    assert [r for r in left if "LeaderWorkerSet/big" in r] == [
        "2 pods in 'ml' (discover[5]): belongs to LeaderWorkerSet/big: left to it (a rule "
        "with kind: LeaderWorkerSet serves it once, where it is served)"
    ]


def test_a_resource_two_rules_select_is_the_first_rule_s_once(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "discover:\n"
        f"  - {{kind: InferenceService, namespaces: [{NS}], selector: team=ml}}\n"
        f"  - {{kind: InferenceService, namespaces: [{NS}], selector: team}}\n"
    )
    state = snapshot.state_from_objects(so.inference_service("llama3", NS), "t")
    models = discovery.find(config.load(path), state).models
    assert [(m.public_name, m.found_by) for m in models] == [
        ("vllm/llama3", "discover[0] InferenceService/llama3")
    ]


def test_a_leader_worker_set_without_a_leader_service_is_unroutable(tmp_path: Path) -> None:
    objects = [o for o in so.leader_worker_set("big", NS) if o["metadata"]["name"] != "big-leader"]
    [big] = [m for m in found(tmp_path, objects).models if m.name == "big"]
    assert not big.ready and big.absence is Absence.UNROUTABLE
    assert "no Service selects its leaders only" in big.reason


def test_a_pool_no_route_reaches_is_unroutable_and_one_not_accepted_not_ready(
    tmp_path: Path,
) -> None:
    objects = [o for o in so.inference_pool("qwen-pool", NS) if o["kind"] != "HTTPRoute"]
    [pool] = [m for m in found(tmp_path, objects).models if m.name == "qwen-pool"]
    assert pool.absence is Absence.UNROUTABLE and "no HTTPRoute" in pool.reason
    objects = so.inference_pool("qwen-pool", NS)
    objects[0]["status"]["parents"][0]["conditions"][0]["status"] = "False"
    [pool] = [m for m in found(tmp_path, objects).models if m.name == "qwen-pool"]
    assert not pool.ready and "no Gateway has accepted it" in pool.reason


def test_the_older_pool_api_and_a_kserve_vllm_runtime(tmp_path: Path) -> None:
    objects = so.inference_pool("qwen-pool", NS)
    objects[0]["apiVersion"] = "inference.networking.x-k8s.io/v1alpha2"
    objects[0]["spec"] = {"selector": {"app": "vllm-qwen3-32b"}, "targetPortNumber": 8000}
    objects[0]["status"] = {"parent": objects[0]["status"]["parents"]}
    objects += so.inference_service("llama3", NS)
    objects[-3]["status"]["clusterServingRuntimeName"] = "kserve-vllmserver"
    objects[-3]["spec"]["predictor"]["model"]["modelFormat"] = {"name": "vLLM"}
    models = {m.name: m for m in found(tmp_path, objects).models}
    assert models["qwen-pool"].ready
    assert models["llama3"].api_base == f"http://llama3-predictor.{NS}.svc.cluster.local/v1"


def test_a_kind_whose_crd_is_missing_is_one_line_and_the_rest_works(tmp_path: Path) -> None:
    from dataclasses import replace

    path = tmp_path / "config.yaml"
    path.write_text(so.CONFIG.format(ns=NS))
    cfg = config.load(path)
    state = replace(
        snapshot.state_from_objects(so.world(NS), "t"), missing_kinds=frozenset({"LeaderWorkerSet"})
    )
    f = discovery.find(cfg, state)
    assert [r for r in f.reports if "LeaderWorkerSet" in r and "CRD" in r] == [
        "discover[2]: this cluster serves no LeaderWorkerSet (its CRD is not installed): the "
        "rule finds nothing"
    ]
    assert "vllm/llama3" in {m.public_name for m in f.models if m.ready}


def test_a_resource_names_its_public_name_weight_and_order_by_annotation(tmp_path: Path) -> None:
    objects = so.inference_service("llama3", NS)
    objects[0]["metadata"]["annotations"] = {
        "llmgw.io/model-name": "llama", "llmgw.io/weight": "3", "llmgw.io/order": "2",
    }  # fmt: skip
    [m] = [m for m in found(tmp_path, objects).models if m.name == "llama3"]
    assert m.public_name == "llama" and m.spec is not None
    assert (m.spec.weight, m.spec.order) == (3.0, 2)


def test_a_saved_snapshot_keeps_the_resources_without_their_secrets(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    objects = so.world(NS)
    objects[0]["spec"]["predictor"]["model"]["env"] = [
        {"name": "HF_TOKEN", "value": "hf_CANARY-serving"}
    ]
    source = tmp_path / "cluster.json"
    source.write_text(json.dumps(kube_list(objects)))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(so.CONFIG.format(ns=NS))
    saved = tmp_path / "saved.yaml"
    run = cli("-c", cfg, "discover", "--pods-from", source, "--save", saved, "-o", "json")
    assert run.code == 0, run.err
    assert "CANARY" not in saved.read_text()
    again = cli("-c", cfg, "discover", "--pods-from", saved, "-o", "json")
    first = {m["public_name"]: m["api_base"] for m in json.loads(run.out)["models"] if m["ready"]}
    assert first == {
        m["public_name"]: m["api_base"] for m in json.loads(again.out)["models"] if m["ready"]
    }
    assert set(first) == set(so.expected(NS))


def test_probe_asks_each_resource_where_it_serves(tmp_path: Path) -> None:
    """--probe lists the models at the resource's own base (KServe's /openai/v1/models, a
    router's /v1/models listing every model behind it)."""
    targets = {m.name: t for m, t in discovery.probe_targets(found(tmp_path).models)}
    assert (targets["llama3"].service, targets["llama3"].port, targets["llama3"].path) == (
        "llama3-predictor", 80, "/openai/v1/models",
    )  # fmt: skip
    assert (targets["mistral"].namespace, targets["mistral"].service, targets["mistral"].path) == (
        NS, "stack-router-service", "/v1/models",
    )  # fmt: skip
    assert targets["opt"].port == 8000
