"""`llmgw sync` end to end: the real CLI against the management-API stand-in (two replicas
sharing one store with a reload lag), and through the Kubernetes API stand-in's services proxy
(a real API server would dial the gateway pods' IPs, which the tests never do)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmgw import row_plan
from tests.conftest import Result
from tests.k8s_objects import kube_list, pod, service
from tests.kube_standin import Cluster, kubeconfig
from tests.kube_standin import serve as serve_kube
from tests.litellm_api_standin import KEY, Api, serve

Cli = Callable[..., Result]

CONFIG = """gateway: {{release: gw, namespace: ai, model_source: api{url}}}
bedrock:
  region: us-west-2
  llm: [{{name: claude, model: m.claude}}]
models:
  vllm: [{{name: a}}, {{name: b, litellm_params: {{timeout: 30}}}}]
secrets:
  salt_key: {{env: LITELLM_SALT_KEY}}
"""


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    standin = Api()
    with serve(standin) as url:
        yield standin, url


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_MASTER_KEY", KEY)


def cluster_file(tmp_path: Path, b_state: str = "ready", port: int = 8000) -> Path:
    items = [
        pod("a-0", "vllm", {"app": "a"}, args=["--served-model-name", "org/a"]),
        service("a", "vllm", {"app": "a"}, port),
        pod("b-0", "vllm", {"app": "b"}, state=b_state),
        service("b", "vllm", {"app": "b"}, 8000),
    ]
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(kube_list(items)))
    return path


@pytest.fixture
def cfg(tmp_path: Path, api: tuple[Api, str]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(url=f", url: {api[1]}"))
    return path


def run(cli: Cli, cfg: Path, snap: Path, *extra: str | Path) -> Result:
    return cli("-c", cfg, "sync", "--pods-from", snap, *extra)


def ours(api: Api) -> dict[str, dict[str, Any]]:
    return {i: r for i, r in api.store.items() if r["model_info"].get(row_plan.MANAGED)}


def test_first_sync_creates_and_a_second_writes_nothing(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    standin, _url = api
    snap = cluster_file(tmp_path)
    first = run(cli, cfg, snap, "--yes")
    assert first.code == 0, first.err
    assert "model added: bedrock/claude" in first.out and "model added: vllm/a" in first.out
    assert "synced 3 writes to" in first.err and "all replicas within" in first.err
    rows = ours(standin)
    assert sorted(r["model_name"] for r in rows.values()) == ["bedrock/claude", "vllm/a", "vllm/b"]
    a = next(r for r in rows.values() if r["model_name"] == "vllm/a")
    assert a["litellm_params"] == {
        "model": "hosted_vllm/org/a",
        "api_base": "http://a.vllm:8000/v1",
    }
    assert a["model_info"][row_plan.OWNER] == "ai/gw" and a["model_info"]["mode"] == "chat"
    writes = len(standin.writes())
    second = run(cli, cfg, snap, "--yes")
    assert second.code == 0 and "in step" in second.err, second.err
    assert len(standin.writes()) == writes  # not one write
    assert run(cli, cfg, snap, "--dry-run").code == 0


def test_a_changed_api_base_is_a_new_row_made_before_the_old_goes(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    standin, _url = api
    assert run(cli, cfg, cluster_file(tmp_path), "--yes").code == 0
    before = len(standin.writes())
    moved = cluster_file(tmp_path, port=9000)
    preview = run(cli, cfg, moved, "--dry-run")
    assert preview.code == 1 and "model changed: vllm/a" in preview.out, preview.err
    assert run(cli, cfg, moved, "--yes").code == 0
    assert standin.writes()[before:] == ["POST /model/new", "POST /model/delete"]
    a_rows = [r for r in ours(standin).values() if r["model_name"] == "vllm/a"]
    assert [r["litellm_params"]["api_base"] for r in a_rows] == ["http://a.vllm:9000/v1"]


def test_a_param_that_must_go_is_delete_and_create(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    standin, _url = api
    snap = cluster_file(tmp_path)
    assert run(cli, cfg, snap, "--yes").code == 0
    before = len(standin.writes())
    cfg.write_text(cfg.read_text().replace(", litellm_params: {timeout: 30}", ""))
    assert run(cli, cfg, snap, "--yes").code == 0
    assert standin.writes()[before:] == ["POST /model/new", "POST /model/delete"]
    b = next(r for r in ours(standin).values() if r["model_name"] == "vllm/b")
    assert "timeout" not in b["litellm_params"]


def test_a_model_whose_pods_fail_is_guarded_then_removed(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    standin, _url = api
    assert run(cli, cfg, cluster_file(tmp_path), "--yes").code == 0
    before = len(standin.writes())
    broken = cluster_file(tmp_path, b_state="crashloop")
    refused = run(cli, cfg, broken, "--yes")
    assert refused.code == 4
    assert (
        "the sync would drop models the gateway serves: vllm/b (not ready: CrashLoopBackOff)"
        in refused.err
    )
    assert len(standin.writes()) == before
    allowed = run(cli, cfg, broken, "--yes", "--allow-removal")
    assert allowed.code == 0, allowed.err
    assert standin.writes()[before:] == ["POST /model/delete"]
    assert sorted(r["model_name"] for r in ours(standin).values()) == ["bedrock/claude", "vllm/a"]


def test_ui_rows_and_config_models_are_never_touched(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    standin, _url = api
    ui = standin.add_ui_row("vllm/a", {"model": "openai/x", "api_base": "http://x/v1"})
    standin.config_models.append(
        {
            "model_name": "bedrock/claude",
            "litellm_params": {"model": "bedrock/old"},
            "model_info": {"id": "cfg-1"},
        }
    )
    other = "other-gw-row"
    standin.store[other] = {
        "model_name": "vllm/b",
        "litellm_params": {"model": "openai/b"},
        "model_info": {"id": other, row_plan.MANAGED: True, row_plan.OWNER: "ai/another-gateway"},
    }
    result = run(cli, cfg, cluster_file(tmp_path), "--yes", "--allow-removal")
    assert result.code == 0, result.err
    assert "not managed by llmgw (left as they are): bedrock/claude, vllm/a, vllm/b" in result.err
    assert standin.store[ui]["litellm_params"]["model"] == "openai/x"
    assert other in standin.store
    assert not any("cfg-1" in w for w in standin.writes())


@pytest.mark.parametrize("fault", ["existing_400", "existing_500"])
def test_create_of_an_existing_id_reads_back(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path, fault: str
) -> None:
    standin, _url = api
    snap = cluster_file(tmp_path)
    assert run(cli, cfg, snap, "--yes").code == 0
    standin.faults.update({fault: True, "stale_list": 1})  # a replica that has not reloaded
    result = run(cli, cfg, snap, "--yes")
    assert result.code == 0, result.err
    assert len(ours(standin)) == 3


def test_saved_but_not_live_in_this_pod_is_a_failure_and_the_row_is_taken_out(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    """The router dropped the deployment (invalid params): no replica serves it."""
    standin, _url = api
    standin.faults["not_live"] = True
    result = run(cli, cfg, cluster_file(tmp_path), "--yes")
    assert result.code == 3, result.err
    assert "0 of 3 writes applied" in result.err
    assert (
        "create vllm/a: 500 the gateway's router rejected 'hosted_vllm/org/a', so no replica "
        "would serve it; the row was removed again" in result.err
    )
    assert ours(standin) == {}  # the next run starts clean, and says the same


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("no_db", "the gateway stores no models in a database (No DB Connected"),
        (
            "store_off",
            "the gateway stores no models in a database (Set `'STORE_MODEL_IN_DB='True'`",
        ),
        # What other LiteLLM versions and endpoints answer without a database.
        ("DB not connected", "the gateway stores no models in a database (DB not connected"),
        (
            "Model updates only supported for DB-stored models",
            "the gateway stores no models in a database (Model updates only supported",
        ),
    ],
)
def test_no_database_is_exit_3_with_the_fix(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path, fault: str, said: str
) -> None:
    if fault in ("no_db", "store_off"):
        api[0].faults[fault] = True
    else:
        api[0].faults["no_db"] = fault  # the text it answers with
    result = run(cli, cfg, cluster_file(tmp_path), "--yes")
    assert result.code == 3, result.err
    assert (
        said in result.err and "set gateway.model_source: api and run `llmgw deploy`" in result.err
    )


def test_a_refused_key_names_where_it_came_from(
    cli: Cli, cfg: Path, api: tuple[Api, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-wrong-key")
    result = run(cli, cfg, cluster_file(tmp_path), "--yes")
    assert result.code == 3
    assert "401: the gateway refused the master key" in result.err
    assert "the key comes from $LITELLM_MASTER_KEY" in result.err
    assert "sk-wrong-key" not in result.err + result.out


def test_a_failure_part_way_reports_and_the_next_run_converges(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    standin, _url = api
    snap = cluster_file(tmp_path)
    standin.faults["fail_after"] = 1
    failed = run(cli, cfg, snap, "--yes")
    assert failed.code == 3
    assert "1 of 3 writes applied; failed: create" in failed.err
    assert "run `llmgw sync` again" in failed.err
    del standin.faults["fail_after"]
    again = run(cli, cfg, snap, "--yes")
    # The list may come from the replica that has not reloaded the first write yet: that
    # create is sent again, answered "exists", read back and found as meant.
    assert again.code == 0 and "synced" in again.err, again.err
    assert len(ours(standin)) == 3 and len(standin.store) == 3
    assert "in step" in run(cli, cfg, snap, "--yes").err


def test_no_delete_is_sent_after_a_failed_create(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    """A model to add and one to remove, and the gateway refuses the create: the old row
    stays (removals go last, only once everything new is in), so nothing goes unserved."""
    standin, _url = api
    assert run(cli, cfg, cluster_file(tmp_path), "--yes").code == 0
    cfg.write_text(cfg.read_text().replace(
        "llm: [{name: claude, model: m.claude}]",
        "llm: [{name: claude, model: m.claude}, {name: nova, model: m.nova}]",
    ))  # fmt: skip
    down = cluster_file(tmp_path, b_state="crashloop")
    standin.faults["refuse"] = {"POST /model/new": 500}
    seen = len(standin.log)
    failed = run(cli, cfg, down, "--yes", "--allow-removal")
    del standin.faults["refuse"]
    assert failed.code == 3, failed.err
    sent = standin.log[seen:]
    assert "POST /model/new" in sent and "POST /model/delete" not in sent, sent
    assert "vllm/b" in {r["model_name"] for r in ours(standin).values()}
    again = run(cli, cfg, down, "--yes", "--allow-removal")
    assert again.code == 0, again.err
    assert {r["model_name"] for r in ours(standin).values()} == {
        "bedrock/claude", "bedrock/nova", "vllm/a"
    }  # fmt: skip


def test_no_terminal_and_no_yes_is_refused(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    result = run(cli, cfg, cluster_file(tmp_path))
    assert result.code == 2 and "no terminal to ask on" in result.err
    assert not api[0].writes()


def test_values_mode_has_nothing_to_sync(cli: Cli, tmp_path: Path, key: None) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(url="").replace(", model_source: api", ""))
    result = run(cli, cfg, cluster_file(tmp_path), "--yes")
    assert result.code == 2 and "gateway.model_source is values" in result.err


def test_api_mode_needs_a_salt_key(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(url="").split("secrets:")[0])
    result = cli("-c", cfg, "render", "--pods-from", cluster_file(tmp_path), "--stdout")
    assert result.code == 2
    assert ":1:39: gateway.model_source: api needs secrets.salt_key" in result.err


def test_through_the_api_servers_service_proxy_with_the_key_from_a_secret(
    cli: Cli, api: tuple[Api, str], tmp_path: Path
) -> None:
    standin, url = api
    cluster = Cluster(namespaces={"ai"})
    cluster.forward["ai/gw-litellm:4000"] = url
    cluster.applied["ai/litellm-master"] = (
        {},
        {"data": {"key": base64.b64encode(KEY.encode()).decode()}},
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        CONFIG.format(url="").replace(
            "secrets:\n", "secrets:\n  master_key: {secret: litellm-master, key: key}\n"
        )
    )
    with serve_kube(cluster) as server:
        kc = kubeconfig(tmp_path / "kc", server)
        result = run(cli, cfg, cluster_file(tmp_path), "--kubeconfig", kc, "--yes")
    assert result.code == 0, result.err
    assert "synced 3 writes to service ai/gw-litellm through cluster" in result.err
    assert len(ours(standin)) == 3
    assert any("/services/gw-litellm:4000/proxy/model/info" in r for r in cluster.requests)


def test_router_settings_the_config_file_still_sets_are_exit_3_with_the_fix(
    cli: Cli, tmp_path: Path, api: tuple[Api, str], key: None
) -> None:
    """A gateway deployed by an older llmgw keeps fallbacks in its file; LiteLLM 1.108
    refuses to change them at run time."""
    standin, url = api
    standin.faults["router_in_file"] = True
    cfg = tmp_path / "router.yaml"
    cfg.write_text(CONFIG.format(url=f", url: {url}") + "router: {fallbacks: {vllm/b: [vllm/a]}}\n")
    result = run(cli, cfg, cluster_file(tmp_path, b_state="crashloop"), "--yes", "--allow-removal")
    assert result.code == 3, result.err
    assert (
        "the gateway's config file sets router settings llmgw keeps in its database" in result.err
    )
    assert "hint: run `llmgw deploy` once" in result.err


def test_a_change_to_a_row_deleted_since_the_replica_reloaded_converges(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    """The replica still lists the old row; the database no longer has it."""
    standin, _url = api
    assert run(cli, cfg, cluster_file(tmp_path), "--yes").code == 0
    standin.lag = 60.0  # the replicas keep what they loaded (confirmation then waits 3 s + 5)
    cfg.write_text(
        cfg.read_text().replace(
            "model_source: api", "model_source: api, reload_interval_seconds: 1"
        )
    )
    old = next(i for i, r in ours(standin).items() if r["model_name"] == "vllm/a")
    del standin.store[old]
    result = run(cli, cfg, cluster_file(tmp_path, port=9000), "--yes")
    assert result.code == 0, result.err
    assert [
        r["litellm_params"]["api_base"]
        for r in ours(standin).values()
        if r["model_name"] == "vllm/a"
    ] == ["http://a.vllm:9000/v1"]


def test_litellm_s_own_404_is_its_answer_not_a_wrong_url() -> None:
    from llmgw.errors import ExternalError
    from llmgw.litellm_api import ApiError, GatewayClient, Response

    def answer(body: Any) -> GatewayClient:
        return GatewayClient(lambda _m, _p, _b: Response(404, body), "gw", "$KEY")

    with pytest.raises(ApiError, match="Model x not found on proxy"):
        answer({"error": {"message": "Model x not found on proxy."}}).delete("x")
    with pytest.raises(ExternalError, match="is this a LiteLLM proxy"):
        answer({"detail": "Not Found"}).models()


def test_the_sync_preview_as_json_names_the_gateway(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    _standin, url = api
    result = run(cli, cfg, cluster_file(tmp_path), "--dry-run", "-o", "json")
    assert result.code == 1, (result.out, result.err)
    document = json.loads(result.out)
    (preview,) = document["previews"]
    assert preview["kind"] == "api" and preview["gateway"] == url
    assert (preview["release"], preview["namespace"]) == ("gw", "ai")
    assert sorted(preview["added"]) == ["bedrock/claude", "vllm/a", "vllm/b"]
    assert document["changes"] is True


def test_status_says_when_the_replicas_disagree(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    """Reads spread over the replicas: one that has not reloaded yet is out of step."""
    standin, _url = api
    cfg.write_text(
        cfg.read_text().replace(
            "model_source: api", "model_source: api, reload_interval_seconds: 1"
        )
    )
    snap = cluster_file(tmp_path)
    assert run(cli, cfg, snap, "--yes").code == 0
    agreed = cli("-c", cfg, "status", "--pods-from", snap)
    assert agreed.code == 0, agreed.out + agreed.err
    standin.lag = 60.0  # from now on only the replica that takes a write sees it
    assert run(cli, cfg, cluster_file(tmp_path, port=9000), "--yes").code == 0
    split = cli("-c", cfg, "status", "--pods-from", cluster_file(tmp_path, port=9000))
    assert split.code == 1, split.out + split.err
    assert "replicas disagree: not every replica has reloaded the database yet" in split.err


def test_a_router_setting_in_the_values_is_said_to_wait_for_deploy(
    cli: Cli, cfg: Path, api: tuple[Api, str], key: None, tmp_path: Path
) -> None:
    """num_retries lives in the chart values (the config file LiteLLM reads): sync cannot
    write it, so a change of it is neither 'in step' nor silently skipped."""
    snap = cluster_file(tmp_path)
    assert run(cli, cfg, snap, "--yes").code == 0
    cfg.write_text(cfg.read_text() + "router: {num_retries: 3}\n")
    preview = run(cli, cfg, snap, "--dry-run")
    said = "router.num_retries: the gateway runs 2, the config says 3: it waits for `llmgw deploy`"
    assert said in preview.out + preview.err
    status = cli("-c", cfg, "status", "--pods-from", snap)
    assert status.code == 1 and said in status.err
    cfg.write_text(
        cfg.read_text().replace("router: {num_retries: 3}\n", "router: {num_retries: 2}\n")
    )
    again = cli("-c", cfg, "status", "--pods-from", snap)
    assert again.code == 0, again.err
