"""The real LiteLLM proxy with its database path live: replicas sharing one store.

LiteLLM reaches PostgreSQL only through prisma-client-py, whose query engine cannot be
downloaded here; ``tools/litellm-db/prisma`` stands in for that one package (over one SQLite file),
and everything above it is LiteLLM's own: the management endpoints, auth, encryption with the
salt key, the router and the reload loop that brings each replica in step with the database.
Two processes on one store behave as two pods on one database.

The self-hosted models' ``api_base`` names Services (``http://llama-8b.vllm:8000/v1``) that do
not resolve here, so the replicas send model traffic through ``HTTP_PROXY`` to the OpenAI
stand-in, which records the host each request was for: which Service the gateway routed to.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests import litellm_proxy
from tests.conftest import REPO
from tests.litellm_proxy import MASTER_KEY, Proxy

SHIM = REPO / "tools" / "litellm-db"
SALT_KEY = "sk-e2e-salt-key"
#: Seconds between each replica's reloads from the database (short, so tests stay fast).
RELOAD = 1


def _path_without_prisma() -> str:
    """PATH without a ``prisma`` executable: LiteLLM then skips its migration check (the
    shim's ``python -m prisma`` would answer it too, but nothing needs to run)."""
    keep = [
        d for d in os.environ.get("PATH", "").split(os.pathsep) if not (Path(d) / "prisma").exists()
    ]
    return os.pathsep.join(keep)


def proxy_config(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the chart mounts for ``gateway.model_source: api``: no model in the file."""
    return {
        "model_list": [],
        "general_settings": {
            "master_key": "os.environ/LITELLM_MASTER_KEY",
            "store_model_in_db": True,
            "proxy_config_reload_interval_seconds": RELOAD,
        },
        **(extra or {}),
    }


@contextmanager
def replicas(
    work: Path,
    count: int = 2,
    config: Mapping[str, Any] | None = None,
    http_proxy: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[list[Proxy]]:
    """``count`` proxies on one store, each started with ``config`` (default: api mode)."""
    store = work / "store.sqlite"
    env = {
        "PATH": _path_without_prisma(),
        "PYTHONPATH": str(SHIM),
        "LLMGW_PRISMA_STORE": str(store),
        "DATABASE_URL": "postgresql://llmgw:unused@127.0.0.1:9/litellm",  # never dialled
        "STORE_MODEL_IN_DB": "True",
        "DISABLE_SCHEMA_UPDATE": "true",
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LITELLM_SALT_KEY": SALT_KEY,
    }
    env.update(extra_env or {})  # what the managed Secret gives the pods (an engine's key)
    if http_proxy:
        env.update(litellm_proxy.through(http_proxy))
    with ExitStack() as stack:
        proxies = []
        for i in range(count):
            where = work / f"replica-{i}"
            where.mkdir(exist_ok=True)
            proxies.append(
                stack.enter_context(litellm_proxy.start(config or proxy_config(), env, where))
            )
        yield proxies
