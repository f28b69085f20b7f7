"""The charts llmgw installs the gateway with, as data: what differs between them lives here.

Each kind has a template (``templates/``) and the facts the stages need: where its values
carry the proxy's config.yaml, the variable it sets from the master key Secret, what it bundles,
how it names the gateway's Service, and which of its values llmgw sets itself. A new chart kind
is one entry here and one template; nothing else branches on the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["litellm-helm", "litellm"]


@dataclass(frozen=True)
class Chart:
    kind: Kind
    #: The template shipped for it, in ``templates/``.
    template: str
    #: Where its values carry the proxy's config.yaml (dotted).
    proxy_config_path: str
    #: The variable it sets in the gateway pods from the master key Secret.
    master_key_env: str
    #: It can run a PostgreSQL and a Redis of its own.
    bundles_database: bool
    bundles_redis: bool
    #: It takes secrets written into the values (``secrets.mode: inline``).
    takes_inline_secrets: bool
    #: An existing Redis reaches the pods through REDIS_HOST/REDIS_PORT that llmgw sets (the
    #: other chart has values of its own for it).
    redis_env_from_llmgw: bool
    #: Its pod template takes annotations llmgw sets, so a changed Secret rolls the pods.
    rolls_on_secret_change: bool
    #: Values llmgw sets itself (``gateway.values`` may not).
    managed_values: tuple[str, ...]
    #: The gateway's Service (port 4000) for a release and ``gateway.mode``.
    service_name: Callable[[str, str], str]

    def service(self, release: str, mode: str = "monolith") -> str:
        return self.service_name(release, mode)


def _release_litellm(release: str, mode: str) -> str:
    """litellm-helm: the release, plus "-litellm" unless the release name has it."""
    return release if "litellm" in release else f"{release}-litellm"


def _component(release: str, mode: str) -> str:
    """The litellm chart: <release>-litellm, and -gateway for the gateway component."""
    return f"{release}-litellm" + ("" if mode == "monolith" else "-gateway")


CHARTS: dict[str, Chart] = {
    "litellm-helm": Chart(
        kind="litellm-helm",
        template="values.template.yaml",
        proxy_config_path="proxy_config",
        master_key_env="PROXY_MASTER_KEY",
        bundles_database=True,
        bundles_redis=True,
        takes_inline_secrets=True,
        redis_env_from_llmgw=True,
        rolls_on_secret_change=True,
        managed_values=(
            "masterkey",
            "masterkeySecretName",
            "masterkeySecretKey",
            "proxy_config",
            "proxyConfigMap",
            "environmentSecrets",
            "db",
            "postgresql",
        ),
        service_name=_release_litellm,
    ),
    "litellm": Chart(
        kind="litellm",
        template="values.litellm.template.yaml",
        proxy_config_path="gateway.config.proxy_config",
        # It sets PROXY_MASTER_KEY too, for configs carried over; its own name is this.
        master_key_env="LITELLM_MASTER_KEY",
        bundles_database=False,
        bundles_redis=False,
        takes_inline_secrets=False,
        redis_env_from_llmgw=False,
        rolls_on_secret_change=False,
        managed_values=("masterKey", "database", "redis"),
        service_name=_component,
    ),
}


def chart(kind: str) -> Chart:
    return CHARTS[kind]


def kind_of(values: Mapping[str, Any] | None) -> str:
    """Which chart rendered values are for: the first whose proxy-config path they hold
    (the litellm chart's nest it under ``gateway.config``), else the default chart."""
    for c in sorted(CHARTS.values(), key=lambda c: -c.proxy_config_path.count(".")):
        node: Any = values or {}
        parents = c.proxy_config_path.split(".")[:-1]
        for key in parents:
            node = node.get(key) if isinstance(node, Mapping) else None
        if parents and isinstance(node, Mapping):
            return c.kind
    return "litellm-helm"
