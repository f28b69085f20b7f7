from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmgw import config, discovery, integration, snapshot
from llmgw.errors import InputError
from llmgw.state import ClusterState
from tests.conftest import REPO
from tests.k8s_objects import pod

Write = Callable[[str, str], Path]


def example() -> dict[str, object]:
    cfg = config.load(REPO / "config.example.yaml")
    found = discovery.discover(cfg, snapshot.load(REPO / "examples/cluster.yaml"))
    return integration.build(cfg, found, {})


def test_seed_shape_is_kept() -> None:
    obj = example()
    bedrock = obj["bedrock"]
    assert isinstance(bedrock, dict)
    assert bedrock["region"] == "us-west-2"
    assert [m["name"] for m in bedrock["llm"]] == [
        "claude-3.7-sonnet",
        "amazon-nova-premier",
        "mistral-7b-instruct-bedrock",
    ]
    assert (
        bedrock["llm"][0]["litellm_model"] == "bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    )
    models = obj["llm-model"]
    assert isinstance(models, dict)
    assert set(models) == {"vllm", "sglang", "tgi", "ollama", "tei"}
    assert obj["o11y"]["config"]["callbacks"] == ["langfuse"]  # type: ignore[index]


def test_only_ready_models_with_deploy_true_are_included(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            "models:\n  vllm:\n    - name: up\n    - name: down\n    - name: idle\n      deploy: false\n",
        )
    )
    state = snapshot.state_from_objects(
        [
            pod("up-1", "vllm", {"app": "up"}),
            pod("down-1", "vllm", {"app": "down"}, state="crashloop"),
            pod("idle-1", "vllm", {"app": "idle"}),
        ],
        source="t",
    )
    obj = integration.build(cfg, discovery.discover(cfg, state), {})
    assert list(obj["llm-model"]["vllm"]) == ["up"]
    entry = obj["llm-model"]["vllm"]["up"]
    assert entry["litellm_model"] == "hosted_vllm/up"
    assert entry["api_base"] == "http://up.vllm:8000/v1"
    assert entry["model_info"] == {"mode": "chat"}


def test_tei_is_an_embedding_model() -> None:
    tei = example()["llm-model"]["tei"]["bge-large-en-v1-5"]  # type: ignore[index]
    assert tei["mode"] == "embedding" and tei["model_info"]["mode"] == "embedding"
    assert not tei["litellm_model"].startswith("huggingface/")


def test_bedrock_deploy_false_and_region_override(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            "bedrock:\n  region: us-west-2\n  llm:\n    - {name: a, model: m.a, region: eu-central-1}\n"
            "    - {name: b, model: m.b, deploy: false}\n  embedding:\n    - {name: e, model: amazon.titan-embed-text-v2:0}\n",
        )
    )
    obj = integration.build(cfg, [], {})
    assert [(m["name"], m["region"]) for m in obj["bedrock"]["llm"]] == [("a", "eu-central-1")]
    assert obj["bedrock"]["embedding"][0]["mode"] == "embedding"


def test_reference_mode_holds_no_secret(write: Write) -> None:
    cfg = config.load(
        write("c.yaml", "secrets:\n  ui_password: {secret: ui-creds, key: password}\n")
    )
    obj = integration.build(cfg, [], {"LITELLM_MASTER_KEY": "sk-live-123"})
    secrets = obj["secrets"]
    assert secrets["masterkey"] == {
        "secret_name": "litellm-llmgw-env",
        "secret_key": "PROXY_MASTER_KEY",
    }
    assert secrets["managed_secret"] == "litellm-llmgw-env"
    assert secrets["secret_key_refs"] == [
        {"name": "UI_PASSWORD", "secret": "ui-creds", "key": "password"}
    ]
    assert "sk-live-123" not in repr(obj)
    assert integration.inline_secret_values(obj) == []


def test_inline_mode_reads_the_environment(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            "secrets:\n  mode: inline\n  ui_username: {env: UI_U}\n"
            "o11y:\n  langfuse: {enabled: true}\n",
        )
    )
    env = {
        "LITELLM_MASTER_KEY": "sk-1",
        "UI_U": "admin",
        "LANGFUSE_PUBLIC_KEY": "pk",
        "LANGFUSE_SECRET_KEY": "sk-lf",
    }
    obj = integration.build(cfg, [], env)
    assert obj["secrets"]["masterkey"] == {"value": "sk-1"}
    assert obj["secrets"]["env"] == {
        "UI_USERNAME": "admin",
        "LANGFUSE_PUBLIC_KEY": "pk",
        "LANGFUSE_SECRET_KEY": "sk-lf",
    }
    assert sorted(integration.inline_secret_values(obj)) == sorted(["sk-1", "admin", "pk", "sk-lf"])


def test_inline_mode_missing_variable_is_named(write: Write) -> None:
    cfg = config.load(write("c.yaml", "secrets:\n  mode: inline\n"))
    with pytest.raises(InputError) as info:
        integration.build(cfg, [], {})
    assert (
        info.value.message
        == "environment variable LITELLM_MASTER_KEY is not set (secrets.master_key)"
    )


def test_domain_gives_https_host_and_alb_annotations(write: Write) -> None:
    cfg = config.load(
        write("c.yaml", "gateway:\n  domain: example.com\n  certificate_arn: arn:aws:acm:x\n")
    )
    gw = integration.build(cfg, [], {})["gateway"]
    assert gw["host"] == "litellm.example.com" and gw["https"]
    annotations = gw["ingress"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == "arn:aws:acm:x"


def test_no_domain_no_https(write: Write) -> None:
    gw = integration.build(config.load(write("c.yaml", "gateway: {}\n")), [], {})["gateway"]
    assert gw["host"] == "" and not gw["https"]
    assert "alb.ingress.kubernetes.io/listen-ports" not in gw["ingress"]["annotations"]


GROUPS = """bedrock:
  region: us-west-2
  llm:
    - {name: claude, model: m.claude, model_name: chat, order: 2}
    - {name: spare, model: m.spare, deploy: false}
models:
  vllm:
    - {name: a, model_name: chat, weight: 3, order: 1, rpm: 60}
    - {name: b, model_name: chat, weight: 1, order: 1, tpm: 1000}
    - {name: down}
    - {name: lonely}
router:
  routing_strategy: latency-based-routing
  num_retries: 2
  fallbacks:
    vllm/down: [bedrock/spare, chat]
    vllm/lonely: [bedrock/spare]
    chat: [vllm/down, bedrock/spare]
"""


def build_groups(write: Write, ready: tuple[str, ...]) -> dict[str, Any]:
    cfg = config.load(write("g.yaml", GROUPS))
    state = snapshot.state_from_objects(
        [pod(f"{n}-0", "vllm", {"app": n}) for n in ready]
        + [
            pod(f"{n}-0", "vllm", {"app": n}, state="crashloop")
            for n in ("a", "b", "down", "lonely")
            if n not in ready
        ],
        "t",
    )
    return integration.build(cfg, discovery.discover(cfg, state), {})


def test_a_group_has_one_entry_per_ready_member_with_its_routing(write: Write) -> None:
    obj = build_groups(write, ("a", "b", "lonely"))
    entries = [(m["public_name"], m["name"], m["litellm_params"]) for m in obj["models"]]
    assert [(p, n) for p, n, _ in entries] == [
        ("chat", "claude"),
        ("chat", "a"),
        ("chat", "b"),
        ("vllm/lonely", "lonely"),
    ]
    assert {k: entries[1][2][k] for k in ("weight", "order", "rpm")} == {
        "weight": 3.0,
        "order": 1,
        "rpm": 60,
    }
    assert entries[0][2]["order"] == 2 and entries[2][2]["tpm"] == 1000


def test_fallbacks_keep_only_served_targets_and_a_down_name_gets_an_alias(write: Write) -> None:
    obj = build_groups(write, ("a", "lonely"))
    router = obj["router"]
    assert router == {
        "routing_strategy": "latency-based-routing",
        "num_retries": 2,
        "model_group_alias": {"vllm/down": "chat"},
    }
    warnings = obj["warnings"]
    assert "vllm/down → chat while vllm/down is down" in warnings
    assert "fallbacks: vllm/lonely has no served target; chain dropped" in warnings
    assert (
        "fallbacks: bedrock/spare is not served in this render; left out of chat's chain"
        in warnings
    )


def test_a_switched_off_model_gets_no_alias(write: Write) -> None:
    cfg = config.load(
        write("g.yaml", GROUPS.replace("{name: down}", "{name: down, deploy: false}"))
    )
    state = snapshot.state_from_objects([pod("a-0", "vllm", {"app": "a"})], "t")
    obj: dict[str, Any] = integration.build(cfg, discovery.discover(cfg, state), {})
    assert "model_group_alias" not in obj["router"]


def test_a_group_stays_served_while_any_member_is_ready(write: Write) -> None:
    obj = build_groups(write, ("b",))
    assert [m["name"] for m in obj["models"] if m["public_name"] == "chat"] == ["claude", "b"]


ENGINE_KEYS = """\
secrets:
  mode: {mode}
models:
  vllm:
    - name: a
      api_key: {{env: VLLM_KEY}}
    - name: b
      api_key: {{env: VLLM_KEY}}
  sglang:
    - name: c
      api_key: {{secret: engine-keys, key: sglang}}
discover:
  - namespaces: [lab]
    selector: llmgw.io/serve=true
    engine: tgi
    api_key: {{env: LAB_KEY}}
"""


def engine_key_cluster() -> ClusterState:
    return snapshot.state_from_objects(
        [
            pod("a-1", "vllm", {"app": "a"}),
            pod("b-1", "vllm", {"app": "b"}),
            pod("c-1", "sglang", {"app": "c"}),
            pod("d-1", "lab", {"app": "d", "llmgw.io/serve": "true"}),
        ],
        source="t",
    )


@pytest.mark.parametrize("mode", ["reference", "inline"])
def test_engine_api_keys_are_sent_by_reference_and_carried_as_secrets(
    write: Write, mode: str
) -> None:
    cfg = config.load(write("c.yaml", ENGINE_KEYS.format(mode=mode)))
    env = {"LITELLM_MASTER_KEY": "sk-m", "VLLM_KEY": "sk-vllm-canary", "LAB_KEY": "sk-lab-canary"}
    obj = integration.build(cfg, discovery.discover(cfg, engine_key_cluster()), env)
    keys = {
        e["model_name"]: e["litellm_params"].get("api_key")
        for e in obj["proxy_config"]["model_list"]
    }
    assert keys == {
        "vllm/a": "os.environ/LLMGW_API_KEY_VLLM_KEY",
        "vllm/b": "os.environ/LLMGW_API_KEY_VLLM_KEY",  # one key, one variable
        "sglang/c": "os.environ/LLMGW_API_KEY_ENGINE_KEYS_SGLANG",
        "tgi/d": "os.environ/LLMGW_API_KEY_LAB_KEY",  # the rule's key for what it finds
    }
    secrets = obj["secrets"]
    assert {
        "name": "LLMGW_API_KEY_ENGINE_KEYS_SGLANG",
        "secret": "engine-keys",
        "key": "sglang",
    } in (secrets["secret_key_refs"])
    if mode == "inline":
        assert {k: v for k, v in secrets["env"].items() if k.startswith("LLMGW_")} == {
            "LLMGW_API_KEY_VLLM_KEY": "sk-vllm-canary",
            "LLMGW_API_KEY_LAB_KEY": "sk-lab-canary",
        }
        assert {"sk-vllm-canary", "sk-lab-canary"} <= set(integration.inline_secret_values(obj))
    else:
        assert "canary" not in repr(obj)
        assert integration.env_secret_values(cfg, env)["LLMGW_API_KEY_LAB_KEY"] == "sk-lab-canary"


def test_an_unset_engine_key_names_its_place_in_the_config(write: Write) -> None:
    cfg = config.load(write("c.yaml", ENGINE_KEYS.format(mode="inline")))
    with pytest.raises(InputError) as info:
        integration.build(cfg, [], {"LITELLM_MASTER_KEY": "sk-m", "LAB_KEY": "x"})
    assert info.value.message == (
        "environment variable VLLM_KEY is not set (models.vllm[0].api_key)"
    )


def test_an_api_key_given_twice_is_refused(write: Write) -> None:
    path = write(
        "c.yaml",
        "models:\n  vllm:\n    - name: a\n      api_key: {env: K}\n"
        "      litellm_params: {api_key: {env: K2}}\n",
    )
    with pytest.raises(InputError) as info:
        config.load(path)
    assert "api_key is given twice" in str(info.value)
