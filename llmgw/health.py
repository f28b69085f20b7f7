"""What the controller shows of itself: Prometheus metrics, its logs (text or JSON lines), and
``/healthz``, ``/readyz`` and ``/metrics`` on an address of its own.

Behind a small protocol (``Health``: ``ready()`` and ``metrics``), so the endpoint knows
nothing of how the controller decides it is ready.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from typing import Any, Literal, Protocol

from llmgw.errors import InputError


class Health(Protocol):
    @property
    def metrics(self) -> Metrics: ...

    def ready(self) -> bool: ...


class Metrics:
    """Prometheus metrics in a registry of their own (prometheus_client, imported here only)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "llmgw_reconciles", "Reconciles of the whole desired state", registry=self.registry
        )
        self.writes = Counter(
            "llmgw_writes", "Writes to the gateway, by kind", ["kind"], registry=self.registry
        )
        self.errors = Counter("llmgw_errors", "Errors, by kind", ["kind"], registry=self.registry)
        self.watch_restarts = Counter(
            "llmgw_watch_restarts",
            "Lists and watches started again, by cause (ended: a watch that ended at once; "
            "error; expired: 410 Gone; list: a failed list; resync; config)",
            ["cause"],
            registry=self.registry,
        )
        self.since_ok = Gauge(
            "llmgw_seconds_since_last_reconcile",
            "Seconds since the last successful reconcile",
            registry=self.registry,
        )
        self.served = Gauge(
            "llmgw_models_served", "Models the gateway serves", registry=self.registry
        )
        self.desired = Gauge(
            "llmgw_models_desired", "Models the config asks for", registry=self.registry
        )
        self.probes = Counter(
            "llmgw_probes", "Engines asked what they serve (--probe)", registry=self.registry
        )
        self.leader = Gauge(
            "llmgw_leader", "1 while this replica holds the Lease", registry=self.registry
        )
        self.left_out = Gauge(
            "llmgw_model_left_out",
            "1 for each configured model the gateway does not serve, with why",
            ["public_name", "reason"],
            registry=self.registry,
        )
        self.model_up = Gauge(
            "llmgw_model_up",
            "1 when the name answered its last verification through the gateway",
            ["public_name"],
            registry=self.registry,
        )
        self.model_latency = Gauge(
            "llmgw_model_verify_latency_seconds",
            "Latency of the name's last verification",
            ["public_name"],
            registry=self.registry,
        )

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            }
        )


def configure_logging(fmt: Literal["text", "json"]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger("llmgw")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def parse_listen(listen: str) -> tuple[str, int]:
    """``[HOST]:PORT``: ``:8080``, ``0.0.0.0:8080``, ``[::1]:8080`` → (host, port)."""
    host, sep, port = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = "\x00"  # an IPv6 address without brackets: ambiguous
    if (
        not sep
        or not port.isdigit()
        or not 1 <= int(port) <= 65535
        or "\x00" in host
        or any(c.isspace() for c in host)
    ):
        raise InputError(
            f"--listen {listen!r} is not [HOST]:PORT",
            hint="e.g. --listen :8080, --listen 127.0.0.1:8080 or --listen [::1]:8080 "
            "(a port from 1 to 65535)",
        )
    return host or "0.0.0.0", int(port)


def serve_health(controller: Health, listen: str) -> Any:
    """/healthz, /readyz and /metrics on ``[host]:port``; returns the server (a thread runs it)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/healthz":
                status, body, kind = 200, b"ok\n", "text/plain"
            elif self.path == "/readyz":
                ok = controller.ready()
                status, body, kind = (
                    (200 if ok else 503),
                    (b"ready\n" if ok else b"not ready\n"),
                    "text/plain",
                )
            elif self.path == "/metrics":
                status, body, kind = 200, controller.metrics.text(), "text/plain; version=0.0.4"
            else:
                status, body, kind = 404, b"not found\n", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    host, port = parse_listen(listen)
    server_class = ThreadingHTTPServer
    if ":" in host:

        class Server6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = Server6
    try:
        server = server_class((host, port), Handler)
    except OSError as exc:
        raise InputError(
            f"--listen {listen}: cannot serve there ({exc.strerror})",
            hint="pick a free port, and an address of this machine (or none: all of them)",
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
    return server
