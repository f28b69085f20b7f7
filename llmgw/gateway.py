"""Where the gateway is and how to get in: its Service per chart kind, its URL or the API
server's service proxy, its master key (environment, the named Secret, the managed Secret).

One module, so the values target, the api target, the controller and the coming ``status``
reach the same gateway the same way, and a chart that names things differently changes here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from llmgw import litellm_api
from llmgw.config import Config
from llmgw.errors import InputError
from llmgw.litellm_api import Gateway

#: The port both charts give the gateway's Service.
PORT = 4000


def master_key_env(config: Config) -> str:
    """The variable the chart sets from its master key Secret; general_settings reads it.

    litellm-helm sets PROXY_MASTER_KEY; the litellm chart sets LITELLM_MASTER_KEY (and
    PROXY_MASTER_KEY too, for configs carried over), so its config reads its own name.
    """
    return "LITELLM_MASTER_KEY" if config.gateway.chart_kind == "litellm" else "PROXY_MASTER_KEY"


def service(config: Config, release: str | None = None) -> str:
    """The Service in front of the gateway (port 4000), as each chart names it."""
    gw = config.gateway
    release = release or gw.release
    if gw.chart_kind == "litellm":
        # <release>-litellm, and -gateway for the gateway component when componentized.
        return f"{release}-litellm" + ("" if gw.mode == "monolith" else "-gateway")
    # litellm-helm names its Service after the release, plus "-litellm" unless it has it.
    return release if "litellm" in release else f"{release}-litellm"


def host(config: Config) -> str:
    """The ingress host: ``gateway.host``, else ``litellm.<domain>``, else none."""
    gw = config.gateway
    return gw.host or (f"litellm.{gw.domain}" if gw.domain else "")


def access(config: Config, release: str, namespace: str) -> tuple[str, str]:
    """The gateway's public URL (empty without a host) and the port-forward command."""
    name = host(config)
    forward = f"kubectl port-forward -n {namespace} svc/{service(config, release)} {PORT}:{PORT}"
    return (f"https://{name}" if name else ""), forward


def master_key(
    config: Config, env: Mapping[str, str], connect: Callable[[], Any]
) -> tuple[str, str]:
    """The master key and where it came from (for messages; never the value)."""
    from llmgw.kube import write

    ref = config.secrets.master_key
    ns = config.gateway.namespace
    if ref.env is not None and env.get(ref.env):
        return env[ref.env], f"${ref.env}"
    if ref.secret is not None:
        secret, key = ref.secret, str(ref.key)
    else:
        secret, key = config.managed_secret_name(), master_key_env(config)
    try:
        cluster = connect()
    except InputError as exc:  # the gap is the key, not the cluster
        raise InputError(
            f"no master key: {ref.env or 'its variable'} is not set, and the Secret "
            f"{ns}/{secret} cannot be read without a cluster ({exc.message})",
            hint=f"export {ref.env or 'the master key variable'}=… (the gateway's master key), "
            "or give a kubeconfig to read it from the Secret",
        ) from None
    data = write.read_secret(cluster, ns, secret) or {}
    if key not in data:
        raise InputError(
            f"no master key: {ref.env or 'the variable'} is not set and the Secret "
            f"{ns}/{secret} holds no {key}",
            hint=f"export {ref.env or 'the master key variable'}=…, or deploy first",
        )
    return data[key], f"Secret {ns}/{secret} key {key}"


def open_api(
    config: Config,
    url: str | None,
    env: Mapping[str, str],
    connect: Callable[[], Any],
    timeout: float = litellm_api.TIMEOUT,
) -> Gateway:
    """The gateway's API: at ``url`` (else ``gateway.url``), else through the Kubernetes API
    server's service proxy. ``Gateway.key`` is kept for masking, never shown."""
    key, source = master_key(config, env, connect)
    url = url or config.gateway.url
    if url:
        return Gateway(litellm_api.direct(url, key, timeout), url, source, key)
    cluster = connect()
    name = service(config)
    ns = config.gateway.namespace
    return Gateway(
        litellm_api.via_service_proxy(cluster.api, ns, name, PORT, key, timeout),
        f"service {ns}/{name} through {cluster.describe()}",
        source,
        key,
    )
