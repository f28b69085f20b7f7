"""`llmgw sync` against LiteLLM's own management code: two real proxy replicas on one store.

The replicas run the pinned LiteLLM with its database path live (tests/litellm_db.py): their
own /model/new, /model/delete, /model/info (alias copies included), /config/update, router and
reload loop. Model traffic goes through the OpenAI stand-in as HTTP proxy, which records which
Service each request was routed to. The example config in api mode is synced as a user would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import litellm_db
from tests.conftest import REPO, Result
from tests.k8s_objects import kube_list, pod, service
from tests.litellm_proxy import MASTER_KEY, Proxy
from tests.openai_standin import Engines
from tests.openai_standin import serve as serve_engines

Cli = Callable[..., Result]

#: The example's self-hosted models: (engine namespace, name, port).
MODELS = [
    ("vllm", "llama-3-1-8b-int8-neuron", 8000),
    ("vllm", "qwen3-8b-fp8-neuron", 8000),
    ("sglang", "qwen2-5-7b-instruct", 30000),
    ("tgi", "mistral-7b-instruct", 80),
    ("ollama", "llama3-2-3b", 11434),
    ("tei", "bge-large-en-v1-5", 80),
]
#: A model the replicas load from their own config file: never llmgw's to touch.
FILE_MODEL = {
    "model_name": "ops/echo",
    "litellm_params": {"model": "openai/echo", "api_base": "http://echo.ops:8000/v1"},
    "model_info": {"id": "file-echo"},
}


#: An engine's own key (vllm serve --api-key), as deploy puts it in the managed Secret.
ENGINE_KEY = "sk-engine-db-key"
ENGINE_KEY_VAR = "LLMGW_API_KEY_VLLM_API_KEY"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Proxy], Engines]]:
    work = tmp_path_factory.mktemp("sync-db")
    engines = Engines()
    config = litellm_db.proxy_config({"model_list": [FILE_MODEL]})
    with (
        serve_engines(engines) as backend,
        litellm_db.replicas(
            work, 2, config, http_proxy=backend, extra_env={ENGINE_KEY_VAR: ENGINE_KEY}
        ) as proxies,
    ):
        yield proxies, engines


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_MASTER_KEY", MASTER_KEY)


def snapshot(path: Path, down: frozenset[str] = frozenset()) -> Path:
    items = []
    for ns, name, port in MODELS:
        state = "crashloop" if name in down else "ready"
        args = ["--served-model-name", name] if ns == "vllm" else None
        items.append(pod(f"{name}-0", ns, {"app": name}, state=state, args=args))
        items.append(service("ollama" if ns == "ollama" else name, ns, {"app": name}, port))
    path.write_text(json.dumps(kube_list(items)))
    return path


def example_config(path: Path, url: str, extra: str = "") -> Path:
    text = (REPO / "config.example.yaml").read_text()
    text = text.replace(
        "  release: litellm\n", f"  release: litellm\n  model_source: api\n  url: {url}\n"
    )
    text = text.replace("secrets:\n", "secrets:\n  salt_key: {env: LITELLM_SALT_KEY}\n")
    path.write_text(text + extra)
    return path


def sync(cli: Cli, cfg: Path, snap: Path, *extra: str) -> Result:
    return cli("-c", cfg, "sync", "--pods-from", snap, *extra)


def names(proxy: Proxy) -> set[str]:
    return set(proxy.model_ids())


def info(proxy: Proxy) -> list[dict[str, Any]]:
    status, body = proxy.call("GET", "/model/info")
    assert status == 200, body
    return list(body["data"])


def router(proxy: Proxy) -> dict[str, Any]:
    status, body = proxy.call("GET", "/router/settings")
    assert status == 200, body
    values = body["current_values"]
    return {k: values.get(k) for k in ("fallbacks", "model_group_alias")}


def eventually(check: Callable[[Proxy], bool], proxy: Proxy, timeout: float = 15.0) -> None:
    """Until ``check(proxy)``: replicas reload every litellm_db.RELOAD seconds, and a loaded
    machine takes longer."""
    deadline = time.monotonic() + timeout
    while not check(proxy):
        assert time.monotonic() < deadline, f"{proxy.url} not in step within {timeout} s"
        time.sleep(0.2)


def served_by(engines: Engines, proxy: Proxy, name: str) -> str:
    before = len(engines.hosts())
    status, body = proxy.chat(name, "hello")
    assert status == 200, (name, body)
    return engines.hosts()[before:][-1]


def add_by_hand(proxy: Proxy, name: str, row_id: str) -> None:
    """A row a person adds in the UI: not llmgw's, never to be touched."""
    row = {
        "model_name": name,
        "litellm_params": {"model": "openai/hand", "api_base": "http://hand.team:8000/v1"},
        "model_info": {"id": row_id},
    }
    status, body = proxy.call("POST", "/model/new", row)
    assert status == 200, body


ALL = {
    "bedrock/claude-3.7-sonnet",
    "bedrock/amazon-nova-premier",
    "mistral-7b-instruct",
    "vllm/llama-3-1-8b-int8-neuron",
    "vllm/qwen3-8b-fp8-neuron",
    "sglang/qwen2-5-7b-instruct",
    "ollama/llama3-2-3b",
    "tei/bge-large-en-v1-5",
    "ops/echo",
}


def test_the_example_syncs_then_is_in_step_and_a_down_name_answers_through_its_fallback(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    proxies, engines = world
    cfg = example_config(tmp_path / "config.yaml", proxies[0].url)
    down = snapshot(tmp_path / "down.json", frozenset({"qwen3-8b-fp8-neuron"}))
    first = sync(cli, cfg, down, "--yes", "--allow-removal")
    assert first.code == 0, first.err
    for proxy in proxies:
        eventually(lambda p: names(p) == ALL, proxy)
    for extra in ([], ["--dry-run"]):
        again = sync(cli, cfg, down, *extra)
        assert again.code == 0, again.err
        assert "in step" in again.err and "nothing was written" in again.err
    for proxy in proxies:  # qwen3 is down: its name answers from the SGLang Qwen
        eventually(lambda p: router(p)["model_group_alias"] is not None, proxy)
        assert router(proxy)["model_group_alias"] == {
            "vllm/qwen3-8b-fp8-neuron": "sglang/qwen2-5-7b-instruct"
        }
        assert (
            served_by(engines, proxy, "vllm/qwen3-8b-fp8-neuron")
            == "qwen2-5-7b-instruct.sglang:30000"
        )


def test_a_recovered_name_is_served_by_its_own_rows_and_a_down_target_leaves_the_chains(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    proxies, engines = world
    cfg = example_config(tmp_path / "config.yaml", proxies[0].url)
    down = snapshot(tmp_path / "down.json", frozenset({"qwen3-8b-fp8-neuron"}))
    assert sync(cli, cfg, down, "--yes", "--allow-removal").code == 0
    up = snapshot(tmp_path / "up.json")
    recovered = sync(cli, cfg, up, "--yes")
    assert recovered.code == 0, recovered.err
    for proxy in proxies:
        eventually(lambda p: router(p)["model_group_alias"] == {}, proxy)
        assert router(proxy)["fallbacks"] == [
            {"vllm/qwen3-8b-fp8-neuron": ["sglang/qwen2-5-7b-instruct"]}
        ]
        qwen3 = [r for r in info(proxy) if r["model_name"] == "vllm/qwen3-8b-fp8-neuron"]
        assert [r["litellm_params"]["model"] for r in qwen3] == ["hosted_vllm/qwen3-8b-fp8-neuron"]
        assert (
            served_by(engines, proxy, "vllm/qwen3-8b-fp8-neuron") == "qwen3-8b-fp8-neuron.vllm:8000"
        )
    # The fallback's target goes down: the chain that names it is dropped on every replica.
    target_down = snapshot(tmp_path / "sglang-down.json", frozenset({"qwen2-5-7b-instruct"}))
    refused = sync(cli, cfg, target_down, "--yes")
    assert refused.code == 4 and "sglang/qwen2-5-7b-instruct (not ready" in refused.err
    dropped = sync(cli, cfg, target_down, "--yes", "--allow-removal")
    assert dropped.code == 0, dropped.err
    for proxy in proxies:
        eventually(lambda p: router(p)["fallbacks"] == [], proxy)
        eventually(lambda p: "sglang/qwen2-5-7b-instruct" not in names(p), proxy)


def test_rows_added_by_hand_and_config_file_models_are_left_alone(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    proxies, _engines = world
    add_by_hand(proxies[1], "team/hand-made", "hand-made-row")
    eventually(lambda p: "team/hand-made" in names(p), proxies[0])  # llmgw reads replica 0
    cfg = example_config(tmp_path / "config.yaml", proxies[0].url)
    result = sync(cli, cfg, snapshot(tmp_path / "up.json"), "--yes", "--allow-removal")
    assert result.code == 0, result.err
    assert "not managed by llmgw (left as they are): ops/echo, team/hand-made" in result.err
    for proxy in proxies:
        eventually(lambda p: {"team/hand-made", "ops/echo"} <= names(p), proxy)
    status, body = proxies[0].call("POST", "/model/delete", {"id": "hand-made-row"})
    assert status == 200, body


def test_a_changed_param_never_leaves_a_replica_without_the_name(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    proxies, _engines = world
    snap = snapshot(tmp_path / "up.json")
    cfg = example_config(tmp_path / "config.yaml", proxies[0].url)
    assert sync(cli, cfg, snap, "--yes", "--allow-removal").code == 0
    name = "vllm/llama-3-1-8b-int8-neuron"
    for proxy in proxies:
        eventually(lambda p: name in names(p), proxy)
    missing: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            for proxy in proxies:
                if name not in names(proxy):
                    missing.append(proxy.url)
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        changed = cfg.read_text().replace(
            "    - name: llama-3-1-8b-int8-neuron\n",
            "    - name: llama-3-1-8b-int8-neuron\n      litellm_params: {timeout: 31}\n",
        )
        cfg.write_text(changed)
        result = sync(cli, cfg, snap, "--yes")
        assert result.code == 0, result.err
        assert "model changed: vllm/llama-3-1-8b-int8-neuron" in result.out
        assert "all replicas within" in result.err
        time.sleep(3 * litellm_db.RELOAD)  # every replica reloads at least twice more
    finally:
        stop.set()
        poller.join(5)
    assert missing == []
    for proxy in proxies:
        rows = [r for r in info(proxy) if r["model_name"] == name]
        assert [r["litellm_params"].get("timeout") for r in rows] == [31]


def test_status_after_a_sync_then_a_pod_down_then_a_row_by_hand(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    proxies, _engines = world
    cfg = example_config(tmp_path / "config.yaml", proxies[0].url)
    up = snapshot(tmp_path / "up.json")
    assert sync(cli, cfg, up, "--yes", "--allow-removal").code == 0
    on_step = cli("-c", cfg, "status", "--pods-from", up, "-o", "json")
    assert on_step.code == 0, on_step.out + on_step.err
    states = {r["public_name"]: r["state"] for r in json.loads(on_step.out)["names"]}
    assert states.pop("ops/echo") == "served but not wanted"  # the replicas' own file model
    assert set(states.values()) == {"in step"}, states
    assert set(states) == ALL - {"ops/echo"}
    # Only a router setting differs: every name in step, but the next sync would write.
    text = cfg.read_text()
    cfg.write_text(text.replace("  num_retries: 2\n", "  num_retries: 5\n", 1))
    router = cli("-c", cfg, "status", "--pods-from", up, "-o", "json")
    cfg.write_text(text)
    assert router.code == 1, router.out + router.err
    assert any("num_retries" in o for o in json.loads(router.out)["other"]), router.out
    down = snapshot(tmp_path / "down.json", frozenset({"llama3-2-3b"}))
    out_of_step = cli("-c", cfg, "status", "--pods-from", down, "-o", "json")
    assert out_of_step.code == 1
    rows = {r["public_name"]: r for r in json.loads(out_of_step.out)["names"]}
    assert rows["ollama/llama3-2-3b"]["state"] == "would be removed"
    [member] = rows["ollama/llama3-2-3b"]["members"]
    assert (member["ready"], member["ready_pods"], member["reason"]) == (
        False,
        0,
        "CrashLoopBackOff",
    )
    assert rows["ollama/llama3-2-3b"]["gateway"]["deployments"] == 1  # typed, not "1 deployment"
    add_by_hand(proxies[0], "team/by-hand", "by-hand-row")
    try:
        shown = cli("-c", cfg, "status", "--pods-from", up)
        assert shown.code == 0, shown.out + shown.err
        line = next(x for x in shown.out.splitlines() if x.startswith("team/by-hand"))
        assert "served but not wanted" in line and "1 not managed by llmgw" in line
        assert shown.out.splitlines()[0].split() == [
            "PUBLIC_NAME",
            "STATE",
            "CONFIG",
            "CLUSTER",
            "GATEWAY",
        ]
    finally:
        proxies[0].call("POST", "/model/delete", {"id": "by-hand-row"})


def test_sync_verify_proves_the_names_it_added_answer(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    proxies, engines = world
    cfg = example_config(tmp_path / "config.yaml", proxies[0].url)
    down = snapshot(tmp_path / "down.json", frozenset({"qwen3-8b-fp8-neuron"}))
    up = snapshot(tmp_path / "up.json")
    assert sync(cli, cfg, down, "--yes", "--allow-removal").code == 0
    proved = sync(cli, cfg, up, "--yes", "--verify")
    assert proved.code == 0, proved.err
    assert "verify through the gateway" in proved.err
    assert sync(cli, cfg, down, "--yes", "--allow-removal").code == 0
    engines.down_hosts = {"qwen3-8b-fp8-neuron.vllm:8000"}  # its engine stopped again
    try:
        failed = sync(cli, cfg, up, "--yes", "--verify")
    finally:
        engines.down_hosts = set()
    assert failed.code == 3, failed.err
    assert (
        "the sync was applied, but these names did not answer through the gateway: "
        "vllm/qwen3-8b-fp8-neuron (only its fallback sglang/qwen2-5-7b-instruct answered)"
        in failed.err
    )
    assert "it was not rolled back" in failed.err


def test_label_found_models_sync_to_both_replicas_and_leave_with_their_pods(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    """No model listed: the rule's finds reach both replicas, each routed to its own Service,
    and a model whose pods are gone leaves them on the next sync."""
    from tests import labelled

    proxies, engines = world
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        labelled.CONFIG.read_text()
        .replace(
            "  namespace: gateway\n",
            f"  namespace: gateway\n  model_source: api\n  url: {proxies[0].url}\n",
        )
        .replace("secrets:\n", "secrets:\n  salt_key: {env: LITELLM_SALT_KEY}\n")
    )
    snap = labelled.snapshot(tmp_path / "cluster.json")
    result = sync(cli, cfg, snap, "--yes")
    assert result.code == 0, result.out + result.err
    for proxy in proxies:
        eventually(lambda p: set(labelled.EXPECTED) <= names(p), proxy)
        assert not {"vllm/evil", "vllm/stray", "vllm/mystery"} & names(proxy)
        assert served_by(engines, proxy, "vllm/phi-mini") == "phi-mini.inhouse:8000"
        assert served_by(engines, proxy, "tgi/mistral-7b") == "mistral-7b.models"  # port 80
    status = cli("-c", cfg, "status", "--pods-from", snap, "-o", "json")
    rows = {r["public_name"]: r for r in json.loads(status.out)["names"]}
    assert {n: rows[n]["state"] for n in labelled.EXPECTED} == dict.fromkeys(
        labelled.EXPECTED, "in step"
    )
    assert rows["vllm/phi-mini"]["members"][0]["found_by"] == "discover[0]"
    gone = [o for o in labelled.objects() if o["metadata"]["name"] != "phi-mini-0"]
    snap.write_text(json.dumps(kube_list(gone)))
    result = sync(cli, cfg, snap, "--yes", "--allow-removal")
    assert result.code == 0, result.out + result.err
    for proxy in proxies:
        eventually(lambda p: "vllm/phi-mini" not in names(p), proxy)
        assert set(labelled.EXPECTED) - {"vllm/phi-mini"} <= names(proxy)


def test_an_engine_api_key_in_api_mode_reaches_the_engine_from_the_pods_variable(
    cli: Cli, world: tuple[list[Proxy], Engines], key: None, tmp_path: Path
) -> None:
    """The row carries api_key: os.environ/LLMGW_API_KEY_… (never the key); each replica
    resolves it from its own environment, which the managed Secret fills."""
    proxies, engines = world
    cfg = example_config(tmp_path / "config.yaml", proxies[0].url)
    cfg.write_text(
        cfg.read_text().replace(
            "    - name: qwen3-8b-fp8-neuron\n",
            "    - name: qwen3-8b-fp8-neuron\n      api_key: {env: VLLM_API_KEY}\n",
            1,
        )
    )
    snap = snapshot(tmp_path / "cluster.json")
    result = sync(cli, cfg, snap, "--yes", "--allow-removal")
    assert result.code == 0, result.out + result.err

    def keyed(proxy: Proxy) -> bool:
        """The next request reaches the engine with the key (once the replica reloaded)."""
        before = len(engines.seen)
        status, body = proxy.chat("vllm/qwen3-8b-fp8-neuron", f"hello {time.monotonic()}")
        assert status == 200, body
        seen = [s for s in engines.seen[before:] if not s.model.startswith("langfuse:")]
        return [s.authorization for s in seen] == [f"Bearer {ENGINE_KEY}"]

    for proxy in proxies:
        eventually(keyed, proxy)
    assert ENGINE_KEY not in result.out + result.err
    stored = [r for r in info(proxies[0]) if r["model_name"] == "vllm/qwen3-8b-fp8-neuron"]
    assert ENGINE_KEY not in json.dumps(stored)  # the row holds the reference, not the key
