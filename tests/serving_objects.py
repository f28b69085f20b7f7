"""Serving resources as their controllers leave them (spec and status as DESIGN.md §12 and
../shared/facts/serving-resources.md describe), with the pods and Services they make.

``world(ns)`` is one namespace holding one of each, Ready, plus one InferenceService that is
not: the cluster the serving tests discover, from a snapshot and on the real API server.
"""

from __future__ import annotations

from typing import Any

from tests.k8s_objects import pod, service

CONFIG = """\
gateway: {{release: gw, namespace: gateway}}
discover:
  - {{kind: InferenceService, namespaces: [{ns}], selector: team=ml}}
  - {{kind: LLMInferenceService, namespaces: [{ns}], selector: team=ml}}
  - {{kind: LeaderWorkerSet, namespaces: [{ns}], selector: team=ml}}
  - {{kind: InferencePool, namespaces: [{ns}], selector: team=ml}}
  - {{kind: ProductionStack, namespaces: [{ns}], selector: app.kubernetes.io/instance=stack}}
  - {{namespaces: [{ns}], selector: llmgw.io/serve=true}}   # pods: must not take theirs
"""


#: public name → (api_base, served name), for the namespace ``ns``.
def expected(ns: str) -> dict[str, tuple[str, str]]:
    return {
        "vllm/llama3": (f"http://llama3-predictor.{ns}.svc.cluster.local/openai/v1", "llama3"),
        "vllm/opt": (f"http://opt-kserve-workload-svc.{ns}.svc.cluster.local:8000/v1",
                     "facebook/opt-125m"),
        "vllm/big": (f"http://big-leader.{ns}:8080/v1", "meta-llama/Llama-3.1-405B"),
        "vllm/qwen-pool": (f"http://inference-gateway-istio.{ns}/v1", "Qwen/Qwen3-32B"),
        "vllm/mistral": (f"http://stack-router-service.{ns}/v1",
                         "mistralai/Mistral-7B-Instruct-v0.3"),
    }  # fmt: skip


def _meta(kind: str, name: str, ns: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": ns,
        "labels": labels if labels is not None else {"team": "ml"},
        "uid": f"uid-{ns}-{kind}-{name}",
        "generation": 1,
    }


def _cond(kind: str, ok: bool = True, reason: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "status": "True" if ok else "False"}
    if reason:
        out["reason"] = reason
    return out


def inference_service(name: str, ns: str, *, ready: bool = True) -> list[dict[str, Any]]:
    """KServe, Standard mode, the HuggingFace runtime with a --model_name, and its pod."""
    conditions = [
        _cond("IngressReady", ready),
        _cond("PredictorReady", ready, "" if ready else "MinimumReplicasUnavailable"),
        _cond("Ready", ready, "" if ready else "MinimumReplicasUnavailable"),
    ]
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": _meta("isvc", name, ns),
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "huggingface"},
                    "args": [f"--model_name={name}"],
                    "storageUri": "hf://meta-llama/meta-llama-3-8b-instruct",
                }
            }
        },
        "status": {
            "deploymentMode": "Standard",
            "url": f"http://{name}-{ns}.example.com",
            "address": {"url": f"http://{name}-predictor.{ns}.svc.cluster.local"},
            "clusterServingRuntimeName": "kserve-huggingfaceserver",
            "conditions": conditions,
        },
    }
    labels = {
        "serving.kserve.io/inferenceservice": name,
        "component": "predictor",
        "app": f"isvc.{name}-predictor",
        "llmgw.io/serve": "true",  # a pod rule selects it too: it must stay the resource's
    }
    predictor = pod(
        f"{name}-predictor-5d8f-abcde", ns, labels,
        state="ready" if ready else "notready", image="kserve/huggingfaceserver:v0.20.0",
        args=[f"--model_name={name}", "--model_id=meta-llama/meta-llama-3-8b-instruct"],
    )  # fmt: skip
    svc = service(f"{name}-predictor", ns, {"app": f"isvc.{name}-predictor"}, 80)
    return [isvc, predictor, svc]


def llm_inference_service(name: str, ns: str) -> list[dict[str, Any]]:
    """KServe LLMInferenceService with no router: its workload Service, no port in the URL."""
    llmisvc = {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceService",
        "metadata": _meta("llmisvc", name, ns),
        "spec": {"model": {"uri": "hf://facebook/opt-125m", "name": "facebook/opt-125m"}},
        "status": {
            "addresses": [
                {"name": "internal",
                 "url": f"http://{name}-kserve-workload-svc.{ns}.svc.cluster.local"}
            ],
            "conditions": [_cond("WorkloadsReady"), _cond("RouterReady"), _cond("Ready")],
            "workloads": {"primary": {"apiGroup": "apps", "kind": "Deployment", "readyReplicas": 1}},
        },
    }  # fmt: skip
    labels = {
        "app.kubernetes.io/part-of": "llminferenceservice",
        "app.kubernetes.io/name": name,
        "kserve.io/component": "workload",
        "llmgw.io/serve": "true",
    }
    workload = pod(
        f"{name}-kserve-abc12", ns, labels,
        command=["vllm", "serve", "/mnt/models"],
        args=["--served-model-name", "facebook/opt-125m", "--port", "8000"],
    )  # fmt: skip
    svc = service(f"{name}-kserve-workload-svc", ns, {"app.kubernetes.io/name": name}, 8000)
    return [llmisvc, workload, svc]


def leader_worker_set(name: str, ns: str) -> list[dict[str, Any]]:
    """A 2-node LeaderWorkerSet (one group: a leader and a worker), its headless Service, and
    the Service users add for the leaders (the LWS vLLM example's)."""
    lws = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": _meta("lws", name, ns),
        "spec": {"replicas": 1, "leaderWorkerTemplate": {"size": 2}},
        "status": {"readyReplicas": 1, "replicas": 1, "conditions": [_cond("Available")]},
    }
    common = {"leaderworkerset.sigs.k8s.io/name": name, "leaderworkerset.sigs.k8s.io/group-index": "0",
              "llmgw.io/serve": "true"}  # fmt: skip
    leader = pod(
        f"{name}-0", ns, {**common, "leaderworkerset.sigs.k8s.io/worker-index": "0", "role": "leader"},
        command=["python3", "-m", "vllm.entrypoints.openai.api_server"],
        args=["--port", "8080", "--model", "meta-llama/Llama-3.1-405B",
              "--tensor-parallel-size", "8", "--pipeline_parallel_size", "2"],
    )  # fmt: skip
    worker = pod(
        f"{name}-0-1", ns, {**common, "leaderworkerset.sigs.k8s.io/worker-index": "1"},
        command=["ray", "start", "--block"], ip="10.0.1.11",
    )  # fmt: skip
    headless = service(name, ns, {"leaderworkerset.sigs.k8s.io/name": name}, 8080)
    headless["spec"]["clusterIP"] = "None"
    leaders = service(
        f"{name}-leader", ns, {"leaderworkerset.sigs.k8s.io/name": name, "role": "leader"}, 8080
    )
    return [lws, leader, worker, headless, leaders]


def inference_pool(name: str, ns: str) -> list[dict[str, Any]]:
    """An InferencePool (v1) accepted by a Gateway, the HTTPRoute that sends it traffic, the
    Gateway and the Service its implementation made, and two model servers."""
    pool = {
        "apiVersion": "inference.networking.k8s.io/v1",
        "kind": "InferencePool",
        "metadata": _meta("pool", name, ns),
        "spec": {
            "selector": {"matchLabels": {"app": "vllm-qwen3-32b"}},
            "targetPorts": [{"number": 8000}],
            "endpointPickerRef": {"name": f"{name}-epp", "port": {"number": 9002}},
        },
        "status": {
            "parents": [
                {"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                               "name": "inference-gateway"},
                 "controllerName": "istio.io/gateway-controller",
                 "conditions": [_cond("Accepted"), _cond("ResolvedRefs")]}
            ]
        },
    }  # fmt: skip
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta("route", name, ns, {}),
        "spec": {
            "parentRefs": [{"name": "inference-gateway"}],
            "rules": [{
                "backendRefs": [{"group": "inference.networking.k8s.io", "kind": "InferencePool",
                                 "name": name}],
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            }],
        },
    }  # fmt: skip
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": _meta("gw", "inference-gateway", ns, {}),
        "spec": {"gatewayClassName": "istio",
                 "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
    }  # fmt: skip
    gw_svc = service(
        "inference-gateway-istio",
        ns,
        {"gateway.networking.k8s.io/gateway-name": "inference-gateway"},
        80,
    )
    gw_svc["metadata"]["labels"] = {"gateway.networking.k8s.io/gateway-name": "inference-gateway"}
    members = [
        pod(f"vllm-qwen3-32b-{i}", ns, {"app": "vllm-qwen3-32b", "llmgw.io/serve": "true"},
            command=["vllm", "serve", "Qwen/Qwen3-32B"], args=["--port", "8000"], ip=f"10.0.2.{i}")
        for i in (1, 2)
    ]  # fmt: skip
    return [pool, route, gateway, gw_svc, *members]


def production_stack(release: str, ns: str) -> list[dict[str, Any]]:
    """A vllm-stack release: its router (Deployment pods and Service) and one engine."""
    stack = {"app.kubernetes.io/instance": release, "app.kubernetes.io/part-of": "vllm-stack",
             "app.kubernetes.io/managed-by": "helm"}  # fmt: skip
    router = pod(
        f"{release}-deployment-router-7c9f-x1", ns,
        {**stack, "app.kubernetes.io/name": "router", "app.kubernetes.io/component": "router",
         "environment": "router", "release": "router"},
        image="lmcache/lmstack-router:latest", command=["vllm-router"],
        args=["--port", "8000", "--service-discovery", "k8s"], ip="10.0.3.1",
    )  # fmt: skip
    engine = pod(
        f"{release}-mistral-deployment-vllm-5b-y2", ns,
        {**stack, "model": "mistral", "helm-release-name": release,
         "app.kubernetes.io/name": "mistral", "app.kubernetes.io/component": "serving-engine",
         "environment": "test", "release": "test", "llmgw.io/serve": "true"},
        command=["vllm", "serve", "mistralai/Mistral-7B-Instruct-v0.3"], args=["--port", "8000"],
        ip="10.0.3.2",
    )  # fmt: skip
    router_svc = service(f"{release}-router-service", ns,
                         {"environment": "router", "release": "router"}, 80)  # fmt: skip
    return [router, engine, router_svc]


def world(ns: str) -> list[dict[str, Any]]:
    return [
        *inference_service("llama3", ns),
        *inference_service("slow", ns, ready=False),
        *llm_inference_service("opt", ns),
        *leader_worker_set("big", ns),
        *inference_pool("qwen-pool", ns),
        *production_stack("stack", ns),
    ]
