"""Figures for `llmgw sync --watch` against the loopback stand-ins (Kubernetes API with WATCH,
management API with two replicas).

Run: .venv/bin/python bench/watch.py
1. pod Ready → write latency, p50/p99 over 100 events (debounce 0.2 s; the default 2 s adds
   1.8 s to every figure);
2. API requests while idle at the defaults (resync 300 s, watch timeout 300 s), over 60 s;
3. watches that end right after their headers (a clean end, then a dropped connection) for 20 s
   at the default back-off: list/watch requests a second, and how long a change made afterwards
   takes to reach the gateway;
4. memory after 10,000 pod events through the controller's view and reconcile (tracemalloc);
5. CPU while idle: the `llmgw sync --watch` process's CPU seconds over 10 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llmgw.controller import Controller, Options  # noqa: E402
from llmgw.kube import auth  # noqa: E402
from tests.k8s_objects import pod, service  # noqa: E402
from tests.kube_standin import Cluster, kubeconfig  # noqa: E402
from tests.kube_standin import serve as serve_kube  # noqa: E402
from tests.litellm_api_standin import KEY, Api  # noqa: E402
from tests.litellm_api_standin import serve as serve_api  # noqa: E402

MODELS = 100


def world(cluster: Cluster, api_url: str, tmp: Path) -> Path:
    for i in range(MODELS):
        cluster.put(service(f"m{i}", "vllm", {"app": f"m{i}"}, 8000))
    config = tmp / "config.yaml"
    config.write_text(
        f"gateway: {{release: gw, namespace: ai, model_source: api, url: {api_url}}}\n"
        "models:\n  vllm:\n"
        + "".join(f"    - name: m{i}\n" for i in range(MODELS))
        + "secrets: {salt_key: {env: LITELLM_SALT_KEY}}\n"
    )
    return config


def managed(api: Api) -> set[str]:
    return {r["model_name"] for r in api.store.values()}


def controller(options: Options, kc: Path) -> Controller:
    return Controller(
        options, auth.connector(auth.Connection(kc, None)), env={"LITELLM_MASTER_KEY": KEY}
    )


def latency(cluster: Cluster, api: Api, options: Options, kc: Path) -> None:
    c = controller(options, kc)
    thread = threading.Thread(target=c.run, daemon=True)
    thread.start()
    times = []
    try:
        time.sleep(1.0)
        for i in range(MODELS):
            start = time.perf_counter()
            cluster.put(pod(f"m{i}-0", "vllm", {"app": f"m{i}"}, ip=f"10.2.0.{i + 1}"))
            while f"vllm/m{i}" not in managed(api):
                time.sleep(0.005)
            times.append(time.perf_counter() - start)
    finally:
        c.stop()
        thread.join(10)
    q = statistics.quantiles(times, n=100)
    print(
        f"pod Ready -> write: p50 {statistics.median(times):.2f} s, p99 {q[98]:.2f} s over {len(times)} events (debounce 0.2 s)"
    )


def idle(cluster: Cluster, options: Options, kc: Path) -> None:
    c = controller(options, kc)
    thread = threading.Thread(target=c.run, daemon=True)
    thread.start()
    time.sleep(3.0)  # settled
    before = len(cluster.requests)
    time.sleep(60.0)
    c.stop()
    thread.join(10)
    window = cluster.requests[before:]
    lease = [r for r in window if "coordination.k8s.io" in r]
    kube = [r for r in window if "coordination.k8s.io" not in r]
    print(
        f"idle at the defaults: {len(kube)} list/watch requests in 60 s, {len(lease)} Lease "
        "renewals (every 5 s); the resync adds 2 lists and 2 watches every 300 s"
    )


def flapping(cluster: Cluster, api: Api, options: Options, kc: Path) -> None:
    for mode in ("end", "drop"):
        c = controller(replace(options, identity=f"flap-{mode}"), kc)
        thread = threading.Thread(target=c.run, daemon=True)
        thread.start()
        name = f"m{MODELS - 1}"
        try:
            time.sleep(3.0)
            cluster.delete("Pod", "vllm", f"{name}-0")  # the change to make afterwards: back
            while f"vllm/{name}" in managed(api):
                time.sleep(0.05)
            cluster.flap = mode
            before = len(cluster.requests)
            time.sleep(20.0)
            window = [r for r in cluster.requests[before:] if "coordination.k8s.io" not in r]
            cluster.flap = None
            start = time.perf_counter()
            cluster.put(pod(f"{name}-0", "vllm", {"app": name}, ip="10.3.0.1"))
            while f"vllm/{name}" not in managed(api):
                time.sleep(0.05)
            took = time.perf_counter() - start
            print(
                f"watches ending at once ({mode}) for 20 s: {len(window)} list/watch requests, "
                f"{len(window) / 20:.2f} a second; a change afterwards on the gateway in {took:.1f} s"
            )
        finally:
            c.stop()
            thread.join(10)


def event(generation: int, i: int, state: str) -> tuple[object, ...]:
    """A MODIFIED event of model i's pod, as a watch thread queues it."""
    name = f"m{i % MODELS}"
    return (
        "event",
        "vllm",
        "pods",
        generation,
        "MODIFIED",
        pod(f"{name}-0", "vllm", {"app": name}, state=state),
    )


def memory(cluster: Cluster, options: Options, kc: Path) -> None:
    c = controller(options, kc)
    c.start()
    gen = c.informer.view["vllm"].generation
    tracemalloc.start()
    for i in range(1000):  # warm up
        c.informer.handle(event(gen, i, "ready"))
    c.leader = False
    c.reconcile()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(10_000):
        c.informer.handle(event(gen, i, "ready" if i % 2 else "notready"))
        if i % 100 == 0:
            c.reconcile()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    c.stop()
    print(
        f"memory: {base / 1e6:.1f} MB after warm-up, {after / 1e6:.1f} MB after 10,000 pod events (+{(after - base) / 1e6:.2f} MB)"
    )


def cpu(config: Path, kc: Path) -> None:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "llmgw"),
            "-c",
            str(config),
            "sync",
            "--watch",
            "--kubeconfig",
            str(kc),
        ],
        env={**os.environ, "LITELLM_MASTER_KEY": KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(8.0)  # started and settled

        def used() -> float:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        start = used()
        time.sleep(10.0)
        print(f"CPU while idle: {used() - start:.2f} CPU seconds over 10 s")
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    cluster, api = Cluster(), Api(lag=0.1)
    cluster.namespaces.update({"vllm", "ai"})
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_kube(cluster) as kube_url,
        serve_api(api) as api_url,
    ):
        config = world(cluster, api_url, Path(tmp))
        kc = kubeconfig(Path(tmp) / "kc", kube_url)
        options = Options(config_path=config, kubeconfig=kc, debounce=0.2, identity="bench")
        latency(cluster, api, options, kc)
        idle(cluster, options, kc)
        flapping(cluster, api, options, kc)
        memory(cluster, options, kc)
        cpu(config, kc)


if __name__ == "__main__":
    main()
