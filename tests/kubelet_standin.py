"""A kubelet stand-in for the real control plane: it plays the nodes, never llmgw.

It keeps fake Nodes Ready (no heartbeats needed: the node-lifecycle controller does not run),
binds pending pods to them (there is no scheduler), reports them Running and Ready with a pod
IP from 10.244.0.0/16 (a range nothing on this machine dials), runs Job pods to completion,
and finalises deleted pods once their ``linger`` has passed (a real kubelet waits for the
containers to stop). Per-pod knobs hold a pod in another state: ``notready`` (running, not
Ready), ``crashloop`` (CrashLoopBackOff) or ``unscheduled`` (left Pending: a rollout that never
finishes), chosen by namespace and labels with ``hold``, or by the pod annotation
``kubelet.test/state``.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

NODES = ("node-a", "node-b")
ANNOTATION = "kubelet.test/state"
USER_AGENT = "kubelet-standin"
STATES = ("ready", "notready", "crashloop", "unscheduled")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Hold:
    namespace: str
    labels: Mapping[str, str]
    state: str

    def matches(self, pod: Any) -> bool:
        meta = pod.metadata
        have = meta.labels or {}
        return meta.namespace == self.namespace and all(
            have.get(k) == v for k, v in self.labels.items()
        )


@dataclass
class Kubelet:
    api: Any  # kubernetes.client.ApiClient (admin)
    #: Seconds a deleted pod stays Terminating before it is finalised.
    linger: float = 0.0
    holds: list[Hold] = field(default_factory=list)
    _ips: dict[str, str] = field(default_factory=dict)
    _done: dict[str, str] = field(default_factory=dict)
    _finalising: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _kick: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _next_node: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from kubernetes import client

        self.api.user_agent = USER_AGENT
        self.core = client.CoreV1Api(self.api)

    # -- knobs -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def hold(self, namespace: str, labels: Mapping[str, str], state: str) -> Iterator[Hold]:
        """Pods of ``namespace`` with ``labels`` stay in ``state`` until the block ends."""
        assert state in STATES, state
        h = Hold(namespace, dict(labels), state)
        self.holds.append(h)
        self.kick()
        try:
            yield h
        finally:
            self.release(h)

    def release(self, h: Hold) -> None:
        """End a hold early: its pods go the way of every other pod."""
        if h in self.holds:
            self.holds.remove(h)
        self.kick()

    def kick(self) -> None:
        """Look at every pod again now (a knob changed)."""
        self._kick.set()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> Kubelet:
        self._make_nodes()
        self._thread = threading.Thread(target=self._loop, name="kubelet-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(15)

    def _make_nodes(self) -> None:
        from kubernetes.client.exceptions import ApiException

        for i, name in enumerate(NODES):
            body = {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}
            try:
                self.core.create_node(body)
            except ApiException as exc:
                if exc.status != 409:
                    raise
            now = _now()
            status = {
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "KubeletReady",
                     "lastHeartbeatTime": now, "lastTransitionTime": now},
                ],
                "addresses": [{"type": "InternalIP", "address": f"10.99.0.{i + 1}"},
                              {"type": "Hostname", "address": name}],
                "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250", "nvidia.com/gpu": "8"},
                "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "250",
                                "nvidia.com/gpu": "8"},
                "nodeInfo": {"kubeletVersion": "v1.37.2", "architecture": "amd64",
                             "operatingSystem": "linux", "machineID": "", "systemUUID": "",
                             "bootID": "", "kernelVersion": "", "osImage": "",
                             "containerRuntimeVersion": "", "kubeProxyVersion": ""},
            }  # fmt: skip
            self.core.patch_node_status(name, {"status": status})

    def _loop(self) -> None:
        from kubernetes import watch

        while not self._stop.is_set():
            self._kick.clear()
            try:
                listed = self.core.list_pod_for_all_namespaces(_request_timeout=30)
                for pod in listed.items:
                    self._handle(pod)
                w = watch.Watch()
                for event in w.stream(
                    self.core.list_pod_for_all_namespaces,
                    resource_version=listed.metadata.resource_version,
                    timeout_seconds=2,
                    _request_timeout=10,
                ):
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._handle(event["object"])
                    if self._stop.is_set() or self._kick.is_set():
                        w.stop()
            except Exception as exc:  # the API server restarting, a 410: list again
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                self._stop.wait(0.2)

    # -- one pod -----------------------------------------------------------------------------

    def state_of(self, pod: Any) -> str:
        for h in reversed(self.holds):
            if h.matches(pod):
                return h.state
        wanted = (pod.metadata.annotations or {}).get(ANNOTATION, "ready")
        return wanted if wanted in STATES else "ready"

    def _handle(self, pod: Any) -> None:
        from kubernetes.client.exceptions import ApiException

        meta = pod.metadata
        key = meta.uid
        try:
            if meta.deletion_timestamp is not None:
                self._finalise(pod)
                return
            if pod.status.phase in ("Succeeded", "Failed"):
                return
            state = self.state_of(pod)
            if state == "unscheduled":
                return
            if not pod.spec.node_name:
                self._bind(pod)
            owner = (meta.owner_references or [{}])[0]
            if getattr(owner, "kind", "") == "Job":
                state = "succeeded"
            if self._done.get(key) == state:
                return
            self.core.patch_namespaced_pod_status(
                meta.name, meta.namespace, {"status": self._status(pod, state)}
            )
            self._done[key] = state
        except ApiException as exc:
            if exc.status not in (404, 409):  # gone, or bound by an earlier pass
                self.errors.append(f"{meta.namespace}/{meta.name}: {exc.status} {exc.reason}")

    def _bind(self, pod: Any) -> None:
        node = NODES[self._next_node % len(NODES)]
        self._next_node += 1
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod.metadata.name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        # The generated client cannot read a Binding answer (kubernetes-client/python#547).
        self.core.create_namespaced_pod_binding(
            pod.metadata.name, pod.metadata.namespace, body, _preload_content=False
        )
        pod.spec.node_name = node

    def _ip(self, uid: str) -> str:
        if uid not in self._ips:
            n = len(self._ips) + 1
            self._ips[uid] = str(ipaddress.ip_address("10.244.0.0") + n)
        return self._ips[uid]

    def _status(self, pod: Any, state: str) -> dict[str, Any]:
        now = _now()
        ready = state == "ready"
        done = state == "succeeded"
        flag = "True" if ready else "False"
        statuses = []
        for c in pod.spec.containers:
            s: dict[str, Any] = {
                "name": c.name, "image": c.image, "imageID": f"docker-pullable://{c.image}",
                "ready": ready, "started": state in ("ready", "notready"), "restartCount": 0,
                "containerID": f"containerd://{pod.metadata.uid[:12]}{c.name}",
            }  # fmt: skip
            if state == "crashloop":
                s["restartCount"] = 5
                s["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 40s restarting failed container",
                    }
                }
                s["lastState"] = {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": now,
                        "finishedAt": now,
                    }
                }
            elif done:
                s["state"] = {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": now,
                        "finishedAt": now,
                    }
                }
            else:
                s["state"] = {"running": {"startedAt": now}}
            statuses.append(s)
        ip = self._ip(pod.metadata.uid)
        return {
            "phase": "Succeeded" if done else "Running",
            "hostIP": "10.99.0.1",
            "hostIPs": [{"ip": "10.99.0.1"}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
                {"type": "Ready", "status": flag, "lastTransitionTime": now},
            ],
            "containerStatuses": statuses,
        }

    def _finalise(self, pod: Any) -> None:
        key = pod.metadata.uid
        if key in self._finalising:
            return
        self._finalising.add(key)
        name, namespace = pod.metadata.name, pod.metadata.namespace

        def gone() -> None:
            from kubernetes.client.exceptions import ApiException

            try:
                self.core.delete_namespaced_pod(
                    name, namespace, grace_period_seconds=0,
                    body={"preconditions": {"uid": key}, "gracePeriodSeconds": 0},
                )  # fmt: skip
            except ApiException as exc:
                if exc.status not in (404, 409):
                    self.errors.append(f"{namespace}/{name}: delete {exc.status}")

        if self.linger <= 0:
            gone()
        else:
            timer = threading.Timer(self.linger, gone)
            timer.daemon = True
            timer.start()


def wait_for(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> float:
    """Poll ``check`` until it holds; a bounded wait, so a loaded machine only makes a test
    slower, not wrong."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s{': ' + what if what else ''}")
        time.sleep(0.05)
    return time.monotonic() - start
