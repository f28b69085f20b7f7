from __future__ import annotations

from pathlib import Path

import pytest

from llmgw import helm
from llmgw.errors import ExternalError, InputError
from tests.conftest import REPO
from tests.fake_helm import FakeHelm, on_path

CHART = str(REPO / "tests/charts/mini-litellm")


def release(values: Path, **kw: object) -> helm.Release:
    base: dict[str, object] = {
        "name": "litellm",
        "namespace": "litellm",
        "chart": "oci://ghcr.io/berriai/litellm-helm",
        "version": "0.1.694",
        "values_file": values,
    }
    return helm.Release(**{**base, **kw})  # type: ignore[arg-type]


def test_helm3_argv(tmp_path: Path) -> None:
    argv = helm.upgrade_argv(
        helm.Helm("helm", 3, 14, 4), release(tmp_path / "v.yaml", kube_context="prod")
    )
    assert argv[:5] == [
        "helm",
        "upgrade",
        "--install",
        "litellm",
        "oci://ghcr.io/berriai/litellm-helm",
    ]
    for flag in ("--atomic", "--wait", "--create-namespace"):
        assert flag in argv
    assert argv[argv.index("--version") + 1] == "0.1.694"
    assert argv[argv.index("--kube-context") + 1] == "prod"
    assert argv[argv.index("--timeout") + 1] == "10m"
    assert "--rollback-on-failure" not in argv


def test_helm4_argv(tmp_path: Path) -> None:
    argv = helm.upgrade_argv(helm.Helm("helm", 4, 1, 4), release(tmp_path / "v.yaml"))
    assert "--rollback-on-failure" in argv and "--wait=watcher" in argv
    assert "--atomic" not in argv and "--wait" not in argv


def test_no_wait(tmp_path: Path) -> None:
    h3 = helm.upgrade_argv(helm.Helm("helm", 3, 8, 0), release(tmp_path / "v.yaml", wait=False))
    h4 = helm.upgrade_argv(helm.Helm("helm", 4, 0, 0), release(tmp_path / "v.yaml", wait=False))
    assert "--wait" not in h3 and "--atomic" not in h3
    assert "--wait=hookOnly" in h4


def test_local_chart_gets_no_version(tmp_path: Path) -> None:
    argv = helm.upgrade_argv(helm.Helm("helm", 3, 14, 0), release(tmp_path / "v.yaml", chart=CHART))
    assert "--version" not in argv


def test_unpinned_registry_chart_is_refused() -> None:
    with pytest.raises(InputError) as info:
        helm.check_chart("oci://ghcr.io/berriai/litellm-helm", "")
    assert "not pinned" in info.value.message and "--chart-version" in (info.value.hint or "")


def test_missing_local_chart(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        helm.check_chart(str(tmp_path / "litellm-helm-0.1.694.tgz"), "")


def test_helm_not_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExternalError) as info:
        helm.find()
    assert info.value.message == "helm is not on PATH" and "3.8+" in (info.value.hint or "")


def test_old_helm_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeHelm(tmp_path, version="v3.7.2+g663a896")
    monkeypatch.setenv("PATH", on_path(fake.install()))
    with pytest.raises(ExternalError, match="too old"):
        helm.find()


def test_real_helm_version_and_template(
    real_helm: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", f"{Path(real_helm).parent}:/usr/bin:/bin")
    h = helm.find()
    assert h.major in (3, 4)
    values = tmp_path / "v.yaml"
    values.write_text(
        'proxy_config:\n  model_list:\n    - model_name: "a: b"\n      litellm_params: {model: bedrock/x}\n'
    )
    out = helm.template(h, release(values, chart=CHART))
    assert "kind: ConfigMap" in out and "model_name: 'a: b'" in out


def test_real_helm_template_failure_is_explained(
    real_helm: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", f"{Path(real_helm).parent}:/usr/bin:/bin")
    values = tmp_path / "v.yaml"
    values.write_text("proxy_config: {model_list: []}\n")
    with pytest.raises(ExternalError) as info:
        helm.template(helm.find(), release(values, chart=CHART))
    assert "helm template" in info.value.message and "model_list is empty" in info.value.message


def test_real_helm_unreachable_registry(
    real_helm: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", f"{Path(real_helm).parent}:/usr/bin:/bin")
    values = tmp_path / "v.yaml"
    values.write_text("{}\n")
    with pytest.raises(ExternalError) as info:
        helm.template(
            helm.find(),
            release(values, chart="oci://127.0.0.1:9/charts/litellm-helm", version="0.1.0"),
        )
    assert info.value.exit_code == 3
    assert "unreachable" in (info.value.hint or "") or "chart" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("stderr", "hint"),
    [
        (
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
            "pending state",
        ),
        ("Error: UPGRADE FAILED: context deadline exceeded", "raise --timeout"),
        (
            'Error: Kubernetes cluster unreachable: Get "https://x": dial tcp: i/o timeout',
            "unreachable",
        ),
    ],
)
def test_failure_hints(stderr: str, hint: str) -> None:
    from llmgw.proc import Result

    error = helm.failure(
        "helm upgrade --install", Result(("helm",), 1, "", stderr), rollback_possible=True
    )
    assert hint in (error.hint or "")
    assert stderr in error.message


def test_failure_reports_rollback() -> None:
    from llmgw.proc import Result

    stderr = "Error: UPGRADE FAILED: release litellm failed, and has been rolled back due to atomic being set: timed out"
    error = helm.failure(
        "helm upgrade --install", Result(("helm",), 1, "", stderr), rollback_possible=True
    )
    assert "helm rolled the release back" in error.message
