"""The config.yaml schema, and loading it with errors that point at file:line:column.

The schema is pydantic so that types, defaults and unknown keys are checked in one place and the
configuration reference in docs/ can be generated from it. Every model is frozen: stages get a
value they cannot change under each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llmgw import charts
from llmgw.engines import ENGINE_NAMES, ENGINES, Engine
from llmgw.errors import InputError
from llmgw.redact import excerpt
from llmgw.selector import LABEL_KEY, LABEL_VALUE, Selector, SelectorError
from llmgw.selector import parse as parse_selector

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: A Bedrock model's name, part of the public name ``bedrock/<name>``.
MODEL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._:-]{0,126}[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Printable text on one line: names and ids end up in YAML, URLs and HTTP headers.
ONE_LINE = re.compile(r"^[^\x00-\x1f\x7f\u2028\u2029\x85]+$")


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, strict=True
    )


def _label_value(value: str, what: str) -> str:
    if not value or len(value) > 63 or not LABEL_VALUE.match(value):
        raise ValueError(
            f"{excerpt(value)} cannot be a Kubernetes label value ({what}): "
            "use at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return value


def _one_line(value: str) -> str:
    if not value.strip() or not ONE_LINE.match(value):
        raise ValueError("must be non-empty text on one line")
    return value


def _dns_label(value: str, what: str) -> str:
    if len(value) > 63 or not DNS_LABEL.match(value):
        raise ValueError(
            f"{excerpt(value)} is not a valid {what}: lowercase letters, digits and '-', "
            "at most 63, starting and ending with a letter or digit"
        )
    return value


class SecretRef(Strict):
    """Where a secret comes from: an environment variable, or an existing Kubernetes Secret.

    Config never holds a secret's value. ``env`` values are read when llmgw runs (inline mode
    renders them; deploy copies them into the Secret llmgw manages); ``secret``/``key`` name a
    Secret that already exists in the gateway namespace and is referenced as it is.
    """

    env: str | None = None
    """Environment variable that holds the value when llmgw runs (inline mode renders it;
    deploy copies it into the Secret llmgw manages).
    """
    secret: str | None = None
    """Name of an existing Kubernetes Secret in the gateway namespace, referenced as it is."""
    key: str | None = None
    """The key inside `secret`."""

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.secret is None):
            raise ValueError("give either env: VAR or secret: NAME with key: KEY")
        if self.env is not None and (self.key is not None or not ENV_NAME.match(self.env)):
            # The value is never echoed: a key pasted where its variable's name goes is common.
            raise ValueError(
                "env must be the name of an environment variable (letters, digits and _), "
                "not its value"
            )
        if self.secret is not None:
            _dns_label_subdomain(self.secret)
            if not self.key:
                raise ValueError(f"secret {excerpt(self.secret)} needs key: the key inside it")
        return self


def key_env(ref: SecretRef) -> str:
    """The gateway pod's variable that carries an engine's API key.

    Named after where the key comes from, so models that share one key share one variable, and
    prefixed so no key can take the name of a variable the chart or LiteLLM sets.
    """
    source = ref.env if ref.env is not None else f"{ref.secret}_{ref.key}"
    return "LLMGW_API_KEY_" + re.sub(r"[^A-Z0-9]", "_", source.upper())


def _dns_label_subdomain(value: str) -> None:
    parts = value.split(".")
    if len(value) > 253 or not all(DNS_LABEL.match(p) for p in parts):
        raise ValueError(f"{excerpt(value)} is not a valid Kubernetes object name")


class ServiceAccount(Strict):
    create: bool = True
    """Let the chart create the gateway's ServiceAccount."""
    name: str = ""
    """ServiceAccount name; empty lets the chart choose."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations, e.g. `eks.amazonaws.com/role-arn` so Bedrock calls use an IAM role (IRSA)."""


class ExistingDatabase(Strict):
    """A PostgreSQL server llmgw does not deploy (``db.useExisting`` in litellm-helm,
    ``database.writer`` in the litellm chart)."""

    host: str
    """Host name of the PostgreSQL server."""
    port: int = Field(default=5432, ge=1, le=65535)
    """Its port."""
    name: str = "litellm"
    """Database name."""
    secret: str = ""
    """Existing Secret holding the database user and password (not needed with `iam_auth`)."""
    username_key: str = "username"
    """Key of the user name in `secret`."""
    password_key: str = "password"
    """Key of the password in `secret`."""
    iam_auth: bool = False
    """Log in with AWS IAM (RDS IAM authentication) instead of a password (litellm chart)."""

    @model_validator(mode="before")
    @classmethod
    def _older_keys(cls, data: Any) -> Any:
        """``endpoint: host[:port]`` and ``database:`` as written before the litellm chart."""
        if isinstance(data, dict) and "endpoint" in data and "host" not in data:
            data = dict(data)
            host, _, port = str(data.pop("endpoint")).rpartition(":")
            if host and port.isdigit():
                data.update(host=host, port=int(port))
            else:
                data["host"] = f"{host}:{port}" if host else port
        if isinstance(data, dict) and "database" in data and "name" not in data:
            data = {**data, "name": data["database"]}
            del data["database"]
        return data

    @model_validator(mode="after")
    def _credentials(self) -> ExistingDatabase:
        _dns_label_subdomain(self.host)
        if not self.iam_auth and not self.secret:
            raise ValueError("give secret: the Secret with the database user and password")
        if self.secret:
            _dns_label_subdomain(self.secret)
        return self

    @property
    def endpoint(self) -> str:
        return self.host if self.port == 5432 else f"{self.host}:{self.port}"


class ExternalRedis(Strict):
    """A Redis llmgw does not deploy."""

    host: str
    """Host name of the Redis server."""
    port: int = Field(default=6379, ge=1, le=65535)
    """Its port."""
    secret: str = ""
    """Existing Secret holding its password; empty for a Redis without auth."""
    password_key: str = "password"
    """Key of the password in `secret`."""
    ssl: bool = False
    """Connect with TLS (e.g. ElastiCache with in-transit encryption)."""

    @model_validator(mode="after")
    def _names(self) -> ExternalRedis:
        _dns_label_subdomain(self.host)
        if self.secret:
            _dns_label_subdomain(self.secret)
        return self


class Autoscaling(Strict):
    """A HorizontalPodAutoscaler for the gateway instead of a fixed `replicas`."""

    min: int = Field(default=1, ge=1)
    """Fewest gateway pods."""
    max: int = Field(default=10, ge=1)
    """Most gateway pods."""

    @model_validator(mode="after")
    def _order(self) -> Autoscaling:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


def _resources() -> dict[str, dict[str, str | int]]:
    return {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }


class Gateway(Strict):
    chart_kind: charts.Kind = "litellm-helm"
    """Which LiteLLM chart: `litellm-helm` (one proxy Deployment, bundled PostgreSQL and Redis)
    or `litellm` (the chart LiteLLM's Helm docs show: external database and Redis)."""
    mode: Literal["monolith", "componentized"] = "monolith"
    """`litellm` chart only: one Deployment (`monolith`), or separate gateway, backend and ui
    Deployments (`componentized`)."""
    release: str = "litellm"
    """Helm release name."""
    namespace: str = "litellm"
    """Namespace the gateway runs in."""
    chart: str = "oci://ghcr.io/berriai/litellm-helm"
    """The LiteLLM chart: an `oci://` reference, or a local directory or `.tgz` (air-gapped)."""
    chart_version: str = ""
    """Chart version; required for a registry chart (`deploy` refuses an unpinned one)."""
    replicas: int = Field(default=1, ge=1)
    """Proxy replicas (a fixed count; see `autoscaling`)."""
    autoscaling: Autoscaling | None = None
    """Scale the gateway with an HPA between `min` and `max` pods instead of `replicas`."""
    image_tag: str = ""
    """LiteLLM image tag; empty uses the chart's default."""
    domain: str = ""
    """When set, the ingress serves `litellm.<domain>` over HTTPS."""
    host: str = ""
    """Ingress host; overrides `litellm.<domain>`."""
    ingress: bool | None = None
    """Render an Ingress for the gateway; default: when `domain` or `host` is set (served over
    HTTPS). Without a host it needs `ingress_plain_http: true`."""
    ingress_plain_http: bool = False
    """Accept an Ingress without a host, over plain HTTP (an open load balancer, as in
    workshops): every request, the master key included, crosses the network in the clear."""
    ingress_class: str = "internet-facing-alb"
    """IngressClass; a name containing `alb` adds AWS Load Balancer Controller annotations."""
    ingress_annotations: dict[str, str] = Field(default_factory=dict)
    """Extra Ingress annotations; they override the ones llmgw adds."""
    certificate_arn: str = ""
    """ACM certificate for the ALB's HTTPS listener."""
    service_account: ServiceAccount = Field(default_factory=ServiceAccount)
    """The gateway pods' ServiceAccount."""
    resources: dict[str, dict[str, str | int]] = Field(default_factory=lambda: _resources())
    """Kubernetes resources of the proxy container."""
    redis: bool | ExternalRedis | None = None
    """`true`: deploy Redis with the chart (litellm-helm only; its default); `false`: none
    (the litellm chart's default); or an existing Redis `{host, port, secret, password_key,
    ssl}`. The pods get REDIS_HOST, REDIS_PORT, REDIS_PASSWORD."""
    cache: bool = False
    """Cache LiteLLM responses in that Redis. Off by default: with it on, the proxy does not
    start without Redis."""
    database: Literal["bundled"] | ExistingDatabase = "bundled"
    """`bundled` deploys PostgreSQL with the chart (litellm-helm only); otherwise the existing
    server `{host, port, name, secret, username_key, password_key, iam_auth}`."""
    store_model_in_db: bool = True
    """Let admins add models at run time through LiteLLM's API (`/model/new`)."""
    model_source: Literal["values", "api"] = "values"
    """Where the gateway's models come from: `values` (the chart values' model list; a change
    restarts the pods) or `api` (`llmgw sync` writes them through LiteLLM's management API
    into its database, with no restart)."""
    url: str = ""
    """The gateway's URL for `llmgw sync` (e.g. `https://litellm.example.com`); empty reaches
    it through the Kubernetes API server's service proxy."""
    reload_interval_seconds: int = Field(default=10, ge=1)
    """`model_source: api`: how often each replica reloads models from the database."""
    store_prompts_in_spend_logs: bool = False
    """Keep prompt and response text in LiteLLM's spend logs."""
    values: dict[str, Any] = Field(default_factory=dict)
    """Chart values of your own, merged under llmgw's (`nodeSelector`, `tolerations`,
    `podAnnotations`, `imagePullSecrets`, a PodDisruptionBudget, extra env): a key llmgw sets
    is refused, naming it, and a secret is never written here (use a Secret the chart
    references)."""
    model_names: Literal["prefixed", "plain"] = "prefixed"
    """The names clients ask for: `prefixed` says where a model runs (`bedrock/<name>`,
    `vllm/<name>`, …), `plain` is the bare `name`. A model's own `model_name` wins over both."""

    @field_validator("release", "namespace")
    @classmethod
    def _k8s_name(cls, value: str, info: Any) -> str:
        return _dns_label(value, f"Kubernetes {info.field_name} name")

    @model_validator(mode="after")
    def _chart_fits(self) -> Gateway:
        chart = charts.chart(self.chart_kind)
        if self.database == "bundled" and not chart.bundles_database:
            raise ValueError(
                f"the {chart.kind} chart bundles no PostgreSQL: give database: {{host: …, "
                "name: …, secret: …} (an existing server)"
            )
        if self.redis is True and not chart.bundles_redis:
            raise ValueError(
                f"the {chart.kind} chart bundles no Redis: give redis: {{host: …}} (an existing "
                "one), or redis: false"
            )
        if self.cache and not self.redis_enabled:
            raise ValueError("cache: true needs a Redis (redis: true, or redis: {host: …})")
        return self

    @property
    def redis_enabled(self) -> bool:
        """Whether the gateway has a Redis: bundled (litellm-helm's default) or existing."""
        if self.redis is None:
            return charts.chart(self.chart_kind).bundles_redis
        return self.redis is not False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", value):
            raise ValueError(f"{excerpt(value)} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("domain", "host")
    @classmethod
    def _hostname(cls, value: str) -> str:
        if value and not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", value):
            raise ValueError(f"{excerpt(value)} is not a DNS name")
        return value


#: litellm_params llmgw sets itself; config may add others (rpm, timeout, …), not these.
RESERVED_PARAMS = frozenset({"model", "api_base", "aws_region_name"})


#: Group settings with keys of their own on each model, so they are set in one place.
ROUTING_PARAMS = frozenset({"weight", "order", "rpm", "tpm"})


def _extra_params(value: dict[str, Any]) -> dict[str, Any]:
    clash = sorted(RESERVED_PARAMS & set(value))
    if clash:
        raise ValueError(
            f"{', '.join(clash)} cannot be set here: llmgw derives it "
            "(use model:, region: or served_name: instead)"
        )
    routing = sorted(ROUTING_PARAMS & set(value))
    if routing:
        raise ValueError(
            f"set {routing[0]} on the model itself ({routing[0]}: …), not in litellm_params"
        )
    from llmgw.config.passthrough import literal_secrets

    for where in literal_secrets(value, ()):
        key = ".".join(str(part) for part in where)
        raise ValueError(
            f"{key} holds a secret written in the config: give the gateway pod's environment "
            f"variable instead ({key}: {{env: VAR}}, written os.environ/VAR)"
        )
    return value


class Routing(Strict):
    """How one deployment takes part in its model group (LiteLLM reads these from
    `litellm_params`)."""

    model_name: str | None = None
    """The public name clients ask for; default from `gateway.model_names`. Models that share a
    public name form one load-balanced group."""
    weight: float | None = Field(default=None, gt=0)
    """Share of the group's traffic (`simple-shuffle`), relative to the other members."""
    order: int | None = Field(default=None, ge=1)
    """Priority within the group: lower is tried first; higher orders only when those fail."""
    rpm: int | None = Field(default=None, ge=1)
    """Requests per minute this deployment takes (rate-aware routing and limits)."""
    tpm: int | None = Field(default=None, ge=1)
    """Tokens per minute this deployment takes."""

    @field_validator("model_name")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is not None and value != value.strip():
            raise ValueError("starts or ends with a space, which clients would have to send too")
        return None if value is None else _one_line(value)

    def routing_params(self) -> dict[str, Any]:
        """The group settings LiteLLM reads from `litellm_params`, those that are set."""
        values = {"weight": self.weight, "order": self.order, "rpm": self.rpm, "tpm": self.tpm}
        return {k: v for k, v in values.items() if v is not None}


class BedrockModel(Routing):
    name: str
    """The model's name in this config; the public name is `bedrock/<name>` by default, so
    letters, digits, `.`, `-`, `_` and `:` (no space, no `/`)."""
    model: str
    """Bedrock model id or cross-region inference profile id (e.g. `us.amazon.nova-pro-v1:0`)."""
    region: str | None = None
    """AWS region for this model; default `bedrock.region`."""
    deploy: bool = True
    """`false` keeps the model in the config but out of the gateway."""
    litellm_params: dict[str, Any] = Field(default_factory=dict)
    """Extra LiteLLM parameters (e.g. `rpm`, `timeout`, `max_tokens`); not `model`, `api_base`,
    `aws_region_name`.
    """

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not MODEL_NAME.match(value):
            raise ValueError(
                "not a name clients can ask for (bedrock/NAME): use "
                "letters, digits, '.', '-', '_' or ':', starting and ending with a letter or "
                "digit (no space, no '/'); set model_name: for another public name"
            )
        return value

    @field_validator("model")
    @classmethod
    def _text(cls, value: str) -> str:
        return _one_line(value)

    @field_validator("litellm_params")
    @classmethod
    def _params(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _extra_params(value)


class Bedrock(Strict):
    region: str | None = None
    """AWS region of the Bedrock models that name none; every model needs one or the other
    (the region of the machine that renders is no gateway setting)."""
    llm: list[BedrockModel] = Field(default_factory=list)
    """Chat models."""
    embedding: list[BedrockModel] = Field(default_factory=list)
    """Embedding models (`mode: embedding`)."""


class SelfHostedModel(Routing):
    name: str
    """The model's name in this config, and the default `app` label of its pods (so a valid
    label value); the public name is `<engine>/<name>` by default.
    """
    deploy: bool = True
    """`false` keeps the model in the config but out of the gateway."""
    namespace: str | None = None
    """Namespace of its pods; default: the engine's (`vllm`, `sglang`, `tgi`, `ollama`, `tei`)."""
    selector: dict[str, str] | None = None
    """Labels its pods carry; default `{app: <name>}`."""
    service: str | None = None
    """The Service in front of the pods; default: the one whose selector matches them."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """Service port; default: the Service's port for the engine, else the engine's port."""
    served_name: str | None = None
    """The model name the engine serves; default: read from the pod's flags (`--served-model-name`,
    `--model`, `--model-path`, `--model-id`), else `name`.
    """
    api_key: SecretRef | None = None
    """The engine's own API key (vLLM/SGLang/TGI/TEI `--api-key`): deploy puts it in the Secret it
    manages and LiteLLM sends it (`api_key: os.environ/…`); config and values never hold it."""
    litellm_params: dict[str, Any] = Field(default_factory=dict)
    """Extra LiteLLM parameters (e.g. `rpm`, `timeout`); not `model`, `api_base`."""
    model_info: dict[str, Any] = Field(default_factory=dict)
    """Extra LiteLLM `model_info` (e.g. `max_input_tokens`)."""

    @model_validator(mode="after")
    def _one_key(self) -> SelfHostedModel:
        if self.api_key is not None and "api_key" in self.litellm_params:
            raise ValueError(
                "api_key is given twice: keep api_key: and drop litellm_params.api_key"
            )
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _label_value(value, "the model name is its default app label")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return None if value is None else _dns_label(value, "namespace name")

    @field_validator("service")
    @classmethod
    def _service(cls, value: str | None) -> str | None:
        return None if value is None else _dns_label(value, "Service name")

    @field_validator("served_name")
    @classmethod
    def _served(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(value)

    @field_validator("litellm_params")
    @classmethod
    def _params(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _extra_params(value)

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("an empty selector would match every pod; give at least one label")
        for key, val in value.items():
            if not LABEL_KEY.match(key):
                raise ValueError(f"{excerpt(key)} is not a valid label key")
            _label_value(val, f"selector {key}")
        return value

    def selector_labels(self) -> dict[str, str]:
        return dict(self.selector) if self.selector else {"app": self.name}


class Models(Strict):
    vllm: list[SelfHostedModel] = Field(default_factory=list)
    """vLLM models."""
    sglang: list[SelfHostedModel] = Field(default_factory=list)
    """SGLang models."""
    tgi: list[SelfHostedModel] = Field(default_factory=list)
    """Text Generation Inference models."""
    ollama: list[SelfHostedModel] = Field(default_factory=list)
    """Ollama models (`served_name` holds the tag, e.g. `llama3.2:3b`)."""
    tei: list[SelfHostedModel] = Field(default_factory=list)
    """Text Embeddings Inference models (embedding)."""

    @field_validator("vllm", "sglang", "tgi", "ollama", "tei", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        """``vllm:`` with every entry commented out is no model there, not an error."""
        return [] if value is None else value

    def by_engine(self) -> Iterator[tuple[Engine, int, SelfHostedModel]]:
        """Every configured model with its engine and index, in config order."""
        for engine_name in ENGINE_NAMES:
            for index, model in enumerate(getattr(self, engine_name)):
                yield ENGINES[engine_name], index, model


class DiscoverRule(Strict):
    """Models to serve without listing them. `kind: Pod` (the default): every pod the selector
    picks in these namespaces is a model, named by its `app.kubernetes.io/name` (else `app`)
    label. Another kind: every such resource the selector picks is a model (or, for a
    production-stack router, every model behind it), reached where the resource serves it."""

    kind: Literal[
        "Pod",
        "InferenceService",
        "LLMInferenceService",
        "LeaderWorkerSet",
        "InferencePool",
        "ProductionStack",
    ] = "Pod"
    """What the rule finds: `Pod`; KServe `InferenceService` or `LLMInferenceService`; a
    `LeaderWorkerSet` (its leaders serve); an `InferencePool` (through its Gateway); a vLLM
    production-stack release (`ProductionStack`: its router Service)."""
    namespaces: list[str] = Field(min_length=1)
    """Namespaces to look in, each by name (no "all": read rights stay per namespace)."""
    selector: str
    """A label selector on the pods (or on the resources of `kind`; for `ProductionStack` on
    the router's pods), as `kubectl get -l` takes it (e.g. `llmgw.io/serve=true`)."""
    engine: Literal["auto", "vllm", "sglang", "tgi", "ollama", "tei"] = "auto"
    """`auto`: the pod's `llmgw.io/engine` label, else its container image or command; or one
    engine for every pod the rule selects."""
    api_key: SecretRef | None = None
    """The API key of the engines this rule finds (their `--api-key`), as a model's `api_key`."""

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        for ns in value:
            _dns_label(ns, "namespace name")
        if len(set(value)) != len(value):
            dup = next(ns for ns in value if value.count(ns) > 1)
            raise ValueError(f"namespace {dup!r} is listed twice")
        return value

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        try:
            parse_selector(value)
        except SelectorError as exc:
            raise ValueError(f"{excerpt(value)} is not a label selector: {exc}") from None
        return value

    def parsed(self) -> Selector:
        return parse_selector(self.selector)


class Langfuse(Strict):
    enabled: bool = False
    """Send traces to Langfuse (LiteLLM callback `langfuse`)."""
    host: str = "http://langfuse-web.langfuse:3000"
    """Langfuse URL as the gateway pods reach it."""
    public_key: SecretRef = SecretRef(env="LANGFUSE_PUBLIC_KEY")
    """Where the Langfuse public key is."""
    secret_key: SecretRef = SecretRef(env="LANGFUSE_SECRET_KEY")
    """Where the Langfuse secret key is."""


class Phoenix(Strict):
    enabled: bool = False
    """Send traces to Arize Phoenix (LiteLLM callback `arize_phoenix`)."""
    endpoint: str = "http://phoenix.phoenix:6006/v1/traces"
    """Phoenix OTLP HTTP traces endpoint."""
    api_key: SecretRef | None = None
    """Where the Phoenix API key is (Phoenix Cloud, or a self-hosted one with auth)."""


class O11y(Strict):
    langfuse: Langfuse = Field(default_factory=Langfuse)
    """Langfuse."""
    phoenix: Phoenix = Field(default_factory=Phoenix)
    """Arize Phoenix."""
    log_message_content: bool = False
    """Send prompt and response text to the callbacks; off keeps usage and metadata only."""


class Router(Strict):
    """LiteLLM's router: how a group picks a deployment, retries, and falls back."""

    routing_strategy: (
        Literal[
            "simple-shuffle",
            "least-busy",
            "latency-based-routing",
            "usage-based-routing-v2",
            "cost-based-routing",
        ]
        | None
    ) = None
    """How a group picks a deployment; LiteLLM's default is `simple-shuffle`."""
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    """Public name → public names to try, in order, when it fails (after retries)."""
    context_window_fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    """Public name → public names to try when a request exceeds its context window."""
    num_retries: int | None = Field(default=None, ge=0)
    """Retries of a failed request within its group before falling back."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds a request may take."""
    allowed_fails: int | None = Field(default=None, ge=0)
    """Failures a deployment may have within a minute before it cools down."""
    cooldown_time: float | None = Field(default=None, ge=0)
    """Seconds a failing deployment is left out of its group."""


class Secrets(Strict):
    """How the values file carries secrets.

    ``reference`` (default): the values name Kubernetes Secrets and hold no secret; deploy
    writes the Secret from the environment variables named here. ``inline``: the values carry
    the secrets themselves, read from those environment variables at render time (the seed's
    behaviour; the rendered file is then written readable by its owner only).
    """

    mode: Literal["reference", "inline"] = "reference"
    """`reference`: the values name Kubernetes Secrets and hold no secret. `inline`: the values
    carry them, read from the environment at render time.
    """
    secret_name: str = ""
    """The Secret llmgw manages for `env:` references; default `<release>-llmgw-env`."""
    master_key: SecretRef = SecretRef(env="LITELLM_MASTER_KEY")
    """The LiteLLM master key (admin key, and the key clients use until you issue virtual keys)."""
    ui_username: SecretRef | None = None
    """LiteLLM admin UI user name."""
    ui_password: SecretRef | None = None
    """LiteLLM admin UI password."""
    salt_key: SecretRef | None = None
    """LiteLLM's salt key (LITELLM_SALT_KEY), which encrypts the model params it stores; required
    with `gateway.model_source: api`. It must be the same on every replica and never change."""
    db_password: SecretRef | None = None
    """Password of the bundled PostgreSQL (inline mode only: the chart cannot reference a Secret for
    it).
    """

    @field_validator("secret_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value:
            _dns_label_subdomain(value)
        return value


class Config(Strict):
    gateway: Gateway = Field(default_factory=Gateway)
    """The gateway and how it is deployed."""
    bedrock: Bedrock = Field(default_factory=Bedrock)
    """AWS Bedrock models."""
    models: Models = Field(default_factory=Models)
    """Self-hosted models, per engine."""
    discover: list[DiscoverRule] = Field(default_factory=list)
    """Rules that find self-hosted models by label, with no entry in `models` (an entry there
    wins over a rule for the same pods)."""
    router: Router = Field(default_factory=Router)
    """Load balancing, retries and fallbacks across public names."""
    o11y: O11y = Field(default_factory=O11y)
    """Observability callbacks."""
    litellm_settings: dict[str, Any] = Field(default_factory=dict)
    """Passed to the proxy config's `litellm_settings` (`drop_params`, `request_timeout`, …);
    keys llmgw sets are refused, and a secret value only as `{env: VAR}` (the pod's variable,
    written `os.environ/VAR`)."""
    general_settings: dict[str, Any] = Field(default_factory=dict)
    """Passed to the proxy config's `general_settings` (`alerting`, budgets, …), by the same
    rules as `litellm_settings`."""
    secrets: Secrets = Field(default_factory=Secrets)
    """Where secrets come from; never their values."""

    def ingress_enabled(self) -> bool:
        gw = self.gateway
        return gw.ingress if gw.ingress is not None else bool(gw.host or gw.domain)

    def managed_secret_name(self) -> str:
        return self.secrets.secret_name or f"{self.gateway.release}-llmgw-env"

    def public_name(self, prefix: str, model: Routing) -> str:
        """The name clients ask for: ``model_name``, else ``<prefix>/<name>`` or ``<name>``."""
        if model.model_name:
            return model.model_name
        name = str(getattr(model, "name", ""))
        return name if self.gateway.model_names == "plain" else f"{prefix}/{name}"

    def engine_keys(self) -> list[tuple[str, SecretRef, str]]:
        """(pod variable, reference, config key path) of each engine API key, once per source."""
        places: list[tuple[SecretRef | None, str]] = [
            (d.model.api_key, f"{'.'.join(map(str, d.loc[:2]))}[{d.loc[2]}].api_key")
            for d in self.deployments()
            if isinstance(d.model, SelfHostedModel)
        ]
        places += [(rule.api_key, f"discover[{n}].api_key") for n, rule in enumerate(self.discover)]
        out: dict[str, tuple[str, SecretRef, str]] = {}
        for ref, path in places:
            if ref is not None:
                out.setdefault(key_env(ref), (key_env(ref), ref, path))
        return list(out.values())

    def deployments(self) -> Iterator[Deployment]:
        """Every configured model with where it sits in the file and its public name."""
        for section in ("llm", "embedding"):
            for index, model in enumerate(getattr(self.bedrock, section)):
                yield Deployment(
                    ("bedrock", section, index),
                    "bedrock",
                    model,
                    self.public_name("bedrock", model),
                    "embedding" if section == "embedding" else "chat",
                )
        for engine, index, sh_model in self.models.by_engine():
            yield Deployment(
                ("models", engine.name, index),
                engine.name,
                sh_model,
                self.public_name(engine.name, sh_model),
                engine.mode,
            )


@dataclass(frozen=True)
class Deployment:
    """One configured model: its place in the file, kind, config and public name."""

    loc: tuple[str | int, ...]
    #: ``bedrock`` or the engine's name.
    kind: str
    model: BedrockModel | SelfHostedModel
    public_name: str
    #: ``chat`` or ``embedding``.
    mode: str

    @property
    def rule(self) -> int | None:
        """The ``discover:`` rule that found it; None for one the config lists."""
        return int(self.loc[1]) if self.loc[0] == "discover" else None

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies it among the discovered models (``DiscoveredModel.key``)."""
        namespace = getattr(self.model, "namespace", None) if self.rule is not None else None
        return model_key(self.kind, str(self.model.name), namespace)


def model_key(kind: str, name: str, namespace: str | None = None) -> tuple[str, ...]:
    """A listed model is its engine and name (names are unique in the config); a label-found
    one also its namespace (the same app in two namespaces is two deployments of one name)."""
    return (kind, name) if namespace is None else (kind, name, namespace)


def resolve_secret(
    ref: SecretRef, env: Mapping[str, str], key_path: str, mode: str = "inline"
) -> str:
    """The value of an ``env:`` reference; the error names the variable, never a value."""
    assert ref.env is not None
    value = env.get(ref.env)
    if not value:
        hint = (
            f"export {ref.env}=… before running (deploy copies it into the Secret it manages), "
            "or name an existing Secret instead: {secret: NAME, key: KEY}"
            if mode == "reference"
            else f"export {ref.env}=… before running, or use secrets.mode: reference"
        )
        raise InputError(f"environment variable {ref.env} is not set ({key_path})", hint=hint)
    return value
