"""The integration object: everything the values template sees, as one plain dict.

It keeps the seed's shape (``bedrock.region``, ``bedrock.llm``, ``llm-model.<engine>.<name>``,
``o11y.config``) so existing templates keep working, and adds what each model needs to be
routed (api_base, served name, the LiteLLM model string, mode). ``build`` is pure: the
environment is passed in, so inline secrets are read once, at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmgw.config import (
    BedrockModel,
    Config,
    Deployment,
    ExternalRedis,
    SecretRef,
    resolve_secret,
)
from llmgw.discovery import DiscoveredModel
from llmgw.engines import ENGINE_NAMES, ENGINES


def master_key_env(config: Config) -> str:
    """The variable the chart sets from its master key Secret; general_settings reads it.

    litellm-helm sets PROXY_MASTER_KEY; the litellm chart sets LITELLM_MASTER_KEY (and
    PROXY_MASTER_KEY too, for configs carried over), so its config reads its own name.
    """
    return "LITELLM_MASTER_KEY" if config.gateway.chart_kind == "litellm" else "PROXY_MASTER_KEY"


def build(
    config: Config, discovered: Sequence[DiscoveredModel], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    env = env or {}
    plan = router_plan(config, discovered)
    models = model_entries(config, discovered)
    o11y = _o11y(config)
    gateway = _gateway(config)
    # Plain (not secret) variables the gateway pods need: o11y endpoints, an external Redis.
    gateway["pod_env"] = {**_o11y(config)["env"], **_redis_env(config), **_api_env(config)}
    return {
        "gateway": gateway,
        "bedrock": _bedrock(config),
        "llm-model": _self_hosted(config, discovered),
        "models": models,
        "router": plan.settings,
        "proxy_config": proxy_config(config, models, plan.settings, o11y),
        "o11y": o11y,
        "secrets": _secrets(config, env),
        "warnings": plan.warnings,
    }


def _api_env(config: Config) -> dict[str, str]:
    """LiteLLM reads both the config's store_model_in_db and this variable: set them together
    (a stale value in either has bitten users)."""
    gw = config.gateway
    if gw.model_source != "api":
        return {}
    return {
        "STORE_MODEL_IN_DB": "True",
        "PROXY_CONFIG_RELOAD_INTERVAL_SECONDS": str(gw.reload_interval_seconds),
    }


def _redis_env(config: Config) -> dict[str, str]:
    redis = config.gateway.redis
    if config.gateway.chart_kind == "litellm-helm" and isinstance(redis, ExternalRedis):
        return {"REDIS_HOST": redis.host, "REDIS_PORT": str(redis.port)}
    return {}  # the bundled Redis, and the litellm chart's redis.*, set them in the chart


def proxy_config(
    config: Config,
    models: Sequence[Mapping[str, Any]],
    router: Mapping[str, Any],
    o11y: Mapping[str, Any],
) -> dict[str, Any]:
    """The LiteLLM proxy's config.yaml, the same for both charts (only where it goes differs).

    Secrets are ``os.environ/…`` references to variables the chart sets in the pods.
    """
    gw = config.gateway
    general: dict[str, Any] = {
        "master_key": f"os.environ/{master_key_env(config)}",
        "store_model_in_db": gw.store_model_in_db,
        "store_prompts_in_spend_logs": gw.store_prompts_in_spend_logs,
    }
    if gw.model_source == "api":
        general["proxy_config_reload_interval_seconds"] = gw.reload_interval_seconds
    settings: dict[str, Any] = {
        "callbacks": list(o11y["config"]["callbacks"]),
        "redact_user_api_key_info": True,
        "turn_off_message_logging": not o11y["log_message_content"],
    }
    if gw.cache:
        # Both charts give the pods REDIS_HOST, REDIS_PORT and REDIS_PASSWORD; LiteLLM 1.100
        # with redis-py 8 ignores them unless cache_params names them.
        params: dict[str, Any] = {
            "type": "redis",
            "host": "os.environ/REDIS_HOST",
            "port": "os.environ/REDIS_PORT",
            "password": "os.environ/REDIS_PASSWORD",
        }
        if isinstance(gw.redis, ExternalRedis) and gw.redis.ssl:
            params["ssl"] = True
        settings.update(cache=True, cache_params=params)
    out: dict[str, Any] = {}
    if gw.model_source == "values":  # with `api`, llmgw sync writes them into the database
        out["model_list"] = [
            {
                "model_name": m["public_name"],
                "litellm_params": dict(m["litellm_params"]),
                "model_info": dict(m["model_info"]),
            }
            for m in models
        ]
    if router:
        out["router_settings"] = dict(router)
    out["general_settings"] = general
    out["litellm_settings"] = settings
    return out


# -- public names, groups and the router ----------------------------------------------------


def served(config: Config, discovered: Sequence[DiscoveredModel]) -> list[Deployment]:
    """The deployments the gateway routes to now: Bedrock models with deploy: true, and
    self-hosted ones with deploy: true and a ready pod."""
    ready = {(d.engine, d.name) for d in discovered if d.ready}
    return [
        d
        for d in config.deployments()
        if d.model.deploy and (d.kind == "bedrock" or (d.kind, d.model.name) in ready)
    ]


def model_entries(config: Config, discovered: Sequence[DiscoveredModel]) -> list[dict[str, Any]]:
    """One model_list entry per served deployment, in config order: what the template writes.

    Deployments sharing a public name become one LiteLLM model group (several entries, one
    ``model_name``); ``weight``/``order``/``rpm``/``tpm`` go into ``litellm_params``, where
    LiteLLM's router reads them.
    """
    found = {(d.engine, d.name): d for d in discovered}
    out: list[dict[str, Any]] = []
    for d in served(config, discovered):
        model = d.model
        namespace = ""
        if isinstance(model, BedrockModel):
            region = model.region or config.bedrock.region
            params: dict[str, Any] = {
                "model": litellm_model("bedrock", model.model),
                "aws_region_name": region,
            }
            info: dict[str, Any] = {"mode": d.mode}
        else:
            f = found[(d.kind, model.name)]
            namespace = f.namespace
            params = {
                "model": litellm_model(ENGINES[d.kind].provider, f.served_name),
                "api_base": f.api_base,
            }
            info = {"mode": d.mode, **model.model_info}
        params.update(model.routing_params())
        params.update(model.litellm_params)
        out.append(
            {
                "public_name": d.public_name,
                "name": model.name,
                "kind": d.kind,
                "namespace": namespace,
                "mode": d.mode,
                "litellm_params": params,
                "model_info": info,
            }
        )
    return out


@dataclass(frozen=True)
class RouterPlan:
    #: ``router_settings`` as LiteLLM reads them (only what is set).
    settings: dict[str, Any]
    #: Public name → the served name that answers for it while it is down.
    aliases: dict[str, str]
    warnings: list[str]


def router_plan(config: Config, discovered: Sequence[DiscoveredModel]) -> RouterPlan:
    """Router settings for what is served now.

    Fallback targets that are not served in this render are left out of the chain (a chain
    left empty is dropped); a public name with no ready deployment but a served fallback
    keeps answering through ``model_group_alias`` to its first served target, until its pods
    are back and the next render restores it.
    """
    router = config.router
    up = {d.public_name for d in served(config, discovered)}
    wanted = {d.public_name for d in config.deployments() if d.model.deploy}
    warnings: list[str] = []
    settings: dict[str, Any] = {}
    for key in ("routing_strategy", "num_retries", "timeout", "allowed_fails", "cooldown_time"):
        value = getattr(router, key)
        if value is not None:
            settings[key] = value
    aliases: dict[str, str] = {}
    for key in ("fallbacks", "context_window_fallbacks"):
        chains: list[dict[str, list[str]]] = []
        for source, targets in getattr(router, key).items():
            live = [t for t in targets if t in up]
            for target in targets:
                if target not in up:
                    warnings.append(
                        f"{key}: {target} is not served in this render; left out of "
                        f"{source}'s chain"
                    )
            if not live:
                if targets:
                    warnings.append(f"{key}: {source} has no served target; chain dropped")
                continue
            if source in up:
                chains.append({source: live})
            elif key == "fallbacks" and source in wanted:
                aliases[source] = live[0]
                warnings.append(f"{source} → {live[0]} while {source} is down")
        if chains:
            settings[key] = chains
    if aliases:
        settings["model_group_alias"] = aliases
    return RouterPlan(settings, aliases, warnings)


def litellm_model(provider: str, served_name: str) -> str:
    return f"{provider}/{served_name}"


def gateway_service(config: Config, release: str | None = None) -> str:
    """The Service in front of the gateway (port 4000), as each chart names it."""
    gw = config.gateway
    release = release or gw.release
    if gw.chart_kind == "litellm":
        # <release>-litellm, and -gateway for the gateway component when componentized.
        return f"{release}-litellm" + ("" if gw.mode == "monolith" else "-gateway")
    # litellm-helm names its Service after the release, plus "-litellm" unless it has it.
    return release if "litellm" in release else f"{release}-litellm"


def gateway_host(config: Config) -> str:
    """The ingress host: ``gateway.host``, else ``litellm.<domain>``, else none."""
    gw = config.gateway
    return gw.host or (f"litellm.{gw.domain}" if gw.domain else "")


def _gateway(config: Config) -> dict[str, Any]:
    gw = config.gateway
    host = gateway_host(config)
    https = bool(host)
    annotations: dict[str, str] = {}
    if "alb" in gw.ingress_class:
        # The AWS Load Balancer Controller: pods as targets, LiteLLM's own health endpoint.
        annotations = {
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/healthcheck-path": "/health/liveliness",
        }
        if https:
            annotations["alb.ingress.kubernetes.io/listen-ports"] = '[{"HTTP": 80}, {"HTTPS": 443}]'
            annotations["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
        if gw.certificate_arn:
            annotations["alb.ingress.kubernetes.io/certificate-arn"] = gw.certificate_arn
    annotations.update(gw.ingress_annotations)
    database: dict[str, Any]
    if gw.database == "bundled":
        database = {"bundled": True}
    else:
        database = {
            "bundled": False,
            **gw.database.model_dump(),
            "endpoint": gw.database.endpoint,
            "database": gw.database.name,  # the name templates before the litellm chart used
        }
    redis: dict[str, Any] = {"enabled": gw.redis_enabled, "bundled": False, "external": None}
    if isinstance(gw.redis, ExternalRedis):
        redis["external"] = gw.redis.model_dump()
    elif gw.redis_enabled:
        redis["bundled"] = True
    return {
        "chart_kind": gw.chart_kind,
        "mode": gw.mode,
        "release": gw.release,
        "namespace": gw.namespace,
        "replicas": gw.replicas,
        "autoscaling": gw.autoscaling.model_dump() if gw.autoscaling else None,
        "image_tag": gw.image_tag,
        "host": host,
        "https": https,
        "ingress": {
            "enabled": gw.ingress,
            "class_name": gw.ingress_class,
            "annotations": annotations,
        },
        "service_account": gw.service_account.model_dump(),
        "resources": gw.resources,
        "redis": redis,
        "cache": gw.cache,
        "database": database,
        "store_model_in_db": gw.store_model_in_db,
        "store_prompts_in_spend_logs": gw.store_prompts_in_spend_logs,
    }


def _bedrock_entry(config: Config, model: BedrockModel, mode: str) -> dict[str, Any]:
    region = model.region or config.bedrock.region
    return {
        "name": model.name,
        "public_name": config.public_name("bedrock", model),
        "model": model.model,
        "region": region,
        "litellm_model": litellm_model("bedrock", model.model),
        "mode": mode,
        "litellm_params": model.litellm_params,
    }


def _bedrock(config: Config) -> dict[str, Any]:
    bedrock = config.bedrock
    return {
        "region": bedrock.region,
        "llm": [_bedrock_entry(config, m, "chat") for m in bedrock.llm if m.deploy],
        "embedding": [
            _bedrock_entry(config, m, "embedding") for m in bedrock.embedding if m.deploy
        ],
    }


def _self_hosted(config: Config, discovered: Sequence[DiscoveredModel]) -> dict[str, Any]:
    by_key = {(d.engine, d.name): d for d in discovered}
    out: dict[str, dict[str, Any]] = {name: {} for name in ENGINE_NAMES}
    for engine, _index, model in config.models.by_engine():
        found = by_key.get((engine.name, model.name))
        if found is None or not found.ready or not model.deploy:
            continue
        out[engine.name][model.name] = {
            "name": model.name,
            "public_name": config.public_name(engine.name, model),
            "engine": engine.name,
            "namespace": found.namespace,
            "service": found.service,
            "api_base": found.api_base,
            "served_name": found.served_name,
            "litellm_model": litellm_model(ENGINES[engine.name].provider, found.served_name),
            "mode": ENGINES[engine.name].mode,
            "model_info": {"mode": ENGINES[engine.name].mode, **model.model_info},
            "ready_replicas": found.ready_replicas,
            "replicas": found.replicas,
            "litellm_params": model.litellm_params,
        }
    return out


def _o11y(config: Config) -> dict[str, Any]:
    o11y = config.o11y
    callbacks: list[str] = []
    env: dict[str, str] = {}
    if o11y.langfuse.enabled:
        callbacks.append("langfuse")
        env["LANGFUSE_HOST"] = o11y.langfuse.host
    if o11y.phoenix.enabled:
        callbacks.append("arize_phoenix")
        env["PHOENIX_COLLECTOR_HTTP_ENDPOINT"] = o11y.phoenix.endpoint
    return {
        "config": {"callbacks": callbacks},
        "log_message_content": o11y.log_message_content,
        "env": env,
        "langfuse": {"enabled": o11y.langfuse.enabled, "host": o11y.langfuse.host},
        "phoenix": {"enabled": o11y.phoenix.enabled, "endpoint": o11y.phoenix.endpoint},
    }


def secret_refs(config: Config) -> list[tuple[str, SecretRef, str]]:
    """(pod env var, reference, config key path) for every secret the gateway pod needs.

    The master key is listed first; the chart takes it through its own values rather than
    as an env entry.
    """
    s = config.secrets
    refs: list[tuple[str, SecretRef | None, str]] = [
        (master_key_env(config), s.master_key, "secrets.master_key"),
        ("LITELLM_SALT_KEY", s.salt_key, "secrets.salt_key"),
        ("UI_USERNAME", s.ui_username, "secrets.ui_username"),
        ("UI_PASSWORD", s.ui_password, "secrets.ui_password"),
    ]
    if config.o11y.langfuse.enabled:
        refs.append(
            ("LANGFUSE_PUBLIC_KEY", config.o11y.langfuse.public_key, "o11y.langfuse.public_key")
        )
        refs.append(
            ("LANGFUSE_SECRET_KEY", config.o11y.langfuse.secret_key, "o11y.langfuse.secret_key")
        )
    if config.o11y.phoenix.enabled:
        refs.append(("PHOENIX_API_KEY", config.o11y.phoenix.api_key, "o11y.phoenix.api_key"))
    return [(name, ref, path) for name, ref, path in refs if ref is not None]


def env_secret_values(config: Config, env: Mapping[str, str]) -> dict[str, str]:
    """Pod env var → value, for every secret the config names by an environment variable.

    The one place secrets are read from the environment: inline mode renders these values,
    reference mode's deploy writes them into the Secret llmgw manages.
    """
    return {
        name: resolve_secret(ref, env, key_path, config.secrets.mode)
        for name, ref, key_path in secret_refs(config)
        if ref.env is not None
    }


def unset_secret_vars(config: Config, env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(pod env var, environment variable, config key path) of every env secret not set."""
    return [
        (name, ref.env, key_path)
        for name, ref, key_path in secret_refs(config)
        if ref.env is not None and not env.get(ref.env)
    ]


def _secrets(config: Config, env: Mapping[str, str]) -> dict[str, Any]:
    """How the values carry each secret, in the shape the chart wants.

    reference mode: env-sourced secrets live in one Secret llmgw manages (``environmentSecrets``,
    loaded with envFrom), the master key through ``masterkeySecretName``. Secrets the user
    already keeps in Kubernetes are referenced with ``secretKeyRef`` in both modes.
    """
    inline = config.secrets.mode == "inline"
    managed = config.managed_secret_name()
    master_env = master_key_env(config)
    masterkey: dict[str, str] = {}
    env_values: dict[str, str] = {}
    key_refs: list[dict[str, str]] = []
    uses_managed = False
    values = env_secret_values(config, env) if inline else {}
    for env_name, ref, _key_path in secret_refs(config):
        if ref.secret is not None:
            assert ref.key is not None
            if env_name == master_env:
                masterkey = {"secret_name": ref.secret, "secret_key": ref.key}
            else:
                key_refs.append({"name": env_name, "secret": ref.secret, "key": ref.key})
        elif inline:
            if env_name == master_env:
                masterkey = {"value": values[env_name]}
            else:
                env_values[env_name] = values[env_name]
        else:
            uses_managed = True
            if env_name == master_env:
                masterkey = {"secret_name": managed, "secret_key": master_env}
    db_password = ""
    if inline and config.secrets.db_password is not None and config.gateway.database == "bundled":
        db_password = resolve_secret(config.secrets.db_password, env, "secrets.db_password")
    return {
        "mode": config.secrets.mode,
        "managed_secret": managed if uses_managed else "",
        "masterkey": masterkey,
        "env": env_values,
        "secret_key_refs": key_refs,
        "db_password": db_password,
    }


def inline_secret_values(integration: Mapping[str, Any]) -> list[str]:
    """Every secret value the object carries, so output can be checked or redacted."""
    secrets = integration["secrets"]
    values = [
        secrets["masterkey"].get("value", ""),
        *secrets["env"].values(),
        secrets["db_password"],
    ]
    return [v for v in values if v]
