"""inputs: one run, one Kubernetes client — the connection made on first use is the one
discovery, the targets and the gateway share (counted on the real API server)."""

from __future__ import annotations

import pytest
from pytest_mock import MockerFixture

from llmgw.kube import auth
from tests.cluster_gateway import Cli, Gateway
from tests.conftest import REPO

pytestmark = pytest.mark.cluster


def test_deploy_and_status_open_one_client_each(
    gw: Gateway,
    cli: Cli,
    mocker: MockerFixture,
) -> None:
    """Pods read live, the managed Secret read and written, helm run: one connection."""
    connect = mocker.spy(auth, "connect")
    live = ("-c", gw.config, "--kubeconfig", gw.kc)
    deployed = cli(*live[:2], "deploy", *live[2:], "--yes", "--timeout", "60s")
    assert deployed.code == 0, deployed.err
    assert connect.call_count == 1
    connect.reset_mock()
    status = cli(*live[:2], "status", *live[2:], "-o", "json")
    assert status.code == 0, status.out + status.err
    assert connect.call_count == 1


def test_a_snapshot_run_opens_a_client_only_for_what_needs_the_cluster(
    gw: Gateway,
    cli: Cli,
    mocker: MockerFixture,
) -> None:
    connect = mocker.spy(auth, "connect")
    snap = REPO / "examples/cluster.yaml"
    rendered = cli("-c", gw.config, "render", "--pods-from", snap, "--stdout")
    assert rendered.code == 0, rendered.err
    assert connect.call_count == 0  # a render from a snapshot never connects
    preview = cli(
        "-c", gw.config, "deploy", "--pods-from", snap, "--kubeconfig", gw.kc, "--dry-run",
    )  # fmt: skip
    assert preview.code == 1, preview.err  # a new install would be made
    assert connect.call_count == 1


def test_sync_and_verify_open_one_client_each(
    gw: Gateway,
    cli: Cli,
    mocker: MockerFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pods read live, the gateway at its URL (the management-API stand-in)."""
    from tests.litellm_api_standin import KEY, Api, serve

    monkeypatch.setenv("LITELLM_MASTER_KEY", KEY)
    monkeypatch.setenv("LITELLM_SALT_KEY", "salt")
    with serve(Api(lag=0.0)) as url:
        text = gw.config.read_text().replace(
            "  release: litellm\n", f"  release: litellm\n  model_source: api\n  url: {url}\n", 1
        )
        gw.config.write_text(
            text.replace("secrets:\n", "secrets:\n  salt_key: {env: LITELLM_SALT_KEY}\n", 1)
        )
        connect = mocker.spy(auth, "connect")
        synced = cli("-c", gw.config, "sync", "--kubeconfig", gw.kc, "--yes")
        assert synced.code == 0, synced.err
        assert connect.call_count == 1
        connect.reset_mock()
        verified = cli("-c", gw.config, "verify", "--kubeconfig", gw.kc, "-o", "json")
        assert verified.code in (0, 1), verified.err  # the stand-in answers no chat
        assert connect.call_count == 1
