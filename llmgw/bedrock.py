"""Checking Bedrock model ids with AWS before they reach the gateway.

A wrong id is otherwise found by the first user whose request fails. The checks use the
Bedrock control plane (``boto3.client("bedrock")``): foundation model ids with
``get_foundation_model``, cross-region inference profile ids (``us.``, ``eu.``, ``apac.``,
``global.`` …) with ``get_inference_profile``, and close matches from the list operations.
boto3 is imported here only, and only when a check runs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from llmgw.errors import ExternalError, InputError

#: Prefixes of system-defined cross-region inference profile ids.
PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "ca.", "jp.", "au.")


@dataclass(frozen=True)
class Checked:
    model_id: str
    region: str
    kind: str  # "foundation model" or "inference profile"
    name: str
    status: str
    warnings: list[str] = field(default_factory=list)


#: What a Bedrock model or inference profile id looks like: ``provider.model[:version]``
#: (``amazon.nova-pro-v1:0``, ``us.anthropic.claude-3-7-sonnet-20250219-v1:0``), or an ARN.
_ID = re.compile(
    r"^[a-z0-9][a-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9_.-]*)+(:[A-Za-z0-9_.-]+)*$"
    r"|^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:[a-z-]+/[A-Za-z0-9_.:/-]+$"
)


def check_region(region: str) -> None:
    """A region botocore does not know and that is one typo from one it does (``us-wst-2``)
    is refused offline, with --no-validate too. botocore's own partition data is the list; a
    region newer than the installed botocore, and like no known one, passes."""
    import difflib

    import botocore.session

    session = botocore.session.get_session()
    known = {
        r
        for partition in session.get_available_partitions()
        for r in session.get_available_regions("bedrock", partition_name=partition)
    }
    if region in known:
        return
    close = difflib.get_close_matches(region, sorted(known), n=1, cutoff=0.85)
    if close:
        raise InputError(
            f"--region {region!r} is no AWS region where Bedrock runs: did you mean {close[0]}?",
            hint=f"pass --region {close[0]}",
        )


def check_shape(model_id: str) -> None:
    """A malformed id is refused offline, before AWS (or its absence) is asked."""
    if not _ID.match(model_id):
        raise InputError(
            f"{model_id[:80]!r} is not a Bedrock model id",
            hint="ids look like amazon.nova-pro-v1:0 or us.anthropic.claude-3-7-sonnet-"
            "20250219-v1:0 (an inference profile); `aws bedrock list-foundation-models` "
            "lists them",
        )


def is_profile_id(model_id: str) -> bool:
    return model_id.startswith(PROFILE_PREFIXES)


def client(region: str | None) -> Any:
    """A Bedrock control-plane client; the region falls back to the AWS default chain."""
    import boto3
    from botocore.exceptions import BotoCoreError, NoRegionError, ProfileNotFound

    try:
        session = boto3.session.Session()
    except ProfileNotFound as exc:
        raise _no_profile(str(exc.kwargs.get("profile", ""))) from None
    try:
        chosen = region or session.region_name
        if not chosen:
            raise NoRegionError()
        if chosen not in session.get_available_regions("bedrock") and not _custom_endpoint():
            raise InputError(
                f"unknown region {chosen!r} (Bedrock is not offered there)",
                hint="pass --region, e.g. us-west-2, or set bedrock.region in the config",
            )
        return session.client("bedrock", region_name=chosen)
    except NoRegionError:
        raise InputError(
            "no AWS region: none given and none in the AWS configuration",
            hint="pass --region, set bedrock.region in the config, or AWS_REGION",
        ) from None
    except BotoCoreError as exc:
        raise ExternalError(f"cannot create a Bedrock client: {exc}") from None


def _no_profile(profile: str) -> InputError:
    import os

    import botocore.session

    known = botocore.session.Session(profile=None).available_profiles
    source = "AWS_PROFILE" if os.environ.get("AWS_PROFILE") == profile else "AWS_DEFAULT_PROFILE"
    choices = (
        f"use one of: {', '.join(known)} (aws configure list-profiles)"
        if known
        else f"create it with `aws configure --profile {profile}`"
    )
    return InputError(
        f"AWS profile {profile!r} ({source}) is not in the AWS configuration",
        hint=f"{choices}, unset {source}, or pass --no-validate to add without asking AWS",
    )


def _custom_endpoint() -> bool:
    import os

    return bool(os.environ.get("AWS_ENDPOINT_URL_BEDROCK") or os.environ.get("AWS_ENDPOINT_URL"))


def check(model_id: str, bedrock: Any) -> Checked:
    """Check one id; raises InputError (bad id, exit 2) or ExternalError (AWS failed, exit 3)."""
    from botocore.exceptions import BotoCoreError, ClientError

    region = str(bedrock.meta.region_name)
    try:
        if is_profile_id(model_id):
            return _check_profile(model_id, region, bedrock)
        return _check_foundation(model_id, region, bedrock)
    except (BotoCoreError, ClientError) as exc:
        raise _aws_error(exc, region) from None


def _not_found(exc: Any) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("ResourceNotFoundException", "ValidationException")


def _check_profile(model_id: str, region: str, bedrock: Any) -> Checked:
    from botocore.exceptions import ClientError

    try:
        profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model_id)
    except ClientError as exc:
        if not _not_found(exc):
            raise
        raise _unknown(model_id, region, bedrock) from None
    status = str(profile.get("status", ""))
    warnings = [] if status == "ACTIVE" else [f"inference profile status is {status}"]
    return Checked(
        model_id,
        region,
        "inference profile",
        str(profile.get("inferenceProfileName", "")),
        status,
        warnings,
    )


def _check_foundation(model_id: str, region: str, bedrock: Any) -> Checked:
    from botocore.exceptions import ClientError

    try:
        details = bedrock.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
    except ClientError as exc:
        if not _not_found(exc):
            raise
        raise _unknown(model_id, region, bedrock) from None
    status = str((details.get("modelLifecycle") or {}).get("status", ""))
    warnings: list[str] = []
    if status == "LEGACY":
        warnings.append(f"{model_id} is LEGACY in {region}: AWS will retire it; plan a replacement")
    inference = details.get("inferenceTypesSupported") or []
    if inference and "ON_DEMAND" not in inference and "INFERENCE_PROFILE" in inference:
        profile = _profile_for(model_id, region, bedrock)
        raise InputError(
            f"{model_id} cannot be invoked on demand in {region}: it is served only through "
            "an inference profile",
            hint=f"use the inference profile id {profile}"
            if profile
            else "use its cross-region inference profile id (e.g. us.<model id>)",
        )
    return Checked(
        model_id, region, "foundation model", str(details.get("modelName", "")), status, warnings
    )


def _profile_ids(bedrock: Any) -> list[tuple[str, list[str]]]:
    """(profile id, model ARNs) of every inference profile in the region."""
    out: list[tuple[str, list[str]]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = bedrock.list_inference_profiles(**kwargs)
        for summary in page.get("inferenceProfileSummaries") or []:
            arns = [str(m.get("modelArn", "")) for m in summary.get("models") or []]
            out.append((str(summary["inferenceProfileId"]), arns))
        token = page.get("nextToken")
        if not token:
            return out
        kwargs = {"nextToken": token}


def _profile_for(model_id: str, region: str, bedrock: Any) -> str | None:
    candidates = [
        pid for pid, arns in _profile_ids(bedrock) if any(a.endswith("/" + model_id) for a in arns)
    ]
    if not candidates:
        return None
    geo = region.split("-")[0]
    preferred = [c for c in candidates if c.startswith(f"{'apac' if geo == 'ap' else geo}.")]
    return (preferred or sorted(candidates))[0]


def _unknown(model_id: str, region: str, bedrock: Any) -> InputError:
    known = [
        str(m["modelId"]) for m in bedrock.list_foundation_models().get("modelSummaries") or []
    ]
    known += [pid for pid, _ in _profile_ids(bedrock)]
    close = difflib.get_close_matches(model_id, known, n=3, cutoff=0.5)
    return InputError(
        f"{model_id!r} is not a Bedrock model or inference profile in {region}",
        hint=("did you mean: " + ", ".join(close))
        if close
        else "list them with: aws bedrock list-foundation-models --region " + region,
    )


def _aws_error(exc: Exception, region: str) -> ExternalError:
    """Turn an AWS failure into a message that says what to do; one place for all checks."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
        SSOError,
        TokenRetrievalError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ExternalError(
            "no AWS credentials found",
            hint="configure them (aws configure, aws sso login, AWS_PROFILE), or pass "
            "--no-validate to skip the check",
        )
    if isinstance(exc, SSOError | TokenRetrievalError):
        return ExternalError("the AWS SSO session has expired", hint="run: aws sso login")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return ExternalError(
            f"cannot reach the Bedrock endpoint for {region}: {exc}",
            hint="check the network and the region, or pass --no-validate to add offline",
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        operation = exc.operation_name
        if code in ("ExpiredTokenException", "ExpiredToken", "RequestExpired"):
            return ExternalError(
                "the AWS session token has expired",
                hint="refresh the credentials (aws sso login, or new STS credentials)",
            )
        if code in ("AccessDeniedException", "AccessDenied"):
            return ExternalError(
                f"AWS denied bedrock:{operation} in {region}",
                hint=f"allow bedrock:{operation} (and bedrock:List*) for these credentials, "
                "or pass --no-validate",
            )
        if code in ("UnrecognizedClientException", "InvalidSignatureException"):
            return ExternalError(
                "AWS rejected the credentials (unknown key or bad signature)",
                hint="check which credentials are in use: aws sts get-caller-identity",
            )
        return ExternalError(
            f"Bedrock {operation} failed in {region}: {code}: {error.get('Message', '')}"
        )
    return ExternalError(f"Bedrock check failed in {region}: {exc}")
