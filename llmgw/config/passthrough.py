"""What a config may pass through untouched: chart values (``gateway.values``) and LiteLLM's
``litellm_settings`` / ``general_settings``.

They are the user's, so llmgw checks only what would break its promises: a key llmgw sets
itself is refused with the config key that sets it, and a secret is never taken as a literal
(LiteLLM settings take ``{env: VAR}``, written ``os.environ/VAR``; chart values reference a
Secret). Messages name the key and the rule, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from llmgw import charts

Loc = tuple[str | int, ...]

#: Keys of the proxy config llmgw writes, and the config key that sets each.
MANAGED_SETTINGS: dict[str, dict[str, str]] = {
    "general_settings": {
        "master_key": "secrets.master_key",
        "store_model_in_db": "gateway.store_model_in_db",
        "store_prompts_in_spend_logs": "gateway.store_prompts_in_spend_logs",
        "proxy_config_reload_interval_seconds": "gateway.reload_interval_seconds",
        "database_url": "gateway.database",
    },
    "litellm_settings": {
        "callbacks": "o11y",
        "success_callback": "o11y",
        "failure_callback": "o11y",
        "redact_user_api_key_info": "nothing: llmgw always redacts",
        "turn_off_message_logging": "o11y.log_message_content",
        "cache": "gateway.cache",
        "cache_params": "gateway.cache and gateway.redis",
    },
}
#: Chart values that carry the master key, the proxy config or the database, whether or not
#: this config renders them (inline vs reference mode): never the user's to set.
#: A key whose name ends in one of these holds a secret; one that ends otherwise names where a
#: secret is (``secretName``, ``secretKeyRef``, a toleration's ``key``) and is no secret.
SECRET_NAME = re.compile(
    r"(token|password|passwd|credential|secret|api_?key|access_?key|private_?key)s?$",
    re.IGNORECASE,
)


def is_env_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"env"} and isinstance(value["env"], str)


def literal_secrets(value: Any, loc: Loc) -> Iterator[Loc]:
    """Where a secret-looking key holds a literal (not ``{env: VAR}``, not ``os.environ/``)."""
    if isinstance(value, Mapping):
        if is_env_ref(value):
            return
        for key, item in value.items():
            here = (*loc, str(key))
            if (
                SECRET_NAME.search(str(key))
                and isinstance(item, str)
                and item
                and not item.startswith("os.environ/")
            ):
                yield here
            else:
                yield from literal_secrets(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from literal_secrets(item, (*loc, index))


def problems(config: Any) -> Iterator[tuple[Loc, str, str]]:
    """(where, what is wrong, what to do) for each pass-through key the config may not set."""
    for section, managed in MANAGED_SETTINGS.items():
        settings: Mapping[str, Any] = getattr(config, section)
        for key in settings:
            if key in managed:
                yield (
                    (section, key),
                    f"llmgw sets {section}.{key} itself",
                    f"set it through {managed[key]}",
                )
        for loc in literal_secrets(settings, (section,)):
            yield (
                loc,
                "a secret is never written in the config",
                "give the pod's environment variable instead: {env: VAR} (written os.environ/VAR)",
            )
    values: Mapping[str, Any] = config.gateway.values
    for key in values:
        if key in charts.chart(config.gateway.chart_kind).managed_values:
            yield (
                ("gateway", "values", key),
                f"llmgw sets the chart value {key} itself",
                "leave it to llmgw (docs/configuration.md says which config key sets it)",
            )
    for loc in literal_secrets(values, ("gateway", "values")):
        yield (
            loc,
            "a secret is never written in the config",
            "keep it in a Secret and reference it (e.g. extraEnvVars with valueFrom.secretKeyRef)",
        )


def resolve(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as the proxy config takes them: ``{env: VAR}`` → ``os.environ/VAR``."""

    def one(value: Any) -> Any:
        if is_env_ref(value):
            return f"os.environ/{value['env']}"
        if isinstance(value, Mapping):
            return {str(k): one(v) for k, v in value.items()}
        if isinstance(value, list):
            return [one(v) for v in value]
        return value

    return {str(k): one(v) for k, v in settings.items()}


def overlaps(ours: Mapping[str, Any], theirs: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Key paths of ``theirs`` that ``ours`` sets too (a value, or a mapping under a value)."""
    out = []
    for key, value in theirs.items():
        path = f"{prefix}{key}"
        if key not in ours:
            continue
        if isinstance(value, Mapping) and isinstance(ours[key], Mapping):
            out.extend(overlaps(ours[key], value, f"{path}."))
        else:
            out.append(path)
    return out


def merge_under(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """``theirs`` merged under ``ours`` (no path is in both: ``overlaps`` said so first)."""
    out: dict[str, Any] = {}
    for key, value in ours.items():  # llmgw's keys first, in the template's order
        mine = theirs.get(key)
        out[key] = (
            merge_under(value, mine)
            if isinstance(value, Mapping) and isinstance(mine, Mapping)
            else value
        )
    out.update((k, v) for k, v in theirs.items() if k not in ours)
    return out
