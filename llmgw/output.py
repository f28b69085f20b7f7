"""Presenting results: rich tables on a terminal, plain text elsewhere, JSON/YAML for machines.

Data goes to stdout, messages to stderr. Colour only on a terminal and without NO_COLOR.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console

from llmgw.discovery import DiscoveredModel
from llmgw.redact import printable

#: One token each, so `awk '{print $1}'` and `cut` work on piped output.
HEADERS = ("PUBLIC_NAME", "ENGINE", "NAMESPACE", "READY", "FOUND_BY", "STATUS")
#: ``-o wide`` adds these (before STATUS), as kubectl's wide output does.
WIDE = ("API_BASE", "SERVED_NAME")


def console(stream: TextIO | None = None) -> Console:
    stream = stream or sys.stdout
    plain = bool(os.environ.get("NO_COLOR")) or not stream.isatty()
    return Console(file=stream, no_color=plain, highlight=False, soft_wrap=True)


def err() -> Console:
    return console(sys.stderr)


def warn(text: str) -> None:
    """Every warning, from every command, in the same words: ``warning: …`` on stderr, with
    control characters from the cluster (labels, images) shown escaped."""
    err().print(f"warning: {printable(text)}", markup=False, style="yellow")


def _status(m: DiscoveredModel) -> str:
    if not m.deploy:
        status = "deploy: false"
    elif m.ready:
        status = "ready"
    else:
        status = f"not ready: {m.reason}"
    return "; ".join([status, *m.notes])


def model_rows(models: Sequence[DiscoveredModel], wide: bool = False) -> list[tuple[str, ...]]:
    """Table cells; text from the cluster has its control characters (ANSI escapes) escaped."""
    rows = []
    for m in models:
        cells = [
            m.public_name or m.name,
            m.engine,
            m.namespace,
            f"{m.ready_replicas}/{m.replicas}",
            m.found_by,
        ]
        if wide:
            cells += [m.api_base or "-", m.served_name or "-"]
        rows.append((*cells, _status(m)))
    return [tuple(printable(cell) for cell in row) for row in rows]


def print_models(
    models: Sequence[DiscoveredModel],
    title: str,
    stream: TextIO | None = None,
    wide: bool = False,
) -> None:
    """Aligned columns, as kubectl prints them: a long row runs on rather than breaking a
    name or URL. On a terminal a title line first and the status in colour; piped, the
    header and the rows only."""
    stream = stream or sys.stdout
    headers = (*HEADERS[:-1], *WIDE, HEADERS[-1]) if wide else HEADERS
    rows = model_rows(models, wide)
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()

    if not stream.isatty() or os.environ.get("NO_COLOR"):
        if stream is sys.stdout:  # data on stdout, the title with the messages
            sys.stderr.write(title + "\n")
        stream.write("\n".join(line(row) for row in [headers, *rows]) + "\n")
        return
    from rich.markup import escape

    out = console(stream)
    out.print(escape(title), style="bold", soft_wrap=True)
    out.print(escape(line(headers)), style="bold", soft_wrap=True)
    for m, row in zip(models, rows, strict=True):
        colour = "dim" if not m.deploy else ("green" if m.ready else "red")
        head = "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)) + "  "
        out.print(f"{escape(head)}[{colour}]{escape(row[-1])}[/{colour}]", soft_wrap=True)


def dump(data: Any, fmt: str, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(json.dumps(data, indent=2) + "\n")
    else:
        from llmgw.yamlout import document

        stream.write(document(data))


class DeployReporter:
    """Phases with a spinner and elapsed time on a terminal, plain lines elsewhere."""

    def __init__(self, verbose: bool, machine: bool = False) -> None:
        """``machine``: previews are kept for one JSON document (``-o json``), not printed."""
        import time

        self.verbose = verbose
        self.machine = machine
        self.previews: list[Any] = []
        self.started = time.monotonic()
        self.stream = sys.stderr
        self._progress: Any = None
        self._task: Any = None

    def phase(self, name: str) -> None:
        import time

        if not self.stream.isatty():
            elapsed = time.monotonic() - self.started
            self.stream.write(f"[{elapsed:5.1f}s] {name}\n")
            return
        if self._progress is None:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=err(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(name)
        self._progress.update(self._task, description=name)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def preview(self, preview: Any) -> None:
        self.stop()
        if self.machine:
            self.previews.append(preview)
            return
        write = sys.stdout.write
        if preview.target:
            write(f"target: {preview.where()}\n")
        if preview.new_install:
            write("new install: no release with this name yet\n")
        if not preview.changes:
            return
        for change in preview.release_changes:
            write(f"{change}\n")
        for label, names in (
            ("added", preview.added),
            ("removed", preview.removed),
            ("changed", preview.changed),
        ):
            for name in names:
                write(f"model {label}: {name}\n")
        for change in preview.other:
            write(f"value {change}\n")
        if self.verbose:
            write(preview.diff)

    def confirm(self, question: str) -> bool | None:
        self.stop()
        if not sys.stdin.isatty():
            return None
        import typer

        return bool(typer.confirm(question, default=False, err=True))


def preview_document(
    previews: Sequence[Any],
    warnings: Sequence[str],
    notes: Sequence[str],
    error: Any = None,
) -> Any:
    """``deploy --dry-run -o json`` and ``sync --dry-run -o json``: for CI bots and PR comments.

    ``error``: the LlmgwError that ended the run after its preview (a refused removal, a chart
    that cannot be fetched): the document still says what would change, and why it stops."""
    from llmgw import __version__

    failed = (
        {"error": {"message": error.message, "hint": error.hint, "exit_code": error.exit_code}}
        if error is not None
        else {}
    )
    return {
        **failed,
        "llmgw_version": __version__,
        "changes": any(p.changes for p in previews),
        "previews": [
            {
                **p.target,
                "new_install": p.new_install,
                "added": list(p.added),
                "removed": list(p.removed),
                "changed": list(p.changed),
                "other": list(p.other),
                "release_changes": list(p.release_changes),
            }
            for p in previews
        ],
        "warnings": list(warnings),
        "notes": list(notes),
    }


def print_verdicts(verdicts: Sequence[Any], stream: TextIO | None = None) -> None:
    """One line a name: result, name, HTTP status, latency, who answered, the error."""
    stream = stream or sys.stdout
    rows = [("RESULT", "PUBLIC_NAME", "STATUS", "LATENCY", "ANSWERED_BY", "ERROR")]
    for v in verdicts:
        by = v.answered_by + (" (fallback)" if v.fallback else "")
        rows.append(
            (
                "ok" if v.ok else "FAILED",
                v.name,
                str(v.status),
                f"{v.latency:.2f}s",
                by or "-",
                printable(v.error) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        stream.write(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def print_status(report: Any, stream: TextIO | None = None) -> None:
    """One row a public name; then the other differences and the target."""
    stream = stream or sys.stdout
    cells = [("PUBLIC_NAME", "STATE", "CONFIG", "CLUSTER", "GATEWAY")]
    cells += [(r.name, r.state, r.config, r.cluster, r.gateway) for r in report.rows]
    rows = [tuple(printable(c) for c in row) for row in cells]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        stream.write(line.rstrip() + "\n")
    r = report.release
    if r is not None and not r["installed"]:
        err().print(
            f"release {r['name']} is not installed in namespace {r['namespace']}: "
            "`llmgw deploy` installs it",
            markup=False,
        )
    elif r is not None:
        line = (
            f"release {r['name']} revision {r['revision']} ({r['status']}): chart "
            f"{r['chart']} {r['chart_version']}, LiteLLM {r['app_version'] or '?'}"
        )
        if r["status"] != "deployed":
            line += " — `llmgw deploy` upgrades it, `llmgw rollback` returns to the last good one"
        err().print(line, markup=False)
    for change in report.other:
        err().print(f"value {change}", markup=False)
    err().print(f"{'in step' if report.in_step else 'out of step'}: {report.where}", markup=False)


def print_history(rows: Sequence[Any], stream: TextIO | None = None) -> None:
    """One line a revision, oldest first, as `helm history` lists them."""
    stream = stream or sys.stdout
    cells = [("REVISION", "STATUS", "CHART", "LITELLM", "MODELS", "UPDATED", "DESCRIPTION")]
    for r in rows:
        models = "?" if r.models is None else str(r.models)
        cells.append(
            (str(r.revision), r.status, f"{r.chart} {r.chart_version}".strip(), r.app_version,
             models, r.updated[:19].replace("T", " "), r.description.splitlines()[0][:60]
             if r.description else "")
        )  # fmt: skip
    shown = [tuple(printable(c) for c in row) for row in cells]
    widths = [max(len(r[i]) for r in shown) for i in range(len(shown[0]))]
    for row in shown:
        stream.write(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )
