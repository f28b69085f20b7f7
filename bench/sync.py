"""Figures for `llmgw sync` against the management-API stand-in (two replicas, 0.3 s reload lag).

Run: .venv/bin/python bench/sync.py [MODELS]   (default 200)
Prints writes per sync (first: one per model; in step: 0; one model changed: 1) and wall time
(discovery from a snapshot, reading the gateway, writes with bounded concurrency, confirmation
on the replicas). Goal (sync issue): 200 models in <= 2 s.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llmgw import pipeline, syncer  # noqa: E402
from tests.k8s_objects import kube_list, pod, service  # noqa: E402
from tests.litellm_api_standin import KEY, Api, serve  # noqa: E402


class Yes:
    def phase(self, name: str) -> None: ...
    def preview(self, preview: Any) -> None: ...
    def confirm(self, question: str) -> bool | None:
        return True


def snapshot(path: Path, models: int, port_of_first: int) -> Path:
    items: list[dict[str, Any]] = []
    for i in range(models):
        items.append(pod(f"m{i}-0", "vllm", {"app": f"m{i}"}, ip=f"10.1.{i // 250}.{i % 250}"))
        items.append(service(f"m{i}", "vllm", {"app": f"m{i}"}, port_of_first if i == 0 else 8000))
    path.write_text(json.dumps(kube_list(items)))
    return path


def main() -> None:
    models = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    api = Api()
    with serve(api) as url, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            f"gateway: {{release: gw, namespace: ai, model_source: api, url: {url}}}\n"
            "models:\n  vllm:\n"
            + "".join(f"    - name: m{i}\n" for i in range(models))
            + "secrets: {salt_key: {env: LITELLM_SALT_KEY}}\n"
        )
        for label, port in (("first sync", 8000), ("in step", 8000), ("one changed", 9000)):
            snap = snapshot(Path(tmp) / "c.json", models, port)
            before = len(api.writes())
            start = time.perf_counter()
            outcome = syncer.run(
                syncer.Settings(config, pipeline.Source(pods_from=snap), yes=True),
                Yes(),
                env={"LITELLM_MASTER_KEY": KEY},
            )
            elapsed = time.perf_counter() - start
            writes = len(api.writes()) - before
            replicas = (
                f"replicas in step after {outcome.converged_after:.2f} s"
                if outcome.converged_after is not None
                else "no write to confirm"
            )
            print(
                f"{models} models, {label:11s}: {writes:4d} writes, {elapsed:5.2f} s "
                f"(goal <= 2 s), {replicas}"
            )


if __name__ == "__main__":
    main()
