"""`llmgw add-bedrock-model` end to end: real boto3 against a loopback Bedrock stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmgw import config
from tests.bedrock_standin import Bedrock, serve
from tests.conftest import REPO, Result

Cli = Callable[..., Result]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bedrock]:
    bedrock = Bedrock()
    bedrock.add_model("openai.gpt-oss-20b-1:0")
    bedrock.add_model("amazon.titan-embed-text-v2:0")
    bedrock.add_model("anthropic.claude-sonnet-4-20250514-v1:0", inference=("INFERENCE_PROFILE",))
    bedrock.add_profile(
        "us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0"
    )
    with serve(bedrock) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
        yield bedrock


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text((REPO / "config.example.yaml").read_text())
    path.chmod(0o640)
    return path


def test_adds_checks_and_shows_the_entry(cli: Cli, cfg: Path, aws: Bedrock) -> None:
    before = cfg.read_text()
    result = cli("-c", cfg, "add-bedrock-model", "gpt-oss-20b", "openai.gpt-oss-20b-1:0")
    assert result.code == 0, result.err
    assert (
        "checked: foundation model openai.gpt-oss-20b-1:0" in result.err
        and "ACTIVE in us-west-2" in result.err
    )
    assert "+    - name: gpt-oss-20b" in result.out
    assert "model_name: bedrock/gpt-oss-20b" in result.out
    assert "model: bedrock/openai.gpt-oss-20b-1:0" in result.out
    assert "clients ask for it as bedrock/gpt-oss-20b" in result.err
    after = cfg.read_text()
    assert after.startswith(before[: before.index("  embedding: []")])
    assert (
        after.replace("    - name: gpt-oss-20b\n      model: openai.gpt-oss-20b-1:0\n", "")
        == before
    )
    assert cfg.stat().st_mode & 0o777 == 0o640
    assert config.load(cfg).bedrock.llm[-1].name == "gpt-oss-20b"
    assert "/foundation-models/openai.gpt-oss-20b-1%3A0" in aws.requests


def test_embedding_section(cli: Cli, cfg: Path, aws: Bedrock) -> None:
    result = cli(
        "-c", cfg, "add-bedrock-model", "titan-v2", "amazon.titan-embed-text-v2:0", "--embedding"
    )
    assert result.code == 0, result.err
    assert [m.name for m in config.load(cfg).bedrock.embedding] == ["titan-v2"]
    assert "mode: embedding" in result.out


def test_dry_run_writes_nothing(cli: Cli, cfg: Path, aws: Bedrock) -> None:
    before = cfg.read_text()
    result = cli(
        "-c", cfg, "add-bedrock-model", "gpt-oss-20b", "openai.gpt-oss-20b-1:0", "--dry-run"
    )
    assert (
        result.code == 0 and "+    - name: gpt-oss-20b" in result.out and "unchanged" in result.err
    )
    assert cfg.read_text() == before
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["claude-3.7-sonnet", "openai.gpt-oss-20b-1:0"],
            "bedrock.llm[0] already holds the name 'claude-3.7-sonnet'",
        ),
        (
            ["other", "us.amazon.nova-premier-v1:0"],
            "bedrock.llm[1] already holds the model id 'us.amazon.nova-premier-v1:0' in region us-west-2",
        ),
        (
            ["qwen3-8b-fp8-neuron", "openai.gpt-oss-20b-1:0"],
            "models.vllm[1] already holds the name",
        ),
    ],
)
def test_duplicates_leave_the_file_untouched(
    cli: Cli, cfg: Path, aws: Bedrock, args: list[str], message: str
) -> None:
    before = cfg.read_text()
    result = cli("-c", cfg, "add-bedrock-model", *args)
    assert result.code == 2 and message in result.err
    assert f"{cfg}:" in result.err
    assert cfg.read_text() == before


def test_unknown_id_suggests_and_writes_nothing(cli: Cli, cfg: Path, aws: Bedrock) -> None:
    before = cfg.read_text()
    result = cli("-c", cfg, "add-bedrock-model", "gpt", "openai.gpt-oss-20b-v1:0")
    assert result.code == 2 and "did you mean: openai.gpt-oss-20b-1:0" in result.err
    assert cfg.read_text() == before


def test_profile_only_model_points_to_the_profile(cli: Cli, cfg: Path, aws: Bedrock) -> None:
    result = cli(
        "-c", cfg, "add-bedrock-model", "sonnet-4", "anthropic.claude-sonnet-4-20250514-v1:0"
    )
    assert result.code == 2
    assert "use the inference profile id us.anthropic.claude-sonnet-4-20250514-v1:0" in result.err
    ok = cli(
        "-c", cfg, "add-bedrock-model", "sonnet-4", "us.anthropic.claude-sonnet-4-20250514-v1:0"
    )
    assert ok.code == 0 and "inference profile" in ok.err


def test_region_flag_is_recorded_when_it_differs(cli: Cli, cfg: Path, aws: Bedrock) -> None:
    result = cli(
        "-c",
        cfg,
        "add-bedrock-model",
        "gpt-oss-20b",
        "openai.gpt-oss-20b-1:0",
        "--region",
        "us-east-1",
    )
    assert result.code == 0, result.err
    added = config.load(cfg).bedrock.llm[-1]
    assert added.region == "us-east-1"
    assert "aws_region_name: us-east-1" in result.out


def test_no_validate_works_offline(cli: Cli, cfg: Path) -> None:
    result = cli(
        "-c", cfg, "add-bedrock-model", "gpt-oss-20b", "openai.gpt-oss-20b-1:0", "--no-validate"
    )
    assert result.code == 0 and "not checked with AWS" in result.err


def test_no_credentials_is_exit_3_and_untouched(
    cli: Cli, cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:9")
    before = cfg.read_text()
    result = cli("-c", cfg, "add-bedrock-model", "gpt-oss-20b", "openai.gpt-oss-20b-1:0")
    assert result.code == 3 and "no AWS credentials found" in result.err
    assert cfg.read_text() == before


def test_bad_name_is_refused(cli: Cli, cfg: Path) -> None:
    result = cli("-c", cfg, "add-bedrock-model", "two\nlines", "m.x", "--no-validate")
    assert result.code == 2 and "invalid model name" in result.err


def test_concurrent_runs_lose_no_entry(cfg: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llmgw",
                "-c",
                str(cfg),
                "add-bedrock-model",
                f"m{i}",
                f"vendor.model-{i}",
                "--no-validate",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        for i in range(8)
    ]
    errors = [p.communicate()[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    names = {m.name for m in config.load(cfg).bedrock.llm}
    assert {f"m{i}" for i in range(8)} <= names


def test_a_name_yaml_would_read_as_a_number_is_quoted(cli: Cli, cfg: Path) -> None:
    result = cli("-c", cfg, "add-bedrock-model", "0x1F", "m.hex", "--no-validate")
    assert result.code == 0, result.err
    assert '    - name: "0x1F"\n' in cfg.read_text()
    assert config.load(cfg).bedrock.llm[-1].name == "0x1F"


@pytest.mark.parametrize(
    ("name", "model", "said"),
    [
        ("", "m.x", "invalid model name NAME '': not a name clients can ask for"),
        ("two\nlines", "m.x", "invalid model name NAME 'two\\nlines': not a name clients"),
        ("  spaced  ", "m.x", "invalid model name NAME '  spaced  ': not a name clients"),
        ("Claude Sonnet", "m.x", "invalid model name NAME 'Claude Sonnet': not a name"),
        ("a/b", "m.x", "invalid model name NAME 'a/b': not a name clients can ask for"),
        ("ok", " ", "invalid model id MODEL_ID ' ': must be non-empty text on one line"),
        ("ok", "m.x --weight 0", "invalid --weight 0: must be greater than 0"),
        ("ok", "m.x --order 0", "invalid --order 0: must be greater than or equal to 1"),
        (
            "ok",
            "m.x --model-name  x",
            "invalid --model-name ' x': starts or ends with a space, which",
        ),
    ],
)
def test_bad_names_get_one_message(cli: Cli, cfg: Path, name: str, model: str, said: str) -> None:
    before = cfg.read_text()
    model, *flags = model.split(" --", 1)  # "m.x --order 0": the id, then one flag
    extra = ("--" + flags[0]).split(" ", 1) if flags else []
    result = cli("-c", cfg, "add-bedrock-model", name, model, *extra, "--no-validate")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines[0].startswith(f"error: {said}"), result.err
    assert len(lines) == 2 and lines[1].startswith("hint: ")
    assert cfg.read_text() == before


def test_no_region_anywhere_is_refused_and_region_flag_is_recorded(
    cli: Cli, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("models:\n  vllm: [{name: a}]\n")
    result = cli("-c", cfg, "add-bedrock-model", "x", "m.x", "--no-validate")
    assert result.code == 2
    assert "no AWS region for the new model: the config has no bedrock.region" in result.err
    assert "pass --region" in result.err
    assert cfg.read_text() == "models:\n  vllm: [{name: a}]\n"
    done = cli("-c", cfg, "add-bedrock-model", "x", "m.x", "--no-validate", "--region", "eu-west-1")
    assert done.code == 0, done.err
    assert config.load(cfg).bedrock.llm[0].region == "eu-west-1"


def test_the_same_model_id_is_allowed_in_another_region(cli: Cli, cfg: Path) -> None:
    result = cli(
        "-c", cfg, "add-bedrock-model", "nova-premier-east", "us.amazon.nova-premier-v1:0",
        "--region", "us-east-1", "--no-validate",
    )  # fmt: skip
    assert result.code == 0, result.err
    from llmgw import config

    models = config.load(cfg).bedrock.llm
    same = [(m.name, m.region) for m in models if m.model == "us.amazon.nova-premier-v1:0"]
    assert same == [("amazon-nova-premier", None), ("nova-premier-east", "us-east-1")]


def test_the_same_model_in_a_second_region_joins_its_group_with_weight_and_order(
    cli: Cli, cfg: Path
) -> None:
    """The multi-region Bedrock group: one public name, a second region at lower priority."""
    result = cli(
        "-c", cfg, "add-bedrock-model", "nova-premier-east", "us.amazon.nova-premier-v1:0",
        "--region", "us-east-1", "--model-name", "bedrock/amazon-nova-premier",
        "--weight", "0.5", "--order", "2", "--no-validate",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert (
        "    - name: nova-premier-east\n      model: us.amazon.nova-premier-v1:0\n"
        "      region: us-east-1\n      model_name: bedrock/amazon-nova-premier\n"
        "      weight: 0.5\n      order: 2\n"
    ) in cfg.read_text()
    loaded = config.load(cfg)
    from llmgw import desired

    group = [
        (e["name"], e["litellm_params"]["aws_region_name"], e["litellm_params"].get("order"))
        for e in desired.model_entries(loaded, [])
        if e["public_name"] == "bedrock/amazon-nova-premier"
    ]
    assert group == [
        ("amazon-nova-premier", "us-west-2", None),
        ("nova-premier-east", "us-east-1", 2),
    ]


def test_a_missing_aws_profile_gets_a_hint_and_changes_nothing(
    cli: Cli, cfg: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "aws-config").write_text("[profile dev]\nregion = us-west-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_PROFILE", "prod")
    before = cfg.read_bytes()
    result = cli("-c", cfg, "add-bedrock-model", "gpt-oss-20b", "openai.gpt-oss-20b-1:0")
    assert result.code == 2, result.err
    assert result.err.splitlines() == [
        "error: AWS profile 'prod' (AWS_PROFILE) is not in the AWS configuration",
        "hint: use one of: dev (aws configure list-profiles), unset AWS_PROFILE, or pass "
        "--no-validate to add without asking AWS",
    ]
    assert cfg.read_bytes() == before


def test_a_mistyped_region_is_refused_offline_with_no_validate_too(cli: Cli, cfg: Path) -> None:
    before = cfg.read_bytes()
    result = cli(
        "-c", cfg, "add-bedrock-model", "x", "amazon.nova-pro-v1:0", "--region", "us-wst-2",
        "--no-validate",
    )  # fmt: skip
    assert result.code == 2
    assert (
        "--region 'us-wst-2' is no AWS region where Bedrock runs: did you mean us-west-2?"
        in result.err
    )
    assert cfg.read_bytes() == before


def test_a_crlf_config_stays_crlf_byte_for_byte(cli: Cli, tmp_path: Path) -> None:
    """A config saved on Windows: the new entry uses its line endings, and every other byte
    is kept (a file read as text would come back with LF everywhere)."""
    cfg = tmp_path / "config.yaml"
    before = b"# team gateway\r\nbedrock:\r\n  region: us-west-2\r\n  llm:\r\n    - name: a\r\n      model: m.a\r\n"
    cfg.write_bytes(before)
    result = cli("-c", cfg, "add-bedrock-model", "b", "m.b", "--no-validate")
    assert result.code == 0, result.err
    after = cfg.read_bytes()
    assert after == before + b"    - name: b\r\n      model: m.b\r\n"
