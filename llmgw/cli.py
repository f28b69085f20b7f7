"""The command line: parse options, call a pipeline stage, present the result, map errors.

No logic lives here. Errors raised anywhere below are caught once, in ``main``, printed as one
message with a hint, and turned into the exit codes listed in docs/commands.md.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from llmgw.errors import EXIT_DIFFERENCE, EXIT_EXTERNAL, LlmgwError

if TYPE_CHECKING:  # typing only: the start-up path imports no stage
    from llmgw.controller import Options as WatchOptions
    from llmgw.deploy import Settings as DeploySettings
    from llmgw.syncer import Settings as SyncSettings

app = typer.Typer(
    name="llmgw",
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Keep a LiteLLM gateway on Kubernetes in step with the models that really run.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DEFAULT_CONFIG = Path("config.yaml")


class LogFormat(enum.StrEnum):
    text = "text"
    json = "json"


class PreviewFormat(enum.StrEnum):
    table = "table"
    json = "json"


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


class ListFormat(enum.StrEnum):
    """``discover``: ``wide`` adds the api_base and served name columns, as kubectl's does."""

    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


def _gateway_url(value: str | None) -> str | None:
    """A URL llmgw can call: with its scheme (``localhost:4000`` is no URL to urllib)."""
    if value is not None and not value.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{value!r} needs a scheme, e.g. http://{value.split('//')[-1]}")
    return value


GatewayUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway-url",
        help="The gateway's URL [default: gateway.url, else through the Kubernetes API "
        "server's service proxy].",
        callback=_gateway_url,
    ),
]
VerifyOpt = Annotated[
    bool,
    typer.Option(
        "--verify",
        help="Then send each name added or changed one small request through the gateway "
        "(Bedrock: a token); exit 3 if one does not answer (nothing is rolled back).",
    ),
]
PreviewOpt = Annotated[
    PreviewFormat,
    typer.Option("--output", "-o", help="With --dry-run: the preview as JSON (for CI)."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file [default: $LLMGW_CONFIG or ./config.yaml].",
        dir_okay=False,
    ),
]
PodsFromOpt = Annotated[
    Path | None,
    typer.Option(
        "--pods-from",
        help="Read pods and services from a snapshot (kubectl get pods,services -A -o yaml) "
        "instead of the cluster.",
        dir_okay=False,
    ),
]
KubeconfigOpt = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Kubeconfig file [default: $KUBECONFIG].")
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="Kubeconfig context to use.")]
ProbeOpt = Annotated[
    bool,
    typer.Option(
        "--probe",
        help="Ask each ready model's engine (through the API server's service proxy) "
        "which model it serves.",
    ),
]


def _version(value: bool) -> None:
    if value:
        from llmgw import __version__

        sys.stdout.write(f"llmgw {__version__}\n")
        raise typer.Exit()


DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; exit 1 if anything would.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
AllowRemovalOpt = Annotated[
    bool, typer.Option("--allow-removal", help="Apply even if served models would be dropped.")
]
AllowPartialOpt = Annotated[
    bool,
    typer.Option("--allow-partial", help="Apply even when listing part of the cluster failed."),
]


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="LLMGW_CONFIG",
            help="Config file [default: ./config.yaml]; also accepted after the command.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    ctx.obj = {"config": config}


def _version_string() -> str:
    from llmgw import __version__

    return __version__


def _config_path(ctx: typer.Context, local: Path | None) -> Path:
    return local or (ctx.obj or {}).get("config") or DEFAULT_CONFIG


@app.command()
def discover(
    ctx: typer.Context,
    config: ConfigOpt = None,
    pods_from: PodsFromOpt = None,
    output: Annotated[
        ListFormat, typer.Option("--output", "-o", help="Output format.")
    ] = ListFormat.table,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    probe: ProbeOpt = False,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save", help="Also write what was read as a snapshot for --pods-from.", dir_okay=False
        ),
    ] = None,
) -> None:
    """Show which models really run and are ready: listed in the config or found by its rules."""
    from llmgw import output as out
    from llmgw import pipeline

    if save is not None:
        from llmgw import files

        files.refuse_inputs(
            "--save", save, {"config": _config_path(ctx, config), "snapshot": pods_from}
        )

    found = pipeline.discover(
        _config_path(ctx, config),
        pipeline.Source(pods_from, kubeconfig, context, everything=True),
        probe,
    )
    for note in [*found.reports, *found.notes]:
        out.warn(note)
    if output in (ListFormat.table, ListFormat.wide):
        out.print_models(
            found.models, f"Models in {found.state.source}", wide=output is ListFormat.wide
        )
    else:
        out.dump(
            {
                "llmgw_version": _version_string(),
                "source": found.state.source,
                "complete": not found.state.problems,
                "problems": list(found.state.problems),
                "models": [m.as_dict() for m in found.models],
                "left_out": list(found.reports),
                "notes": found.notes,
            },
            output.value,
        )
    if save is not None:
        from llmgw import snapshot

        snapshot.save(save, found.state)
        out.err().print(f"saved the snapshot to {save}", markup=False)
    if found.state.problems:
        for problem in found.state.problems:
            out.warn(f"incomplete: {problem}")
        raise typer.Exit(EXIT_EXTERNAL)


@app.command()
def render(
    ctx: typer.Context,
    config: ConfigOpt = None,
    pods_from: PodsFromOpt = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the values [default: values.rendered.yaml].",
            dir_okay=False,
        ),
    ] = None,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the values instead.")] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 with a diff if --out would change."),
    ] = False,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template", help="Jinja2 values template [default: the shipped one].", dir_okay=False
        ),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    probe: ProbeOpt = False,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="Render even when listing part of the cluster failed (those models are left out).",
        ),
    ] = False,
) -> None:
    """Render the LiteLLM chart's values from the config and the models that are ready."""
    from llmgw import output as out
    from llmgw import pipeline
    from llmgw.errors import InputError

    if stdout and (check or out_path is not None):
        other = "--check" if check else "--out"
        raise InputError(
            f"--stdout and {other} cannot be combined",
            hint="--stdout prints the values; --out writes them; --check compares them",
        )
    out_path = out_path or Path("values.rendered.yaml")
    pipeline.check_out_path(out_path)  # before any work: a missing directory is a typo
    from llmgw import files

    files.refuse_inputs(
        "--out",
        out_path,
        {"config": _config_path(ctx, config), "snapshot": pods_from, "template": template},
    )
    result = pipeline.render(
        _config_path(ctx, config),
        pipeline.Source(pods_from, kubeconfig, context),
        template,
        allow_partial=allow_partial,
        probe=probe,
    )
    err = out.err()
    for warning in result.warnings:
        out.warn(warning)
    if stdout:
        sys.stdout.write(pipeline.printable_values(result))
        return
    if check:
        if not out_path.exists():
            err.print(f"{out_path} does not exist; run `llmgw render` to write it", markup=False)
            raise typer.Exit(EXIT_DIFFERENCE)
        comparison = pipeline.check_file(result, out_path)
        if comparison.changed:
            sys.stdout.write(comparison.diff)
            err.print(f"{out_path} is out of date; run `llmgw render` to update it")
            raise typer.Exit(EXIT_DIFFERENCE)
        err.print(f"{out_path} is up to date")
        return
    out.print_models(list(result.state.models), f"Models in {result.source}", sys.stderr)
    pipeline.write_values(result, out_path)
    served = result.model_names
    if result.state.config.gateway.model_source == "api":
        err.print(
            f"wrote {out_path}: the gateway's settings (chart, database, router, secrets); with "
            "gateway.model_source: api the models go through `llmgw sync`",
            markup=False,
        )
        return
    err.print(f"wrote {out_path} with {len(served)} models: {', '.join(served)}", markup=False)


@app.command()
def deploy(
    ctx: typer.Context,
    config: ConfigOpt = None,
    pods_from: PodsFromOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: Annotated[
        str | None,
        typer.Option(
            "--kube-context", "--context", help="Kubeconfig context (also given to helm)."
        ),
    ] = None,
    release: Annotated[
        str | None, typer.Option("--release", help="Helm release [default: gateway.release].")
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Namespace [default: gateway.namespace]."),
    ] = None,
    chart: Annotated[
        str | None,
        typer.Option(
            "--chart", help="Chart: oci:// reference, directory or .tgz [default: gateway.chart]."
        ),
    ] = None,
    chart_version: Annotated[
        str | None,
        typer.Option("--chart-version", help="Chart version [default: gateway.chart_version]."),
    ] = None,
    timeout: Annotated[
        str, typer.Option("--timeout", help="How long helm waits for the rollout.")
    ] = "10m",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the rollout.")] = True,
    out_path: Annotated[
        Path, typer.Option("--out", help="Where the deployed values are kept.", dir_okay=False)
    ] = Path("values.rendered.yaml"),
    template: Annotated[
        Path | None, typer.Option("--template", help="Jinja2 values template.", dir_okay=False)
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    allow_removal: AllowRemovalOpt = False,
    allow_partial: AllowPartialOpt = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the full values diff.")
    ] = False,
    output: PreviewOpt = PreviewFormat.table,
    verify: VerifyOpt = False,
) -> None:
    """Render, preview, and roll the gateway out with helm upgrade --install."""
    from llmgw import deploy as deploy_mod
    from llmgw import files, pipeline
    from llmgw.targets import values

    files.refuse_inputs(
        "--out",
        out_path,
        {"config": _config_path(ctx, config), "snapshot": pods_from, "template": template},
    )
    settings = deploy_mod.Settings(
        values.Settings(
            config_path=_config_path(ctx, config),
            template=template,
            out=out_path,
            release=release,
            namespace=namespace,
            chart=chart,
            chart_version=chart_version,
            timeout=timeout,
            wait=wait,
        ),
        source=pipeline.Source(pods_from, kubeconfig, kube_context),
        dry_run=dry_run,
        yes=yes,
        allow_removal=allow_removal,
        allow_partial=allow_partial,
        verify=verify,
    )
    _run_deploy(settings, verbose, _machine(output, dry_run))


def _machine(output: PreviewFormat, dry_run: bool) -> bool:
    from llmgw.errors import InputError

    if output is PreviewFormat.json and not dry_run:
        raise InputError("-o json goes with --dry-run", hint="add --dry-run to preview as JSON")
    return output is PreviewFormat.json


@contextlib.contextmanager
def _reporting(machine: bool, verbose: bool = False) -> Iterator[Any]:
    """The preview reporter of a run; with ``-o json``, a run that is refused or fails after
    its preview still prints its document, with the error (a bot reviewing it gets both)."""
    from llmgw import output as out

    reporter = out.DeployReporter(verbose, machine)
    try:
        yield reporter
    except LlmgwError as exc:
        if machine:
            out.dump(out.preview_document(reporter.previews, [], [], exc), "json")
        raise
    finally:
        reporter.stop()


def _run_deploy(
    settings: DeploySettings,
    verbose: bool,
    machine: bool = False,
    connect: Callable[[], Any] | None = None,
) -> None:
    from llmgw import deploy as deploy_mod
    from llmgw import output as out

    with _reporting(machine, verbose) as reporter:
        outcome = deploy_mod.run(settings, reporter, connect=connect)
    if machine:
        out.dump(out.preview_document(reporter.previews, outcome.warnings, outcome.notes), "json")
    err = out.err()
    for warning in outcome.warnings:
        out.warn(warning)
    for note in outcome.notes:
        err.print(f"note: {note}", markup=False)
    synced = outcome.sync
    if synced is not None and synced.plan.writes:
        if synced.applied:
            err.print(f"synced {synced.writes} model writes to {synced.where}", markup=False)
        elif not outcome.preview.changes:
            err.print(f"dry run: {synced.plan.writes} model writes would be sent", markup=False)
            raise typer.Exit(EXIT_DIFFERENCE)
    if not outcome.preview.changes:
        err.print(
            "no changes: the live release already runs these values; helm was not run", markup=False
        )
        return
    if not outcome.applied:
        err.print("dry run: nothing was applied", markup=False)
        raise typer.Exit(EXIT_DIFFERENCE)
    err.print(
        f"deployed {outcome.release} revision {outcome.revision or '?'} "
        f"with {len(outcome.models)} models: {', '.join(outcome.models)}",
        markup=False,
    )
    if outcome.url:
        err.print(f"gateway: {outcome.url}", markup=False)
    err.print(
        f"from your machine: {outcome.port_forward}, then http://localhost:4000", markup=False
    )


@app.command()
def sync(
    ctx: typer.Context,
    config: ConfigOpt = None,
    pods_from: PodsFromOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    gateway_url: GatewayUrlOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    allow_removal: AllowRemovalOpt = False,
    allow_partial: AllowPartialOpt = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", help="Keep the gateway in step until stopped (a controller; see docs)."
        ),
    ] = False,
    debounce: Annotated[
        float, typer.Option("--debounce", help="--watch: seconds to gather changes.", min=0)
    ] = 2.0,
    grace: Annotated[
        float,
        typer.Option("--grace", help="--watch: seconds a NotReady model keeps its place.", min=0),
    ] = 60.0,
    resync: Annotated[
        float, typer.Option("--resync", help="--watch: seconds between full re-lists.", min=1)
    ] = 300.0,
    min_upgrade_interval: Annotated[
        float,
        typer.Option(
            "--min-upgrade-interval",
            help="--watch with model_source values: seconds between helm upgrades.",
            min=0,
        ),
    ] = 300.0,
    probe: ProbeOpt = False,
    listen: Annotated[
        str | None,
        typer.Option("--listen", help="--watch: serve /healthz, /readyz, /metrics on [HOST]:PORT."),
    ] = None,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="--watch: log lines as text or json.")
    ] = LogFormat.text,
    lease_namespace: Annotated[
        str | None,
        typer.Option(
            "--lease-namespace",
            envvar="LLMGW_LEASE_NAMESPACE",
            help="--watch: namespace of the leader-election Lease [default: gateway.namespace].",
        ),
    ] = None,
    output: PreviewOpt = PreviewFormat.table,
    verify: VerifyOpt = False,
    verify_interval: Annotated[
        float,
        typer.Option(
            "--verify-interval",
            help="--watch: seconds between verifications of every served name through the "
            "gateway (0: off; Bedrock names cost a token each); llmgw_model_up in /metrics.",
            min=0,
        ),
    ] = 0.0,
) -> None:
    """Put the models into the running gateway through LiteLLM's management API (no restart)."""
    from llmgw import pipeline, syncer

    if watch:
        from llmgw import controller as controller_mod
        from llmgw.errors import InputError

        if pods_from is not None:
            raise InputError(
                "--pods-from does not go with --watch: the controller watches the cluster",
                hint="give the cluster with --kubeconfig / --context (or run in a pod); "
                "`llmgw sync --pods-from FILE` syncs once from a snapshot",
            )

        _run_watch(
            controller_mod.Options(
                config_path=_config_path(ctx, config),
                kubeconfig=kubeconfig,
                context=context,
                gateway_url=gateway_url,
                debounce=debounce,
                grace=grace,
                resync=resync,
                min_upgrade_interval=min_upgrade_interval,
                probe=probe,
                listen=listen,
                lease_namespace=lease_namespace,
                verify_interval=verify_interval,
            ),
            log_format.value,
        )
        return

    settings = syncer.Settings(
        config_path=_config_path(ctx, config),
        source=pipeline.Source(pods_from, kubeconfig, context),
        gateway_url=gateway_url,
        dry_run=dry_run,
        yes=yes,
        allow_removal=allow_removal,
        allow_partial=allow_partial,
        verify=verify,
    )
    _run_sync(settings, _machine(output, dry_run))


def _run_watch(options: WatchOptions, log_format: str) -> None:
    import signal

    from llmgw import controller as controller_mod
    from llmgw import health
    from llmgw.kube import auth

    if options.listen:
        health.parse_listen(options.listen)  # a bad address is exit 2 before anything
    health.configure_logging("json" if log_format == "json" else "text")
    controller = controller_mod.Controller(
        options, auth.connector(auth.Connection(options.kubeconfig, options.context))
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: controller.stop())
    if options.listen:
        health.serve_health(controller, options.listen)
    controller.run()


def _run_sync(settings: SyncSettings, machine: bool = False) -> None:
    from llmgw import output as out
    from llmgw import syncer

    with _reporting(machine) as reporter:
        outcome = syncer.run(settings, reporter)
    if machine:
        out.dump(out.preview_document(reporter.previews, outcome.warnings, []), "json")
    err = out.err()
    for warning in outcome.warnings:
        out.warn(warning)
    kept = sorted({str(r.get("model_name")) for r in outcome.plan.unmanaged})
    if kept:
        err.print(f"not managed by llmgw (left as they are): {', '.join(kept)}", markup=False)
    if not outcome.plan.writes:
        err.print(f"in step: {outcome.where} already serves these models; nothing was written")
        return
    if not outcome.applied:
        err.print(f"dry run: {outcome.plan.writes} writes would be sent; nothing was written")
        raise typer.Exit(EXIT_DIFFERENCE)
    replicas = (
        f"all replicas within {outcome.converged_after:.1f} s"
        if outcome.converged_after is not None
        else "replicas still reloading"
    )
    err.print(f"synced {outcome.writes} writes to {outcome.where}; {replicas}", markup=False)


@app.command()
def status(
    ctx: typer.Context,
    config: ConfigOpt = None,
    pods_from: PodsFromOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    gateway_url: Annotated[
        str | None,
        typer.Option("--gateway-url", help="api mode: the gateway's URL [default: gateway.url]."),
    ] = None,
    output: Annotated[Format, typer.Option("--output", "-o", help="Output format.")] = Format.table,
) -> None:
    """What the gateway serves now beside what it should; exit 1 when out of step."""
    from llmgw import inputs
    from llmgw import output as out
    from llmgw import status as status_mod

    reporter = out.DeployReporter(verbose=False, machine=True)
    try:
        report = status_mod.run(
            status_mod.Settings(
                _config_path(ctx, config),
                inputs.Source(pods_from, kubeconfig, context),
                gateway_url,
            ),
            reporter,
        )
    finally:
        reporter.stop()
    if output is Format.table:
        out.print_status(report)
    else:
        out.dump(
            {
                "in_step": report.in_step,
                "target": report.where,
                "names": [r.as_dict() for r in report.rows],
                "other": report.other,
                "release": report.release,
            },
            output.value,
        )
    if not report.in_step:
        raise typer.Exit(EXIT_DIFFERENCE)


@app.command()
def verify(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Public names to verify [default: every name the gateway serves]."),
    ] = None,
    config: ConfigOpt = None,
    pods_from: PodsFromOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    gateway_url: GatewayUrlOpt = None,
    parallel: Annotated[
        int, typer.Option("--parallel", help="Requests in flight at once.", min=1)
    ] = 4,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds each request may take.", min=0.1)
    ] = 30.0,
    skip_bedrock: Annotated[
        bool,
        typer.Option(
            "--skip-bedrock", help="Leave Bedrock names out (each check costs a token there)."
        ),
    ] = False,
    output: Annotated[Format, typer.Option("--output", "-o", help="Output format.")] = Format.table,
) -> None:
    """Send each public name the smallest real request through the gateway (Bedrock: a token)."""
    from llmgw import inputs, verifier
    from llmgw import output as out

    verdicts = verifier.run(
        verifier.Settings(
            config_path=_config_path(ctx, config),
            source=inputs.Source(pods_from, kubeconfig, context),
            gateway_url=gateway_url,
            names=tuple(names or ()),
            parallel=parallel,
            timeout=timeout,
            skip_bedrock=skip_bedrock,
        )
    )
    if output is Format.table:
        out.print_verdicts(verdicts)
    else:
        out.dump({"verdicts": [v.as_dict() for v in verdicts]}, output.value)
    failed = [v.name for v in verdicts if not v.ok]
    if failed:
        out.err().print(f"failed: {', '.join(failed)}", markup=False)
        raise typer.Exit(EXIT_DIFFERENCE)


KubeContextOpt = Annotated[
    str | None,
    typer.Option("--kube-context", "--context", help="Kubeconfig context (also given to helm)."),
]
ReleaseOpt = Annotated[
    str | None, typer.Option("--release", help="Helm release [default: gateway.release].")
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Namespace [default: gateway.namespace]."),
]
TimeoutOpt = Annotated[str, typer.Option("--timeout", help="How long helm waits for the rollout.")]


def _release_settings(ctx: typer.Context, config: Path | None, **kw: Any) -> Any:
    from llmgw import release as release_mod

    return release_mod.Settings(_config_path(ctx, config), **kw)


@app.command()
def history(
    ctx: typer.Context,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: KubeContextOpt = None,
    release: ReleaseOpt = None,
    namespace: NamespaceOpt = None,
    output: Annotated[Format, typer.Option("--output", "-o", help="Output format.")] = Format.table,
) -> None:
    """The gateway release's revisions: chart, LiteLLM version, models served, state."""
    from llmgw import output as out
    from llmgw import release as release_mod

    rows = release_mod.history(
        _release_settings(
            ctx, config, kubeconfig=kubeconfig, context=kube_context, release=release,
            namespace=namespace,
        )
    )  # fmt: skip
    if output is not Format.table:
        out.dump({"revisions": [r.as_dict() for r in rows]}, output.value)
        return
    out.print_history(rows)


def _finish_release_op(outcome: Any, reporter: Any, machine: bool, done: str) -> None:
    from llmgw import output as out

    if machine:
        out.dump(out.preview_document(reporter.previews, [], outcome.notes), "json")
    err = out.err()
    for note in outcome.notes:
        err.print(f"note: {note}", markup=False)
    if not outcome.applied:
        err.print("dry run: nothing was applied", markup=False)
        raise typer.Exit(EXIT_DIFFERENCE)
    err.print(done, markup=False)


@app.command()
def rollback(
    ctx: typer.Context,
    revision: Annotated[
        int | None,
        typer.Argument(
            help="The revision to return to [default: the one before the live one].", min=1
        ),
    ] = None,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: KubeContextOpt = None,
    release: ReleaseOpt = None,
    namespace: NamespaceOpt = None,
    timeout: TimeoutOpt = "10m",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    allow_removal: AllowRemovalOpt = False,
    output: PreviewOpt = PreviewFormat.table,
) -> None:
    """Return the gateway to an earlier revision: previewed and guarded like a deploy."""
    from llmgw import release as release_mod

    machine = _machine(output, dry_run)
    settings = _release_settings(
        ctx, config, kubeconfig=kubeconfig, context=kube_context, release=release,
        namespace=namespace, timeout=timeout, dry_run=dry_run, yes=yes,
        allow_removal=allow_removal,
    )  # fmt: skip
    with _reporting(machine) as reporter:
        outcome = release_mod.rollback(settings, revision, reporter)
    _finish_release_op(outcome, reporter, machine, f"rolled back: now revision {outcome.revision}")


@app.command()
def uninstall(
    ctx: typer.Context,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: KubeContextOpt = None,
    release: ReleaseOpt = None,
    namespace: NamespaceOpt = None,
    timeout: TimeoutOpt = "10m",
    delete_data: Annotated[
        bool,
        typer.Option("--delete-data", help="Delete the database's PersistentVolumeClaims too."),
    ] = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    output: PreviewOpt = PreviewFormat.table,
) -> None:
    """Remove the gateway: the release and the Secret llmgw manages (the data is kept)."""
    from llmgw import release as release_mod
    from llmgw.kube import auth

    machine = _machine(output, dry_run)
    settings = _release_settings(
        ctx, config, kubeconfig=kubeconfig, context=kube_context, release=release,
        namespace=namespace, timeout=timeout, dry_run=dry_run, yes=yes, delete_data=delete_data,
    )  # fmt: skip
    with _reporting(machine) as reporter:
        outcome = release_mod.uninstall(
            settings, reporter, auth.connector(auth.Connection(kubeconfig, kube_context))
        )
    _finish_release_op(outcome, reporter, machine, "uninstalled")


@app.command("add-bedrock-model")
def add_bedrock_model(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            help="The model's name; clients ask for bedrock/NAME (NAME with "
            "gateway.model_names: plain)."
        ),
    ],
    model_id: Annotated[
        str,
        typer.Argument(help="Bedrock model or inference profile id, e.g. us.amazon.nova-pro-v1:0."),
    ],
    config: ConfigOpt = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="AWS region [default: bedrock.region]."),
    ] = None,
    embedding: Annotated[
        bool, typer.Option("--embedding", help="Add to bedrock.embedding instead of bedrock.llm.")
    ] = False,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name",
            help="The public name clients ask for; give an existing one to join its group "
            "(e.g. the same model in a second region).",
        ),
    ] = None,
    weight: Annotated[
        float | None, typer.Option("--weight", help="Share of the group's traffic.")
    ] = None,
    order: Annotated[
        int | None,
        typer.Option("--order", help="Priority in the group: 1 first, higher when those fail."),
    ] = None,
    validate: Annotated[
        bool,
        typer.Option("--validate/--no-validate", help="Check the id with AWS first (offline: no)."),
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the change; write nothing.")
    ] = False,
    then_deploy: Annotated[
        bool, typer.Option("--deploy", help="Then roll it out with `llmgw deploy`.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --deploy: do not ask.")] = False,
    pods_from: PodsFromOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: Annotated[
        str | None, typer.Option("--kube-context", "--context", help="With --deploy: context.")
    ] = None,
) -> None:
    """Add a Bedrock model to the config, checked with AWS, comments and layout kept."""
    from llmgw.errors import InputError

    if dry_run and then_deploy:
        raise InputError(
            "--dry-run writes nothing, so there is nothing to --deploy",
            hint="preview the rollout afterwards with `llmgw deploy --dry-run`",
        )
    from llmgw import addmodel, pipeline
    from llmgw import deploy as deploy_mod
    from llmgw import output as out
    from llmgw.targets import values

    path = _config_path(ctx, config)
    settings = deploy_mod.Settings(
        values.Settings(path), source=pipeline.Source(pods_from, kubeconfig, kube_context), yes=yes
    )
    run = pipeline.context(settings.source)  # one connection: the preflight's is the deploy's
    if then_deploy:  # helm, the cluster and a way to confirm first: then the edit
        deploy_mod.preflight(settings, sys.stdin.isatty(), run.connect)
    result = addmodel.add(
        addmodel.AddRequest(
            _config_path(ctx, config),
            name,
            model_id,
            region,
            embedding,
            validate,
            dry_run,
            model_name,
            weight,
            order,
        )
    )
    err = out.err()
    if result.checked is not None:
        c = result.checked
        err.print(
            f"checked: {c.kind} {c.model_id} ({c.name}) is {c.status} in {c.region}", markup=False
        )
        for warning in c.warnings:
            err.print(f"warning: {warning}", markup=False)
    else:
        err.print("not checked with AWS (--no-validate)", markup=False)
    sys.stdout.write(result.diff)
    sys.stdout.write("\n# the model_list entry render will produce:\n")
    out.dump([result.entry], "yaml")
    if not result.written:
        err.print(f"dry run: {path} is unchanged", markup=False)
        return
    err.print(
        f"added {name} to bedrock.{result.section} in {path}; clients ask for it as "
        f"{result.public_name}",
        markup=False,
    )
    if not then_deploy:
        err.print("roll it out with `llmgw deploy`", markup=False)
        return
    from llmgw.errors import EXIT_EXTERNAL

    try:
        _run_deploy(settings, verbose=False, connect=run.connect)
    except LlmgwError as exc:
        # The config keeps the new model (it is valid, and what was asked for): say so.
        exc.message = f"{name} was added to {path}, but the deploy failed: {exc.message}"
        exc.hint = (exc.hint + "; then " if exc.hint else "") + "run `llmgw deploy` to roll it out"
        exc.exit_code = max(exc.exit_code, EXIT_EXTERNAL)
        raise


def _report(exc: LlmgwError) -> NoReturn:
    from llmgw import output as out

    err = out.err()
    err.print(f"error: {exc.message}", markup=False, highlight=False)
    if exc.hint:
        err.print(f"hint: {exc.hint}", markup=False, highlight=False)
    sys.exit(exc.exit_code)


def main() -> None:
    """Entry point: the one place errors become messages and exit codes."""
    try:
        code = app(standalone_mode=False)
    except LlmgwError as exc:
        _report(exc)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    except Exception as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            # `llmgw` alone: the help as --help prints it (as kubectl and helm do), not a
            # usage error squashed onto one line.
            print(ctx.get_help())
            sys.exit(0)
        format_message = getattr(exc, "format_message", None)
        if callable(format_message):
            # click's usage errors (typer carries its own click): the same one-line form as
            # every other error, exit 2.
            command = getattr(ctx, "command_path", None) or "llmgw"
            message = str(format_message()).replace("\n", " ")
            _report(LlmgwError(message, hint=f"see `{command} --help`"))
        if os.environ.get("LLMGW_DEBUG"):
            raise
        print(
            f"error: internal error: {type(exc).__name__}: {exc}\n"
            "hint: this is a bug in llmgw; run again with LLMGW_DEBUG=1 for the traceback "
            "and report it",
            file=sys.stderr,
        )
        sys.exit(70)
    sys.exit(code if isinstance(code, int) else 0)
