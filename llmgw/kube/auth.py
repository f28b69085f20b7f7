"""Credentials and connecting: kubeconfig, ``--context`` and in-cluster config, in kubectl's order.

The environment and home directory are parameters, so every path (including in-cluster) can be
tested without touching the real ``~/.kube``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw.errors import InputError


@dataclass(frozen=True)
class Connection:
    kubeconfig: Path | None = None
    context: str | None = None


@dataclass(frozen=True)
class Cluster:
    """A connected client and how to name it in messages."""

    api: Any  # kubernetes.client.ApiClient
    server: str
    context: str

    def describe(self) -> str:
        return f"cluster {self.server} (context {self.context})"


def kubeconfig_path(explicit: Path | None, env: Mapping[str, str], home: Path) -> str | None:
    """Which kubeconfig to read, in kubectl's order; None means none exists."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"{explicit}: kubeconfig not found")
        return str(explicit)
    if env.get("KUBECONFIG"):
        paths = [p for p in env["KUBECONFIG"].split(os.pathsep) if p]
        existing = [p for p in paths if Path(p).expanduser().is_file()]
        if not existing:
            raise InputError(
                f"KUBECONFIG names no file that exists: {env['KUBECONFIG']}",
                hint="fix KUBECONFIG, or pass --kubeconfig PATH",
            )
        return os.pathsep.join(existing)
    default = home / ".kube" / "config"
    return str(default) if default.is_file() else None


def connect(
    conn: Connection,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Cluster:
    """A client for the cluster: kubeconfig (with --context), else in-cluster config."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    path = kubeconfig_path(conn.kubeconfig, env, home)
    configuration = client.Configuration()
    if path is not None:
        try:
            contexts, current = config.list_kube_config_contexts(config_file=path)
            names = [c["name"] for c in contexts]
            if conn.context and conn.context not in names:
                raise InputError(
                    f"context {conn.context!r} is not in {path}",
                    hint=f"known contexts: {', '.join(names) or 'none'}",
                )
            context = conn.context or (current or {}).get("name", "")
            config.load_kube_config(
                config_file=path,
                context=conn.context,
                client_configuration=configuration,
                persist_config=False,
            )
        except ConfigException as exc:
            raise InputError(
                f"{path}: cannot use this kubeconfig: {exc}",
                hint="check it with: kubectl config view --minify",
            ) from None
    elif env.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise InputError(f"in-cluster config failed: {exc}") from None
        context = "in-cluster"
    else:
        raise InputError(
            "no kubeconfig found (~/.kube/config, KUBECONFIG) and not running in a pod",
            hint="pass --kubeconfig PATH or set KUBECONFIG",
        )
    configuration.retries = 0
    return Cluster(client.ApiClient(configuration), configuration.host, context)


def connector(conn: Connection) -> Callable[[], Cluster]:
    """Connect on first use, once: commands that may never need the cluster do not pay for it."""
    cache: list[Cluster] = []

    def get() -> Cluster:
        if not cache:
            cache.append(connect(conn))
        return cache[0]

    return get
