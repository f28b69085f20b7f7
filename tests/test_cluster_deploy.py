"""`llmgw deploy` with the real helm into the real API server: the test chart installed,
upgraded and rolled back for real, `--wait` satisfied (or not) by the real deployment
controller and the kubelet stand-in, the managed Secret written by real server-side apply.
(Failures helm cannot be made to show on demand stay on the fake helm, in test_deploy.py.)"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tests.cluster_gateway import CHART, Cli, Gateway
from tests.conftest import REPO, Result
from tests.test_deploy import SECRETS

pytestmark = pytest.mark.cluster


NEW_MODEL = "    - name: nova-lite\n      model: us.amazon.nova-lite-v1:0\n"


def test_a_first_install_waits_for_ready_pods_and_writes_the_secret(
    gw: Gateway, cli: Cli, tmp_path: Path
) -> None:
    result = gw.deploy(cli)
    assert result.code == 0, result.err
    assert "deployed litellm revision 1" in result.err + result.out
    [rev] = gw.history()
    assert (rev["revision"], rev["status"], rev["chart"]) == (1, "deployed", "litellm-helm-1.100.5")
    assert gw.ready_replicas() == 2  # --wait held until the kubelet made both pods Ready
    secret = gw.secret()
    assert (
        base64.b64decode(secret.data["PROXY_MASTER_KEY"]).decode() == SECRETS["LITELLM_MASTER_KEY"]
    )
    managers = {(f.manager, f.operation) for f in secret.metadata.managed_fields}
    assert ("llmgw", "Apply") in managers
    assert "bedrock/claude-3.7-sonnet" in gw.served()
    assert (tmp_path / "values.rendered.yaml").is_file()


def test_a_change_is_the_next_revision_and_no_change_runs_no_helm(gw: Gateway, cli: Cli) -> None:
    assert gw.deploy(cli).code == 0
    gw.write_config(NEW_MODEL)
    changed = gw.deploy(cli)
    assert changed.code == 0, changed.err
    assert [r["revision"] for r in gw.history()] == [1, 2]
    assert "bedrock/nova-lite" in gw.served()
    again = gw.deploy(cli)
    assert again.code == 0, again.err
    assert "no changes" in again.err + again.out
    assert [r["revision"] for r in gw.history()] == [1, 2]


def test_a_rollout_that_never_becomes_ready_is_rolled_back(
    gw: Gateway, cli: Cli, tmp_path: Path
) -> None:
    assert gw.deploy(cli).code == 0
    values = tmp_path / "values.rendered.yaml"
    before = values.read_bytes()
    gw.write_config(NEW_MODEL)
    with gw.kube.kubelet.hold(gw.ns, {"app": "litellm"}, "notready"):
        failed = gw.deploy(cli, timeout="15s")
    assert failed.code == 3, failed.err
    assert "Traceback" not in failed.err
    history = gw.history()
    assert [r["revision"] for r in history] == [1, 2, 3]
    assert history[1]["status"] == "failed"  # the upgrade; revision 3 is helm's rollback
    # Helm 4 applies the rollback, then marks it failed when its wait inherits the expired
    # --timeout; Helm 3 (and a rollback that is ready in time) marks it deployed.
    if history[2]["status"] == "deployed":
        assert "helm rolled the release back: revision 3 runs revision 1 again" in failed.err
    else:
        assert (
            "revision 3 runs revision 1's chart and values again, but helm marked it" in failed.err
        )
        assert f"kubectl get pods -n {gw.ns}" in failed.err
    assert "bedrock/nova-lite" not in gw.served()  # revision 1's config is live again
    assert values.read_bytes() == before


def test_a_conflicting_field_manager_on_the_secret_is_overridden_its_keys_kept(
    gw: Gateway, cli: Cli
) -> None:
    """Another tool applied the Secret first (its own key, and a stale master key): llmgw's
    apply is forced, as docs/secrets.md says, so llmgw owns its keys; the other key stays."""
    from kubernetes import client

    data = {"PROXY_MASTER_KEY": "sk-stale", "OTHER_TOOL_KEY": "kept"}
    body = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "litellm-llmgw-env", "namespace": gw.ns},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }  # fmt: skip
    client.CoreV1Api(gw.kube.admin()).patch_namespaced_secret(
        "litellm-llmgw-env", gw.ns, body, field_manager="other-tool", force=True,
        _content_type="application/apply-patch+yaml",
    )  # fmt: skip
    result = gw.deploy(cli)
    assert result.code == 0, result.err
    secret = gw.secret()
    data = {k: base64.b64decode(v).decode() for k, v in secret.data.items()}
    assert data["PROXY_MASTER_KEY"] == SECRETS["LITELLM_MASTER_KEY"]
    assert data["OTHER_TOOL_KEY"] == "kept"
    owners = {f.manager: json.dumps(f.fields_v1) for f in secret.metadata.managed_fields}
    assert "PROXY_MASTER_KEY" in owners["llmgw"]
    assert "PROXY_MASTER_KEY" not in owners["other-tool"]
    assert "sk-" not in result.err + result.out


def test_a_dry_run_against_the_live_release_changes_nothing(gw: Gateway, cli: Cli) -> None:
    assert gw.deploy(cli).code == 0
    gw.write_config(NEW_MODEL)
    preview = cli(
        "-c", gw.config, "deploy", "--pods-from", REPO / "examples/cluster.yaml",
        "--kubeconfig", gw.kc, "--dry-run", "-o", "json",
    )  # fmt: skip
    assert preview.code == 1, preview.err  # like diff: there are changes
    [values] = json.loads(preview.out)["previews"]
    assert values["added"] == ["bedrock/nova-lite"] and values["release"] == "litellm"
    assert [r["revision"] for r in gw.history()] == [1]
    assert "bedrock/nova-lite" not in gw.served()


def next_chart_version(tmp_path: Path, version: str = "1.101.0") -> Path:
    """The test chart as its next release (tests/charts holds one version; the next is the same
    chart with a new version and LiteLLM release, as litellm-helm publishes them)."""
    import shutil

    chart = tmp_path / f"litellm-helm-{version}"
    shutil.copytree(CHART, chart)
    meta = chart / "Chart.yaml"
    text = meta.read_text().replace("version: 1.100.5", f"version: {version}")
    meta.write_text(text.replace('appVersion: "1.100.5"', f'appVersion: "{version}"'))
    return chart


def pod_template(gw: Gateway) -> dict[str, str]:
    from kubernetes import client

    d = client.AppsV1Api(gw.kube.admin()).read_namespaced_deployment("litellm", gw.ns)
    return dict(d.spec.template.metadata.annotations or {})


def test_a_chart_version_bump_is_an_upgrade_and_status_shows_it(
    gw: Gateway, cli: Cli, tmp_path: Path
) -> None:
    assert gw.deploy(cli).code == 0
    newer = next_chart_version(tmp_path)
    gw.config.write_text(gw.config.read_text().replace(f"chart: {CHART}", f"chart: {newer}"))
    preview = cli(
        "-c", gw.config, "deploy", "--pods-from", REPO / "examples/cluster.yaml",
        "--kubeconfig", gw.kc, "--dry-run",
    )  # fmt: skip
    assert preview.code == 1, preview.err
    shown = preview.out + preview.err
    assert "chart litellm-helm 1.100.5 → litellm-helm 1.101.0 (LiteLLM 1.100.5 → 1.101.0)" in shown
    upgraded = gw.deploy(cli)
    assert upgraded.code == 0, upgraded.err
    history = gw.history()
    assert [(r["revision"], r["chart"]) for r in history] == [
        (1, "litellm-helm-1.100.5"), (2, "litellm-helm-1.101.0")
    ]  # fmt: skip
    again = gw.deploy(cli)
    assert again.code == 0 and "no changes" in again.err + again.out
    assert len(gw.history()) == 2


def test_a_rotated_master_key_is_written_and_rolls_the_gateway_once(
    gw: Gateway, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert gw.deploy(cli).code == 0
    first = pod_template(gw)["checksum/llmgw-secret"]
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-rotated-master")
    preview = cli(
        "-c", gw.config, "deploy", "--pods-from", REPO / "examples/cluster.yaml",
        "--kubeconfig", gw.kc, "--dry-run",
    )  # fmt: skip
    assert preview.code == 1, preview.err
    assert "Secret litellm-llmgw-env: PROXY_MASTER_KEY changed" in preview.out + preview.err
    assert "sk-rotated-master" not in preview.out + preview.err
    rotated = gw.deploy(cli)
    assert rotated.code == 0, rotated.err
    data = gw.secret().data
    assert base64.b64decode(data["PROXY_MASTER_KEY"]).decode() == "sk-rotated-master"
    second = pod_template(gw)["checksum/llmgw-secret"]
    assert second != first  # a new pod template: the gateway rolls onto the new key
    assert gw.ready_replicas() == 2
    same = gw.deploy(cli)
    assert same.code == 0 and "no changes" in same.err + same.out
    assert pod_template(gw)["checksum/llmgw-secret"] == second
    assert [r["revision"] for r in gw.history()] == [1, 2]
    assert "checksum/llmgw-secret" not in (Path("values.rendered.yaml")).read_text()


def test_an_engine_api_key_travels_in_the_managed_secret_and_nowhere_else(
    gw: Gateway, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """vllm serve --api-key: the config names the variable, deploy writes the value into the
    Secret the gateway pods load, and the proxy config sends it by reference."""
    text = gw.config.read_text().replace(
        "    - name: llama-3-1-8b-int8-neuron\n",
        "    - name: llama-3-1-8b-int8-neuron\n      api_key: {env: VLLM_API_KEY}\n",
        1,
    )
    gw.config.write_text(text)
    canary = "sk-vllm-canary-7f3a"
    monkeypatch.setenv("VLLM_API_KEY", canary)
    result = gw.deploy(cli)
    assert result.code == 0, result.err
    variable = "LLMGW_API_KEY_VLLM_API_KEY"
    assert base64.b64decode(gw.secret().data[variable]).decode() == canary
    [entry] = [
        e for e in gw.config_map()["model_list"]
        if e["model_name"] == "vllm/llama-3-1-8b-int8-neuron"
    ]  # fmt: skip
    assert entry["litellm_params"]["api_key"] == f"os.environ/{variable}"
    others = [e for e in gw.config_map()["model_list"] if e["model_name"] != entry["model_name"]]
    assert all("api_key" not in e["litellm_params"] for e in others)
    written = [p.read_text() for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(canary in text for text in [result.out, result.err, *written])
    monkeypatch.setenv("VLLM_API_KEY", "sk-vllm-rotated")
    assert gw.deploy(cli).code == 0
    assert base64.b64decode(gw.secret().data[variable]).decode() == "sk-vllm-rotated"


def test_history_rollback_guarded_and_uninstall_that_keeps_the_data(
    gw: Gateway, cli: Cli, tmp_path: Path
) -> None:
    from kubernetes import client

    assert gw.deploy(cli).code == 0
    newer = next_chart_version(tmp_path)
    gw.write_config(NEW_MODEL)
    gw.config.write_text(gw.config.read_text().replace(f"chart: {CHART}", f"chart: {newer}"))
    assert gw.deploy(cli).code == 0
    where = ("-c", gw.config, "--kubeconfig", gw.kc)

    shown = cli("history", *where, "-o", "json")
    assert shown.code == 0, shown.err
    revisions = json.loads(shown.out)["revisions"]
    assert [(r["revision"], r["chart_version"], r["status"]) for r in revisions] == [
        (1, "1.100.5", "superseded"), (2, "1.101.0", "deployed")
    ]  # fmt: skip
    assert revisions[1]["models"] == revisions[0]["models"] + 1
    table = cli("history", *where)
    assert table.code == 0 and table.out.splitlines()[0].split()[:5] == [
        "REVISION", "STATUS", "CHART", "LITELLM", "MODELS"
    ]  # fmt: skip

    shown_refusal = cli("rollback", *where, "--dry-run", "-o", "json")
    assert shown_refusal.code == 4
    doc = json.loads(shown_refusal.out)  # a refused preview still prints its document
    assert doc["previews"][0]["removed"] == ["bedrock/nova-lite"] and doc["error"]["exit_code"] == 4
    refused = cli("rollback", *where, "--yes")  # to revision 1, which lacks nova-lite
    assert refused.code == 4, refused.err
    assert "bedrock/nova-lite (not in revision 1)" in refused.err
    assert [r["revision"] for r in gw.history()] == [1, 2]
    back = cli("rollback", *where, "--yes", "--allow-removal", "--timeout", "60s")
    assert back.code == 0, back.err
    assert "chart litellm-helm-1.101.0 → litellm-helm-1.100.5" in back.out + back.err
    history = gw.history()
    assert [(r["revision"], r["chart"]) for r in history][-1] == (3, "litellm-helm-1.100.5")
    assert history[-1]["status"] == "deployed"
    assert "bedrock/nova-lite" not in gw.served()
    assert "values.rendered.yaml still holds what the config renders" in back.err

    core = client.CoreV1Api(gw.kube.admin())
    claim = {  # what the bundled PostgreSQL's StatefulSet leaves behind
        "metadata": {"name": "data-litellm-postgresql-0",
                     "labels": {"app.kubernetes.io/instance": "litellm"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }  # fmt: skip
    core.create_namespaced_persistent_volume_claim(gw.ns, claim)
    preview = cli("uninstall", *where, "--dry-run", "-o", "json")
    assert preview.code == 1, preview.err
    [doc] = json.loads(preview.out)["previews"]
    assert doc["release_changes"] == [
        "uninstall release litellm (revision 3, litellm-helm-1.100.5)",
        "uninstall Secret litellm-llmgw-env (written by llmgw; helm uninstall leaves it)",
    ]
    assert (
        "kept: PersistentVolumeClaim data-litellm-postgresql-0"
        in json.loads(preview.out)["notes"][0]
    )
    assert len(gw.history()) == 3  # the dry run changed nothing
    gone = cli("uninstall", *where, "--yes")
    assert gone.code == 0, gone.err
    listed = subprocess.run(
        [gw.helm, "list", "-n", gw.ns, "-o", "json", "--kubeconfig", str(gw.kc)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(listed.stdout) == []
    names = {s.metadata.name for s in core.list_namespaced_secret(gw.ns).items}
    assert "litellm-llmgw-env" not in names
    claims = [c.metadata.name for c in core.list_namespaced_persistent_volume_claim(gw.ns).items]
    assert claims == ["data-litellm-postgresql-0"]
    again = cli("uninstall", *where, "--yes")
    assert again.code == 3 and f"no release litellm in namespace {gw.ns}" in again.err


def test_status_says_what_the_release_runs_and_when_there_is_none(
    gw: Gateway, cli: Cli, tmp_path: Path
) -> None:
    def status(*extra: str) -> Result:
        return cli(
            "-c", gw.config, "status", "--pods-from", REPO / "examples/cluster.yaml",
            "--kubeconfig", gw.kc, *extra,
        )  # fmt: skip

    none = status("-o", "json")
    assert none.code == 1, none.err
    assert json.loads(none.out)["release"] == {
        "name": "litellm",
        "namespace": gw.ns,
        "installed": False,
    }
    shown = status()
    assert f"release litellm is not installed in namespace {gw.ns}" in shown.err

    assert gw.deploy(cli).code == 0
    live = status("-o", "json")
    assert live.code == 0, live.err
    release = json.loads(live.out)["release"]
    assert release == {
        "name": "litellm", "namespace": gw.ns, "installed": True, "revision": 1,
        "status": "deployed", "chart": "litellm-helm", "chart_version": "1.100.5",
        "app_version": "1.100.5",
    }  # fmt: skip
    assert "release litellm revision 1 (deployed): chart litellm-helm 1.100.5" in status().err
    rows = {r["public_name"]: r for r in json.loads(live.out)["names"]}
    claude = rows["bedrock/claude-3.7-sonnet"]
    assert claude["state"] == "in step" and claude["gateway"]["deployments"] == 1
    assert claude["members"] == [{"engine": "bedrock", "deploy": True, "found_by": "models"}]
    [qwen] = rows["vllm/qwen3-8b-fp8-neuron"]["members"]
    assert (qwen["ready"], qwen["ready_pods"], qwen["pods"]) == (False, 0, 1)

    # Only a value differs (no model, no chart): the next deploy would upgrade, so not in step.
    text = gw.config.read_text()
    gw.config.write_text(text.replace("  replicas: 2\n", "  replicas: 3\n", 1))
    value = status("-o", "json")
    assert value.code == 1, value.out
    assert any("replicaCount" in o for o in json.loads(value.out)["other"]), value.out
    assert "out of step" in status().err
    gw.config.write_text(text)

    newer = next_chart_version(tmp_path)
    gw.config.write_text(gw.config.read_text().replace(f"chart: {CHART}", f"chart: {newer}"))
    behind = status()
    assert behind.code == 1
    assert "chart litellm-helm 1.100.5 → litellm-helm 1.101.0" in behind.err


def test_own_chart_values_and_litellm_settings_reach_the_deployment_and_configmap(
    gw: Gateway, cli: Cli
) -> None:
    from kubernetes import client

    text = gw.config.read_text().replace(
        "  replicas: 2\n",
        "  replicas: 2\n  values:\n    nodeSelector: {karpenter.sh/nodepool: gpu-free}\n"
        "    tolerations: [{key: dedicated, operator: Equal, value: gateway, effect: NoSchedule}]\n",
        1,
    )
    gw.config.write_text(
        text + "general_settings:\n  alerting: [slack]\n  alerting_threshold: 300\n"
    )
    result = gw.deploy(cli)
    assert result.code == 0, result.err
    d = client.AppsV1Api(gw.kube.admin()).read_namespaced_deployment("litellm", gw.ns)
    assert d.spec.template.spec.node_selector == {"karpenter.sh/nodepool": "gpu-free"}
    assert d.spec.template.spec.tolerations[0].key == "dedicated"
    general = gw.config_map()["general_settings"]
    assert (general["alerting"], general["alerting_threshold"]) == (["slack"], 300)
    assert general["master_key"] == "os.environ/PROXY_MASTER_KEY"

    gw.config.write_text(
        gw.config.read_text().replace("  values:\n", "  values:\n    replicaCount: 9\n", 1)
    )
    refused = gw.deploy(cli)
    assert (
        refused.code == 2
        and "gateway.values.replicaCount: llmgw sets this chart value itself" in refused.err
    )
    assert len(gw.history()) == 1


def test_verify_without_a_gateway_service_is_one_line_through_the_real_api_server(
    gw: Gateway, cli: Cli
) -> None:
    """No release yet: the API server's services proxy answers 404 for the Service itself;
    that is the gateway missing, said once, not every name FAILED with a raw Status dict."""
    result = cli(
        "-c", gw.config, "verify", "--pods-from", REPO / "examples/cluster.yaml",
        "--kubeconfig", gw.kc,
    )  # fmt: skip
    assert result.code == 3, result.err
    assert f"service {gw.ns}/litellm through cluster {gw.kube.plane.url}" in result.err
    assert 'services "litellm" not found' in result.err
    assert "FAILED" not in result.out and "'kind': 'Status'" not in result.err
