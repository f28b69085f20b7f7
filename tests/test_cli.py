from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO, Result

Cli = Callable[..., Result]
EXAMPLE = REPO / "config.example.yaml"
CLUSTER = REPO / "examples/cluster.yaml"


def test_discover_table_lists_models_and_why(cli: Cli) -> None:
    result = cli("-c", EXAMPLE, "discover", "--pods-from", CLUSTER)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == [
        "PUBLIC_NAME",
        "ENGINE",
        "NAMESPACE",
        "READY",
        "FOUND_BY",
        "STATUS",
    ]
    row = next(line for line in lines if "qwen3-8b-fp8-neuron" in line)
    assert "0/1" in row and "not ready: CrashLoopBackOff" in row
    assert all(line == line.rstrip() for line in lines)


def test_discover_json(cli: Cli) -> None:
    result = cli("discover", "-c", EXAMPLE, "--pods-from", CLUSTER, "-o", "json")
    data = json.loads(result.out)
    models = {m["name"]: m for m in data["models"]}
    assert len(models) == 6
    for key in ("engine", "name", "namespace", "ready", "ready_replicas", "replicas", "api_base"):
        assert key in models["llama-3-1-8b-int8-neuron"]
    assert models["llama-3-1-8b-int8-neuron"]["ready_replicas"] == 2
    assert models["qwen3-8b-fp8-neuron"]["ready"] is False


def test_discover_yaml(cli: Cli) -> None:
    result = cli("discover", "-c", EXAMPLE, "--pods-from", CLUSTER, "-o", "yaml")
    data = YAML(typ="safe").load(result.out)
    assert {m["name"] for m in data["models"]} >= {"mistral-7b-instruct"}


def test_config_from_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMGW_CONFIG", str(EXAMPLE))
    assert cli("discover", "--pods-from", CLUSTER, "-o", "json").code == 0


def test_config_after_command_wins_over_before(cli: Cli, tmp_path: Path) -> None:
    result = cli("-c", tmp_path / "missing.yaml", "discover", "-c", EXAMPLE, "--pods-from", CLUSTER)
    assert result.code == 0, result.err


def test_render_writes_the_file_and_reports(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "values.rendered.yaml"
    result = cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER, "--out", out)
    assert result.code == 0, result.err
    # 8 deployments, 7 public names: mistral-7b-instruct is a group of two
    assert f"wrote {out} with 7 models" in result.err
    assert result.out == ""
    values = YAML(typ="safe").load(out.read_text())
    assert len(values["proxy_config"]["model_list"]) == 8


def test_render_default_output_is_in_the_working_directory(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER).code == 0
    assert (tmp_path / "values.rendered.yaml").is_file()


def test_render_stdout(cli: Cli) -> None:
    result = cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER, "--stdout")
    assert YAML(typ="safe").load(result.out)["proxy_config"]["model_list"]


def test_render_check(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "v.yaml"
    first = cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER, "--out", out, "--check")
    assert first.code == 1 and first.out == ""
    assert f"{out} does not exist; run `llmgw render` to write it" in first.err
    assert not out.exists()
    assert cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER, "--out", out).code == 0
    same = cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER, "--out", out, "--check")
    assert (same.code, same.out) == (0, "")
    out.write_text(out.read_text().replace("replicaCount: 2", "replicaCount: 5"))
    drift = cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER, "--out", out, "--check")
    assert drift.code == 1
    assert "-replicaCount: 5" in drift.out and "+replicaCount: 2" in drift.out


def test_bad_config_is_exit_2_with_one_message(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("models:\n  vllm:\n    - nme: a\n")
    out = tmp_path / "v.yaml"
    out.write_text("previous\n")
    result = cli("render", "-c", cfg, "--pods-from", CLUSTER, "--out", out)
    assert result.code == 2
    assert result.err.startswith(
        f"error: {cfg}:3:7: models.vllm[0].nme: unknown key 'nme': did you mean 'name'?"
    )
    assert "Traceback" not in result.err
    assert out.read_text() == "previous\n"


def test_failed_render_leaves_the_old_file(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("models:\n  vllm:\n    - name: nothing-runs-here\n")
    out = tmp_path / "v.yaml"
    out.write_text("previous\n")
    result = cli("render", "-c", cfg, "--pods-from", CLUSTER, "--out", out)
    assert result.code == 2, result.err
    assert result.err.startswith(
        f"error: none of the 1 models {cfg} names is served now, and the LiteLLM proxy does "
        "not start without one\nhint: see why with `llmgw discover`"
    )  # the cluster's state, not the template, is why
    assert out.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["config.yaml", "v.yaml"]  # no temp file left


def test_missing_config_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("discover", "-c", tmp_path / "nope.yaml", "--pods-from", CLUSTER)
    assert result.code == 2
    assert "config file not found" in result.err and "hint:" in result.err


def test_unknown_output_format_is_a_usage_error(cli: Cli) -> None:
    assert cli("discover", "-c", EXAMPLE, "--pods-from", CLUSTER, "-o", "xml").code == 2


def test_inline_secrets_never_reach_stdout(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(EXAMPLE.read_text().replace("mode: reference", "mode: inline"))
    for var, value in [
        ("LITELLM_MASTER_KEY", "sk-topsecret-1"),
        ("LITELLM_UI_USERNAME", "admin-user"),
        ("LITELLM_UI_PASSWORD", "pw-topsecret-2"),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-3"),
        ("LANGFUSE_SECRET_KEY", "sk-lf-topsecret-4"),
    ]:
        monkeypatch.setenv(var, value)
    refused = cli("render", "-c", cfg, "--pods-from", CLUSTER, "--stdout")
    assert refused.code == 2 and "would print secrets" in refused.err
    out = tmp_path / "v.yaml"
    written = cli("render", "-c", cfg, "--pods-from", CLUSTER, "--out", out)
    assert written.code == 0
    assert "sk-topsecret-1" in out.read_text()
    assert oct(out.stat().st_mode & 0o777) == oct(0o600)
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-rotated-5")
    check = cli("render", "-c", cfg, "--pods-from", CLUSTER, "--out", out, "--check")
    assert check.code == 1
    for secret in ("sk-topsecret-1", "sk-rotated-5", "pw-topsecret-2", "sk-lf-topsecret-4"):
        assert secret not in check.out + check.err + written.out + written.err


def test_inline_missing_variable(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(EXAMPLE.read_text().replace("mode: reference", "mode: inline"))
    result = cli("render", "-c", cfg, "--pods-from", CLUSTER, "--out", tmp_path / "v.yaml")
    assert result.code == 2
    # every missing variable in one error, not one a run
    assert result.err.count("error:") == 1
    for var in (
        "LITELLM_MASTER_KEY (secrets.master_key)",
        "LITELLM_UI_USERNAME (secrets.ui_username)",
        "LITELLM_UI_PASSWORD (secrets.ui_password)",
        "LANGFUSE_PUBLIC_KEY (o11y.langfuse.public_key)",
        "LANGFUSE_SECRET_KEY (o11y.langfuse.secret_key)",
    ):
        assert var in result.err, var


def test_render_output_flags_refuse_together_and_the_directory_is_checked_first(
    cli: Cli, tmp_path: Path
) -> None:
    both = cli("render", "-c", EXAMPLE, "--pods-from", CLUSTER, "--stdout", "--out", tmp_path / "x")
    assert both.code == 2 and "error: --stdout and --out cannot be combined" in both.err
    missing = tmp_path / "gitops" / "litellm" / "values.yaml"
    nowhere = cli(
        "render", "-c", EXAMPLE, "--pods-from", tmp_path / "no-such.json", "--out", missing
    )
    # refused before discovery: the snapshot that does not exist is never read
    assert nowhere.code == 2, nowhere.err
    assert f"error: --out {missing}: the directory {missing.parent} does not exist" in nowhere.err
    assert f"mkdir -p {missing.parent}" in nowhere.err


def test_render_in_api_mode_says_where_the_models_go(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "api.yaml"
    cfg.write_text(
        EXAMPLE.read_text()
        .replace("  release: litellm\n", "  release: litellm\n  model_source: api\n")
        .replace("secrets:\n", "secrets:\n  salt_key: {secret: litellm-salt, key: salt}\n")
    )
    result = cli("render", "-c", cfg, "--pods-from", CLUSTER, "--out", tmp_path / "v.yaml")
    assert result.code == 0, result.err
    assert "with gateway.model_source: api the models go through `llmgw sync`" in result.err
    assert "0 models" not in result.err


def run(*code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "\n".join(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def test_help_imports_no_heavy_module() -> None:
    result = run(
        "import sys",
        "sys.argv = ['llmgw', '--help']",
        "from llmgw.cli import main",
        "try:\n    main()\nexcept SystemExit:\n    pass",
        "print(sorted(m for m in ('kubernetes', 'boto3', 'jinja2', 'pydantic') if m in sys.modules))",
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_render_from_snapshot_imports_no_cluster_or_cloud_client(tmp_path: Path) -> None:
    result = run(
        "import sys",
        f"sys.argv = ['llmgw', '-c', {str(EXAMPLE)!r}, 'render', '--pods-from', {str(CLUSTER)!r}, '--stdout']",
        "from llmgw.cli import main",
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code",
        "print('LOADED', sorted(m for m in ('kubernetes', 'boto3', 'botocore') if m in sys.modules))",
    )
    assert result.stdout.strip().splitlines()[-1] == "LOADED []", result.stderr


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmgw", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "discover" in result.stdout


def test_internal_errors_print_no_traceback(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmgw import pipeline

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(pipeline, "discover", boom)
    result = cli("discover", "-c", EXAMPLE, "--pods-from", CLUSTER)
    assert result.code == 70
    assert (
        "internal error: RuntimeError: unexpected" in result.err and "Traceback" not in result.err
    )


def test_control_characters_from_the_cluster_are_escaped(
    cli: Cli, tmp_path: Path, snapshot: Callable[[list[dict[str, Any]]], Path]
) -> None:
    from tests.k8s_objects import pod, service

    cfg = tmp_path / "config.yaml"
    cfg.write_text("models:\n  vllm: [{name: a}]\n")
    evil = "\x1b[2J\x1b[31mowned\x07"
    snap = snapshot(
        [
            pod("a-1", "vllm", {"app": "a"}, args=["--served-model-name", evil]),
            service("a", "vllm", {"app": "a"}, 8000),
        ]
    )
    result = cli("-c", cfg, "discover", "--pods-from", snap, "-o", "wide")
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\x07" not in result.out
    assert "\\x1b[2J\\x1b[31mowned\\x07" in result.out


def test_a_bad_fallback_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        EXAMPLE.read_text().replace("vllm/qwen3-8b-fp8-neuron: [sglang", "vllm/nope: [sglang")
    )
    result = cli("-c", cfg, "render", "--pods-from", CLUSTER, "--out", tmp_path / "v.yaml")
    assert result.code == 2
    assert f"{cfg}:" in result.err and "router.fallbacks.vllm/nope" in result.err
    assert sorted(os.listdir(tmp_path)) == ["config.yaml"]


def test_plain_names_render_bare(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        EXAMPLE.read_text()
        .replace("model_names: prefixed", "model_names: plain")
        .replace("vllm/qwen3-8b-fp8-neuron: [sglang/", "qwen3-8b-fp8-neuron: [")
    )
    result = cli("-c", cfg, "render", "--pods-from", CLUSTER, "--stdout")
    assert result.code == 0, result.err
    assert "    - model_name: claude-3.7-sonnet\n" in result.out
    assert "    - model_name: llama-3-1-8b-int8-neuron\n" in result.out
    assert "      qwen3-8b-fp8-neuron: qwen2-5-7b-instruct\n" in result.out  # the alias, bare


def test_version(cli: Cli) -> None:
    from llmgw import __version__

    result = cli("--version")
    assert result.code == 0 and result.out == f"llmgw {__version__}\n"
    listed = cli("-c", EXAMPLE, "discover", "--pods-from", CLUSTER, "-o", "json")
    assert json.loads(listed.out)["llmgw_version"] == __version__


def test_shell_completion_completes_commands() -> None:
    llmgw = str(Path(sys.executable).parent / "llmgw")  # the installed script, as a shell runs it
    env = {
        **os.environ,
        "_LLMGW_COMPLETE": "complete_bash",
        "COMP_WORDS": "llmgw di",
        "COMP_CWORD": "1",
    }
    done = subprocess.run([llmgw], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.split() == ["discover"], done.stderr
    script = subprocess.run(
        [llmgw, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert script.returncode == 0 and "_llmgw_completion" in script.stdout


@pytest.mark.parametrize("command", ["render", "discover"])
def test_the_files_commands_write_are_replaced_atomically(
    cli: Cli, tmp_path: Path, command: str
) -> None:
    """A reader (helm, git, a GitOps agent) sees the old file or the new one, never half:
    the new one is written beside it and renamed over it, so the old inode stays intact."""
    out = tmp_path / "out.yaml"
    out.write_text("old: true\n")
    reader = out.open()  # opened before the write, as a concurrent reader would
    before = os.stat(out).st_ino
    flag = "--out" if command == "render" else "--save"
    result = cli(command, "-c", EXAMPLE, "--pods-from", CLUSTER, flag, out)
    assert result.code == 0, result.err
    assert os.stat(out).st_ino != before
    assert reader.read() == "old: true\n"
    reader.close()
    assert out.read_text() != "old: true\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]  # no temporary left


def test_dash_h_is_help(cli: Cli) -> None:
    for args in (["-h"], ["render", "-h"]):
        result = cli(*args)
        assert result.code == 0 and "Usage: llmgw" in result.out


def _in_a_terminal(columns: int, *args: str) -> str:
    """Run llmgw with its stdout on a pty of ``columns`` columns, as a user's terminal."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmgw", *args],
        stdout=child_fd,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env={**env, "TERM": "xterm-256color"},
    )
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(main_fd)
    return b"".join(chunks).decode(errors="replace")


def test_a_120_column_terminal_never_splits_a_name_or_url() -> None:
    import re

    text = _in_a_terminal(
        120, "-c", str(EXAMPLE), "discover", "--pods-from", str(CLUSTER), "-o", "wide"
    )
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\r", "")
    lines = plain.splitlines()
    for name in ("vllm/llama-3-1-8b-int8-neuron", "tei/bge-large-en-v1-5"):
        assert any(line.startswith(name + " ") for line in lines), plain
    assert "http://llama-3-1-8b-int8-neuron.vllm:8000/v1" in plain
    assert lines[0].startswith("Models in ") and lines[1].split()[0] == "PUBLIC_NAME"


def test_piped_discover_is_the_header_and_the_rows_only(cli: Cli) -> None:
    result = cli("-c", EXAMPLE, "discover", "--pods-from", CLUSTER)
    first_column = [line.split()[0] for line in result.out.splitlines()]
    assert first_column[0] == "PUBLIC_NAME"
    assert first_column[1:] == [
        "vllm/llama-3-1-8b-int8-neuron",
        "vllm/qwen3-8b-fp8-neuron",
        "sglang/qwen2-5-7b-instruct",
        "mistral-7b-instruct",
        "ollama/llama3-2-3b",
        "tei/bge-large-en-v1-5",
    ]


def test_hints_point_at_the_real_gap(cli: Cli, tmp_path: Path) -> None:
    api = tmp_path / "api.yaml"
    api.write_text(
        EXAMPLE.read_text()
        .replace("  release: litellm\n", "  release: litellm\n  model_source: api\n")
        .replace("secrets:\n", "secrets:\n  salt_key: {secret: litellm-salt, key: salt}\n")
    )
    # no master key, no cluster: the gap is the key
    keyless = cli(
        "-c",
        api,
        "sync",
        "--dry-run",
        "--pods-from",
        CLUSTER,
        "--gateway-url",
        "http://127.0.0.1:9",
    )
    assert keyless.code == 2, keyless.err
    assert "error: no master key: LITELLM_MASTER_KEY is not set, and the Secret" in keyless.err
    assert "hint: export LITELLM_MASTER_KEY=…" in keyless.err
    assert "--pods-from" not in keyless.err
    # deploy writes to the cluster: --pods-from does not replace a kubeconfig
    deployed = cli("-c", EXAMPLE, "deploy", "--dry-run", "--pods-from", CLUSTER)
    assert deployed.code == 2, deployed.err
    assert "no kubeconfig found" in deployed.err and "--pods-from" not in deployed.err
    # discovery alone: a snapshot is the other way
    discovered = cli("-c", EXAMPLE, "discover")
    assert discovered.code == 2 and "or use --pods-from FILE for a snapshot" in discovered.err
    watched = cli("-c", api, "sync", "--watch", "--pods-from", CLUSTER)
    assert watched.code == 2
    assert "error: --pods-from does not go with --watch" in watched.err


def test_the_values_say_where_they_came_from_and_what_was_left_out(
    cli: Cli, tmp_path: Path, snapshot: Callable[[list[dict[str, Any]]], Path]
) -> None:
    from tests.k8s_objects import pod, service

    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "bedrock: {region: us-west-2, llm: [{name: c, model: m.c}]}\n"
        "models:\n  vllm: [{name: a}, {name: b}]\nrouter: {fallbacks: {vllm/b: [vllm/a]}}\n"
    )
    broken = pod("b-0", "vllm", {"app": "b"}, state="crashloop")
    broken["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] = "x\nevil: true"
    snap = snapshot(
        [pod("a-0", "vllm", {"app": "a"}), service("a", "vllm", {"app": "a"}, 8000), broken]
    )
    out = tmp_path / "v.yaml"
    assert cli("-c", cfg, "render", "--pods-from", snap, "--out", out).code == 0
    text = out.read_text()
    header = [line for line in text.splitlines() if line.startswith("#")][:6]
    assert header[1] == f"# Reproduce: llmgw render -c {cfg} --pods-from {snap}"
    assert (
        header[2].startswith("# llmgw 0.1.0; cluster state: ")
        and "template: values.template.yaml" in header[2]
    )
    assert header[3] == "# chart: oci://ghcr.io/berriai/litellm-helm"
    assert "# left out: vllm/b: Running, not Ready (readiness probe failing)" in text
    assert "# vllm/b is down: answered by vllm/a (model_group_alias)" in text
    check = cli("-c", cfg, "render", "--pods-from", snap, "--out", out, "--check")
    assert check.code == 0, check.out  # the header is the same for --check


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["nope"], "error: No such command 'nope'."),
        (["render", "--bogus"], "error: No such option: --bogus"),
        (["discover", "-o", "tall"], "error: Invalid value for '--output' / '-o'"),
    ],
)
def test_usage_errors_are_one_line_and_a_hint(cli: Cli, args: list[str], said: str) -> None:
    result = cli(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(said) and lines[1].startswith("hint: see `llmgw")
    assert "Usage:" not in result.err and "╭" not in result.err


def test_the_router_notes_are_warnings_in_every_command(cli: Cli) -> None:
    said = "warning: vllm/qwen3-8b-fp8-neuron → sglang/qwen2-5-7b-instruct while"
    assert said in cli("-c", EXAMPLE, "discover", "--pods-from", CLUSTER).err
    assert said in cli("-c", EXAMPLE, "render", "--pods-from", CLUSTER, "--stdout").err


def test_discover_says_which_rule_found_each_model_and_what_it_left_out(
    cli: Cli, tmp_path: Path
) -> None:
    from tests import labelled

    snap = labelled.snapshot(tmp_path / "cluster.json")
    result = cli("-c", labelled.CONFIG, "discover", "--pods-from", snap)
    assert result.code == 0, result.err
    rows = [line.split() for line in result.out.splitlines()[1:]]
    assert {r[0]: r[4] for r in rows} == {name: "discover[0]" for name in labelled.EXPECTED}
    warnings = [line for line in result.err.splitlines() if line.startswith("warning: ")]
    assert len([w for w in warnings if "left out" in w]) == 2
    assert any("Pod 'models/stray-0'" in w and "no rule selects it" in w for w in warnings)
    data = json.loads(cli("-c", labelled.CONFIG, "discover", "--pods-from", snap, "-o", "json").out)
    assert {m["found_by"] for m in data["models"]} == {"discover[0]"}
    assert [r.split("'")[1] for r in data["left_out"]] == [
        "models/mystery-0",
        "models/evil-0",
        "models/stray-0",
    ]


def test_llmgw_alone_prints_the_help_as_help_does(cli: Callable[..., Result]) -> None:
    alone = cli()
    assert alone.code == 0 and alone.err == ""
    assert alone.out.startswith("Usage: llmgw [OPTIONS] COMMAND [ARGS]...")
    assert "\n  deploy " in alone.out and "\n  rollback " in alone.out  # one line a command
