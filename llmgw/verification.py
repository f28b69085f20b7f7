"""Proof that each public name answers through the gateway: the smallest real request its
mode allows, sent as a client would, with the master key.

A chat model gets a one-token chat completion, an embedding model one short input. Which
deployment answered comes from LiteLLM's response headers (``x-litellm-model-api-base``,
``x-litellm-model-group``, ``x-litellm-attempted-fallbacks``), mapped back to the public names
of the desired state, so a name kept alive by its fallback says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from llmgw.desired import DesiredState
from llmgw.errors import ExternalError, InputError
from llmgw.litellm_api import GatewayClient, GatewayTimeout, error_message
from llmgw.redact import redact


@dataclass(frozen=True)
class Check:
    name: str
    #: ``chat`` or ``embedding``.
    mode: str


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool
    status: int
    latency: float
    #: The public name whose deployment answered, when LiteLLM says so.
    answered_by: str = ""
    #: The name answered through a fallback (or the alias of a down name).
    fallback: bool = False
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "status": self.status,
            "latency_s": round(self.latency, 3),
            "answered_by": self.answered_by,
            "fallback": self.fallback,
            "error": self.error,
        }


def checks(
    state: DesiredState, names: Sequence[str] = (), skip_bedrock: bool = False
) -> list[Check]:
    """The names to verify (default: every name the gateway serves, aliases included)."""
    modes: dict[str, str] = {}
    bedrock_only: dict[str, bool] = {}
    for entry in state.entries:
        name = str(entry["public_name"])
        modes[name] = str(entry["mode"])
        bedrock_only[name] = bedrock_only.get(name, True) and entry["kind"] == "bedrock"
    for alias, target in state.router.aliases.items():
        modes[alias] = modes.get(target, "chat")
        bedrock_only[alias] = bedrock_only.get(target, False)
    unknown = [n for n in names if n not in modes]
    if unknown:
        raise InputError(
            f"not served by the gateway now: {', '.join(unknown)}",
            hint="`llmgw status` lists the names it serves (a configured model whose pods are "
            "down and that has no fallback is not served)",
        )
    chosen = list(names) or list(modes)
    return [Check(n, modes[n]) for n in chosen if not (skip_bedrock and bedrock_only.get(n, False))]


def _answered_by(state: DesiredState, headers: dict[str, str]) -> str:
    api_base = headers.get("x-litellm-model-api-base", "").rstrip("/")
    if api_base:
        for entry in state.entries:
            if str(entry["litellm_params"].get("api_base", "")).rstrip("/") == api_base:
                return str(entry["public_name"])
    return headers.get("x-litellm-model-group", "")


def verify_one(gateway: GatewayClient, state: DesiredState, check: Check) -> Verdict:
    body: dict[str, Any]
    if check.mode == "embedding":
        path, body = "/v1/embeddings", {"model": check.name, "input": ["llmgw verify"]}
    else:
        path = "/v1/chat/completions"
        body = {
            "model": check.name,
            "messages": [{"role": "user", "content": "llmgw verify: answer with one word"}],
            "max_tokens": 1,
        }
    start = time.perf_counter()
    try:
        response = gateway.send("POST", path, body)
    except GatewayTimeout:  # anything else: the gateway is not there (the run fails, exit 3)
        return Verdict(check.name, False, 0, time.perf_counter() - start, error="timed out")
    latency = time.perf_counter() - start
    by = _answered_by(state, dict(response.headers))
    attempted = response.headers.get("x-litellm-attempted-fallbacks", "0")
    fallback = bool(by and by != check.name) or attempted not in ("", "0", "None")
    if 200 <= response.status < 300:
        return Verdict(check.name, True, response.status, latency, by, fallback)
    error = redact(error_message(response.body), [gateway.key] if gateway.key else [])
    return Verdict(check.name, False, response.status, latency, by, fallback, error)


def run(
    gateway: GatewayClient,
    state: DesiredState,
    chosen: Sequence[Check],
    parallel: int = 4,
) -> list[Verdict]:
    """Every check, at most ``parallel`` at once, in the order given."""
    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(chosen)))) as pool:
        return list(pool.map(lambda c: verify_one(gateway, state, c), chosen))


def require_answers(
    gateway: GatewayClient, state: DesiredState, names: Sequence[str], what: str, parallel: int = 4
) -> list[Verdict]:
    """``deploy --verify`` / ``sync --verify``: the names just added or changed must answer;
    a failure is exit 3 naming them (what was applied stays applied)."""
    served = set(state.names) | set(state.router.aliases)
    chosen = checks(state, [n for n in names if n in served])
    verdicts = run(gateway, state, chosen, parallel)
    # A name answered only by its fallback proves the fallback, not the new deployment.
    failed = [v for v in verdicts if not v.ok or (v.fallback and v.answered_by != v.name)]
    if failed:
        raise ExternalError(
            f"{what}, but these names did not answer through the gateway: "
            + "; ".join(
                f"{v.name} ({v.status} {v.error})"
                if not v.ok
                else f"{v.name} (only its fallback {v.answered_by} answered)"
                for v in failed
            ),
            hint="it was not rolled back: check the engines (`llmgw status`), then "
            "`llmgw verify` again",
        )
    return verdicts
