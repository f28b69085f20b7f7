from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmgw import config, discovery, snapshot
from llmgw.discovery import pod_readiness
from llmgw.engines import ENGINES
from llmgw.errors import InputError
from llmgw.state import ClusterState
from tests.conftest import REPO
from tests.k8s_objects import kube_list, pod, service

Write = Callable[[str, str], Path]


def cfg(write: Write, models: str) -> config.Config:
    return config.load(write("config.yaml", "models:\n" + models))


def state(*objects: dict[str, Any]) -> ClusterState:
    return snapshot.state_from_objects(objects, source="test")


@pytest.mark.parametrize(
    ("pod_state", "ready", "reason"),
    [
        ("ready", True, ""),
        ("crashloop", False, "CrashLoopBackOff"),
        ("imagepull", False, "ImagePullBackOff"),
        ("pending", False, "Pending (ContainerCreating)"),
        ("unschedulable", False, "Pending (Unschedulable)"),
        ("notready", False, "Running, not Ready (readiness probe failing)"),
        ("terminating", False, "terminating"),
        ("succeeded", False, "Succeeded"),
        ("noip", False, "no pod IP"),
    ],
)
def test_pod_readiness(pod_state: str, ready: bool, reason: str) -> None:
    assert pod_readiness(pod("p", "vllm", {"app": "a"}, state=pod_state)) == (ready, reason)


def test_crashloop_pod_is_not_served_even_though_it_is_listed(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n"),
        state(pod("a-1", "vllm", {"app": "a"}, state="crashloop")),
    )
    assert (found[0].ready, found[0].reason, found[0].replicas) == (False, "CrashLoopBackOff", 1)


def test_one_ready_replica_is_enough_and_counts_are_reported(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n"),
        state(
            pod("a-1", "vllm", {"app": "a"}),
            pod("a-2", "vllm", {"app": "a"}, state="crashloop"),
            pod("a-3", "vllm", {"app": "a"}, state="terminating"),
        ),
    )
    assert (found[0].ready, found[0].ready_replicas, found[0].replicas) == (True, 1, 3)
    assert found[0].reason == ""


def test_mixed_reasons_are_counted(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n"),
        state(
            pod("a-1", "vllm", {"app": "a"}, state="crashloop"),
            pod("a-2", "vllm", {"app": "a"}, state="pending"),
        ),
    )
    assert found[0].reason == "CrashLoopBackOff (1/2 pods), Pending (ContainerCreating) (1/2 pods)"


def test_no_pods_names_the_selector_and_namespace(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  tgi:\n    - name: m\n"), state(pod("x", "tgi", {"app": "other"}))
    )
    assert found[0].reason == "no pods match app=m in namespace tgi"
    assert found[0].api_base == "http://m.tgi:80/v1"


def test_pods_in_other_namespaces_do_not_count(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n"), state(pod("a-1", "default", {"app": "a"}))
    )
    assert not found[0].ready


def test_missing_namespace_when_the_source_lists_namespaces(write: Write) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vllm"}}
    found = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n  tei:\n    - name: e\n"), state(ns)
    )
    assert found[0].reason == "no pods match app=a in namespace vllm"
    assert found[1].reason == "namespace tei missing"


def test_api_base_uses_the_service_selecting_the_pods(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  tei:\n    - name: bge\n"),
        state(
            pod("bge-1", "tei", {"app": "bge", "tier": "emb"}),
            service("unrelated", "tei", {"app": "x"}, 9999),
            service("embeddings", "tei", {"app": "bge"}, 8080, 80),
        ),
    )
    assert found[0].service == "embeddings"
    assert found[0].api_base == "http://embeddings.tei:8080/v1"


def test_service_port_matching_the_engine_port_wins_over_others(write: Write) -> None:
    svc = service("a", "vllm", {"app": "a"}, 9090, port_name="metrics")
    svc["spec"]["ports"].append(
        {"name": "api", "port": 8001, "targetPort": 8000, "protocol": "TCP"}
    )
    found = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n"), state(pod("a-1", "vllm", {"app": "a"}), svc)
    )
    assert found[0].api_base == "http://a.vllm:8001/v1"


def test_ollama_api_base_has_no_v1(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  ollama:\n    - name: llama\n      served_name: 'llama3.2:3b'\n"),
        state(
            pod("l", "ollama", {"app": "llama"}),
            service("ollama", "ollama", {"app": "llama"}, 11434),
        ),
    )
    assert found[0].api_base == "http://ollama.ollama:11434"
    assert found[0].served_name == "llama3.2:3b"


def test_overrides_namespace_selector_service_port(write: Write) -> None:
    found = discovery.discover(
        cfg(
            write,
            "  vllm:\n    - name: a\n      namespace: ml\n      selector: {model: llama}\n"
            "      service: gateway-llama\n      port: 9000\n",
        ),
        state(
            pod("p", "ml", {"model": "llama"}), service("gateway-llama", "ml", {"other": "x"}, 8000)
        ),
    )
    assert found[0].ready
    assert found[0].api_base == "http://gateway-llama.ml:9000/v1"


def test_no_service_falls_back_to_the_model_name_and_says_so(write: Write) -> None:
    found = discovery.discover(
        cfg(write, "  sglang:\n    - name: q\n"), state(pod("q-0", "sglang", {"app": "q"}))
    )
    assert found[0].api_base == "http://q.sglang:30000/v1"
    assert found[0].notes and "no Service selects" in found[0].notes[0]


@pytest.mark.parametrize(
    ("engine", "container", "expected"),
    [
        ("vllm", {"args": ["--model", "m/x", "--served-model-name", "served"]}, "served"),
        ("vllm", {"args": ["--served-model-name=served", "--model=m/x"]}, "served"),
        ("vllm", {"args": ["--model", "/models/llama"]}, "/models/llama"),
        (
            "vllm",
            {"command": ["vllm", "serve"], "args": ["meta/Llama", "--port", "8000"]},
            "meta/Llama",
        ),
        (
            "vllm",
            {"command": ["sh", "-c", "exec vllm serve org/m --served-model-name 'my model'"]},
            "my model",
        ),
        ("sglang", {"args": ["--model-path", "Qwen/Qwen2.5-7B"]}, "Qwen/Qwen2.5-7B"),
        ("sglang", {"args": ["--model-path", "Qwen/Q", "--served-model-name", "q"]}, "q"),
        ("tgi", {"args": ["--model-id", "mistralai/M"]}, "mistralai/M"),
        ("tgi", {"env": [{"name": "MODEL_ID", "value": "tiiuae/falcon"}]}, "tiiuae/falcon"),
        ("tei", {"args": ["--model-id", "BAAI/bge"]}, "BAAI/bge"),
        ("ollama", {"args": ["serve"]}, None),
        ("vllm", {"args": ["--port", "8000"]}, None),
    ],
)
def test_served_name_from_pod(engine: str, container: dict[str, Any], expected: str | None) -> None:
    obj = pod(
        "p",
        engine,
        {"app": "a"},
        args=container.get("args"),
        command=container.get("command"),
        env=container.get("env"),
    )
    assert discovery.served_name_from_pod(ENGINES[engine], obj) == expected


def test_served_name_precedence(write: Write) -> None:
    p = pod("a-1", "vllm", {"app": "a"}, args=["--served-model-name", "from-pod"])
    by_pod = discovery.discover(cfg(write, "  vllm:\n    - name: a\n"), state(p))
    by_config = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n      served_name: cfg\n"), state(p)
    )
    by_default = discovery.discover(
        cfg(write, "  vllm:\n    - name: a\n"), state(pod("a-1", "vllm", {"app": "a"}))
    )
    assert [by_pod[0].served_name, by_config[0].served_name, by_default[0].served_name] == [
        "from-pod",
        "cfg",
        "a",
    ]


def test_example_snapshot_matches_the_issue(write: Write) -> None:
    cfg_ = config.load(REPO / "config.example.yaml")
    found = {
        m.name: m for m in discovery.discover(cfg_, snapshot.load(REPO / "examples/cluster.yaml"))
    }
    assert found["qwen3-8b-fp8-neuron"].reason == "CrashLoopBackOff"
    assert not found["qwen3-8b-fp8-neuron"].ready
    ready = {name for name, m in found.items() if m.ready}
    assert ready == set(found) - {"qwen3-8b-fp8-neuron"}
    assert len(found) == 7 - 1  # every configured self-hosted model, and nothing unrelated


def test_snapshot_formats(tmp_path: Path, write: Write) -> None:
    p = pod("a-1", "vllm", {"app": "a"})
    podlist = {
        "apiVersion": "v1",
        "kind": "PodList",
        "items": [{k: v for k, v in p.items() if k != "kind"}],
    }
    as_json = tmp_path / "pods.json"
    as_json.write_text(json.dumps(podlist))
    loaded = snapshot.load(as_json)
    assert [o["metadata"]["name"] for o in loaded.pods["vllm"]] == ["a-1"]
    nested = tmp_path / "nested.yaml"
    import io

    from ruamel.yaml import YAML

    buf = io.StringIO()
    YAML().dump(kube_list([kube_list([p])]), buf)
    nested.write_text(buf.getvalue())
    assert snapshot.load(nested).pods["vllm"][0]["metadata"]["name"] == "a-1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kind": "List", "items": [1]}', "items[0]: expected an object"),
        ('{"kind": "List"', "not valid JSON"),
        ("just text", "expected a Kubernetes List object"),
        ("kind: Deployment\n", "expected a Kubernetes List with items"),
        ("items: [\n", "snap.yaml:2:1:"),
    ],
)
def test_bad_snapshots(write: Write, text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        snapshot.load(write("snap.yaml", text))
    assert message in info.value.message
    assert info.value.exit_code == 2


def test_missing_snapshot(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="pod snapshot not found"):
        snapshot.load(tmp_path / "nope.yaml")
