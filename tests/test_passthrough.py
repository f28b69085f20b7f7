"""gateway.values, litellm_settings and general_settings: what passes through, what is refused
(with where and why, never the value), and the merge under llmgw's own values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from llmgw import config
from llmgw.config import passthrough
from llmgw.errors import InputError
from tests.conftest import REPO, Result

Cli = Callable[..., Result]
BASE = """gateway:
  chart_version: "1.100.5"
{gateway}bedrock:
  region: us-west-2
  llm: [{{name: claude, model: us.anthropic.claude-3-7-sonnet-20250219-v1:0}}]
{rest}"""


def load(write: Callable[[str, str], Path], gateway: str = "", rest: str = "") -> config.Config:
    return config.load(write("config.yaml", BASE.format(gateway=gateway, rest=rest)))


@pytest.mark.parametrize(
    ("gateway", "rest", "said", "hint"),
    [
        ("", "general_settings:\n  master_key: sk-canary-1\n", "config.yaml:7:3: general_settings.master_key: llmgw sets general_settings.master_key itself", "secrets.master_key"),
        ("", "litellm_settings:\n  cache: true\n", "litellm_settings.cache: llmgw sets", "gateway.cache"),
        ("", "general_settings:\n  alerting_args: {slack_webhook_token: sk-canary-1}\n", "general_settings.alerting_args.slack_webhook_token: a secret is never written in the config", "{env: VAR}"),
        ("  values:\n    masterkey: sk-canary-1\n", "", "gateway.values.masterkey: llmgw sets the chart value masterkey itself", "leave it to llmgw"),
        ("  values:\n    envVars: {OPENAI_API_KEY: sk-canary-1}\n", "", "gateway.values.envVars.OPENAI_API_KEY: a secret is never written", "secretKeyRef"),
    ],
)  # fmt: skip
def test_refused_with_where_and_why_never_the_value(
    write: Callable[[str, str], Path], gateway: str, rest: str, said: str, hint: str
) -> None:
    with pytest.raises(InputError) as info:
        load(write, gateway, rest)
    assert said in info.value.message and hint in (info.value.hint or "")
    assert "sk-canary-1" not in info.value.message + (info.value.hint or "")
    assert info.value.exit_code == 2


def test_names_of_secrets_and_keys_that_are_no_secret_pass(
    write: Callable[[str, str], Path],
) -> None:
    c = load(
        write,
        "  values:\n    tolerations: [{key: dedicated, operator: Exists}]\n"
        "    ingress: {tls: [{secretName: gw-tls, hosts: [x]}]}\n"
        "    imagePullSecrets: [{name: regcred}]\n",
        "general_settings:\n  slack_webhook_token: {env: SLACK_TOKEN}\n  max_budget: 100\n",
    )
    assert passthrough.resolve(c.general_settings) == {
        "slack_webhook_token": "os.environ/SLACK_TOKEN",
        "max_budget": 100,
    }


def test_overlaps_and_the_merge_under_ours() -> None:
    ours = {"replicaCount": 2, "ingress": {"enabled": False}, "resources": {"limits": {"cpu": 1}}}
    theirs = {
        "ingress": {"tls": []},
        "resources": {"limits": {"cpu": 2}},
        "nodeSelector": {"a": "b"},
    }
    assert passthrough.overlaps(ours, theirs) == ["resources.limits.cpu"]
    merged = passthrough.merge_under(ours, {"ingress": {"tls": []}, "nodeSelector": {"a": "b"}})
    assert list(merged) == ["replicaCount", "ingress", "resources", "nodeSelector"]
    assert merged["ingress"] == {"enabled": False, "tls": []}


def test_render_merges_own_values_and_passes_settings_through(
    cli: Cli, write: Callable[[str, str], Path]
) -> None:
    path = write(
        "config.yaml",
        BASE.format(
            gateway="  values:\n    nodeSelector: {pool: cpu}\n",
            rest="general_settings:\n  alerting: [slack]\nlitellm_settings:\n  drop_params: true\n",
        ),
    )
    result = cli("-c", path, "render", "--pods-from", REPO / "examples/cluster.yaml", "--stdout")
    assert result.code == 0, result.err
    values = yaml.safe_load(result.out)
    assert values["nodeSelector"] == {"pool": "cpu"}
    assert values["proxy_config"]["general_settings"]["alerting"] == ["slack"]
    assert values["proxy_config"]["general_settings"]["master_key"] == "os.environ/PROXY_MASTER_KEY"
    assert values["proxy_config"]["litellm_settings"]["drop_params"] is True
    assert result.out.startswith("# Rendered by llmgw")


def test_a_chart_value_llmgw_renders_is_refused_at_render_with_its_path(
    cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    path = write("config.yaml", BASE.format(gateway="  values:\n    replicaCount: 5\n", rest=""))
    out = tmp_path / "values.rendered.yaml"
    result = cli("-c", path, "render", "--pods-from", REPO / "examples/cluster.yaml", "--out", out)
    assert result.code == 2
    assert "gateway.values.replicaCount: llmgw sets this chart value itself" in result.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("models:\n  vllm: [{name: a, litellm_params: {api_key: sk-canary-1}}]\n",
         "models.vllm[0].litellm_params: api_key holds a secret written in the config"),
        ("secrets:\n  master_key: {env: sk-canary-1}\n",
         "env must be the name of an environment variable (letters, digits and _), not its value"),
    ],
)  # fmt: skip
def test_a_secret_in_the_config_is_refused_and_never_echoed(
    write: Callable[[str, str], Path], text: str, said: str
) -> None:
    with pytest.raises(InputError) as info:
        config.load(write("config.yaml", BASE.format(gateway="", rest=text)))
    shown = info.value.message + (info.value.hint or "")
    assert said in shown and "canary" not in shown


def test_an_engine_key_by_reference_is_written_as_os_environ(
    cli: Cli, write: Callable[[str, str], Path]
) -> None:
    path = write(
        "config.yaml",
        BASE.format(
            gateway="",
            rest="models:\n  vllm:\n    - {name: llama-3-1-8b-int8-neuron, litellm_params: {api_key: {env: VLLM_API_KEY}}}\n",
        ),
    )
    result = cli("-c", path, "render", "--pods-from", REPO / "examples/cluster.yaml", "--stdout")
    assert result.code == 0, result.err
    [entry] = [
        e for e in yaml.safe_load(result.out)["proxy_config"]["model_list"]
        if e["model_name"] == "vllm/llama-3-1-8b-int8-neuron"
    ]  # fmt: skip
    assert entry["litellm_params"]["api_key"] == "os.environ/VLLM_API_KEY"
