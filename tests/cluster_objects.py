"""Model servers as users deploy them, created through the real API server: a Deployment
(whose ReplicaSet and pods the real controllers make) and the Service in front of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.kubelet_standin import ANNOTATION

VLLM = "vllm/vllm-openai:v0.11.0"


def model_deployment(
    name: str,
    namespace: str,
    *,
    labels: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    image: str = VLLM,
    replicas: int = 1,
    state: str = "ready",
    strategy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A model server Deployment; ``state`` is what the kubelet stand-in makes of its pods."""
    pod_labels = {"app": name, **(labels or {})}
    container: dict[str, Any] = {"name": "server", "image": image}
    if args:
        container["args"] = list(args)
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": pod_labels, "annotations": {ANNOTATION: state}},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 5},
            },
        },
    }
    if strategy is not None:
        body["spec"]["strategy"] = dict(strategy)
    return body


def model_service(
    name: str, namespace: str, port: int, selector: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": dict(selector or {"app": name}),
            "ports": [{"name": "http", "port": port, "targetPort": port}],
        },
    }


def create(api: Any, *objects: Mapping[str, Any]) -> None:
    """Create objects as the admin, through the real API server."""
    from kubernetes import utils

    for obj in objects:
        utils.create_from_dict(api, dict(obj), namespace=obj["metadata"].get("namespace"))


def ready_pods(api: Any, namespace: str, selector: str) -> int:
    """Pods of a selector that Kubernetes counts Ready (and not terminating)."""
    from kubernetes import client

    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items
    return sum(
        1
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    )
