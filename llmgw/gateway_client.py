"""How llmgw reaches the gateway: at its URL or through the Kubernetes API server's service
proxy, with its master key (the environment, the named Secret, or the managed Secret).

One module, so the api target, the drivers, status, verify and the controller reach the same
gateway the same way. The names it uses are ``gateway``'s (pure).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from llmgw import litellm_api
from llmgw.config import Config
from llmgw.errors import InputError
from llmgw.gateway import PORT, master_key_env, service
from llmgw.litellm_api import GatewayClient


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
) -> GatewayClient:
    """The gateway's API: at ``url`` (else ``gateway.url``), else through the Kubernetes API
    server's service proxy. ``GatewayClient.key`` is kept for masking, never shown."""
    key, source = master_key(config, env, connect)
    url = url or config.gateway.url
    if url:
        return GatewayClient(litellm_api.direct(url, key, timeout), url, source, key)
    cluster = connect()
    name = service(config)
    ns = config.gateway.namespace
    return GatewayClient(
        litellm_api.via_service_proxy(cluster.api, ns, name, PORT, key, timeout),
        f"service {ns}/{name} through {cluster.describe()}",
        source,
        key,
    )
