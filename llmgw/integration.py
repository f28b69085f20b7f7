"""The integration object: everything the values template sees, as one plain dict.

It keeps the seed's shape (``bedrock.region``, ``bedrock.llm``, ``llm-model.<engine>.<name>``,
``o11y.config``) so existing templates keep working, and adds what each model needs to be
routed (api_base, served name, the LiteLLM model string, mode). ``build`` is pure: the
environment is passed in, so inline secrets are read once, at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmgw import charts, desired
from llmgw import gateway as gateway_mod
from llmgw.config import (
    BedrockModel,
    Config,
    ExternalRedis,
    SecretRef,
    SelfHostedModel,
    resolve_secret,
)
from llmgw.desired import DesiredState, RouterPlan, litellm_model
from llmgw.discovery import DiscoveredModel
from llmgw.engines import ENGINE_NAMES, ENGINES
from llmgw.errors import InputError


def build(
    config: Config, discovered: Sequence[DiscoveredModel], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The object for the desired state of ``config`` and ``discovered``."""
    return template_object(desired.build(config, discovered), env)


def template_object(state: DesiredState, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = env or {}
    config, discovered = state.config, state.models
    plan = state.router
    models = list(state.entries)
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
        "proxy_config": proxy_config(config, models, plan, o11y),
        "o11y": o11y,
        "secrets": _secrets(config, env),
        "warnings": [*plan.warnings, *_guessed(discovered)],
    }


def _guessed(discovered: Sequence[Any]) -> list[str]:
    """A served model whose address no Service gave: the URL is a guess that may not resolve
    (a snapshot made without its Services, or pods no Service selects)."""
    return [
        f"{m.public_name or m.name}: no Service selects its pods; api_base {m.api_base} is a "
        "guess (add the Services to the snapshot, or set service: on the model)"
        for m in discovered
        if m.guessed_address and m.ready and m.deploy
    ]


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
    if charts.chart(config.gateway.chart_kind).redis_env_from_llmgw and isinstance(
        redis, ExternalRedis
    ):
        return {"REDIS_HOST": redis.host, "REDIS_PORT": str(redis.port)}
    return {}  # the bundled Redis, and the litellm chart's redis.*, set them in the chart


def proxy_config(
    config: Config,
    models: Sequence[Mapping[str, Any]],
    router: RouterPlan,
    o11y: Mapping[str, Any],
) -> dict[str, Any]:
    """The LiteLLM proxy's config.yaml, the same for both charts (only where it goes differs).

    Secrets are ``os.environ/…`` references to variables the chart sets in the pods.
    """
    gw = config.gateway
    general: dict[str, Any] = {
        "master_key": f"os.environ/{gateway_mod.master_key_env(config)}",
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
    # Always a list, an empty one with `api` (llmgw sync writes the models into the
    # database): the chart's own values carry demo models, and helm merges maps, so values
    # without model_list would keep them in the gateway's config.
    out["model_list"] = (
        [
            {
                "model_name": m["public_name"],
                "litellm_params": dict(m["litellm_params"]),
                "model_info": dict(m["model_info"]),
            }
            for m in models
        ]
        if gw.model_source == "values"
        else []
    )
    # With `api` the settings that follow the cluster (fallbacks, aliases for down names)
    # live in the database: LiteLLM 1.108 refuses /config/update for keys the file sets.
    settings_in_file = router.settings if gw.model_source == "values" else router.fixed
    if settings_in_file:
        out["router_settings"] = dict(settings_in_file)
    from llmgw.config import passthrough

    # The user's own settings: keys llmgw sets were refused when the config was loaded.
    out["general_settings"] = {**passthrough.resolve(config.general_settings), **general}
    out["litellm_settings"] = {**passthrough.resolve(config.litellm_settings), **settings}
    return out


def _gateway(config: Config) -> dict[str, Any]:
    gw = config.gateway
    host = gateway_mod.host(config)
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
        "model_source": gw.model_source,
        "mode": gw.mode,
        "release": gw.release,
        "namespace": gw.namespace,
        "replicas": gw.replicas,
        "autoscaling": gw.autoscaling.model_dump() if gw.autoscaling else None,
        "image_tag": gw.image_tag,
        "host": host,
        "https": https,
        "ingress": {
            "enabled": config.ingress_enabled(),
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
    """``llm-model.<engine>.<name>``: each served self-hosted model (a label-found one whose
    name another namespace took first is ``<name>.<namespace>``)."""
    by_key = {d.key: d for d in discovered}
    out: dict[str, dict[str, Any]] = {name: {} for name in ENGINE_NAMES}
    for d in desired.served(config, discovered):
        found = by_key.get(d.key)
        model = d.model
        if found is None or not isinstance(model, SelfHostedModel):
            continue
        engine = ENGINES[d.kind]
        key = model.name if model.name not in out[d.kind] else f"{model.name}.{found.namespace}"
        out[d.kind][key] = {
            "name": model.name,
            "public_name": d.public_name,
            "engine": d.kind,
            "namespace": found.namespace,
            "service": found.service,
            "api_base": found.api_base,
            "served_name": found.served_name,
            "litellm_model": litellm_model(engine.provider, found.served_name),
            "mode": engine.mode,
            "model_info": {"mode": engine.mode, **model.model_info},
            "ready_replicas": found.ready_replicas,
            "replicas": found.replicas,
            "litellm_params": model.litellm_params,
            "found_by": found.found_by,
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
        (gateway_mod.master_key_env(config), s.master_key, "secrets.master_key"),
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
    out = [(name, ref, path) for name, ref, path in refs if ref is not None]
    return out + config.engine_keys()


def env_secret_values(config: Config, env: Mapping[str, str]) -> dict[str, str]:
    """Pod env var → value, for every secret the config names by an environment variable.

    The one place secrets are read from the environment: inline mode renders these values,
    reference mode's deploy writes them into the Secret llmgw manages.
    """
    unset = unset_secret_vars(config, env)
    if len(unset) > 1:  # every missing variable at once, not one a run
        names = ", ".join(f"{var} ({path})" for _name, var, path in unset)
        raise InputError(
            f"environment variables not set: {names}",
            hint=f"export each of them before running (export {unset[0][1]}=…), or use "
            "secrets.mode: reference",
        )
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
    master_env = gateway_mod.master_key_env(config)
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
