"""The gateway's names, as the config and its chart give them: the Service, the master key's
variable, the ingress host, the port-forward command. Pure: how llmgw reaches the gateway
(its URL or the API server's service proxy, the master key's value) is ``gateway_client``.
"""

from __future__ import annotations

from llmgw import charts
from llmgw.config import Config

#: The port both charts give the gateway's Service.
PORT = 4000


def master_key_env(config: Config) -> str:
    """The variable the chart sets from its master key Secret; general_settings reads it."""
    return charts.chart(config.gateway.chart_kind).master_key_env


def service(config: Config, release: str | None = None) -> str:
    """The Service in front of the gateway (port 4000), as the chart names it."""
    gw = config.gateway
    return charts.chart(gw.chart_kind).service(release or gw.release, gw.mode)


def host(config: Config) -> str:
    """The ingress host: ``gateway.host``, else ``litellm.<domain>``, else none."""
    gw = config.gateway
    return gw.host or (f"litellm.{gw.domain}" if gw.domain else "")


def access(config: Config, release: str, namespace: str) -> tuple[str, str]:
    """The gateway's public URL (empty without a host) and the port-forward command."""
    name = host(config)
    forward = f"kubectl port-forward -n {namespace} svc/{service(config, release)} {PORT}:{PORT}"
    return (f"https://{name}" if name else ""), forward
