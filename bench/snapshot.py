"""Figures for reading large snapshots (`--pods-from`): wall time and peak memory per format.

Run: .venv/bin/python bench/snapshot.py [PODS ...]   (default 5000 10000 50000)
Each figure is one `llmgw discover --pods-from FILE -o json` process over a snapshot of PODS
ready pods (100 models in one namespace, one Service each), as JSON and as YAML, so it counts
everything a user waits for: start-up, parsing, the boundary checks and discovery.
Goal (hardening issue): the snapshot path as fast as the live path (10,000 pods in ~1 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.k8s_objects import kube_list, pod, service  # noqa: E402

MODELS = 100


def snapshot(pods: int) -> dict[str, object]:
    items = [
        pod(
            f"m{i % MODELS}-{i}",
            "vllm",
            {"app": f"m{i % MODELS}"},
            args=["--served-model-name", f"org/m{i % MODELS}"],
            ip=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
        )
        for i in range(pods)
    ]
    items += [service(f"m{i}", "vllm", {"app": f"m{i}"}, 8000) for i in range(MODELS)]
    return kube_list(items)


def run(config: Path, snap: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one discover process."""
    argv = [sys.executable, "-m", "llmgw", "-c", str(config), "discover"]
    start = time.perf_counter()
    child = subprocess.Popen(
        [*argv, "--pods-from", str(snap), "-o", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"discover failed: {child.stderr.read().decode() if child.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def write(pods: int, directory: Path) -> None:
    """Write the JSON and YAML snapshots (run in its own process: see ``main``)."""
    import yaml

    data = snapshot(pods)
    (directory / f"{pods}.json").write_text(json.dumps(data))
    (directory / f"{pods}.yaml").write_text(yaml.dump(data, Dumper=yaml.CSafeDumper))


def main() -> None:
    if sys.argv[1:2] == ["--write"]:
        write(int(sys.argv[2]), Path(sys.argv[3]))
        return
    counts = [int(a) for a in sys.argv[1:]] or [5000, 10000, 50000]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            "models:\n  vllm:\n" + "".join(f"    - name: m{i}\n" for i in range(MODELS))
        )
        for pods in counts:
            # Made in another process: Linux carries a parent's peak RSS into the children it
            # starts, so a parent holding the snapshot would inflate every figure below.
            subprocess.run([sys.executable, __file__, "--write", str(pods), tmp], check=True)
            for path in (Path(tmp) / f"{pods}.json", Path(tmp) / f"{pods}.yaml"):
                size = path.stat().st_size / 1e6
                elapsed, peak = run(config, path)
                print(
                    f"{pods:6d} pods  {path.suffix[1:]:4s} {size:6.1f} MB  "
                    f"{elapsed:6.2f} s  peak RSS {peak:5.0f} MB"
                )


if __name__ == "__main__":
    main()
