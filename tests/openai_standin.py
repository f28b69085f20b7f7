"""An OpenAI-compatible (and Ollama) model server stand-in on loopback.

It answers chat, completions, embeddings and models, and Ollama's /api/chat, /api/tags and
/api/show, and records which model name each request asked for, so a test can prove the
gateway reached the engine with the served model name.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests import loopback


@dataclass
class Seen:
    path: str
    model: str
    authorization: str
    #: The host the client asked for, when it came through this server as its HTTP proxy
    #: (``HTTP_PROXY``): the Service name the gateway routed to, e.g. ``llama-8b.vllm:8000``.
    host: str = ""
    #: A chat request's last message, so a test finds its own request among others.
    text: str = ""


@dataclass
class Engines:
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: When set, chat and embedding requests are recorded and answered with this status.
    fail: int | None = None
    #: When set, every request's connection is dropped unanswered, as a dead backend's is
    #: (pooled keep-alive connections included, which a closed listener would still serve).
    down: bool = False
    #: As a forward proxy: hosts whose requests are dropped unanswered (one backend dead).
    down_hosts: set[str] = field(default_factory=set)
    #: Seconds each chat or embedding request takes (a model's latency, for benchmarks).
    delay: float = 0.0

    def host_of(self, text: str) -> str:
        """The host the chat request carrying ``text`` reached (other requests, such as a
        controller's verifications running meanwhile, do not count)."""
        with self.lock:
            return next(s.host for s in reversed(self.seen) if s.text == text)

    def hosts(self) -> list[str]:
        """The hosts requests reached through the forward proxy, in order."""
        with self.lock:
            return [s.host for s in self.seen if s.host]

    def models(self) -> list[str]:
        """The model names requests asked for (Langfuse ingestion left out)."""
        with self.lock:
            return [s.model for s in self.seen if not s.model.startswith("langfuse:")]


def _chat(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": f"hello from {model}"},
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }


class _Handler(loopback.JsonHandler):
    engines: Engines
    protocol_version = "HTTP/1.1"

    def _send(self, body: Any, status: int = 200) -> None:
        self.send_json(status, body)

    def _record(self, model: str, text: str = "") -> None:
        host = urlsplit(self.path).netloc
        with self.engines.lock:
            self.engines.seen.append(
                Seen(self.path, model, self.headers.get("Authorization", ""), host, text)
            )

    def _dropped(self) -> bool:
        if urlsplit(self.path).netloc in self.engines.down_hosts:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if not self.engines.down:
            return False
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
        return True

    def do_GET(self) -> None:
        if self._dropped():
            return
        if self.path.endswith("/models"):
            self._send({"object": "list", "data": [{"id": "standin", "object": "model"}]})
        elif self.path == "/api/tags":
            self._send({"models": [{"name": "standin", "model": "standin"}]})
        else:
            self._send({"error": "not found"}, 404)

    def do_POST(self) -> None:
        if self._dropped():
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        model = str(body.get("model", ""))
        path = urlsplit(self.path).path  # a forward proxy's request line has the whole URL
        if self.engines.delay and path.endswith(("/chat/completions", "/embeddings")):
            time.sleep(self.engines.delay)
        if self.engines.fail and path.endswith(("/chat/completions", "/embeddings")):
            self._record(model)
            self._send(
                {"error": {"message": "injected failure", "type": "server_error"}},
                self.engines.fail,
            )
        elif path.endswith("/chat/completions"):
            messages = body.get("messages") or [{}]
            last = messages[-1] if isinstance(messages[-1], dict) else {}
            self._record(model, str(last.get("content") or ""))
            self._send(_chat(model))
        elif path.endswith("/completions"):
            self._record(model)
            self._send(
                {
                    "id": "cmpl",
                    "object": "text_completion",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "text": "hi", "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )
        elif path.endswith("/embeddings"):
            self._record(model)
            inputs = body.get("input")
            count = len(inputs) if isinstance(inputs, list) else 1
            self._send(
                {
                    "object": "list",
                    "model": model,
                    "data": [
                        {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                        for i in range(count)
                    ],
                    "usage": {"prompt_tokens": 2, "total_tokens": 2},
                }
            )
        elif path == "/api/chat":
            self._record(model)
            self._send(
                {
                    "model": model,
                    "created_at": "2026-01-01T00:00:00Z",
                    "done": True,
                    "done_reason": "stop",
                    "message": {"role": "assistant", "content": f"hello from {model}"},
                    "prompt_eval_count": 3,
                    "eval_count": 4,
                }
            )
        elif path.startswith("/api/public/"):  # Langfuse ingestion: the gateway's callback
            self._record(f"langfuse:{path}")
            self._send({"successes": [], "errors": []}, 207)
        elif path == "/api/show":
            self._send({"template": "", "details": {"family": "llama"}, "model_info": {}})
        else:
            self._send({"error": f"unknown path {path}"}, 404)


def serve(engines: Engines) -> AbstractContextManager[str]:
    """Serve ``engines`` on 127.0.0.1; yields the base URL."""
    return loopback.serve(_Handler, engines=engines)
