"""`llmgw deploy`: a fake helm records argv and injects failures; the chart check runs on the
real helm binary with a local test chart; Secrets go to the Kubernetes API stand-in. These are
the failures helm and the API server cannot be made to show on demand (a pending release, a
chart check quoting a secret, a refused Secret write, Helm 3 flags); the real helm installing,
upgrading and rolling back on the real API server is test_cluster_deploy.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, Result
from tests.fake_helm import FakeHelm, on_path
from tests.kube_standin import Cluster, kubeconfig, serve

Cli = Callable[..., Result]
CHART = str(REPO / "tests/charts/mini-litellm")
SECRETS = {
    "LITELLM_MASTER_KEY": "sk-master-s3cret",
    "LITELLM_UI_USERNAME": "admin-user",
    "LITELLM_UI_PASSWORD": "ui-pa55word",
    "LANGFUSE_PUBLIC_KEY": "pk-lf-public",
    "LANGFUSE_SECRET_KEY": "sk-lf-s3cret",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_helm: str) -> FakeHelm:
    f = FakeHelm(tmp_path / "helm", real=real_helm)
    monkeypatch.setenv("PATH", on_path(f.install()))
    return f


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Cluster, Path]]:
    cluster = Cluster()
    with serve(cluster) as url:
        yield cluster, kubeconfig(tmp_path / "kubeconfig", url)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        (REPO / "config.example.yaml")
        .read_text()
        .replace("chart: oci://ghcr.io/berriai/litellm-helm", f"chart: {CHART}")
    )
    return path


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def deploy(cli: Cli, cfg: Path, kc: Path, tmp_path: Path, *extra: str) -> Result:
    return cli(
        "-c",
        cfg,
        "deploy",
        "--pods-from",
        REPO / "examples/cluster.yaml",
        "--kubeconfig",
        kc,
        *extra,
    )


def test_dry_run_of_a_new_install(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    cluster, kc = api
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert result.code == 1, result.err
    assert (
        "new install" in result.out and "model added: vllm/llama-3-1-8b-int8-neuron" in result.out
    )
    # The dry run checks what the real run will: the chart takes the values (helm template).
    assert [c[0] for c in fake.calls()] == ["version", "history", "get", "template"]
    assert not cluster.applied and not (tmp_path / "values.rendered.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_deploy_applies_secret_then_helm(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    cluster, kc = api
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 0, result.err
    query, body = cluster.applied["litellm/litellm-llmgw-env"]
    assert query == {"fieldManager": "llmgw", "force": "true"}
    assert "application/apply-patch+yaml" in cluster.content_types
    data = {k: base64.b64decode(v).decode() for k, v in body["data"].items()}
    assert data == {
        "PROXY_MASTER_KEY": SECRETS["LITELLM_MASTER_KEY"],
        "UI_USERNAME": "admin-user",
        "UI_PASSWORD": "ui-pa55word",
        "LANGFUSE_PUBLIC_KEY": "pk-lf-public",
        "LANGFUSE_SECRET_KEY": "sk-lf-s3cret",
    }
    assert "litellm" in cluster.namespaces  # created before the Secret
    upgrade = fake.calls_of("upgrade")[0]
    assert upgrade[:4] == ["upgrade", "--install", "litellm", CHART]
    assert "--atomic" in upgrade and "--wait" in upgrade
    assert [c[0] for c in fake.calls()].index("template") < [c[0] for c in fake.calls()].index(
        "upgrade"
    )
    written = (tmp_path / "values.rendered.yaml").read_text()
    assert yaml.safe_load(written)["masterkeySecretName"] == "litellm-llmgw-env"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".values")) == []
    assert "deployed litellm revision 1 with 7 models" in result.err
    assert "kubectl port-forward -n litellm svc/litellm 4000:4000" in result.err
    everything = result.out + result.err + written
    for secret in SECRETS.values():
        assert secret not in everything


def test_second_deploy_with_same_values_skips_helm(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    before = len(fake.calls_of("upgrade"))
    again = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert again.code == 0 and "no changes" in again.err
    assert len(fake.calls_of("upgrade")) == before
    assert deploy(cli, cfg, kc, tmp_path, "--dry-run").code == 0


def test_changes_are_summarised(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    cfg.write_text(
        cfg.read_text()
        .replace("replicas: 2", "replicas: 3")
        .replace("model: us.amazon.nova-premier-v1:0", "model: us.amazon.nova-premier-v2:0")
    )
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-v")
    assert result.code == 1
    assert "model changed: bedrock/amazon-nova-premier" in result.out
    assert "value changed replicaCount: 2 → 3" in result.out
    assert "-replicaCount: 2" in result.out and "+replicaCount: 3" in result.out


def test_the_verbose_diff_shows_only_the_keys_that_differ(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    """helm returns the live values key-sorted; the render is in template order. Both are
    compared as parsed values dumped alike, so 4 real changes are 4 changes."""
    _cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    live = fake.state()["values"]
    live["replicaCount"] = 5
    live["ingress"]["className"] = "nginx"
    live["envVars"]["EXTRA"] = "1"
    del live["redis"]["architecture"]
    fake.values = dict(sorted(live.items()))  # as helm prints them: keys sorted
    fake.save()
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-v")
    assert result.code == 1, result.err
    summary = [line for line in result.out.splitlines() if line.startswith("value ")]
    assert summary == [
        'value removed envVars.EXTRA (was "1")',
        "value changed ingress.className: nginx → internet-facing-alb",
        "value added redis.architecture (= standalone)",
        "value changed replicaCount: 5 → 2",
    ]
    changed = [
        line
        for line in result.out.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    # two changed lines (- and + each), one added, one removed: nothing else
    assert sorted(changed) == [
        "+  architecture: standalone",
        "+  className: internet-facing-alb",
        "+replicaCount: 2",
        '-  EXTRA: "1"',
        "-  className: nginx",
        "-replicaCount: 5",
    ], changed


def test_helm4_flags_and_context(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    fake.version = "v4.1.4+g05fa379"
    fake.save()
    result = deploy(
        cli, cfg, kc, tmp_path, "--yes", "--kube-context", "test", "--timeout", "3m", "--no-wait"
    )
    assert result.code == 0, result.err
    upgrade = fake.calls_of("upgrade")[0]
    assert (
        "--rollback-on-failure" in upgrade
        and "--wait=hookOnly" in upgrade
        and "--atomic" not in upgrade
    )
    assert upgrade[upgrade.index("--kube-context") + 1] == "test"
    assert upgrade[upgrade.index("--timeout") + 1] == "3m"


def test_missing_secret_variable_stops_before_anything(
    cli: Cli,
    cfg: Path,
    fake: FakeHelm,
    api: tuple[Cluster, Path],
    env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster, kc = api
    monkeypatch.delenv("LITELLM_UI_PASSWORD")
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 2
    assert (
        "error: environment variables not set, and the Secret litellm-llmgw-env does not hold "
        "them yet: LITELLM_UI_PASSWORD (secrets.ui_password)" in result.err
    )
    assert "a first install needs every value" in result.err
    assert "secrets.mode: reference" not in result.err  # it is already on
    assert not fake.calls_of("upgrade") and not cluster.applied


def test_unpinned_oci_chart_is_refused(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    cfg.write_text(
        cfg.read_text()
        .replace(f"chart: {CHART}", "chart: oci://ghcr.io/berriai/litellm-helm")
        .replace('chart_version: "1.100.5"', 'chart_version: ""')
    )
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 2 and "not pinned" in result.err
    assert not fake.calls()


@pytest.mark.parametrize(
    ("args", "config_version", "said"),
    [
        (["--chart-version", "latest"], None, "--chart-version 'latest' is not a pinned version"),
        (["--chart-version", ">=1.0"], None, "--chart-version '>=1.0' is not a pinned version"),
        ([], '"1.x"', "gateway.chart_version '1.x' is not a pinned version"),
        # A pin followed by a range is a range: helm would take the newest 2.x.
        ([], '"1.100.5 || >=2.0"', "gateway.chart_version '1.100.5 || >=2.0' is not a pinned"),
        (["--chart-version", "1.100.5 - 2"], None, "--chart-version '1.100.5 - 2' is not a"),
        (["--timeout", "ten"], None, "--timeout 'ten' is not a duration"),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_pins_and_durations_are_exit_2_before_any_helm_call(
    cli: Cli,
    cfg: Path,
    fake: FakeHelm,
    api: tuple[Cluster, Path],
    env: None,
    tmp_path: Path,
    args: list[str],
    config_version: str | None,
    said: str,
    dry_run: bool,
) -> None:
    cluster, kc = api
    text = cfg.read_text().replace(f"chart: {CHART}", "chart: oci://ghcr.io/berriai/litellm-helm")
    if config_version:
        text = text.replace('chart_version: "1.100.5"', f"chart_version: {config_version}")
    cfg.write_text(text)
    result = deploy(cli, cfg, kc, tmp_path, *args, "--dry-run" if dry_run else "--yes")
    assert result.code == 2, result.err
    assert f"error: {said}" in result.err
    assert not fake.calls() and not cluster.applied


def test_dropping_a_served_model_is_refused(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    cluster, kc = api
    fake.values = {
        "proxy_config": {
            "model_list": [
                {
                    "model_name": "vllm/qwen3-8b-fp8-neuron",
                    "litellm_params": {
                        "model": "hosted_vllm/qwen3",
                        "api_base": "http://q.vllm:8000/v1",
                    },
                },
                {"model_name": "old-model", "litellm_params": {"model": "bedrock/x"}},
            ]
        }
    }
    fake.save()
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 4
    assert "vllm/qwen3-8b-fp8-neuron (not ready: CrashLoopBackOff)" in result.err
    assert "old-model (no longer in the config)" in result.err
    assert not fake.calls_of("upgrade") and not cluster.applied
    allowed = deploy(cli, cfg, kc, tmp_path, "--yes", "--allow-removal")
    assert allowed.code == 0 and fake.calls_of("upgrade")


def test_no_terminal_and_no_yes_is_refused(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    result = deploy(cli, cfg, kc, tmp_path)
    assert result.code == 2 and "--yes" in result.err
    assert not fake.calls_of("upgrade")


def test_helm_failure_keeps_the_old_values_file(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    (tmp_path / "values.rendered.yaml").write_text("old: values\n")
    fake.revision = 1
    fake.upgrade = {
        "code": 1,
        "stderr": "Error: UPGRADE FAILED: release litellm failed, and has been rolled back due to atomic being set: context deadline exceeded\n",
        "history": [
            {"revision": 1, "status": "superseded"},
            {"revision": 2, "status": "failed"},
            {"revision": 3, "status": "deployed", "description": "Rollback to 1"},
        ],
    }
    fake.save()
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 3
    assert "UPGRADE FAILED" in result.err
    assert "helm rolled the release back: revision 3 runs revision 1 again" in result.err
    assert (tmp_path / "values.rendered.yaml").read_text() == "old: values\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".values")) == []


def test_pending_release(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    fake.upgrade = {
        "code": 1,
        "stderr": "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n",
    }
    fake.save()
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 3 and "pending state" in result.err and "helm rollback" in result.err
    assert "helm history litellm -n litellm" in result.err  # the real names, no placeholders


def test_chart_check_failure_applies_nothing(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    cluster, kc = api
    fake.real = None
    fake.template = {
        "code": 1,
        "stderr": "Error: template: litellm-helm/templates/deployment.yaml:12: wrong type\n",
    }
    fake.save()
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 3 and "helm template" in result.err
    assert not cluster.applied and not fake.calls_of("upgrade")


def test_a_dry_run_shows_its_preview_before_a_chart_that_cannot_be_fetched(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    fake.real = None
    fake.template = {"code": 1, "stderr": "Error: failed to fetch oci://ghcr.io/x: 403\n"}
    fake.save()
    shown = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert shown.code == 3 and "failed to fetch" in shown.err
    assert "model added: bedrock/claude-3.7-sonnet" in shown.out  # the preview came first
    machine = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-o", "json")
    assert machine.code == 3
    doc = json.loads(machine.out)
    assert doc["error"]["exit_code"] == 3 and "failed to fetch" in doc["error"]["message"]
    assert "bedrock/claude-3.7-sonnet" in doc["previews"][0]["added"]


def test_a_refused_dry_run_still_prints_its_json(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    fake.values = {
        "proxy_config": {
            "model_list": [{"model_name": "old-model", "litellm_params": {"model": "bedrock/x"}}]
        }
    }
    fake.save()
    refused = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-o", "json")
    assert refused.code == 4
    doc = json.loads(refused.out)
    assert doc["previews"][0]["removed"] == ["old-model"]
    assert (
        doc["error"]["exit_code"] == 4
        and "old-model (no longer in the config)" in doc["error"]["message"]
    )


def test_the_values_header_names_the_chart_the_deploy_used(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    other = REPO / "tests/charts/litellm-helm-1x"
    assert deploy(cli, cfg, kc, tmp_path, "--yes", "--chart", str(other)).code == 0
    header = (tmp_path / "values.rendered.yaml").read_text().splitlines()[:6]
    assert f"# chart: {other}" in header, header


def test_the_verbose_diff_shows_each_model_entry_from_its_name(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    cfg.write_text(
        cfg.read_text().replace(
            "model: us.amazon.nova-premier-v1:0", "model: us.amazon.nova-pro-v1:0"
        )
    )
    shown = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-v")
    lines = [line[1:].strip() for line in shown.out.splitlines() if line[:1] in "+- "]
    first = next(
        i for i, line in enumerate(lines) if line == "- model_name: bedrock/amazon-nova-premier"
    )
    assert lines[first + 1].startswith("litellm_params:"), lines[first : first + 3]


def test_a_chart_check_that_quotes_a_secret_is_masked(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    """helm's own output may quote a value: the deploy's error never shows a secret."""
    _cluster, kc = api
    fake.real = None
    secret = SECRETS["LITELLM_MASTER_KEY"]
    fake.template = {
        "code": 1,
        "stderr": f"Error: values don't meet the schema: masterkey {secret} is not a string\n",
    }
    fake.save()
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 3 and "helm template" in result.err
    assert secret not in result.out + result.err
    assert "masterkey" in result.err  # the rest of helm's message is kept


def test_secret_write_forbidden(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    from tests.kube_standin import Fault

    cluster, kc = api
    cluster.namespaces.add("litellm")
    cluster.faults.append(Fault(r"PATCH .*/secrets/", status=403, message="forbidden"))
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert (
        result.code == 3
        and "cannot apply Secret litellm-llmgw-env in namespace litellm" in result.err
    )
    assert not fake.calls_of("upgrade")


def test_inline_mode_writes_no_secret_object(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    cluster, kc = api
    cfg.write_text(cfg.read_text().replace("mode: reference", "mode: inline"))
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 0, result.err
    assert not cluster.applied
    assert fake.state()["values"]["masterkey"] == SECRETS["LITELLM_MASTER_KEY"]
    assert (tmp_path / "values.rendered.yaml").stat().st_mode & 0o077 == 0
    for secret in SECRETS.values():
        assert secret not in result.out + result.err


def test_release_and_namespace_overrides(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    cluster, kc = api
    result = deploy(cli, cfg, kc, tmp_path, "--yes", "--release", "gw", "-n", "ai")
    assert result.code == 0, result.err
    upgrade = fake.calls_of("upgrade")[0]
    assert upgrade[2] == "gw" and upgrade[upgrade.index("--namespace") + 1] == "ai"
    assert "ai/litellm-llmgw-env" in cluster.applied
    assert "svc/gw-litellm" in result.err


def test_crashlooping_pod_is_not_deployed(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    names = [m["model_name"] for m in fake.state()["values"]["proxy_config"]["model_list"]]
    assert "vllm/qwen3-8b-fp8-neuron" not in names and "vllm/llama-3-1-8b-int8-neuron" in names


def add_and_deploy(cli: Cli, cfg: Path, kc: Path) -> Result:
    return cli(
        *("-c", cfg, "add-bedrock-model", "gpt-oss-20b", "openai.gpt-oss-20b-1:0"),
        *("--no-validate", "--deploy", "--yes"),
        *("--pods-from", REPO / "examples/cluster.yaml", "--kubeconfig", kc),
    )


def test_add_bedrock_model_then_deploy(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    result = add_and_deploy(cli, cfg, kc)
    assert result.code == 0, result.err
    assert "model added: bedrock/gpt-oss-20b" in result.out
    names = [m["model_name"] for m in fake.state()["values"]["proxy_config"]["model_list"]]
    assert "bedrock/gpt-oss-20b" in names


def test_add_bedrock_model_dry_run_cannot_deploy(cli: Cli, cfg: Path) -> None:
    result = cli(
        "-c", cfg, "add-bedrock-model", "x", "m.x", "--no-validate", "--dry-run", "--deploy"
    )
    assert result.code == 2 and "nothing to --deploy" in result.err


def test_add_bedrock_model_whose_deploy_fails_says_the_config_changed(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], tmp_path: Path
) -> None:
    """What only the deploy itself can find (here: no secrets in the environment) comes after
    the edit; the config keeps the model, and says so."""
    _cluster, kc = api
    result = add_and_deploy(cli, cfg, kc)
    assert result.code == 3, result.err
    assert f"error: gpt-oss-20b was added to {cfg}, but the deploy failed:" in result.err
    assert "run `llmgw deploy` to roll it out" in result.err
    assert "gpt-oss-20b" in cfg.read_text()
    assert not fake.calls_of("upgrade")


@pytest.mark.parametrize(
    ("problem", "said", "code"),
    [  # the exit code `llmgw deploy` alone gives for the same problem
        ("no kubeconfig", "kubeconfig not found", 2),
        ("no terminal", "refusing to deploy without confirmation: no terminal to ask on", 2),
        ("no helm", "helm is not on PATH", 3),
    ],
)
def test_add_bedrock_model_checks_what_the_deploy_needs_before_the_edit(
    cli: Cli,
    cfg: Path,
    fake: FakeHelm,
    api: tuple[Cluster, Path],
    env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    problem: str,
    said: str,
    code: int,
) -> None:
    _cluster, kc = api
    before = cfg.read_bytes()
    args = [*("-c", cfg, "add-bedrock-model", "gpt-oss-20b", "openai.gpt-oss-20b-1:0")]
    args += ["--no-validate", "--deploy", "--pods-from", REPO / "examples/cluster.yaml"]
    if problem == "no kubeconfig":
        args += ["--kubeconfig", tmp_path / "missing", "--yes"]
    elif problem == "no terminal":
        args += ["--kubeconfig", kc]
    else:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        args += ["--kubeconfig", kc, "--yes"]
    result = cli(*args)
    assert result.code == code, result.err
    assert said in result.err and "was added" not in result.err
    assert cfg.read_bytes() == before  # nothing edited
    assert not fake.calls_of("upgrade")


def test_add_bedrock_model_refuses_a_malformed_id_offline(
    cli: Cli, cfg: Path, tmp_path: Path
) -> None:
    before = cfg.read_bytes()
    for extra in ([], ["--no-validate"]):  # no AWS credentials here: AWS is never asked
        result = cli("-c", cfg, "add-bedrock-model", "x", "openai gpt oss", *extra)
        assert result.code == 2, result.err
        assert "error: 'openai gpt oss' is not a Bedrock model id" in result.err
        assert "credentials" not in result.err
    assert cfg.read_bytes() == before


def test_add_bedrock_model_keeps_crlf_line_endings(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "crlf.yaml"
    cfg.write_bytes(b"# ops\r\nbedrock:\r\n  region: us-west-2\r\n  llm: []\r\n")
    result = cli("-c", cfg, "add-bedrock-model", "nova", "amazon.nova-pro-v1:0", "--no-validate")
    assert result.code == 0, result.err
    data = cfg.read_bytes()
    assert data.startswith(b"# ops\r\nbedrock:\r\n  region: us-west-2\r\n")
    assert b"amazon.nova-pro-v1:0" in data
    assert data.count(b"\n") == data.count(b"\r\n")  # every line ends in CRLF


def test_inline_verbose_preview_masks_every_secret(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    cfg.write_text(cfg.read_text().replace("mode: reference", "mode: inline"))
    # The live release holds other (older) secrets than this run knows.
    fake.values = {"masterkey": "sk-old-live-key", "envVars": {"UI_PASSWORD": "old-ui-pass"}}
    fake.save()
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-v")
    assert result.code == 1, result.err
    assert "+masterkey: ********" in result.out and "-masterkey: ********" in result.out
    for secret in [*SECRETS.values(), "sk-old-live-key", "old-ui-pass"]:
        assert secret not in result.out + result.err, secret


def test_live_values_behind_a_warning_never_reach_stderr(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    script = fake.directory / "bin" / "helm"
    script.write_text(
        script.read_text().replace(
            'if cmd == "get":',
            'if cmd == "get":\n    print("WARNING: something"); print("masterkey: sk-live-key"); '
            "sys.exit(0)\nif False:",
        )
    )
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-v")
    assert result.code == 3
    assert "sk-live-key" not in result.out + result.err


def test_a_rename_to_prefixed_names_is_shown_and_guarded(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    """A release deployed with bare names (before public names): every name is renamed."""
    _cluster, kc = api
    prefixed = cfg.read_text()
    cfg.write_text(
        prefixed.replace("model_names: prefixed", "model_names: plain").replace(
            "vllm/qwen3-8b-fp8-neuron: [sglang/", "qwen3-8b-fp8-neuron: ["
        )
    )
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    assert "bedrock/claude-3.7-sonnet" not in str(fake.state()["values"])
    cfg.write_text(prefixed)
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert result.code == 4
    assert "model removed: claude-3.7-sonnet\n" in result.out
    assert "model added: bedrock/claude-3.7-sonnet\n" in result.out
    assert (
        "claude-3.7-sonnet (renamed to bedrock/claude-3.7-sonnet (gateway.model_names, or "
        "model_name))" in result.err
    )
    assert "hint: clients asking for the old names would break: keep them with" in result.err


def test_dry_run_needs_no_secret_values(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], tmp_path: Path
) -> None:
    cluster, kc = api  # no secret variable is set
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert result.code == 1, result.err  # by the diff: a new install
    for var, name, path in [
        ("LITELLM_MASTER_KEY", "PROXY_MASTER_KEY", "secrets.master_key"),
        ("LITELLM_UI_PASSWORD", "UI_PASSWORD", "secrets.ui_password"),
        ("LANGFUSE_SECRET_KEY", "LANGFUSE_SECRET_KEY", "o11y.langfuse.secret_key"),
    ]:
        assert (
            f"note: {var} is not set, and the Secret litellm-llmgw-env does not hold {name}: "
            f"the real deploy stops until it is set ({path})"
        ) in result.err
    assert not cluster.applied  # read, never written


def test_a_dry_run_says_a_stored_secret_will_be_kept(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0  # the Secret holds every value
    monkeypatch.delenv("LITELLM_MASTER_KEY")
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert "LITELLM_MASTER_KEY is not set: keeping the PROXY_MASTER_KEY the Secret" in result.err
    assert "stops until it is set" not in result.err


def test_inline_dry_run_needs_no_secret_values(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], tmp_path: Path
) -> None:
    _cluster, kc = api
    cfg.write_text(cfg.read_text().replace("mode: reference", "mode: inline"))
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-v")
    assert result.code == 1, result.err
    assert "+masterkey: ********" in result.out


def test_unset_variable_keeps_the_stored_value_and_no_key_is_dropped(
    cli: Cli,
    cfg: Path,
    fake: FakeHelm,
    api: tuple[Cluster, Path],
    env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    stored = cluster.applied["litellm/litellm-llmgw-env"][1]["data"]
    stored["SOMEONE_ELSES_KEY"] = base64.b64encode(b"theirs").decode()
    monkeypatch.delenv("LITELLM_MASTER_KEY")
    monkeypatch.setenv("LITELLM_UI_PASSWORD", "rotated-ui-pass")
    cfg.write_text(cfg.read_text().replace("replicas: 2", "replicas: 3"))  # something to roll
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 0, result.err
    assert (
        "note: LITELLM_MASTER_KEY is not set: keeping the PROXY_MASTER_KEY the Secret "
        "litellm-llmgw-env holds" in result.err
    )
    data = {
        k: base64.b64decode(v).decode()
        for k, v in cluster.applied["litellm/litellm-llmgw-env"][1]["data"].items()
    }
    assert data["PROXY_MASTER_KEY"] == SECRETS["LITELLM_MASTER_KEY"]
    assert data["UI_PASSWORD"] == "rotated-ui-pass"
    assert data["SOMEONE_ELSES_KEY"] == "theirs"
    assert "rotated-ui-pass" not in result.out + result.err


def test_switching_chart_kind_is_refused(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    cfg.write_text(
        cfg.read_text()
        .replace(
            "  database: bundled",
            "  chart_kind: litellm\n  database: {host: db.internal, secret: db}",
        )
        .replace("  redis: true", "  redis: false")
        .replace(f"chart: {CHART}", f"chart: {REPO / 'tests/charts/litellm'}")
    )
    result = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert result.code == 4, result.err
    assert (
        "release litellm runs the litellm-helm chart; the config asks for the litellm chart"
        in result.err
    )
    assert "install the new chart under another release" in result.err


LITELLM_CHART_CONFIG = f"""
gateway:
  chart_kind: litellm
  mode: componentized
  release: gw
  namespace: ai
  chart: {REPO / "tests/charts/litellm"}
  autoscaling: {{min: 2, max: 5}}
  database: {{host: db.internal, name: litellm, secret: litellm-db}}
  service_account:
    annotations: {{eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/litellm"}}
bedrock:
  region: us-west-2
  llm: [{{name: claude, model: us.anthropic.claude-3-7-sonnet-20250219-v1:0}}]
models:
  vllm: [{{name: llama-3-1-8b-int8-neuron}}, {{name: qwen3-8b-fp8-neuron}}]
"""


def test_deploy_with_the_litellm_chart(
    cli: Cli, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    cluster, kc = api
    cfg = tmp_path / "litellm.yaml"
    cfg.write_text(LITELLM_CHART_CONFIG)
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 0, result.err
    assert [c[0] for c in fake.calls()][-3:] == ["template", "upgrade", "status"]
    values = fake.state()["values"]
    assert values["masterKey"] == {"secretName": "gw-llmgw-env", "secretKey": "LITELLM_MASTER_KEY"}
    assert values["gateway"]["hpa"] == {"enabled": True, "minReplicas": 2, "maxReplicas": 5}
    assert values["serviceAccounts"]["backend"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/litellm"
    }
    stored = cluster.applied["ai/gw-llmgw-env"][1]["data"]
    assert base64.b64decode(stored["LITELLM_MASTER_KEY"]).decode() == SECRETS["LITELLM_MASTER_KEY"]
    assert "svc/gw-litellm-gateway" in result.err
    # The preview reads the live model list back from gateway.config.proxy_config.
    again = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert again.code == 0 and "no changes" in again.err, again.err
    fake.values = {
        **values,
        "gateway": {
            **values["gateway"],
            "config": {
                "create": True,
                "proxy_config": {
                    **values["gateway"]["config"]["proxy_config"],
                    "model_list": [
                        *values["gateway"]["config"]["proxy_config"]["model_list"],
                        {
                            "model_name": "vllm/qwen3-8b-fp8-neuron",
                            "litellm_params": {"model": "hosted_vllm/q"},
                        },
                    ],
                },
            },
        },
    }
    fake.save()
    guarded = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert guarded.code == 4
    assert "vllm/qwen3-8b-fp8-neuron (not ready: CrashLoopBackOff)" in guarded.err


def test_litellm_chart_config_errors(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        LITELLM_CHART_CONFIG.replace(
            "  database: {host: db.internal, name: litellm, secret: litellm-db}\n", ""
        )
    )
    result = cli("-c", cfg, "render", "--pods-from", REPO / "examples/cluster.yaml", "--stdout")
    assert result.code == 2
    assert "gateway: the litellm chart bundles no PostgreSQL: give database:" in result.err
    cfg.write_text(LITELLM_CHART_CONFIG + "secrets: {mode: inline}\n")
    result = cli("-c", cfg, "render", "--pods-from", REPO / "examples/cluster.yaml", "--stdout")
    assert result.code == 2
    assert "secrets.mode: inline is not possible with the litellm chart" in result.err
    cfg.write_text(LITELLM_CHART_CONFIG.replace("  database:", "  redis: true\n  database:"))
    result = cli("-c", cfg, "render", "--pods-from", REPO / "examples/cluster.yaml", "--stdout")
    assert result.code == 2 and "the litellm chart bundles no Redis" in result.err


@pytest.fixture
def gateway_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """The management-API stand-in, with its master key and a salt key in the environment."""
    from tests.litellm_api_standin import KEY, Api
    from tests.litellm_api_standin import serve as serve_api

    monkeypatch.setenv("LITELLM_MASTER_KEY", KEY)
    monkeypatch.setenv("LITELLM_SALT_KEY", "salt-s3cret")
    standin = Api()
    with serve_api(standin) as url:
        yield standin, url


def test_deploy_in_api_mode_rolls_the_settings_then_syncs(
    cli: Cli,
    fake: FakeHelm,
    api: tuple[Cluster, Path],
    env: None,
    tmp_path: Path,
    gateway_api: tuple[Any, str],
) -> None:
    _cluster, kc = api
    standin, url = gateway_api
    cfg = tmp_path / "api.yaml"
    cfg.write_text(
        (REPO / "config.example.yaml")
        .read_text()
        .replace(
            "chart: oci://ghcr.io/berriai/litellm-helm",
            f"chart: {REPO / 'tests/charts/litellm-helm-1x'}",
        )
        .replace("  release: litellm\n", f"  release: litellm\n  model_source: api\n  url: {url}\n")
        .replace("secrets:\n", "secrets:\n  salt_key: {env: LITELLM_SALT_KEY}\n")
    )
    result = deploy(cli, cfg, kc, tmp_path, "--yes")
    assert result.code == 0, result.err
    values = fake.state()["values"]
    # An explicitly empty list: without one the chart's demo models would stay.
    assert values["proxy_config"]["model_list"] == []
    # Fallbacks and the alias for the down qwen3 follow the cluster: in the database.
    assert values["proxy_config"]["router_settings"] == {
        "routing_strategy": "simple-shuffle",
        "num_retries": 2,
    }
    assert standin.router["model_group_alias"] == {
        "vllm/qwen3-8b-fp8-neuron": "sglang/qwen2-5-7b-instruct"
    }
    assert values["proxy_config"]["general_settings"]["proxy_config_reload_interval_seconds"] == 10
    assert values["envVars"]["STORE_MODEL_IN_DB"] == "True"
    assert "synced 9 model writes to" in result.err, result.err  # 8 rows, the router
    assert len(standin.store) == 8  # 8 served deployments; mistral-7b-instruct has two
    assert result.err.count("warning: vllm/qwen3-8b-fp8-neuron →") == 1
    assert "deployed litellm revision 1 with 7 models: " in result.err
    again = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert again.code == 0 and "no changes" in again.err, again.err
    assert "salt-s3cret" not in result.out + result.err
    # The sync after the rollout has the guard too: a served model whose pods went away
    # is not dropped without --allow-removal.
    gone = tmp_path / "gone.yaml"
    gone.write_text(
        (REPO / "examples/cluster.yaml").read_text().replace("app: llama3-2-3b", "app: moved")
    )
    refused = cli("-c", cfg, "deploy", "--pods-from", gone, "--kubeconfig", kc, "--yes")
    assert refused.code == 4, refused.err
    assert "the sync would drop models the gateway serves: ollama/llama3-2-3b" in refused.err
    assert len(standin.store) == 8


def test_the_preview_and_the_json_name_the_cluster_release_and_chart(
    cli: Cli, cfg: Path, fake: FakeHelm, api: tuple[Cluster, Path], env: None, tmp_path: Path
) -> None:
    _cluster, kc = api
    server = yaml.safe_load(kc.read_text())["clusters"][0]["cluster"]["server"]
    shown = deploy(cli, cfg, kc, tmp_path, "--dry-run")
    assert shown.code == 1
    assert (
        f"target: release litellm in namespace litellm, chart {CHART} (local), "
        f"cluster {server} (context test)" in shown.out
    )
    as_json = deploy(cli, cfg, kc, tmp_path, "--dry-run", "-o", "json")
    assert as_json.code == 1, as_json.err
    document = json.loads(as_json.out)  # stdout holds the JSON document only
    (values,) = document["previews"]
    assert {k: values[k] for k in ("kind", "context", "server", "release", "namespace")} == {
        "kind": "values",
        "context": "test",
        "server": server,
        "release": "litellm",
        "namespace": "litellm",
    }
    assert values["chart"] == CHART and values["new_install"] is True
    assert "vllm/llama-3-1-8b-int8-neuron" in values["added"] and document["changes"] is True
    refused = deploy(cli, cfg, kc, tmp_path, "--yes", "-o", "json")
    assert refused.code == 2 and "-o json goes with --dry-run" in refused.err


def test_the_prompt_names_the_cluster_and_helm_gets_the_same_kubeconfig(
    cli: Cli,
    cfg: Path,
    fake: FakeHelm,
    api: tuple[Cluster, Path],
    env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With several clusters in one kubeconfig this is how people deploy to the wrong one."""
    import io

    _cluster, kc = api
    server = yaml.safe_load(kc.read_text())["clusters"][0]["cluster"]["server"]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    answered_no = deploy(cli, cfg, kc, tmp_path)
    assert answered_no.code == 4 and "deploy cancelled; nothing was changed" in answered_no.err
    assert (
        f"Apply to release litellm in namespace litellm, chart {CHART} (local), "
        f"cluster {server} (context test)?" in answered_no.err
    )
    assert not fake.calls_of("upgrade")
    assert deploy(cli, cfg, kc, tmp_path, "--yes").code == 0
    for command in ("get", "upgrade", "status"):  # helm template renders offline
        for call in fake.calls_of(command):
            assert call[call.index("--kubeconfig") + 1] == str(kc), call


def test_deploy_verify_fails_with_the_names_that_do_not_answer(
    cli: Cli,
    fake: FakeHelm,
    api: tuple[Cluster, Path],
    env: None,
    tmp_path: Path,
    gateway_api: tuple[Any, str],
) -> None:
    """The management-API stand-in serves no chat: every added name fails its check."""
    from tests.litellm_api_standin import KEY

    _cluster, kc = api
    _standin, url = gateway_api
    cfg = tmp_path / "api.yaml"
    cfg.write_text(
        f"gateway: {{release: litellm, namespace: litellm, model_source: api, url: {url},"
        f" chart: {REPO / 'tests/charts/litellm-helm-1x'}}}\n"
        "models: {tei: [{name: bge-large-en-v1-5}]}\n"
        "secrets: {salt_key: {env: LITELLM_SALT_KEY}}\n"
    )
    result = deploy(cli, cfg, kc, tmp_path, "--yes", "--verify")
    assert result.code == 3, result.err
    assert (
        "the deploy was applied, but these names did not answer through the gateway: "
        "tei/bge-large-en-v1-5 (404" in result.err
    )
    assert fake.calls_of("upgrade")  # applied, and not rolled back
    assert KEY not in result.out + result.err
