"""What llmgw shows of outside text: secrets masked, terminal controls escaped, quotes cut."""

from __future__ import annotations

from llmgw import redact
from llmgw.yamlout import yaml_scalar


def test_known_secrets_are_masked_in_every_written_form() -> None:
    secret = 'pa"ss\nword'
    text = f"raw {secret} yaml {yaml_scalar(secret)}"
    assert secret not in redact.mask(text, [secret])
    assert yaml_scalar(secret) not in redact.mask(text, [secret])


def test_values_under_secret_keys_are_masked_without_knowing_them() -> None:
    text = (
        "+masterkey: sk-a\n"
        '{"UI_PASSWORD": "pw-b", "x": 1}\n'
        "Error: masterkey: sk-c, replicaCount: 2\n"
    )
    out = redact.redact(text)
    for secret in ("sk-a", "pw-b", "sk-c"):
        assert secret not in out
    assert "replicaCount: 2" in out


def test_excerpt_and_printable() -> None:
    assert len(redact.excerpt("x" * 5_000_000)) == 60
    assert redact.printable("a\x1b[31mb\x07") == "a\\x1b[31mb\\x07"
    assert redact.one_line("two\n  lines\x1b") == "two lines\\x1b"
