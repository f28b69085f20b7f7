"""The config.yaml schema (``schema``) and its loader (``load``), under one name.

Stages import ``llmgw.config``; the split inside is for readers: the schema says what a config
may hold, the loader maps every problem to ``file:line:column``.
"""

from llmgw.config.load import load, parse
from llmgw.config.schema import (
    Autoscaling,
    Bedrock,
    BedrockModel,
    Config,
    Deployment,
    DiscoverRule,
    ExistingDatabase,
    ExternalRedis,
    Gateway,
    Langfuse,
    Models,
    O11y,
    Phoenix,
    Router,
    Routing,
    SecretRef,
    Secrets,
    SelfHostedModel,
    ServiceAccount,
    key_env,
    model_key,
    resolve_secret,
)

__all__ = [
    "Autoscaling",
    "Bedrock",
    "BedrockModel",
    "Config",
    "Deployment",
    "DiscoverRule",
    "ExistingDatabase",
    "ExternalRedis",
    "Gateway",
    "Langfuse",
    "Models",
    "O11y",
    "Phoenix",
    "Router",
    "Routing",
    "SecretRef",
    "Secrets",
    "SelfHostedModel",
    "ServiceAccount",
    "key_env",
    "load",
    "model_key",
    "parse",
    "resolve_secret",
]
