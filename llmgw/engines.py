"""The catalogue of self-hosted engines and what LiteLLM needs to route to each.

Kept as data so that adding an engine is one entry here, not a new branch in every stage.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Engine:
    name: str
    namespace: str
    port: int
    #: LiteLLM provider prefix of the ``model`` string.
    provider: str
    #: Path appended to ``http://<svc>.<ns>:<port>`` to form ``api_base``.
    api_path: str
    #: LiteLLM ``model_info.mode``.
    mode: str
    #: Container flags naming the model the engine serves, most specific first.
    served_name_flags: tuple[str, ...]
    #: Container environment variables that name the served model, used after the flags.
    served_name_env: tuple[str, ...] = ()
    #: Whether ``<binary> serve <model>`` (a positional model) is how the engine is started.
    positional_serve: bool = False
    #: Path (below the service) that lists what the engine serves.
    models_path: str = "/v1/models"


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        Engine(
            name="vllm",
            namespace="vllm",
            port=8000,
            provider="hosted_vllm",
            api_path="/v1",
            mode="chat",
            # vLLM serves --served-model-name when given, else the --model it loaded.
            served_name_flags=("--served-model-name", "--model"),
            positional_serve=True,
        ),
        Engine(
            name="sglang",
            namespace="sglang",
            port=30000,
            provider="hosted_vllm",
            api_path="/v1",
            mode="chat",
            served_name_flags=("--served-model-name", "--model-path", "--model"),
        ),
        Engine(
            name="tgi",
            namespace="tgi",
            port=80,
            provider="hosted_vllm",
            api_path="/v1",
            mode="chat",
            served_name_flags=("--served-model-name", "--model-id"),
            served_name_env=("MODEL_ID",),
        ),
        Engine(
            name="ollama",
            namespace="ollama",
            port=11434,
            provider="ollama_chat",
            api_path="",
            mode="chat",
            served_name_flags=(),
            models_path="/api/tags",
        ),
        Engine(
            name="tei",
            namespace="tei",
            port=80,
            provider="hosted_vllm",
            api_path="/v1",
            mode="embedding",
            served_name_flags=("--served-model-name", "--model-id"),
            served_name_env=("MODEL_ID",),
        ),
    )
}

ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)
