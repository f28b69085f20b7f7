from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llmgw import config
from llmgw.errors import InputError
from tests.conftest import REPO

Write = Callable[[str, str], Path]


def load_error(write: Write, text: str) -> str:
    path = write("config.yaml", text)
    with pytest.raises(InputError) as info:
        config.load(path)
    assert info.value.exit_code == 2
    return info.value.message


def test_example_config_loads_with_every_engine() -> None:
    cfg = config.load(REPO / "config.example.yaml")
    assert [m.name for m in cfg.bedrock.llm] == [
        "claude-3.7-sonnet",
        "amazon-nova-premier",
        "mistral-7b-instruct-bedrock",
    ]
    assert cfg.bedrock.llm[0].model == "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert cfg.bedrock.region == "us-west-2"
    assert [m.name for m in cfg.models.vllm] == ["llama-3-1-8b-int8-neuron", "qwen3-8b-fp8-neuron"]
    for engine in ("sglang", "tgi", "ollama", "tei"):
        assert len(getattr(cfg.models, engine)) == 1
    assert cfg.o11y.langfuse.enabled and not cfg.o11y.phoenix.enabled
    assert cfg.gateway.ingress_class == "internet-facing-alb"


def test_minimal_shape_from_the_issue_loads(write: Write) -> None:
    cfg = config.load(
        write(
            "c.yaml",
            """
gateway: {release: litellm, namespace: litellm, chart: oci://ghcr.io/berriai/litellm-helm, chart_version: "0.1.694", domain: "", ingress_class: internet-facing-alb}
bedrock: {region: us-west-2, llm: [{name: claude-3.7-sonnet, model: us.anthropic.claude-3-7-sonnet-20250219-v1:0}], embedding: []}
models:
  vllm: [{name: llama-3-1-8b-int8-neuron, deploy: true}]
  sglang: []
  tgi: []
  ollama: []
  tei: []
o11y: {langfuse: {enabled: true, host: http://langfuse-web.langfuse:3000}, phoenix: {enabled: false}}
""",
        )
    )
    assert cfg.models.vllm[0].selector_labels() == {"app": "llama-3-1-8b-int8-neuron"}


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n"])
def test_an_empty_config_is_refused(write: Write, text: str) -> None:
    path = write("config.yaml", text)
    with pytest.raises(InputError) as info:
        config.load(path)
    assert info.value.message == f"{path}: the config is empty"
    assert info.value.exit_code == 2 and "config.example.yaml" in (info.value.hint or "")


def test_unknown_key_names_line_column_and_suggests(write: Write) -> None:
    message = load_error(write, "gateway:\n  release: litellm\n  namepsace: x\n")
    assert message.endswith(
        "config.yaml:3:3: gateway.namepsace: unknown key 'namepsace': did you mean 'namespace'?"
    )


def test_unknown_engine_lists_the_known_ones(write: Write) -> None:
    message = load_error(write, "models:\n  vllm: []\n  triton:\n    - name: a\n")
    assert "config.yaml:3:3: models.triton: unknown key 'triton'" in message
    assert "vllm, sglang, tgi, ollama, tei" in message


def test_misspelled_engine_gets_did_you_mean(write: Write) -> None:
    message = load_error(write, "models:\n  sglng: []\n")
    assert "did you mean 'sglang'?" in message


def test_wrong_type_names_the_item(write: Write) -> None:
    message = load_error(
        write, "models:\n  vllm:\n    - name: a\n    - name: b\n      port: eighty\n"
    )
    assert "config.yaml:5:7: models.vllm[1].port: must be a whole number (got 'eighty')" in message
    assert "without quotes" not in message  # there were none


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("gateway:\n\treplicas: 2\n", "2:1: a tab indents this line; YAML indents with spaces"),
        ("gateway:\n  replicas: 2\n  \tport: 3\n", "3:3: a tab indents this line"),
        (
            "secrets:\n  master_key: LITELLM_MASTER_KEY\n",
            "2:3: secrets.master_key: must be a mapping (key: value lines, or {key: value}); "
            "name where the secret is",
        ),
        ('gateway:\n  replicas: "2"\n', "(got '2'); write the number without quotes"),
        ("bedrock: 3\n", "1:1: bedrock: must be a mapping (key: value lines, or {key: value})"),
    ],
)
def test_messages_are_in_the_words_of_the_file(write: Write, text: str, said: str) -> None:
    message = load_error(write, text)
    assert said in message, message
    assert "instance of" not in message and "cannot start any token" not in message


def test_a_section_with_every_entry_commented_out_is_empty(write: Write) -> None:
    cfg = config.load(
        write("config.yaml", "models:\n#  vllm:\n#    - name: a\nbedrock:\ndiscover:\n")
    )
    assert list(cfg.deployments()) == [] and cfg.discover == []


def test_name_a_label_cannot_hold(write: Write) -> None:
    message = load_error(write, "models:\n  tgi:\n    - name: Mistral 7B\n")
    assert "config.yaml:3:7: models.tgi[0].name:" in message
    assert "cannot be a Kubernetes label value" in message


def test_name_too_long_for_a_label(write: Write) -> None:
    message = load_error(write, f"models:\n  tgi:\n    - name: {'a' * 64}\n")
    assert "models.tgi[0].name" in message


def test_duplicate_name_across_engines_and_bedrock(write: Write) -> None:
    message = load_error(
        write,
        "bedrock:\n  llm:\n    - {name: shared, model: x.y}\nmodels:\n  vllm:\n    - name: a\n  tei:\n    - name: shared\n",
    )
    assert message == (
        f"{write('config.yaml', '').parent}/config.yaml:8:7: models.tei[0].name: duplicate model name "
        "'shared', already used by bedrock.llm[0].name"
    )


def test_duplicate_yaml_key_is_reported_with_position(write: Write) -> None:
    message = load_error(write, "gateway:\n  release: a\n  release: b\n")
    assert "config.yaml:3:3: duplicate key 'release'" in message


def test_yaml_syntax_error_has_position(write: Write) -> None:
    message = load_error(write, "models:\n  vllm: [\n")
    assert "config.yaml:3:1:" in message


def test_top_level_must_be_a_mapping(write: Write) -> None:
    assert "must be a mapping" in load_error(write, "- a\n- b\n")


def test_missing_required_key(write: Write) -> None:
    message = load_error(write, "bedrock:\n  llm:\n    - name: x\n")
    assert "config.yaml:3:7: bedrock.llm[0].model: is required" in message


def test_secret_ref_needs_exactly_one_source(write: Write) -> None:
    message = load_error(write, "secrets:\n  master_key: {env: A, secret: b, key: c}\n")
    assert "secrets.master_key" in message and "either env" in message
    message = load_error(write, "secrets:\n  ui_password: {secret: ui}\n")
    assert "needs key" in message


def test_secret_value_is_not_accepted_inline(write: Write) -> None:
    message = load_error(write, "secrets:\n  master_key: sk-1234\n")
    assert "secrets.master_key" in message
    assert "never the value" in message
    assert "sk-1234" not in message


def test_reserved_litellm_params_are_refused(write: Write) -> None:
    message = load_error(
        write, "models:\n  vllm:\n    - name: a\n      litellm_params: {api_base: http://x}\n"
    )
    assert "models.vllm[0].litellm_params" in message and "api_base cannot be set" in message


def test_empty_selector_is_refused(write: Write) -> None:
    message = load_error(write, "models:\n  vllm:\n    - name: a\n      selector: {}\n")
    assert "empty selector" in message


def test_several_errors_are_all_reported(write: Write) -> None:
    message = load_error(write, "gateway:\n  replicas: 0\n  relase: x\n")
    assert "gateway.replicas" in message and "gateway.relase" in message


def test_missing_file_has_a_hint(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        config.load(tmp_path / "nope.yaml")
    assert "config file not found" in info.value.message
    assert info.value.hint and "LLMGW_CONFIG" in info.value.hint


def test_resolve_secret_names_the_variable_not_a_value() -> None:
    ref = config.SecretRef(env="MY_KEY")
    assert config.resolve_secret(ref, {"MY_KEY": "s3cr3t"}, "secrets.master_key") == "s3cr3t"
    with pytest.raises(InputError) as info:
        config.resolve_secret(ref, {}, "secrets.master_key")
    assert "MY_KEY is not set (secrets.master_key)" in info.value.message


def test_yaml_boolean_where_a_name_belongs_says_to_quote(write: Write) -> None:
    message = load_error(write, "models:\n  vllm:\n    - name: off\n")
    assert "models.vllm[0].name: must be text (got False); quote it" in message


@pytest.mark.parametrize(
    ("text", "where", "said"),
    [
        ("Gateway: {}\n", ":1:1: Gateway: unknown key 'Gateway'", "did you mean 'gateway'?"),
        (
            "models:\n  vllm:\n    - name: a\n      selector: {App: 1}\n",
            ":4:18: models.vllm[0].selector.App:",
            "got 1",
        ),
        (
            "gateway:\n  database: {Host: db, secret: s}\n",
            ":2:14: gateway.database.Host: unknown key 'Host'",
            "did you mean 'host'?",
        ),
    ],
)
def test_capitalised_keys_are_ordinary_errors(
    write: Write, text: str, where: str, said: str
) -> None:
    message = load_error(write, text)
    assert where in message and said in message, message


def test_a_huge_scalar_is_quoted_as_a_short_excerpt(write: Write) -> None:
    huge = "a" * 5_000_000
    message = load_error(write, f"models:\n  vllm:\n    - name: {huge}\n")
    assert "models.vllm[0].name" in message and "..." in message
    assert len(message) < 500


def test_unknown_key_among_many_reuse_keys_is_reported_fast(write: Write) -> None:
    import time

    text = "".join(f"x-{i}: &a{i} {{k: v}}\n" for i in range(30_000)) + "gatway: {}\n"
    start = time.monotonic()
    message = load_error(write, text)
    elapsed = time.monotonic() - start
    assert ":30001:1: gatway: unknown key 'gatway': did you mean 'gateway'?" in message
    assert elapsed < 5, elapsed  # was 10 s: a second, round-trip parse to find the line


ROUTED = """bedrock:
  llm:
    - name: claude
      model: m.claude
      region: us-west-2
models:
  vllm:
    - name: llama
  tei:
    - name: bge
router:
  fallbacks:
    vllm/llama: [bedrock/claude]
"""


@pytest.mark.parametrize(
    ("change", "where", "said"),
    [
        (
            ("vllm/llama: [bedrock/claude]", "vllm/llama: [bedrock/claud]"),
            ":13:18: router.fallbacks.vllm/llama[0]:",
            "'bedrock/claud' is not a configured public model name: did you mean 'bedrock/claude'?",
        ),
        (
            ("vllm/llama: [bedrock/claude]", "vllm/lama: [bedrock/claude]"),
            ":13:5: router.fallbacks.vllm/lama:",
            "did you mean 'vllm/llama'?",
        ),
        (
            ("vllm/llama: [bedrock/claude]", "vllm/llama: [vllm/llama]"),
            ":13:18: router.fallbacks.vllm/llama[0]:",
            "'vllm/llama' cannot fall back to itself",
        ),
        (
            ("    - name: bge\n", "    - name: bge\n      model_name: vllm/llama\n"),
            ":11:7: models.tei[0].model_name:",
            "the group 'vllm/llama' mixes chat (models.vllm[0]) and embedding models",
        ),
        (
            ("    - name: llama\n", "    - name: llama\n      weight: 0\n"),
            ":9:7: models.vllm[0].weight:",
            "must be greater than 0",
        ),
        (
            ("    - name: llama\n", "    - name: llama\n      weight: lots\n"),
            ":9:7: models.vllm[0].weight:",
            "must be a number",
        ),
        (
            ("    - name: llama\n", "    - name: llama\n      order: 0\n"),
            ":9:7: models.vllm[0].order:",
            "must be greater than or equal to 1",
        ),
        (
            ("    - name: llama\n", "    - name: llama\n      order: 1.5\n"),
            ":9:7: models.vllm[0].order:",
            "must be a whole number",
        ),
        (
            (
                "      model: m.claude\n",
                "      model: m.claude\n      litellm_params: {weight: 2}\n",
            ),
            ":5:7: bedrock.llm[0].litellm_params:",
            "set weight on the model itself (weight: …), not in litellm_params",
        ),
        (
            ("router:\n", "router:\n  routing_strategy: round-robin\n"),
            ":12:3: router.routing_strategy:",
            "must be 'simple-shuffle', 'least-busy'",
        ),
        (
            ("  fallbacks:\n", "  fallback:\n"),
            ":12:3: router.fallback:",
            "unknown key 'fallback': did you mean 'fallbacks'?",
        ),
    ],
)
def test_bad_names_groups_and_fallbacks(
    write: Write, change: tuple[str, str], where: str, said: str
) -> None:
    assert change[0] in ROUTED
    message = load_error(write, ROUTED.replace(*change))
    assert where in message and said in message, message


def test_public_names(write: Write) -> None:
    text = ROUTED + "    bedrock/claude: [tei/bge]\n".replace("tei/bge", "vllm/llama")
    cfg = config.load(write("c.yaml", text))
    assert [d.public_name for d in cfg.deployments()] == ["bedrock/claude", "vllm/llama", "tei/bge"]
    plain = config.load(
        write("p.yaml", "gateway: {model_names: plain}\n" + ROUTED.split("router:")[0])
    )
    assert [d.public_name for d in plain.deployments()] == ["claude", "llama", "bge"]
    own = config.load(
        write(
            "o.yaml",
            ROUTED.split("router:")[0].replace(
                "- name: llama", "- name: llama\n      model_name: Llama 3"
            ),
        )
    )
    assert [d.public_name for d in own.deployments()] == ["bedrock/claude", "Llama 3", "tei/bge"]


def test_a_group_across_engines_and_bedrock(write: Write) -> None:
    text = ROUTED.split("router:")[0].replace(
        "- name: llama", "- name: llama\n      model_name: bedrock/claude"
    )
    cfg = config.load(write("g.yaml", text))
    assert [d.public_name for d in cfg.deployments()].count("bedrock/claude") == 2


def test_bedrock_models_need_a_region(write: Write) -> None:
    message = load_error(write, "bedrock:\n  llm:\n    - {name: a, model: m.a}\n")
    assert ":3:7: bedrock.llm[0]: no AWS region for 'a': set bedrock.region" in message
    ok = config.load(
        write("ok.yaml", "bedrock:\n  llm:\n    - {name: a, model: m.a, region: eu-west-1}\n")
    )
    assert ok.bedrock.llm[0].region == "eu-west-1"


def test_a_date_where_a_boolean_goes_is_said_in_the_users_words(write: Write) -> None:
    message = load_error(write, "models:\n  vllm:\n    - name: a\n      deploy: 2001-12-14\n")
    assert "deploy: must be true or false (got the date 2001-12-14)" in message
    assert "datetime" not in message


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("!!int abc", "4:15: 'abc' is not a valid int"),
        ("!!timestamp 2001-13-45", "4:15: '2001-13-45' is not a valid timestamp (month must be"),
        ("!!timestamp 2001-12-14 x", "4:15: '2001-12-14 x' is not a valid timestamp"),
        (
            "!!timestamp\n        2001-12-14\n        99:59:43",
            "4:15: '2001-12-14 99:59:43' is not a valid timestamp",
        ),
    ],
)
def test_an_explicit_tag_the_text_does_not_fit_is_a_line_not_a_crash(
    write: Write, value: str, said: str
) -> None:
    message = load_error(write, f"models:\n  vllm:\n    - name: a\n      deploy: {value}\n")
    assert said in message, message


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "gateway: {replicas: yes}\n",
            "gateway.replicas: must be a whole number (got True); YAML reads yes/no/on/off",
        ),
        (
            "router: {num_retries: true}\n",
            "router.num_retries: must be a whole number (got True)",
        ),
        (
            "router: {timeout: '30'}\n",
            "router.timeout: must be a number (got '30'); write the number without quotes",
        ),
        (
            'models: {vllm: [{name: a, deploy: "no"}]}\n',
            "models.vllm[0].deploy: must be true or false (got 'no'); write true or false, without quotes",
        ),
        ("gateway: {cache: 1}\n", "gateway.cache: must be true or false (got 1)"),
    ],
)
def test_types_are_what_they_say_with_no_coercion(write: Write, text: str, said: str) -> None:
    assert said in load_error(write, text)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("namespaces: []\n    selector: a=b", ":2:5: discover[0].namespaces: List should have"),
        ("namespaces: [Models]\n    selector: a=b", "'Models' is not a valid namespace name"),
        ("namespaces: [m, m]\n    selector: a=b", "namespace 'm' is listed twice"),
        ("namespaces: [m]", "discover[0].selector: is required"),
        (
            "namespaces: [m]\n    selector: 'a in (b'",
            ":3:5: discover[0].selector: 'a in (b' is not",
        ),
        ("namespaces: [m]\n    selector: ''", "would select every pod"),
        ("namespaces: [m]\n    selector: a\n    engine: triton", ":4:5: discover[0].engine:"),
    ],
)
def test_bad_discover_rules_point_at_the_key(write: Write, rule: str, message: str) -> None:
    assert message in load_error(write, f"discover:\n  - {rule}\n")


def test_fallbacks_may_name_models_a_rule_finds(write: Write) -> None:
    text = "router:\n  fallbacks:\n    vllm/a: [vllm/b]\n"
    assert "is not a configured public model name" in load_error(write, text)
    rule = "discover:\n  - namespaces: [models]\n    selector: llmgw.io/serve=true\n"
    loaded = config.load(write("ok.yaml", rule + text))
    assert loaded.router.fallbacks == {"vllm/a": ["vllm/b"]}
    itself = load_error(write, rule + "router:\n  fallbacks:\n    vllm/a: [vllm/a]\n")
    assert "'vllm/a' cannot fall back to itself" in itself


def test_an_engine_whose_entries_are_all_commented_out_has_none(write: Write) -> None:
    c = config.load(write("c.yaml", "models:\n  vllm:\n  #  - name: a\n  tei: [{name: e}]\n"))
    assert c.models.vllm == [] and [m.name for m in c.models.tei] == ["e"]


def test_a_rendered_values_file_given_as_the_config_is_named_as_such(write: Write) -> None:
    message = load_error(write, "replicaCount: 2\nproxy_config:\n  model_list: []\n")
    assert (
        "this is a rendered values file (chart values with proxy_config), not an llmgw config"
        in message
    )
    assert "unknown key" not in message
