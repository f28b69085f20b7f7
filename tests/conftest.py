from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.k8s_objects import kube_list

if TYPE_CHECKING:
    from tests.control_plane import ControlPlane
    from tests.kubelet_standin import Kubelet

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep every test away from the real ~/.kube, ~/.aws and home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var in (
        "KUBECONFIG",
        "LLMGW_CONFIG",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "NO_COLOR",
        "LITELLM_MASTER_KEY",
        "LANGFUSE_PUBLIC_KEY",
        "LANGFUSE_SECRET_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))


@pytest.fixture
def real_helm() -> str:
    """The real helm binary (.ci/run installs it with tools/install-helm.sh)."""
    import os

    path = os.environ.get("LLMGW_TEST_HELM") or str(REPO / ".cache/tools/helm")
    if not Path(path).is_file():
        message = f"no helm binary at {path}: run tools/install-helm.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def snapshot(tmp_path: Path) -> Callable[[list[dict[str, Any]]], Path]:
    """Write objects as a `kubectl get pods,services -A -o json` List and return its path."""
    import json

    def _snapshot(items: list[dict[str, Any]]) -> Path:
        path = tmp_path / "cluster.json"
        path.write_text(json.dumps(kube_list(items)), encoding="utf-8")
        return path

    return _snapshot


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., Result]]:
    """Run ``llmgw ARGS`` in-process through the real entry point (error boundary included)."""
    from llmgw.cli import main

    def _run(*args: str | Path) -> Result:
        monkeypatch.setattr(sys, "argv", ["llmgw", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield _run


# -- the real control plane ----------------------------------------------------------------


@dataclass
class Kube:
    """The session's control plane and the kubelet stand-in that plays its nodes."""

    plane: ControlPlane
    kubelet: Kubelet

    def admin(self) -> Any:
        """A kubernetes ApiClient as the cluster admin, for the tests' own setup."""
        return self.plane.admin_client()


@pytest.fixture(scope="session")
def kube() -> Iterator[Kube]:
    """A real kube-apiserver, controller-manager and etcd, started once per test run.

    The binaries come from tools/install-kube.sh; missing ones fail the run in CI (never a
    silent skip) and skip the cluster tests elsewhere."""
    import os

    from tests import control_plane
    from tests.kubelet_standin import Kubelet

    missing = control_plane.missing_binaries()
    if missing:
        message = (
            f"no {', '.join(missing)} in {control_plane.binaries_dir()}: "
            "run bash tools/install-kube.sh"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    plane = control_plane.ControlPlane.start()
    try:
        kubelet = Kubelet(plane.admin_client()).start()
        try:
            yield Kube(plane, kubelet)
        finally:
            kubelet.stop()
    finally:
        plane.stop()


# The gateway namespace fixture of the deploy tests on the real control plane, shared by the
# tests of every driver that deploys (imported last: it uses the fixtures above).
from tests.cluster_gateway import gw  # noqa: E402,F401
