"""A gateway namespace on the real control plane for deploy tests: the config, the
kubeconfig, and helm's view of the release (the ``gw`` fixture, registered in conftest)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, Kube, Result

Cli = Callable[..., Result]
CHART = REPO / "tests/charts/litellm-helm-1x"


@pytest.fixture
def gw(kube: Kube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_helm: str) -> Gateway:
    from tests.test_deploy import SECRETS  # (imported here: test_deploy imports conftest)

    monkeypatch.setenv("PATH", f"{Path(real_helm).parent}{os.pathsep}{os.environ['PATH']}")
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    ns = kube.plane.namespace("gateway")
    return Gateway(kube, ns, tmp_path, real_helm)


class Gateway:
    """One gateway namespace: the config, the kubeconfig, and helm's view of the release."""

    def __init__(self, kube: Kube, ns: str, tmp_path: Path, helm: str) -> None:
        self.kube, self.ns, self.helm = kube, ns, helm
        self.kc = kube.plane.kubeconfig(tmp_path / "kc")
        self.config = tmp_path / "config.yaml"
        self.write_config()

    def write_config(self, extra_bedrock: str = "") -> None:
        text = (REPO / "config.example.yaml").read_text()
        text = text.replace("chart: oci://ghcr.io/berriai/litellm-helm", f"chart: {CHART}")
        text = text.replace("  namespace: litellm\n", f"  namespace: {self.ns}\n", 1)
        if extra_bedrock:
            text = text.replace("  llm:\n", f"  llm:\n{extra_bedrock}", 1)
        self.config.write_text(text)

    def deploy(self, cli: Cli, *extra: str | Path, timeout: str = "60s") -> Result:
        """A deploy whose rollout must be Ready within ``timeout`` (not helm's 10 minutes)."""
        return cli(
            "-c", self.config, "deploy", "--pods-from", REPO / "examples/cluster.yaml",
            "--kubeconfig", self.kc, "--yes", "--timeout", timeout, *extra,
        )  # fmt: skip

    def helm_json(self, *args: str) -> Any:
        out = subprocess.run(
            [self.helm, *args, "-n", self.ns, "--kubeconfig", str(self.kc), "-o", "json"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return json.loads(out.stdout)

    def history(self) -> list[dict[str, Any]]:
        return list(self.helm_json("history", "litellm"))

    def config_map(self) -> dict[str, Any]:
        from kubernetes import client

        cm = client.CoreV1Api(self.kube.admin()).read_namespaced_config_map(
            "litellm-config", self.ns
        )
        return dict(yaml.safe_load(cm.data["config.yaml"]))

    def served(self) -> set[str]:
        return {e["model_name"] for e in self.config_map()["model_list"]}

    def secret(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.kube.admin()).read_namespaced_secret(
            "litellm-llmgw-env", self.ns
        )

    def ready_replicas(self) -> int:
        from kubernetes import client

        d = client.AppsV1Api(self.kube.admin()).read_namespaced_deployment("litellm", self.ns)
        return int(d.status.ready_replicas or 0)
