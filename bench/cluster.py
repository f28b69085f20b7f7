"""The discovery and controller figures on the real control plane, beside the stand-in's.

Run: .venv/bin/python bench/cluster.py   (after bash tools/install-kube.sh)
1. live discovery of 10,000 pods (2,000 models x 5 replicas in 5 namespaces) through the real
   kube-apiserver: seconds, LIST requests (from the API server's own audit log);
2. the controller's pod Ready -> gateway row latency, p50/p99 over 50 pods made Ready by a
   status write to the real API server (debounce 0.2 s), and the same on the stand-in.
The objects are made as a kubelet would leave them (bound, Running, Ready); the stand-in gets
the very same objects, read back from the real server.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llmgw import config, discovery  # noqa: E402
from llmgw.controller import Controller, Options  # noqa: E402
from llmgw.kube import auth, read  # noqa: E402
from tests.control_plane import ControlPlane  # noqa: E402
from tests.k8s_objects import pod, service  # noqa: E402
from tests.kube_standin import Cluster, kubeconfig, serve_apart  # noqa: E402
from tests.kube_standin import serve as serve_kube  # noqa: E402
from tests.litellm_api_standin import KEY, Api  # noqa: E402
from tests.litellm_api_standin import serve as serve_api  # noqa: E402

ENGINES = ("vllm", "sglang", "tgi", "ollama", "tei")


def admin(plane: ControlPlane) -> Any:
    return plane.admin_client()


def spec_of(svc: dict[str, Any]) -> dict[str, Any]:
    """A Service's spec as one creates it: the cluster IP is the API server's to allocate."""
    return {k: v for k, v in svc["spec"].items() if k not in ("clusterIP", "clusterIPs")}


def put_pod(core: Any, obj: dict[str, Any]) -> None:
    """Create a pod already bound, then write the status a kubelet would."""
    meta, status = obj["metadata"], obj["status"]
    body = {
        "metadata": {"name": meta["name"], "labels": meta["labels"]},
        "spec": {"nodeName": "node-a", "containers": obj["spec"]["containers"]},
    }
    core.create_namespaced_pod(meta["namespace"], body)
    # The server decides the QoS class at create time; a status may not change it.
    written = {k: v for k, v in status.items() if k != "qosClass"}
    core.patch_namespaced_pod_status(meta["name"], meta["namespace"], {"status": written})


def fill(plane: ControlPlane, objects: list[dict[str, Any]]) -> float:
    from kubernetes import client

    api = admin(plane)
    core = client.CoreV1Api(api)
    start = time.perf_counter()
    for ns in {o["metadata"]["namespace"] for o in objects}:
        plane.ensure_namespace(ns)
    pods = [o for o in objects if o["kind"] == "Pod"]
    for svc in (o for o in objects if o["kind"] == "Service"):
        core.create_namespaced_service(svc["metadata"]["namespace"], {
            "metadata": {"name": svc["metadata"]["name"]}, "spec": spec_of(svc)})  # fmt: skip
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda o: put_pod(core, o), pods))
    return time.perf_counter() - start


def discovery_figure(plane: ControlPlane, models: int, replicas: int) -> None:
    objects: list[dict[str, Any]] = []
    lines = ["models:"]
    for engine in ENGINES:
        lines.append(f"  {engine}:")
        for i in range(models // len(ENGINES)):
            name = f"{engine}-m{i}"
            lines.append(f"    - name: {name}")
            for r in range(replicas):
                objects.append(
                    pod(f"{name}-{r}", engine, {"app": name}, ip=f"10.244.{i % 250}.{r + 1}")
                )
            objects.append(service(name, engine, {"app": name}, 8000))
    made = fill(plane, objects)
    print(f"made {len(objects)} objects through the real API server in {made:.0f} s")
    cfg = config.parse("\n".join(lines) + "\n", Path("bench.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        kc = plane.kubeconfig(Path(tmp) / "kc")
        best = float("inf")
        for _ in range(3):
            before = len(list(plane.audit()))
            start = time.perf_counter()
            conn = auth.connect(auth.Connection(kc, None))
            state = read.read_state(conn, discovery.wanted(cfg))
            found = discovery.discover(cfg, state)
            best = min(best, time.perf_counter() - start)
            lists = [e for e in list(plane.audit())[before:]
                     if e["verb"] == "list" and "OpenAPI" in e.get("userAgent", "")]  # fmt: skip
        ready = sum(m.ready for m in found)
        pods = sum(len(p) for p in state.pods.values())
        print(f"real API server: {models} models x {replicas} pods: {best:.2f} s (best of 3), "
              f"{len(lists)} LIST requests for {len(ENGINES)} namespaces; {pods} pods read, "
              f"{ready} models ready")  # fmt: skip
        stand = Cluster()
        stand.add(*objects)
        with serve_apart(stand) as url:
            skc = kubeconfig(Path(tmp) / "skc", url)
            sbest = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                conn = auth.connect(auth.Connection(skc, None))
                found = discovery.discover(cfg, read.read_state(conn, discovery.wanted(cfg)))
                sbest = min(sbest, time.perf_counter() - start)
        print(f"stand-in:        {models} models x {replicas} pods: {sbest:.2f} s (best of 3)")


LATENCY_MODELS = 50


def latency_config(tmp: Path, ns: str, api_url: str) -> Path:
    path = tmp / "config.yaml"
    path.write_text(
        f"gateway: {{release: gw, namespace: {ns}, model_source: api, url: {api_url}}}\n"
        "models:\n  vllm:\n"
        + "".join(f"    - {{name: m{i}, namespace: {ns}}}\n" for i in range(LATENCY_MODELS))
        + "secrets: {salt_key: {env: LITELLM_SALT_KEY}}\n"
    )
    return path


def measure(kc: Path, cfg: Path, api: Api, make_ready: Any) -> list[float]:
    options = Options(config_path=cfg, kubeconfig=kc, debounce=0.2, grace=3.0, identity="bench")
    c = Controller(
        options, auth.connector(auth.Connection(kc, None)), env={"LITELLM_MASTER_KEY": KEY}
    )
    thread = threading.Thread(target=c.run, daemon=True)
    thread.start()
    times = []
    try:
        time.sleep(2.0)
        for i in range(LATENCY_MODELS):
            start = time.perf_counter()
            make_ready(i)
            while f"vllm/m{i}" not in {r["model_name"] for r in api.store.values()}:
                time.sleep(0.005)
            times.append(time.perf_counter() - start)
    finally:
        c.stop()
        thread.join(15)
    return times


def figures(name: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=100)
    print(f"{name}: Ready -> row p50 {statistics.median(times):.2f} s, p99 {q[98]:.2f} s "
          f"over {len(times)} pods (debounce 0.2 s)")  # fmt: skip


def latency_figure(plane: ControlPlane) -> None:
    from kubernetes import client

    ns = "latency"
    plane.ensure_namespace(ns)
    core = client.CoreV1Api(admin(plane))
    pods = []
    for i in range(LATENCY_MODELS):
        p = pod(f"m{i}-0", ns, {"app": f"m{i}"}, state="notready", ip=f"10.245.0.{i + 1}")
        core.create_namespaced_service(ns, {"metadata": {"name": f"m{i}"},
                                            "spec": spec_of(service(f"m{i}", ns, {"app": f"m{i}"}, 8000))})  # fmt: skip
        put_pod(core, p)
        pods.append(p)
    ready = pod("x", ns, {}, state="ready")["status"]
    with tempfile.TemporaryDirectory() as tmp:
        api = Api(lag=0.0)
        with serve_api(api) as url:
            cfg = latency_config(Path(tmp), ns, url)
            kc = plane.kubeconfig(Path(tmp) / "kc")
            real = measure(kc, cfg, api, lambda i: core.patch_namespaced_pod_status(
                f"m{i}-0", ns, {"status": {"conditions": ready["conditions"],
                                           "containerStatuses": ready["containerStatuses"]}}))  # fmt: skip
        figures("real API server", real)
        stand = Cluster()
        stand.namespaces.add(ns)
        for i, p in enumerate(pods):
            stand.put(service(f"m{i}", ns, {"app": f"m{i}"}, 8000))
            stand.put(p)
        api = Api(lag=0.0)
        with serve_kube(stand) as kurl, serve_api(api) as url:
            cfg = latency_config(Path(tmp), ns, url)
            skc = kubeconfig(Path(tmp) / "skc", kurl)
            fake = measure(skc, cfg, api, lambda i: stand.put(
                pod(f"m{i}-0", ns, {"app": f"m{i}"}, ip=f"10.245.0.{i + 1}")))  # fmt: skip
        figures("stand-in       ", fake)


def main() -> None:
    start = time.perf_counter()
    plane = ControlPlane.start()
    print(f"control plane started in {plane.started_in:.1f} s "
          f"(wall {time.perf_counter() - start:.1f} s)")  # fmt: skip
    try:
        latency_figure(plane)
        discovery_figure(plane, 2000, 5)
    finally:
        plane.stop()


if __name__ == "__main__":
    main()
