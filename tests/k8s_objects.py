"""Builders for Kubernetes Pod and Service objects shaped like the API server returns them."""

from __future__ import annotations

from typing import Any

CREATED = "2026-11-20T08:00:00Z"


def pod(
    name: str,
    namespace: str,
    labels: dict[str, str],
    *,
    state: str = "ready",
    args: list[str] | None = None,
    command: list[str] | None = None,
    env: list[dict[str, str]] | None = None,
    image: str = "vllm/vllm-openai:v0.11.0",
    ip: str = "10.0.1.10",
) -> dict[str, Any]:
    """A pod in one of the states: ready, crashloop, pending, unschedulable, notready,
    terminating, succeeded, noip, imagepull."""
    container: dict[str, Any] = {"name": "server", "image": image}
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    if env:
        container["env"] = env
    running = {"running": {"startedAt": CREATED}}
    ready = state in ("ready", "terminating", "noip")
    conditions = [
        {"type": "Initialized", "status": "True", "lastTransitionTime": CREATED},
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": CREATED},
        {
            "type": "ContainersReady",
            "status": "True" if ready else "False",
            "lastTransitionTime": CREATED,
        },
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": CREATED},
    ]
    status: dict[str, Any] = {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": "192.0.2.10",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": CREATED,
        "qosClass": "Burstable",
        "containerStatuses": [
            {
                "name": "server",
                "image": image,
                "imageID": "",
                "ready": ready,
                "restartCount": 0,
                "started": ready,
                "state": running,
            }
        ],
    }
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "uid": f"uid-{namespace}-{name}",
        "creationTimestamp": CREATED,
        "resourceVersion": "1000",
    }
    cs = status["containerStatuses"][0]
    if state == "crashloop":
        cs["restartCount"] = 17
        cs["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": "back-off 5m0s restarting failed container",
            }
        }
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": CREATED}}
    elif state == "imagepull":
        status["phase"] = "Pending"
        cs["state"] = {
            "waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}
        }
    elif state == "pending":
        status["phase"] = "Pending"
        cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        del status["podIP"], status["podIPs"]
    elif state == "unschedulable":
        status = {
            "phase": "Pending",
            "qosClass": "Burstable",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient aws.amazon.com/neuron.",
                    "lastTransitionTime": CREATED,
                }
            ],
        }
    elif state == "notready":
        pass
    elif state == "terminating":
        meta["deletionTimestamp"] = "2026-11-20T09:00:00Z"
        meta["deletionGracePeriodSeconds"] = 30
    elif state == "succeeded":
        status["phase"] = "Succeeded"
        cs["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": CREATED}}
    elif state == "noip":
        del status["podIP"], status["podIPs"]
    elif state != "ready":
        raise ValueError(state)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [container], "restartPolicy": "Always"},
        "status": status,
    }


def service(
    name: str,
    namespace: str,
    selector: dict[str, str],
    port: int,
    target_port: int | str | None = None,
    port_name: str = "http",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-svc-{namespace}-{name}",
            "creationTimestamp": CREATED,
            "resourceVersion": "900",
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "172.20.0.10",
            "selector": selector,
            "ports": [
                {
                    "name": port_name,
                    "port": port,
                    "protocol": "TCP",
                    "targetPort": target_port if target_port is not None else port,
                }
            ],
        },
        "status": {"loadBalancer": {}},
    }


def kube_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
