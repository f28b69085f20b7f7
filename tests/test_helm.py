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
    assert "--create-namespace" not in argv  # llmgw creates it: Helm 4 would PATCH it
    for flag in ("--atomic", "--wait"):
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
    assert "connection refused" in info.value.message
    assert info.value.hint == (
        "the chart registry or the cluster is unreachable; check the network "
        "(air-gapped: helm pull, then pass the .tgz)"
    )


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
        (
            'Error: UPGRADE FAILED: Job.batch "litellm-migrations" is invalid: spec.template: '
            "Invalid value: {}: field is immutable",
            "kubectl delete job",
        ),
    ],
)
def test_failure_hints(stderr: str, hint: str) -> None:
    from llmgw.proc import Result

    error = helm.failure("helm upgrade --install", Result(("helm",), 1, "", stderr))
    assert hint in (error.hint or "")
    assert stderr in error.message


REL = helm.Release("gw", "ai", "chart", "1.0.0", Path("v.yaml"))


def rows(*statuses: str) -> list[helm.Revision]:
    return [helm.Revision(i + 1, s) for i, s in enumerate(statuses)]


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        # Helm 3 --atomic, or Helm 4 whose rollback became ready in time.
        (2, rows("superseded", "superseded", "failed", "deployed"),
         "helm rolled the release back: revision 4 runs revision 2 again"),
        # Helm 4: the rollback applied, its own wait inherited the expired --timeout.
        (1, rows("superseded", "failed", "failed"),
         "revision 3 runs revision 1's chart and values again, but helm marked it failed"),
        (1, rows("deployed", "failed"),
         "helm did not roll back: revision 2 is failed and revision 1 is not restored; "
         "restore it with `helm rollback gw -n ai 1`"),
        (0, [], "helm left no release behind (a failed first install is uninstalled)"),
        (0, rows("failed"), "the first install is left as revision 1 (failed)"),
        (3, rows("superseded", "superseded", "deployed"),
         "the release was not changed: revision 3 is still live"),
    ],
)  # fmt: skip
def test_after_a_failure_the_history_says_what_helm_left(
    before: int, after: list[helm.Revision], said: str
) -> None:
    assert said in helm.after_failure(before, after, REL)


def _fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **state: object) -> FakeHelm:
    fake = FakeHelm(tmp_path / "helm", **state)  # type: ignore[arg-type]
    monkeypatch.setenv("PATH", on_path(fake.install()))
    return fake


def _script_get(fake: FakeHelm, stdout: str, stderr: str, code: int) -> None:
    """Make the fake helm's `get values` print exactly this."""
    script = fake.directory / "bin" / "helm"
    text = script.read_text().replace(
        'if cmd == "get":',
        f'if cmd == "get":\n    sys.stdout.write({stdout!r}); sys.stderr.write({stderr!r}); '
        f"sys.exit({code})\nif False:",
    )
    script.write_text(text)


def test_only_helms_own_no_release_means_no_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake(tmp_path, monkeypatch)
    _script_get(fake, "", "Error: release: not found\n", 1)
    assert helm.live_values(helm.find(), release(tmp_path / "v.yaml")) is None
    # A missing credential plugin also says "not found": that is an unreachable cluster.
    plugin = (
        'Error: Kubernetes cluster unreachable: Get "https://x/version": getting credentials: '
        "exec: executable aws-iam-authenticator not found\n"
    )
    _script_get(fake, "", plugin, 1)
    with pytest.raises(ExternalError) as info:
        helm.live_values(helm.find(), release(tmp_path / "v.yaml"))
    assert info.value.exit_code == 3
    assert "aws-iam-authenticator not found" in info.value.message


def test_live_values_past_a_warning_line_and_never_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake(tmp_path, monkeypatch)
    body = '{"masterkey": "sk-live-s3cret", "replicaCount": 2}'
    _script_get(fake, "WARNING: kubeconfig is group-readable\n" + body + "\n", "", 0)
    assert helm.live_values(helm.find(), release(tmp_path / "v.yaml")) == {
        "masterkey": "sk-live-s3cret",
        "replicaCount": 2,
    }
    _script_get(fake, "WARNING: x\nmasterkey: sk-live-s3cret\n", "", 0)
    with pytest.raises(ExternalError) as info:
        helm.live_values(helm.find(), release(tmp_path / "v.yaml"))
    assert "sk-live-s3cret" not in info.value.message + (info.value.hint or "")
    assert "2 lines that hold no JSON document" in info.value.message


def test_failure_masks_known_secrets_and_secret_keys() -> None:
    from llmgw.proc import Result

    stderr = (
        'Error: values don\'t meet the specifications: masterkey: sk-live-s3cret, x: "sk-known"'
    )
    error = helm.failure("helm template", Result(("helm",), 1, "", stderr), ["sk-known"])
    assert "sk-live-s3cret" not in error.message and "sk-known" not in error.message


@pytest.mark.parametrize("wait", [True, False])
def test_real_helm4_accepts_the_upgrade_argv(
    real_helm: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, wait: bool
) -> None:
    """The argv upgrade_argv builds for Helm 4, fed to the real helm 4: it gets as far as the
    cluster (unreachable here), so no flag was refused."""
    monkeypatch.setenv("PATH", f"{Path(real_helm).parent}:/usr/bin:/bin")
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: prod, context: {cluster: c, user: u}}]\ncurrent-context: prod\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    values = tmp_path / "v.yaml"
    values.write_text("proxy_config: {model_list: [{model_name: a}]}\n")
    found = helm.find()
    assert found.major == 4
    with pytest.raises(ExternalError) as info:
        helm.upgrade(
            found, release(values, chart=CHART, kube_context="prod", timeout="5s", wait=wait)
        )
    message = info.value.message.lower()
    assert "connection refused" in message or "cluster unreachable" in message, message
    assert "unknown flag" not in message and "invalid argument" not in message
