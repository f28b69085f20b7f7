from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmgw import config, discovery, integration, render, snapshot, yamlout
from llmgw.errors import InputError
from tests.conftest import REPO, Result
from tests.k8s_objects import pod

Write = Callable[[str, str], Path]
TEMPLATE = render.default_template()


def parse(text: str) -> Any:
    """YAML 1.1, as Helm reads values: ``yes``/``on``/``0x1F``/``1:20`` are not strings there."""
    return yaml.safe_load(text)


def example_integration() -> dict[str, Any]:
    cfg = config.load(REPO / "config.example.yaml")
    found = discovery.discover(cfg, snapshot.load(REPO / "examples/cluster.yaml"))
    return integration.build(cfg, found, {})


def model_list(text: str) -> list[dict[str, Any]]:
    return list(parse(text)["proxy_config"]["model_list"])


def test_example_renders_every_ready_model_with_provider_prefixes() -> None:
    text = render.render(TEMPLATE, example_integration(), "config.example.yaml")
    entries = {e["model_name"]: e for e in model_list(text)}
    assert set(entries) == {
        "bedrock/claude-3.7-sonnet",
        "bedrock/amazon-nova-premier",
        "vllm/llama-3-1-8b-int8-neuron",
        "sglang/qwen2-5-7b-instruct",
        "mistral-7b-instruct",  # a group: TGI and Bedrock
        "ollama/llama3-2-3b",
        "tei/bge-large-en-v1-5",
    }
    assert "vllm/qwen3-8b-fp8-neuron" not in entries  # crash-looping
    assert entries["bedrock/claude-3.7-sonnet"]["litellm_params"] == {
        "model": "bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "aws_region_name": "us-west-2",
    }
    assert (
        entries["vllm/llama-3-1-8b-int8-neuron"]["litellm_params"]["model"]
        == "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct"
    )
    ollama = entries["ollama/llama3-2-3b"]["litellm_params"]
    assert ollama == {"model": "ollama_chat/llama3.2:3b", "api_base": "http://ollama.ollama:11434"}
    assert entries["tei/bge-large-en-v1-5"]["model_info"]["mode"] == "embedding"


def test_example_values_have_every_chart_section() -> None:
    values = parse(render.render(TEMPLATE, example_integration(), "c"))
    for key in (
        "replicaCount",
        "resources",
        "serviceAccount",
        "masterkeySecretName",
        "environmentSecrets",
        "envVars",
        "db",
        "postgresql",
        "redis",
        "ingress",
        "proxy_config",
    ):
        assert key in values, key
    assert "masterkey" not in values  # reference mode holds no secret
    general = values["proxy_config"]["general_settings"]
    assert general["master_key"] == "os.environ/PROXY_MASTER_KEY"
    assert general["store_model_in_db"] is True
    settings = values["proxy_config"]["litellm_settings"]
    assert settings["callbacks"] == ["langfuse"]
    assert settings["redact_user_api_key_info"] is True
    assert "turn_off_message_logging" in settings
    assert values["envVars"]["LANGFUSE_HOST"] == "http://langfuse-web.langfuse:3000"
    assert values["ingress"]["className"] == "internet-facing-alb"
    assert values["redis"]["enabled"] is True


def test_inline_mode_reproduces_seed_values(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            "secrets:\n  mode: inline\n  ui_username: {env: U}\n  ui_password: {env: P}\n"
            "bedrock:\n  region: us-west-2\n  llm: [{name: a, model: m.a}]\n",
        )
    )
    obj = integration.build(
        cfg, [], {"LITELLM_MASTER_KEY": "sk-1234", "U": "admin", "P": "pa:ss #1"}
    )
    values = parse(render.render(TEMPLATE, obj, "c"))
    assert values["masterkey"] == "sk-1234"
    assert values["envVars"] == {"UI_USERNAME": "admin", "UI_PASSWORD": "pa:ss #1"}
    assert values["environmentSecrets"] == []


def test_domain_renders_https_ingress(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            "gateway: {domain: example.com}\nbedrock:\n  region: us-west-2\n  llm: [{name: a, model: m.a}]\n",
        )
    )
    values = parse(render.render(TEMPLATE, integration.build(cfg, [], {}), "c"))
    assert values["ingress"]["enabled"] is True
    assert values["ingress"]["hosts"][0]["host"] == "litellm.example.com"
    assert values["ingress"]["tls"] == [{"hosts": ["litellm.example.com"]}]


BEDROCK_ONLY = "bedrock:\n  region: us-west-2\n  llm: [{name: a, model: m.a}]\n"


def test_no_domain_renders_no_ingress(write: Write) -> None:
    """The default never exposes the gateway: plain HTTP, master key in every request."""
    cfg = config.load(write("c.yaml", BEDROCK_ONLY))
    values = parse(render.render(TEMPLATE, integration.build(cfg, [], {}), "c"))
    assert values["ingress"]["enabled"] is False
    example = config.load(REPO / "config.example.yaml")
    assert example.ingress_enabled() is False


def test_an_ingress_without_a_host_needs_the_plain_http_opt_in(write: Write) -> None:
    with pytest.raises(InputError) as info:
        config.load(write("c.yaml", "gateway: {ingress: true}\n" + BEDROCK_ONLY))
    assert (
        ":1:11: gateway.ingress: true without gateway.domain or gateway.host" in info.value.message
    )
    assert info.value.hint and "gateway.ingress_plain_http: true" in info.value.hint
    cfg = config.load(
        write("o.yaml", "gateway: {ingress: true, ingress_plain_http: true}\n" + BEDROCK_ONLY)
    )
    values = parse(render.render(TEMPLATE, integration.build(cfg, [], {}), "c"))
    assert values["ingress"]["enabled"] is True and values["ingress"]["tls"] == []


HOSTILE = [
    "a: b",
    "x # comment",
    "quote' \"double",
    "line\nbreak: injected",
    "{{ 7 * 7 }}",
    "{% raw %}",
    "- item",
    "yes",
    "off",
    "null",
    "0123",
    "1e3",
    "*alias",
    "&anchor",
    "!!python/object",
    "tab\there",
    "\u2028sep",
    "caf\u00e9 \U0001f600",
    "",
    " leading",
    "trailing ",
    "@at",
    "%percent",
    "`tick`",
    "[flow]",
    "|",
    ">",
    "?",
    # YAML 1.1 reads these as booleans, numbers or null (Helm does; a YAML 1.2 parser does not).
    "Yes",
    "ON",
    "y",
    "0x1F",
    "0o17",
    "0b101",
    "1:20",
    "190:20:30",
    ".inf",
    "-.Inf",
    ".NaN",
    "~",
    "=",
    "2001-12-14",
    "us.amazon.nova-pro-v1:0",
    "trailing:",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_out_literal(text: str) -> None:
    doc = f"key: {yamlout.yaml_value(text)}\nafter: 1\n"
    assert parse(doc) == {"key": text, "after": 1}


@pytest.mark.parametrize("text", HOSTILE[:8])
def test_hostile_mapping_keys_and_blocks(text: str) -> None:
    doc = "top:" + yamlout.block({text: [text, {text: text}]}, 2) + "\n"
    assert parse(doc) == {"top": {text: [text, {text: text}]}}


def test_hostile_served_name_cannot_add_structure(write: Write) -> None:
    evil = "x\n    api_key: stolen\n  - model_name: injected"
    cfg = config.load(write("c.yaml", "models:\n  vllm:\n    - name: a\n"))
    state = snapshot.state_from_objects(
        [pod("a-1", "vllm", {"app": "a"}, args=["--served-model-name", evil])], "t"
    )
    obj = integration.build(cfg, discovery.discover(cfg, state), {})
    entries = model_list(render.render(TEMPLATE, obj, "c"))
    assert [e["model_name"] for e in entries] == ["vllm/a"]
    assert entries[0]["litellm_params"] == {
        "model": f"hosted_vllm/{evil}",
        "api_base": "http://a.vllm:8000/v1",
    }


def test_hostile_bedrock_name_and_params(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            'bedrock:\n  region: us-west-2\n  llm:\n    - name: n\n      model_name: "n: {{ x }} # y"\n      model: "m\'\\"#"\n      litellm_params: {"rpm: 1": "a\\nb"}\n',
        )
    )
    entry = model_list(render.render(TEMPLATE, integration.build(cfg, [], {}), "c"))[0]
    assert entry["model_name"] == "n: {{ x }} # y"
    assert entry["litellm_params"]["model"] == "bedrock/m'\"#"
    assert entry["litellm_params"]["rpm: 1"] == "a\nb"


def test_output_is_deterministic() -> None:
    first = render.render(TEMPLATE, example_integration(), "c")
    assert first == render.render(TEMPLATE, example_integration(), "c")
    assert first.endswith("\n") and not first.endswith("\n\n")


def test_no_ready_model_is_refused(write: Write) -> None:
    cfg = config.load(write("c.yaml", "models:\n  vllm:\n    - name: a\n"))
    obj = integration.build(cfg, discovery.discover(cfg, snapshot.state_from_objects([], "t")), {})
    with pytest.raises(InputError) as info:
        render.render(TEMPLATE, obj, "c")
    assert "model_list is empty" in info.value.message
    assert info.value.hint and "llmgw discover" in info.value.hint


def custom(write: Write, body: str) -> Path:
    return write("custom.yaml.j2", body)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{model_name: a, litellm_params: {model: vlm/x, api_base: 'http://a:1/v1'}}",
            "unknown provider prefix 'vlm'",
        ),
        (
            "{model_name: a, litellm_params: {model: hosted_vllm/x}}",
            "hosted_vllm needs litellm_params.api_base",
        ),
        (
            "{model_name: a, litellm_params: {model: hosted_vllm/x, api_base: 'http://a:8000'}}",
            "must end in /v1",
        ),
        (
            "{model_name: a, litellm_params: {model: ollama_chat/x, api_base: 'http://a:1/v1'}}",
            "without /v1",
        ),
        (
            "{model_name: a, litellm_params: {model: openai/x, api_base: 'a.b:1/v1'}}",
            "not an http(s) URL",
        ),
        ("{model_name: '', litellm_params: {model: openai/x}}", "model_name is missing"),
        ("{model_name: a, litellm_params: {model: gpt4}}", "no provider prefix"),
        ("{model_name: a}", "litellm_params is missing"),
        ("{model_name: a, litellm_params: {model: 'bedrock/'}}", "names no model"),
    ],
)
def test_rendered_model_list_is_validated(write: Write, entry: str, message: str) -> None:
    template = custom(write, f"proxy_config:\n  model_list:\n    - {entry}\n")
    with pytest.raises(InputError) as info:
        render.render(template, example_integration(), "c")
    assert message in info.value.message
    assert "proxy_config.model_list[0]" in info.value.message


def test_template_syntax_error_names_the_line(write: Write) -> None:
    template = custom(write, "a: 1\nb: {% if %}\n")
    with pytest.raises(InputError) as info:
        render.render(template, example_integration(), "c")
    assert info.value.message.startswith(f"{template}:2: template syntax error")


def test_undefined_variable_names_the_line(write: Write) -> None:
    template = custom(write, "a: 1\nb: {{ gateway.nope }}\n")
    with pytest.raises(InputError) as info:
        render.render(template, example_integration(), "c")
    assert info.value.message.startswith(f"{template}:2:")
    assert "nope" in info.value.message


def test_template_producing_invalid_yaml_is_refused(write: Write) -> None:
    template = custom(write, "a: [1\n")
    with pytest.raises(InputError, match="rendered"):
        render.render(template, example_integration(), "c")


def test_compare_and_mask(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    assert render.file_diff(path, "a: 1\n").changed
    path.write_text("masterkey: old-secret\n")
    result = render.file_diff(path, "masterkey: new-secret\n", ["old-secret", "new-secret"])
    assert result.changed
    assert "secret" not in result.diff.replace("masterkey", "")
    assert "********" in result.diff
    path.write_text("same\n")
    assert not render.file_diff(path, "same\n").changed


def test_response_cache_is_opt_in(write: Write) -> None:
    base = "bedrock:\n  region: us-west-2\n  llm: [{name: a, model: m.a}]\n"
    off = parse(
        render.render(TEMPLATE, integration.build(config.load(write("c.yaml", base)), [], {}), "c")
    )
    assert "cache" not in off["proxy_config"]["litellm_settings"]
    assert off["redis"]["enabled"] is True
    on_cfg = config.load(write("c.yaml", base + "gateway: {cache: true}\n"))
    on = parse(render.render(TEMPLATE, integration.build(on_cfg, [], {}), "c"))
    settings = on["proxy_config"]["litellm_settings"]
    assert settings["cache"] is True
    assert settings["cache_params"] == {
        "type": "redis",
        "host": "os.environ/REDIS_HOST",
        "port": "os.environ/REDIS_PORT",
        "password": "os.environ/REDIS_PASSWORD",
    }


def test_cache_without_redis_is_a_config_error(write: Write) -> None:
    with pytest.raises(
        InputError, match=r"cache: true needs a Redis \(redis: true, or redis: \{host: …\}\)"
    ):
        config.load(write("c.yaml", "gateway: {cache: true, redis: false}\n"))


def test_template_errors_never_quote_a_secret(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            "secrets: {mode: inline}\nbedrock:\n  region: us-west-2\n  llm: [{name: a, model: m.a}]\n",
        )
    )
    obj = integration.build(cfg, [], {"LITELLM_MASTER_KEY": "sk-inline-s3cret"})
    secrets = integration.inline_secret_values(obj)
    lookup = custom(write, "x: {{ gateway[secrets.masterkey.value] }}\n")
    prefix = custom(
        write,
        "proxy_config:\n  model_list:\n    - model_name: a\n      litellm_params:\n"
        "        model: {{ secrets.masterkey.value }}\n",
    )
    for template in (lookup, prefix):
        with pytest.raises(InputError) as info:
            render.render(template, obj, "c", secrets)
        assert "sk-inline-s3cret" not in info.value.message, info.value.message
        assert "********" in info.value.message


def test_text_in_a_comment_cannot_leave_it() -> None:
    """The header's comments carry cluster text (reasons): a line break stays escaped."""
    assert render.comment("x\nevil: true\x1b[2J") == "x\\nevil: true\\x1b[2J"


def test_label_found_models_render_with_their_fallback_and_nothing_hostile(
    tmp_path: Path,
) -> None:
    from llmgw import pipeline
    from llmgw.engines import ENGINES
    from tests import labelled

    result = pipeline.render(
        labelled.CONFIG, pipeline.Source(pods_from=labelled.snapshot(tmp_path / "c.json")), env={}
    )
    proxy = render.proxy_config_of(yaml.safe_load(result.text))
    names = {e["model_name"]: e["litellm_params"] for e in proxy["model_list"]}
    assert set(names) == {*labelled.EXPECTED, "bedrock/nova-pro"}
    for public, (engine, namespace, served) in labelled.EXPECTED.items():
        assert names[public]["model"] == f"{ENGINES[engine].provider}/{served}"
        assert f".{namespace}:" in names[public]["api_base"]
    assert proxy["router_settings"]["fallbacks"] == [{"vllm/llama-8b": ["vllm/phi-mini"]}]
    assert "injected" not in result.text and "evil" not in result.text
    assert sum("left out" in w for w in result.warnings) == 2
    assert any("no rule selects it" in w for w in result.warnings)


def test_a_fallback_to_a_name_no_rule_finds_is_reported_not_fatal(tmp_path: Path) -> None:
    from llmgw import pipeline
    from tests import labelled

    text = labelled.CONFIG.read_text().replace("[vllm/phi-mini]", "[vllm/phi-mimi]")
    path = tmp_path / "config.yaml"
    path.write_text(text)
    result = pipeline.render(
        path, pipeline.Source(pods_from=labelled.snapshot(tmp_path / "c.json")), env={}
    )
    assert (
        "fallbacks: vllm/phi-mimi is neither configured nor found by a discover rule "
        "(did you mean vllm/phi-mini?); left out of vllm/llama-8b's chain"
    ) in result.warnings
    assert "fallbacks" not in render.proxy_config_of(yaml.safe_load(result.text)).get(
        "router_settings", {}
    )


def test_check_ignores_a_header_that_names_another_snapshot_path(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    """In CI the snapshot sits in a temporary directory: the header's reproduce line differs
    from the committed file's, the values do not."""
    import shutil

    from tests.conftest import REPO

    first = tmp_path / "a" / "cluster.yaml"
    second = tmp_path / "b" / "cluster.yaml"
    for path in (first, second):
        path.parent.mkdir()
        shutil.copyfile(REPO / "examples/cluster.yaml", path)
    out = tmp_path / "values.yaml"
    example = REPO / "config.example.yaml"
    assert cli("-c", example, "render", "--pods-from", first, "--out", out).code == 0
    same = cli("-c", example, "render", "--pods-from", second, "--out", out, "--check")
    assert same.code == 0, same.out + same.err
    out.write_text(out.read_text().replace("replicaCount: 2", "replicaCount: 3"))
    drift = cli("-c", example, "render", "--pods-from", second, "--out", out, "--check")
    assert drift.code == 1 and "-replicaCount: 3" in drift.out + drift.err


def test_a_snapshot_without_services_warns_of_each_guessed_address(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    import json

    from tests.k8s_objects import kube_list, pod

    snap = tmp_path / "cluster.json"
    snap.write_text(
        json.dumps(
            kube_list(
                [
                    pod(
                        "llama3-2-3b-0",
                        "ollama",
                        {"app": "llama3-2-3b"},
                        image="ollama/ollama:0.9.6",
                    )
                ]
            )
        )
    )
    config = tmp_path / "config.yaml"
    config.write_text("models:\n  ollama: [{name: llama3-2-3b}]\n")
    result = cli("-c", config, "render", "--pods-from", snap, "--stdout")
    assert result.code == 0, result.err
    assert (
        "warning: ollama/llama3-2-3b: no Service selects its pods; api_base "
        "http://llama3-2-3b.ollama:11434 is a guess"
    ) in result.err
