from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llmgw import config, discovery, integration, snapshot
from llmgw.errors import InputError
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
    assert [m["name"] for m in bedrock["llm"]] == ["claude-3.7-sonnet", "amazon-nova-premier"]
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
    gw = integration.build(config.load(write("c.yaml", "")), [], {})["gateway"]
    assert gw["host"] == "" and not gw["https"]
    assert "alb.ingress.kubernetes.io/listen-ports" not in gw["ingress"]["annotations"]
