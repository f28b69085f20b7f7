"""The catalogue of self-hosted engines and what LiteLLM needs to route to each.

Kept as data so that adding an engine is one entry here, not a new branch in every stage.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
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
    #: Words (a regular expression) that name it in the last part of an image repository,
    #: between ``-``, ``_`` or ``.``: ``vllm/vllm-openai``, ``rocm/vllm-openai-rocm``, AWS's
    #: ``pytorch-inference-vllm-neuronx`` and ``huggingface-pytorch-tgi-inference``; how
    #: ``engine: auto`` recognises a pod.
    image: str = ""
    #: Programs (or ``python -m`` modules) that start it, for images built in-house.
    programs: tuple[str, ...] = ()


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
            image="vllm",
            programs=("vllm", "vllm.entrypoints.openai.api_server"),
        ),
        Engine(
            name="sglang",
            namespace="sglang",
            port=30000,
            provider="hosted_vllm",
            api_path="/v1",
            mode="chat",
            served_name_flags=("--served-model-name", "--model-path", "--model"),
            image="sglang",
            programs=("sglang.launch_server", "sglang"),
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
            image="text-generation-inference|tgi",
            programs=("text-generation-launcher",),
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
            image="ollama",
            programs=("ollama",),
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
            image="text-embeddings-inference|tei",
            programs=("text-embeddings-router",),
        ),
    )
}

ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)

_IMAGES = [(re.compile(f"(^|[-_.])(?:{e.image})($|[-_.])"), e) for e in ENGINES.values()]


def image_repository(image: str) -> str:
    """``ghcr.io/huggingface/text-generation-inference:3.0@sha256:…`` →
    ``text-generation-inference``: the part that names what the image is."""
    path = image.split("@", 1)[0]
    last = path.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


@functools.lru_cache(maxsize=4096)
def by_image(image: str) -> Engine | None:
    """Cached: a cluster runs few images, on many pods."""
    repo = image_repository(image)
    return next((e for pattern, e in _IMAGES if pattern.search(repo)), None)


def by_program(argv: Sequence[str]) -> Engine | None:
    """The engine a command line starts: its program, a ``python -m`` module, or the first
    word after ``sh -c``."""
    starts = [argv[0]] if argv else []
    starts += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-m", "-c", "exec")]
    for word in starts:
        name = word.rsplit("/", 1)[-1]
        for e in ENGINES.values():
            if name in e.programs:
                return e
    return None
