"""A cluster whose models are found by label: every engine recognised by its image, one by
its ``llmgw.io/engine`` label, and the pods a rule must leave out, beside unlabelled ones.

Shared by the discovery, CLI and real-proxy tests, so what they prove is about one cluster.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.k8s_objects import kube_list, pod, service

SERVE = {"llmgw.io/serve": "true"}
CONFIG = Path(__file__).resolve().parent / "e2e/label-found.yaml"
#: What discovery must find: public name → (engine, namespace, served name).
EXPECTED = {
    "vllm/llama-8b": ("vllm", "models", "llama-8b"),
    "sglang/qwen-7b": ("sglang", "models", "Qwen/Qwen2.5-7B-Instruct"),
    "tgi/mistral-7b": ("tgi", "models", "mistralai/Mistral-7B-Instruct-v0.3"),
    "ollama/llama3-2-3b": ("ollama", "models", "llama3-2-3b"),
    "tei/bge-small": ("tei", "models", "BAAI/bge-small-en-v1.5"),
    "vllm/phi-mini": ("vllm", "inhouse", "microsoft/Phi-3-mini-4k-instruct"),
}
#: A model name that must never reach a rendered file.
HOSTILE = "evil\n- model_name: injected"


def _labelled(name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, **SERVE, **(extra or {})}


def objects() -> list[dict[str, Any]]:
    hostile = pod("evil-0", "models", _labelled("evil"), args=["--model", "x/evil"], ip="10.0.2.9")
    hostile["metadata"]["annotations"] = {"llmgw.io/model-name": HOSTILE}
    return [
        pod(
            "llama-8b-0",
            "models",
            _labelled("llama-8b"),
            args=["--model", "meta-llama/Llama-3.1-8B-Instruct", "--served-model-name", "llama-8b"],
        ),
        service("llama-8b", "models", {"app.kubernetes.io/name": "llama-8b"}, 8000),
        pod(
            "qwen-7b-0",
            "models",
            {"app": "qwen-7b", **SERVE},
            image="docker.io/lmsysorg/sglang:v0.4.9.post2-cu126",
            command=["python3", "-m", "sglang.launch_server"],
            args=["--model-path", "Qwen/Qwen2.5-7B-Instruct", "--port", "30000"],
        ),
        service("qwen-7b", "models", {"app": "qwen-7b"}, 30000),
        pod(
            "mistral-7b-0",
            "models",
            _labelled("mistral-7b"),
            image="ghcr.io/huggingface/text-generation-inference:3.3.4",
            args=["--model-id", "mistralai/Mistral-7B-Instruct-v0.3"],
        ),
        service("mistral-7b", "models", {"app.kubernetes.io/name": "mistral-7b"}, 80),
        pod("llama3-2-3b-0", "models", _labelled("llama3-2-3b"), image="ollama/ollama:0.9.6"),
        service("llama3-2-3b", "models", {"app.kubernetes.io/name": "llama3-2-3b"}, 11434),
        pod(
            "bge-small-0",
            "models",
            _labelled("bge-small"),
            image="ghcr.io/huggingface/text-embeddings-inference:cpu-1.7",
            args=["--model-id", "BAAI/bge-small-en-v1.5"],
        ),
        service("bge-small", "models", {"app.kubernetes.io/name": "bge-small"}, 80),
        # An image built in-house: only its label says what it runs.
        pod(
            "phi-mini-0",
            "inhouse",
            _labelled("phi-mini", {"llmgw.io/engine": "vllm"}),
            image="registry.example.com/ml/server:2.1",
            args=["--model", "microsoft/Phi-3-mini-4k-instruct"],
        ),
        service("phi-mini", "inhouse", {"app.kubernetes.io/name": "phi-mini"}, 8000),
        # Left out and reported: an unknown image, and a hostile annotation.
        pod("mystery-0", "models", _labelled("mystery"), image="busybox:1.36"),
        hostile,
        # Beside them, unlabelled: a model server no rule selects, and a cache.
        pod("stray-0", "models", {"app": "stray"}, args=["--model", "x/stray"]),
        pod("cache-0", "models", {"app": "cache"}, image="redis:7.4"),
    ]


def snapshot(path: Path) -> Path:
    path.write_text(json.dumps(kube_list(objects())))
    return path
