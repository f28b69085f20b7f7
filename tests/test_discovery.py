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


# -- models found by label ------------------------------------------------------------------

RULE = "discover:\n  - namespaces: [models]\n    selector: llmgw.io/serve=true\n"


def ruled(write: Write, text: str = "") -> config.Config:
    return config.load(write("config.yaml", RULE + text))


def served_pod(name: str, app: str, **kwargs: Any) -> dict[str, Any]:
    return pod(name, "models", {"app": app, "llmgw.io/serve": "true"}, **kwargs)


def test_the_labelled_cluster_is_found_with_engines_and_served_names() -> None:
    from tests import labelled

    found = discovery.find(config.load(labelled.CONFIG), state(*labelled.objects()))
    got = {m.public_name: (m.engine, m.namespace, m.served_name) for m in found.models}
    assert got == labelled.EXPECTED
    assert all(m.ready and m.found_by == "discover[0]" for m in found.models)
    by_pod = {r.split("'")[1]: r for r in found.reports}
    assert set(by_pod) == {"models/mystery-0", "models/evil-0", "models/stray-0"}
    assert "engine unknown" in by_pod["models/mystery-0"]
    assert (
        "llmgw.io/model-name" in by_pod["models/evil-0"] and "left out" in by_pod["models/evil-0"]
    )
    assert "\n" not in by_pod["models/evil-0"]  # the value is quoted, never printed raw
    assert "not served: no rule selects it" in by_pod["models/stray-0"]


@pytest.mark.parametrize(
    ("image", "command", "engine"),
    [
        ("vllm/vllm-openai:v0.11.0", None, "vllm"),
        ("public.ecr.aws/q9t5s3a7/vllm-neuron-openai:0.9", None, "vllm"),
        ("myorg/notvllm:1", None, None),
        ("public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.9.1", None, "vllm"),
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4",
            None,
            "tgi",
        ),
        ("ghcr.io/huggingface/tgi-gaudi:2.3", None, "tgi"),
        ("protein-tools/teiresias:1", None, None),
        ("rocm/vllm-openai-rocm:latest", None, "vllm"),
        ("lmsysorg/sglang:latest", None, "sglang"),
        ("ghcr.io/huggingface/text-generation-inference:3.3.4", None, "tgi"),
        ("ollama/ollama@sha256:" + "a" * 64, None, "ollama"),
        ("registry:5000/huggingface/text-embeddings-inference:cpu-1.7", None, "tei"),
        ("python:3.12", ["python", "-m", "vllm.entrypoints.openai.api_server"], "vllm"),
        ("python:3.12", ["sh", "-c", "exec text-generation-launcher --model-id x"], "tgi"),
        ("python:3.12", ["/usr/local/bin/text-embeddings-router"], "tei"),
        ("python:3.12", ["python", "serve.py", "--model", "vllm"], None),
        ("busybox:1.36", None, None),
    ],
)
def test_engine_recognised_from_image_or_command(
    image: str, command: list[str] | None, engine: str | None
) -> None:
    got = discovery.recognise(pod("p", "models", {}, image=image, command=command))
    assert (got[0].name if got else None) == engine


def test_an_engine_label_wins_over_the_image_and_a_rules_engine_over_both(write: Write) -> None:
    p = served_pod("a-0", "a", image="lmsysorg/sglang:latest")
    p["metadata"]["labels"]["llmgw.io/engine"] = "tgi"
    assert [m.engine for m in discovery.discover(ruled(write), state(p))] == ["tgi"]
    fixed = config.load(write("c.yaml", RULE + "    engine: ollama\n"))
    assert [m.public_name for m in discovery.discover(fixed, state(p))] == ["ollama/a"]


@pytest.mark.parametrize(
    ("labels", "annotations", "message"),
    [
        ({"llmgw.io/engine": "triton"}, {}, "llmgw.io/engine: 'triton' is not an engine"),
        ({}, {"llmgw.io/weight": "heavy"}, "llmgw.io/weight: 'heavy' is not a weight"),
        ({}, {"llmgw.io/weight": "inf"}, "is not a weight"),
        ({}, {"llmgw.io/weight": "-1"}, "is not a weight"),
        ({}, {"llmgw.io/order": "0"}, "llmgw.io/order: '0' is not a order"),
        ({}, {"llmgw.io/model-name": " "}, "llmgw.io/model-name"),
        ({}, {"llmgw.io/model-name": "a\x1b[31mred"}, "one line"),
    ],
)
def test_bad_label_or_annotation_values_leave_the_pod_out_and_say_why(
    write: Write, labels: dict[str, str], annotations: dict[str, str], message: str
) -> None:
    p = served_pod("a-0", "a")
    p["metadata"]["labels"].update(labels)
    p["metadata"]["annotations"] = annotations
    good = served_pod("b-0", "b")
    found = discovery.find(ruled(write), state(p, good))
    assert [m.name for m in found.models] == ["b"]
    assert len(found.reports) == 1 and message in found.reports[0], found.reports
    assert found.reports[0].startswith("Pod 'models/a-0' (discover[0]): ")
    assert "\x1b" not in found.reports[0]


def test_a_pod_without_a_name_label_is_reported(write: Write) -> None:
    p = pod("x-0", "models", {"llmgw.io/serve": "true"})
    found = discovery.find(ruled(write), state(p))
    assert found.models == [] and "no app.kubernetes.io/name or app label" in found.reports[0]


def test_app_kubernetes_io_name_wins_over_app(write: Write) -> None:
    p = served_pod("x-0", "legacy")
    p["metadata"]["labels"]["app.kubernetes.io/name"] = "modern"
    assert [m.name for m in discovery.discover(ruled(write), state(p))] == ["modern"]


def test_annotations_join_a_configured_group_with_weight_and_order(write: Write) -> None:
    from llmgw import desired

    p = served_pod("x-0", "llama-b", ip="10.0.0.2")
    p["metadata"]["annotations"] = {
        "llmgw.io/model-name": "llama",
        "llmgw.io/weight": "3",
        "llmgw.io/order": "2",
    }
    c = ruled(write, "models:\n  vllm:\n    - {name: llama-a, model_name: llama, weight: 1}\n")
    models = discovery.discover(c, state(pod("a-0", "vllm", {"app": "llama-a"}), p))
    entries = desired.build(c, models).entries
    group = {e["name"]: e["litellm_params"] for e in entries if e["public_name"] == "llama"}
    assert set(group) == {"llama-a", "llama-b"}
    assert (group["llama-b"]["weight"], group["llama-b"]["order"]) == (3.0, 2)


def test_an_embedding_model_cannot_join_a_chat_group(write: Write) -> None:
    p = served_pod("x-0", "bge", image="ghcr.io/huggingface/text-embeddings-inference:1.7")
    p["metadata"]["annotations"] = {"llmgw.io/model-name": "bedrock/nova"}
    c = ruled(write, "bedrock:\n  region: us-east-1\n  llm: [{name: nova, model: amazon.nova}]\n")
    found = discovery.find(c, state(p))
    assert found.models == []
    assert "group of chat models (bedrock)" in found.reports[0]


def test_the_same_app_in_two_namespaces_is_one_group_of_two(write: Write) -> None:
    from llmgw import desired

    c = config.load(
        write(
            "c.yaml",
            "discover:\n  - namespaces: [east, west]\n    selector: llmgw.io/serve=true\n",
        )
    )
    pods = [
        pod(f"l-{ns}", ns, {"app": "llama", "llmgw.io/serve": "true"}) for ns in ("east", "west")
    ]
    models = discovery.discover(c, state(*pods))
    assert [(m.public_name, m.namespace) for m in models] == [
        ("vllm/llama", "east"),
        ("vllm/llama", "west"),
    ]
    entries = desired.build(c, models).entries
    assert [e["litellm_params"]["api_base"] for e in entries] == [
        "http://llama.east:8000/v1",
        "http://llama.west:8000/v1",
    ]


def test_a_listed_model_wins_over_a_rule_and_is_reported_once(write: Write) -> None:
    c = ruled(write, "models:\n  vllm:\n    - {name: a, namespace: models, served_name: mine}\n")
    found = discovery.find(c, state(served_pod("a-0", "a"), served_pod("b-0", "b")))
    assert [(m.public_name, m.found_by) for m in found.models] == [
        ("vllm/a", "models"),
        ("vllm/b", "discover[0]"),
    ]
    assert found.models[0].served_name == "mine"
    assert found.models[0].notes[-1] == "also selected by discover[0]: this models entry wins"
    assert found.reports == []


def test_a_rules_not_ready_pods_say_why(write: Write) -> None:
    found = discovery.discover(ruled(write), state(served_pod("a-0", "a", state="crashloop")))
    assert [(m.ready, m.reason) for m in found] == [(False, "CrashLoopBackOff")]


def test_did_you_mean_for_a_listed_name_with_no_pods(write: Write) -> None:
    c = cfg(write, "  vllm:\n    - name: Llama-3-1-8B\n    - name: qwen3-8bb\n")
    found = discovery.discover(
        c,
        state(pod("l-0", "vllm", {"app": "llama-3-1-8b"}), pod("q-0", "vllm", {"app": "qwen3-8b"})),
    )
    assert [m.reason for m in found] == [
        "no pods match app=Llama-3-1-8B in namespace vllm; did you mean app=llama-3-1-8b?",
        "no pods match app=qwen3-8bb in namespace vllm; did you mean app=qwen3-8b?",
    ]


def test_model_servers_nothing_selects_are_reported_only_when_ready_and_watched(
    write: Write,
) -> None:
    found = discovery.find(
        ruled(write),
        state(
            pod("s-0", "models", {"app": "s"}, image="ollama/ollama:0.9"),
            pod("s-1", "models", {"app": "s"}, state="crashloop"),
            pod("o-0", "elsewhere", {"app": "o"}),
            pod("r-0", "models", {"app": "r"}, image="redis:7"),
        ),
    )
    assert found.reports == [
        "Pod 'models/s-0': a ollama server (image 'ollama/ollama:0.9'), Ready, not served: "
        "no rule selects it"
    ]


def test_many_unselected_servers_are_counted_not_listed(write: Write) -> None:
    pods = [pod(f"s-{i}", "models", {"app": f"s{i}"}) for i in range(25)]
    reports = discovery.find(ruled(write), state(*pods)).reports
    assert len(reports) == discovery.MAX_UNSELECTED + 1
    assert reports[-1] == "… and 5 more model servers no rule selects"


def test_wanted_is_one_selector_per_namespace(write: Write) -> None:
    from llmgw.kube.read import pod_selector

    c = ruled(
        write,
        "models:\n  vllm:\n    - {name: a}\n    - {name: b}\n    - {name: c, namespace: models}\n",
    )
    wanted = discovery.wanted(c)
    assert {ns: pod_selector(w) for ns, w in wanted.items()} == {
        "models": None,  # app=c and the rule share nothing: the whole namespace
        "vllm": "app in (a,b)",
    }
    only_rule = discovery.wanted(ruled(write))
    assert pod_selector(only_rule["models"]) == "llmgw.io/serve=true"
    assert pod_selector(discovery.wanted(ruled(write), everything=True)["models"]) is None


def test_of_several_services_the_specific_one_with_the_engine_port_wins(write: Write) -> None:
    """A catch-all Service over every model of the rule, and a metrics Service beside the
    model's own: requests must go to the one that reaches only this model's engine."""
    found = discovery.discover(
        ruled(write),
        state(
            served_pod("a-0", "a"),
            served_pod("b-0", "b"),
            service("all-models", "models", {"llmgw.io/serve": "true"}, 8000),
            service("a-metrics", "models", {"app": "a"}, 9090, port_name="metrics"),
            service("a", "models", {"app": "a"}, 8000),
        ),
    )
    assert [(m.name, m.service) for m in found] == [("a", "a"), ("b", "all-models")]


def test_a_narrower_metrics_service_never_takes_the_api_base(write: Write) -> None:
    """The engine's port comes first, the selector's width second: a metrics Service that
    selects more labels than the model's own still does not carry its requests."""
    found = discovery.discover(
        ruled(write),
        state(
            served_pod("a-0", "a"),
            service("a-metrics", "models", {"app": "a", "llmgw.io/serve": "true"}, 9090,
                    port_name="metrics"),
            service("a", "models", {"app": "a"}, 8000),
        ),
    )  # fmt: skip
    assert [(m.service, m.api_base) for m in found] == [("a", "http://a.models:8000/v1")]


def test_pods_of_one_name_serving_different_models_are_noted(write: Write) -> None:
    found = discovery.discover(
        ruled(write),
        state(
            served_pod("a-0", "a", args=["--model", "org/one"]),
            served_pod("a-1", "a", args=["--model", "org/two"]),
        ),
    )
    assert found[0].served_name == "org/one"
    assert found[0].notes[-1].startswith("its Ready pods serve different models (org/one, org/two)")


def test_did_you_mean_past_its_budget_still_finds_the_same_name_spelt_otherwise(
    write: Write,
) -> None:
    """Close matches cost a comparison per label: only the first 20 names get one; the same
    name in other case or with '.'/'_' for '-' is found for every name."""
    names = [f"missing-{i}" for i in range(25)] + ["Llama_3.1-8B", "qwen3-8bb"]
    c = cfg(write, "  vllm:\n" + "".join(f"    - name: {n}\n" for n in names))
    pods = [pod("l-0", "vllm", {"app": "llama-3-1-8b"}), pod("q-0", "vllm", {"app": "qwen3-8b"})]
    reasons = {m.name: m.reason for m in discovery.discover(c, state(*pods))}
    assert reasons["Llama_3.1-8B"].endswith("did you mean app=llama-3-1-8b?")
    assert reasons["qwen3-8bb"] == "no pods match app=qwen3-8bb in namespace vllm"


def test_pods_of_one_model_selected_by_two_rules_are_one_model(write: Write) -> None:
    """Two rules over one namespace, each selecting some of an app's pods: one model with both
    pods (found by the first rule), not two with one identity."""
    from llmgw import desired

    c = config.load(
        write(
            "c.yaml",
            "discover:\n"
            "  - {namespaces: [models], selector: tier=gpu}\n"
            "  - {namespaces: [models], selector: tier=cpu}\n",
        )
    )
    pods = [
        pod("a-0", "models", {"app": "a", "tier": "cpu"}),
        pod("a-1", "models", {"app": "a", "tier": "gpu"}, ip="10.0.1.11"),
    ]
    models = discovery.discover(c, state(*pods))
    assert [(m.name, m.replicas, m.found_by) for m in models] == [("a", 2, "discover[0]")]
    assert len(desired.build(c, models).entries) == 1
