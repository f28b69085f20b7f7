"""A Bedrock control-plane stand-in on loopback, for real boto3 clients (AWS_ENDPOINT_URL_BEDROCK)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import unquote, urlsplit

from tests import loopback

ARN = "arn:aws:bedrock:us-west-2::foundation-model/"


def foundation(
    model_id: str, status: str = "ACTIVE", inference: tuple[str, ...] = ("ON_DEMAND",)
) -> dict[str, Any]:
    return {
        "modelArn": ARN + model_id,
        "modelId": model_id,
        "modelName": model_id.split(".")[-1],
        "providerName": model_id.split(".")[0],
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": list(inference),
        "modelLifecycle": {"status": status},
    }


def profile(profile_id: str, model_id: str) -> dict[str, Any]:
    return {
        "inferenceProfileName": f"US {model_id}",
        "description": "cross-region",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
        "inferenceProfileArn": f"arn:aws:bedrock:us-west-2:123456789012:inference-profile/{profile_id}",
        "models": [{"modelArn": ARN + model_id}],
        "inferenceProfileId": profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


class Bedrock:
    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []

    def add_model(self, model_id: str, **kwargs: Any) -> None:
        self.models[model_id] = foundation(model_id, **kwargs)

    def add_profile(self, profile_id: str, model_id: str) -> None:
        self.profiles[profile_id] = profile(profile_id, model_id)


class _Handler(loopback.JsonHandler):
    bedrock: Bedrock

    def _send(self, status: int, body: Any, error: str = "") -> None:
        self.send_json(status, body, {"x-amzn-ErrorType": error} if error else None)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.bedrock.requests.append(path)
        parts = [unquote(p) for p in path.strip("/").split("/")]
        b = self.bedrock
        if parts == ["foundation-models"]:
            self._send(200, {"modelSummaries": list(b.models.values())})
        elif parts == ["inference-profiles"]:
            self._send(200, {"inferenceProfileSummaries": list(b.profiles.values())})
        elif len(parts) == 2 and parts[0] == "foundation-models":
            if parts[1] in b.models:
                self._send(200, {"modelDetails": b.models[parts[1]]})
            else:
                self._send(
                    404,
                    {"message": "Could not resolve the foundation model"},
                    "ResourceNotFoundException",
                )
        elif len(parts) == 2 and parts[0] == "inference-profiles":
            if parts[1] in b.profiles:
                self._send(200, b.profiles[parts[1]])
            else:
                self._send(
                    404, {"message": "Inference profile not found"}, "ResourceNotFoundException"
                )
        else:
            self._send(404, {"message": "unknown path"}, "ResourceNotFoundException")


def serve(bedrock: Bedrock) -> AbstractContextManager[str]:
    """Serve ``bedrock`` on 127.0.0.1; yields the base URL."""
    return loopback.serve(_Handler, bedrock=bedrock)
