"""Starting the real LiteLLM proxy (pinned by tools/install-litellm.sh) on loopback.

In CI a missing proxy fails the run; elsewhere the test is skipped with the command to run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

MASTER_KEY = "sk-e2e-master-key"


def need(path: str | None, what: str) -> str:
    if path and Path(path).exists():
        return path
    message = f"{what} is not installed: run tools/install-litellm.sh and install redis-server"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proxy:
    url: str
    log: Path

    def call(
        self, method: str, path: str, body: Any = None, key: str | None = MASTER_KEY
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def chat(self, model: str, text: str) -> tuple[int, Any]:
        return self.call(
            "POST",
            "/v1/chat/completions",
            {"model": model, "messages": [{"role": "user", "content": text}]},
        )

    def model_ids(self) -> list[str]:
        status, body = self.call("GET", "/v1/models")
        assert status == 200, body
        return sorted(m["id"] for m in body["data"])


def through(backend: str) -> dict[str, str]:
    """The proxy's environment to reach every engine through ``backend`` as its HTTP proxy:
    cluster names are never resolved, and the backend records the URL each request was for."""
    return {
        "HTTP_PROXY": backend,
        "http_proxy": backend,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LITELLM_", "OPENAI_", "PROXY_", "REDIS_"))
    }
    return {
        **keep,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "AWS_ACCESS_KEY_ID": "AKIDE2E",
        "AWS_SECRET_ACCESS_KEY": "e2e",
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }


@contextmanager
def start(proxy_config: Mapping[str, Any], env: Mapping[str, str], work: Path) -> Iterator[Proxy]:
    """Run the proxy with ``proxy_config`` (what the chart puts in its ConfigMap)."""
    litellm = need(
        os.environ.get("LLMGW_TEST_LITELLM") or str(REPO / ".cache/litellm-venv/bin/litellm"),
        "the LiteLLM proxy",
    )
    config_file = work / "proxy_config.yaml"
    config_file.write_text(yaml.safe_dump(dict(proxy_config), sort_keys=False))
    port = free_port()
    log = work / "proxy.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [litellm, "--config", str(config_file), "--host", "127.0.0.1", "--port", str(port)],
            env=base_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the LiteLLM proxy exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(url + "/health/readiness", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the LiteLLM proxy was not ready in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Proxy(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
