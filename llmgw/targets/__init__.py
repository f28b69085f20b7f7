"""Where the desired state goes: ``values`` (chart values + helm) or ``api`` (the gateway's
database through LiteLLM's management API); ``base`` is what both are, and the one flow.

``for_config`` is the one place that picks a target from ``gateway.model_source``, so no
driver branches on the mode itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw.config import Config
from llmgw.targets.base import Target

if TYPE_CHECKING:
    from llmgw.targets.api import ApiTarget


def for_config(
    config: Config,
    config_path: Path,
    env: Mapping[str, str],
    connect: Callable[[], Any],
    gateway_url: str | None = None,
    kube_context: str | None = None,
    kubeconfig: Path | None = None,
) -> Target[Any]:
    """The target that serves this config's models, for unattended runs (the controller)."""
    api = models_api(config, env, connect, gateway_url, confirm=False)
    if api is not None:
        return api
    from llmgw.targets.values import Settings, ValuesTarget

    settings = Settings(config_path, kube_context=kube_context, kubeconfig=kubeconfig)
    return ValuesTarget(settings, env, connect)


def models_api(
    config: Config,
    env: Mapping[str, str],
    connect: Callable[[], Any],
    gateway_url: str | None = None,
    confirm: bool = True,
    confirm_timeout: float | None = None,
) -> ApiTarget | None:
    """The api target when the models go through the management API (``model_source: api``),
    else None: the chart values carry them."""
    if config.gateway.model_source != "api":
        return None
    from llmgw import gateway_client
    from llmgw.targets.api import ApiTarget

    def names() -> dict[str, str]:
        if gateway_url or config.gateway.url:
            return {}  # reached at its URL: no cluster involved
        cluster = connect()
        return {"context": cluster.context, "server": cluster.server}

    return ApiTarget(
        config,
        lambda: gateway_client.open_api(config, gateway_url, env, connect),
        confirm=confirm,
        confirm_timeout=confirm_timeout,
        cluster_names=names,
    )
