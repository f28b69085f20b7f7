"""Figures for `llmgw sync` against the real LiteLLM proxy: two replicas on one store
(tests/litellm_db.py), each reloading from the database every second.

Run: .venv/bin/python bench/sync.py [MODELS]   (default 200)
Prints the write floor (MODELS sequential POST /model/new to the replica llmgw writes to,
measured in the same run), then wall time and writes for a first sync, a sync in step, and one
with one model changed (discovery from a snapshot, reading the gateway, writes, confirmation).
Goals (api-mode issue): first sync <= 1.3x the floor; in step: 0 writes in <= 1 s.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llmgw import pipeline, syncer  # noqa: E402
from tests import litellm_db  # noqa: E402
from tests.k8s_objects import kube_list, pod, service  # noqa: E402
from tests.litellm_proxy import MASTER_KEY, Proxy  # noqa: E402


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


def db_rows(proxy: Proxy) -> int:
    status, body = proxy.call("GET", "/model/info")
    assert status == 200, body
    return sum(1 for m in body["data"] if m["model_info"].get("db_model"))


def floor(proxy: Proxy, models: int) -> float:
    """MODELS sequential creates of rows like llmgw's, timed; then removed again (untimed)."""
    ids = [str(uuid.uuid4()) for _ in range(models)]
    start = time.perf_counter()
    for i, row_id in enumerate(ids):
        status, body = proxy.call(
            "POST",
            "/model/new",
            {
                "model_name": f"floor/m{i}",
                "litellm_params": {
                    "model": f"hosted_vllm/m{i}",
                    "api_base": f"http://m{i}.vllm:8000/v1",
                },
                "model_info": {"id": row_id, "mode": "chat"},
            },
        )
        assert status == 200, body
    elapsed = time.perf_counter() - start
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: proxy.call("POST", "/model/delete", {"id": i}), ids))
    while db_rows(proxy):
        time.sleep(0.2)
    return elapsed


def main() -> None:
    models = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp, litellm_db.replicas(Path(tmp)) as proxies:
        base = floor(proxies[0], models)
        print(f"write floor: {models} sequential POST /model/new in {base:5.2f} s")
        config = Path(tmp) / "config.yaml"
        config.write_text(
            f"gateway: {{release: gw, namespace: ai, model_source: api, url: {proxies[0].url}}}\n"
            "models:\n  vllm:\n"
            + "".join(f"    - name: m{i}\n" for i in range(models))
            + "secrets: {salt_key: {env: LITELLM_SALT_KEY}}\n"
        )
        for label, port in (("first sync", 8000), ("in step", 8000), ("one changed", 9000)):
            snap = snapshot(Path(tmp) / "c.json", models, port)
            start = time.perf_counter()
            outcome = syncer.run(
                syncer.Settings(config, pipeline.Source(pods_from=snap), yes=True),
                Yes(),
                env={"LITELLM_MASTER_KEY": MASTER_KEY},
            )
            elapsed = time.perf_counter() - start
            writes = outcome.writes if outcome.applied else 0
            confirmed = (
                f"replica in step after {outcome.converged_after:.2f} s"
                if outcome.converged_after is not None
                else "nothing to confirm"
            )
            ratio = f", {elapsed / base:.2f}x the floor" if label == "first sync" else ""
            print(
                f"{models} models, {label:11s}: {writes:4d} writes, {elapsed:5.2f} s{ratio}, {confirmed}"
            )
        deadline = time.monotonic() + 30
        while db_rows(proxies[1]) != models:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        print(f"the other replica serves all {models} rows after its reload")


if __name__ == "__main__":
    main()
