"""``llmgw verify``: does each public name answer through the gateway right now?

The same desired state as ``render`` and ``sync`` says which names the gateway serves and in
which mode; ``verification`` sends each the smallest real request, at most ``parallel`` at
once, each with a timeout. Bedrock names cost a token each (``skip_bedrock`` leaves them out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw import gateway_client, inputs, verification
from llmgw.verification import Verdict


@dataclass(frozen=True)
class Settings:
    config_path: Path
    source: inputs.Source
    gateway_url: str | None = None
    names: Sequence[str] = ()
    parallel: int = 4
    timeout: float = 30.0
    skip_bedrock: bool = False


def run(
    settings: Settings,
    env: Mapping[str, str] | None = None,
    connect: Callable[[], Any] | None = None,
) -> list[Verdict]:
    ctx = inputs.context(settings.source, env, connect)
    env, connect = ctx.env, ctx.connect
    found = ctx.discover(settings.config_path)
    state = found.desired
    chosen = verification.checks(state, settings.names, settings.skip_bedrock)
    gw = gateway_client.open_api(found.config, settings.gateway_url, env, connect, settings.timeout)
    if chosen:
        # The gateway first: a missing Service, a refused key or a server that is not LiteLLM
        # is one line (exit 3), not the same failure blamed on every name.
        gw.models()
    return verification.run(gw, state, chosen, settings.parallel)
