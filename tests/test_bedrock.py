"""Bedrock checks through real boto3 clients: botocore's Stubber (it validates request and
response shapes against the service model) and, for transport failures, real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from llmgw import bedrock
from llmgw.errors import ExternalError, InputError
from tests.bedrock_standin import foundation, profile


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "bedrock",
        region_name="us-west-2",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
    )


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_active_foundation_model(client: Any, stub: Stubber) -> None:
    stub.add_response(
        "get_foundation_model",
        {"modelDetails": foundation("openai.gpt-oss-20b-1:0")},
        {"modelIdentifier": "openai.gpt-oss-20b-1:0"},
    )
    checked = bedrock.check("openai.gpt-oss-20b-1:0", client)
    assert (checked.kind, checked.status, checked.warnings, checked.region) == (
        "foundation model",
        "ACTIVE",
        [],
        "us-west-2",
    )


def test_legacy_model_warns(client: Any, stub: Stubber) -> None:
    stub.add_response(
        "get_foundation_model", {"modelDetails": foundation("anthropic.claude-v2", status="LEGACY")}
    )
    checked = bedrock.check("anthropic.claude-v2", client)
    assert checked.status == "LEGACY" and "LEGACY" in checked.warnings[0]


def test_profile_only_model_suggests_the_profile(client: Any, stub: Stubber) -> None:
    model = "anthropic.claude-3-7-sonnet-20250219-v1:0"
    stub.add_response(
        "get_foundation_model",
        {"modelDetails": foundation(model, inference=("INFERENCE_PROFILE",))},
    )
    stub.add_response(
        "list_inference_profiles",
        {
            "inferenceProfileSummaries": [
                profile(f"eu.{model}", model),
                profile(f"us.{model}", model),
            ]
        },
    )
    with pytest.raises(InputError) as info:
        bedrock.check(model, client)
    assert "served only through an inference profile" in info.value.message
    assert info.value.hint == f"use the inference profile id us.{model}"


def test_inference_profile_id(client: Any, stub: Stubber) -> None:
    pid = "us.amazon.nova-premier-v1:0"
    stub.add_response(
        "get_inference_profile",
        profile(pid, "amazon.nova-premier-v1:0"),
        {"inferenceProfileIdentifier": pid},
    )
    checked = bedrock.check(pid, client)
    assert checked.kind == "inference profile" and checked.status == "ACTIVE"


def test_unknown_id_suggests_close_matches(client: Any, stub: Stubber) -> None:
    stub.add_client_error(
        "get_foundation_model", "ResourceNotFoundException", "Could not resolve", 404
    )
    stub.add_response(
        "list_foundation_models",
        {
            "modelSummaries": [
                foundation("openai.gpt-oss-20b-1:0"),
                foundation("amazon.titan-embed-text-v2:0"),
            ]
        },
    )
    stub.add_response("list_inference_profiles", {"inferenceProfileSummaries": []})
    with pytest.raises(InputError) as info:
        bedrock.check("openai.gpt-oss-20b-v1:0", client)
    assert "is not a Bedrock model or inference profile in us-west-2" in info.value.message
    assert info.value.hint == "did you mean: openai.gpt-oss-20b-1:0"
    assert info.value.exit_code == 2


def test_unknown_profile(client: Any, stub: Stubber) -> None:
    stub.add_client_error("get_inference_profile", "ValidationException", "invalid id", 400)
    stub.add_response("list_foundation_models", {"modelSummaries": []})
    stub.add_response(
        "list_inference_profiles",
        {"inferenceProfileSummaries": [profile("us.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0")]},
    )
    with pytest.raises(InputError) as info:
        bedrock.check("us.amazon.nova-pro-v2:0", client)
    assert "us.amazon.nova-pro-v1:0" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("AccessDeniedException", 403, "AWS denied bedrock:GetFoundationModel in us-west-2"),
        ("ExpiredTokenException", 403, "the AWS session token has expired"),
        ("UnrecognizedClientException", 403, "AWS rejected the credentials"),
        (
            "InternalServerException",
            500,
            "Bedrock GetFoundationModel failed in us-west-2: InternalServerException",
        ),
    ],
)
def test_aws_errors_are_explained(
    client: Any, stub: Stubber, code: str, status: int, message: str
) -> None:
    stub.add_client_error("get_foundation_model", code, "nope", status)
    with pytest.raises(ExternalError) as info:
        bedrock.check("amazon.nova-pro-v1:0", client)
    assert message in info.value.message and info.value.exit_code == 3


def test_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:9")
    c = bedrock.client("us-west-2")
    with pytest.raises(ExternalError) as info:
        bedrock.check("amazon.nova-pro-v1:0", c)
    assert info.value.message == "no AWS credentials found" and "--no-validate" in (
        info.value.hint or ""
    )


def test_endpoint_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    c = boto3.client("bedrock", region_name="us-west-2", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ExternalError, match="cannot reach the Bedrock endpoint for us-west-2"):
        bedrock.check("amazon.nova-pro-v1:0", c)


def test_unknown_region() -> None:
    with pytest.raises(InputError, match="unknown region 'xx-nowhere-1'"):
        bedrock.client("xx-nowhere-1")


def test_no_region_anywhere() -> None:
    with pytest.raises(InputError, match="no AWS region"):
        bedrock.client(None)
