"""Rendering the values template, and proving the result is a gateway config before writing it.

Every ``{{ … }}`` goes through ``yaml_value`` (Jinja's ``finalize``), so a name, label or served
name holding ``: ``, ``#``, quotes, newlines or ``{{ }}`` comes out as one literal YAML scalar
and can never become new YAML structure, whatever the template author remembers. The output is
then parsed back and checked, because LiteLLM itself accepts a broken model_list and only fails
when a user sends a request.
"""

from __future__ import annotations

import difflib
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llmgw import charts, yamlsrc
from llmgw.errors import InputError
from llmgw.redact import excerpt, one_line, printable, redact
from llmgw.yamlout import Raw, block, yaml_value

# -- template ------------------------------------------------------------------------------


def default_template(chart_kind: str = "litellm-helm") -> Path:
    """The template shipped for a chart kind: in the wheel, or the checkout's templates/."""
    name = charts.chart(chart_kind).template
    shipped = resources.files("llmgw") / "templates" / name
    if shipped.is_file():
        return Path(str(shipped))
    return Path(__file__).resolve().parent.parent / "templates" / name


def render(
    template: Path,
    integration: Mapping[str, Any],
    source_name: str,
    secrets: Sequence[str] = (),
    header: Mapping[str, Any] | None = None,
) -> str:
    """Render ``template`` with the integration object, then validate the result.

    ``secrets`` are the values the object carries (inline mode): a template error or a failed
    check may quote rendered text, so every message is masked before it leaves.
    """
    try:
        output = _render(template, integration, source_name, header)
        gateway = integration.get("gateway")
        in_db = isinstance(gateway, Mapping) and gateway.get("model_source") == "api"
        validate(output, template, models_in_db=in_db)
    except InputError as exc:
        raise InputError(
            redact(exc.message, secrets), hint=exc.hint and redact(exc.hint, secrets)
        ) from None
    return output


def _render(
    template: Path,
    integration: Mapping[str, Any],
    source_name: str,
    header: Mapping[str, Any] | None = None,
) -> str:
    import jinja2

    text = yamlsrc.read_text(template, "template")
    env = jinja2.Environment(
        # A FunctionLoader gives compiled code the template's file name, so errors raised
        # while rendering can name the template line.
        loader=jinja2.FunctionLoader(lambda _name: (text, str(template), lambda: True)),
        undefined=jinja2.StrictUndefined,
        finalize=yaml_value,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["block"] = block
    env.filters["comment"] = comment
    try:
        compiled = env.get_template("values")
        output = compiled.render(
            **_template_vars(integration), source=source_name, header=_header(header, template)
        )
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            f"{template}:{exc.lineno}: template syntax error: {one_line(exc.message)}",
            hint="fix the template, or drop --template to use the shipped one",
        ) from None
    except jinja2.UndefinedError as exc:
        raise InputError(
            f"{template}:{_template_line(exc, template)}: {one_line(exc.message)}",
            hint="the variables a template sees are listed in docs/templates.md",
        ) from None
    except InputError as exc:
        raise InputError(f"{template}:{_template_line(exc, template)}: {exc.message}") from None
    except (TypeError, ValueError, jinja2.TemplateError) as exc:
        raise InputError(
            f"{template}:{_template_line(exc, template)}: template failed: {one_line(str(exc))}"
        ) from None
    return output.rstrip("\n") + "\n"


def comment(value: Any) -> Raw:
    """``x | comment``: text for a YAML comment, as it is, on one line (control characters and
    line breaks shown escaped, so nothing can leave the comment)."""
    return Raw(printable(str(value)).replace("\n", "\\n").replace("\t", " "))


def _header(header: Mapping[str, Any] | None, template: Path) -> dict[str, Any]:
    """What the values file says about itself (the ``header`` template variable)."""
    from llmgw import __version__

    return {
        "version": __version__,
        "cluster": "",
        "template": template.name if template.parent == default_template().parent else template,
        "chart": "",
        "chart_version": "",
        "command": "llmgw render",
        "left_out": [],
        "aliases": [],
        **(header or {}),
    }


def _template_vars(integration: Mapping[str, Any]) -> dict[str, Any]:
    variables = dict(integration)
    # ``llm-model`` is not a Jinja name; expose it as ``llm_model`` as well.
    variables["llm_model"] = integration["llm-model"]
    return variables


def _template_line(exc: BaseException, template: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(template)]
    return str(frames[-1].lineno) if frames else "?"


# -- validation ----------------------------------------------------------------------------

#: Provider prefixes llmgw renders, plus the common hosted ones a custom template may add.
KNOWN_PROVIDERS = frozenset(
    {
        "bedrock",
        "hosted_vllm",
        "openai",
        "text-completion-openai",
        "ollama",
        "ollama_chat",
        "azure",
        "anthropic",
        "vertex_ai",
        "gemini",
        "sagemaker",
        "mistral",
        "cohere",
        "groq",
        "together_ai",
        "openrouter",
        "deepseek",
        "xai",
        "fireworks_ai",
        "litellm_proxy",
        "huggingface",
    }
)
_NEEDS_V1 = frozenset({"hosted_vllm", "openai", "text-completion-openai"})
_NO_V1 = frozenset({"ollama", "ollama_chat"})
_NEEDS_API_BASE = frozenset({"hosted_vllm", "ollama", "ollama_chat"})


def validate(output: str, template: Path, models_in_db: bool = False) -> None:
    """Check the rendered values are YAML a LiteLLM proxy will start with and route.

    ``models_in_db``: the models go into the proxy's database (``gateway.model_source:
    api``), so the file's model_list is empty on purpose."""
    values = yamlsrc.load(output, Path(f"{template} (rendered)"))
    where = f"{template} (rendered)"
    if not isinstance(values, dict):
        raise InputError(f"{where}: the values must be a YAML mapping")
    path = proxy_config_path(values)
    proxy = proxy_config_of(values)
    if not isinstance(proxy, dict):
        raise InputError(f"{where}: {path} is missing or not a mapping")
    model_list = proxy.get("model_list")
    if models_in_db and model_list == []:
        return  # models come from the proxy's database (gateway.model_source: api)
    if not isinstance(model_list, list) or not model_list:
        raise InputError(
            f"{where}: {path}.model_list is empty; the LiteLLM proxy does not start "
            "without at least one model",
            hint="configure a Bedrock model, or check with `llmgw discover` why no "
            "self-hosted model is ready",
        )
    for index, entry in enumerate(model_list):
        problem = _entry_problem(entry)
        if problem:
            name = entry.get("model_name") if isinstance(entry, dict) else None
            label = f"{path}.model_list[{index}]" + (f" ({excerpt(name)})" if name else "")
            raise InputError(f"{where}: {label}: {problem}")


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "must be a mapping with model_name and litellm_params"
    name = entry.get("model_name")
    if not isinstance(name, str) or not name.strip():
        return "model_name is missing or empty"
    params = entry.get("litellm_params")
    if not isinstance(params, dict):
        return "litellm_params is missing"
    model = params.get("model")
    if not isinstance(model, str) or "/" not in model:
        return (
            f"litellm_params.model {excerpt(model)} has no provider prefix (e.g. hosted_vllm/NAME)"
        )
    provider, _, rest = model.partition("/")
    if provider not in KNOWN_PROVIDERS:
        close = difflib.get_close_matches(provider, sorted(KNOWN_PROVIDERS), n=1)
        tip = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown provider prefix {excerpt(provider)} in {excerpt(model)}{tip}"
    if not rest.strip("/"):
        return f"litellm_params.model {excerpt(model)} names no model after the provider"
    api_base = params.get("api_base")
    if api_base is None:
        if provider in _NEEDS_API_BASE:
            return f"{provider} needs litellm_params.api_base"
        return None
    if not isinstance(api_base, str):
        return "api_base must be a URL"
    url = urlsplit(api_base)
    if url.scheme not in ("http", "https") or not url.hostname:
        return f"api_base {excerpt(api_base)} is not an http(s) URL"
    if provider in _NEEDS_V1 and not url.path.rstrip("/").endswith("/v1"):
        return (
            f"api_base {excerpt(api_base)} for {provider} must end in /v1 "
            "(the OpenAI-compatible root)"
        )
    if provider in _NO_V1 and url.path.rstrip("/").endswith("/v1"):
        return f"api_base {excerpt(api_base)} for {provider} must be the server root, without /v1"
    return None


chart_kind_of = charts.kind_of


def proxy_config_path(values: Mapping[str, Any] | None) -> str:
    """Where these values carry the proxy's config.yaml (dotted), as their chart keeps it."""
    return charts.chart(chart_kind_of(values)).proxy_config_path


def proxy_config_of(values: Mapping[str, Any] | None) -> Any:
    """The proxy's config.yaml inside chart values, wherever the chart kind keeps it."""
    node: Any = values or {}
    for key in proxy_config_path(values).split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def has_model_list(values: Mapping[str, Any] | None) -> bool:
    """Whether the values set ``model_list`` at all (without it the chart's default stays)."""
    proxy = proxy_config_of(values)
    return isinstance(proxy, Mapping) and "model_list" in proxy


def model_list(values: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The proxy's ``model_list`` in chart values (empty when there is none)."""
    proxy = proxy_config_of(values)
    entries = proxy.get("model_list") if isinstance(proxy, Mapping) else None
    return [e for e in entries or [] if isinstance(e, Mapping)]


def models_by_name(values: Mapping[str, Any] | None) -> dict[str, list[Mapping[str, Any]]]:
    """The model_list entries grouped by public name, in first-seen order."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for entry in model_list(values):
        out.setdefault(str(entry.get("model_name")), []).append(entry)
    return out


def model_names(values: Mapping[str, Any] | None) -> list[str]:
    """The public model names the values serve, each once, in order."""
    return list(models_by_name(values))


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    changed: bool
    diff: str


def _values_only(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


def file_diff(path: Path, new: str, secrets: Sequence[str] = ()) -> Comparison:
    """Unified diff of the file on disk against ``new``, secrets masked.

    Secrets are masked by value (the ones this run knows) and by key, which also covers the
    older secrets still in the file on disk.
    """
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = ""
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if old == new or _values_only(old) == _values_only(new):
        # Comments carry no value (helm ignores them): a header that names another snapshot
        # path or spells -c otherwise is no drift, so CI can rely on --check.
        return Comparison(False, "")
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{path} (on disk)" if old else "/dev/null",
            tofile=f"{path} (rendered)",
        )
    )
    return Comparison(True, redact(diff, secrets))
