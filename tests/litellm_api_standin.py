"""A LiteLLM management-API stand-in on loopback, for the faults the real proxy cannot be
made to show on demand: a 500 on the Nth write, a router that drops a deployment ("not
live"), no database, a replica that has not reloaded, and the like.

Everything the real proxy does by itself is tested against the real proxy over the storage
shim (tests/litellm_db.py, tests/test_e2e_sync_db.py); this stand-in follows what it does.

Two replicas sit behind one URL (requests alternate) and share one store, the database. The
replica that takes a write sees it at once; the other only after it reloads (``lag`` seconds),
as LiteLLM's replicas reload database models on ``proxy_config_reload_interval_seconds``.
Config-file models are served from memory with ``db_model: false``. Faults switch on each of
the behaviours llmgw must handle (see ``llmgw/litellm_api.py``).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests import loopback

KEY = "sk-standin-master"


@dataclass
class Replica:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    router: dict[str, Any] = field(default_factory=dict)
    loaded_at: float = 0.0


@dataclass
class Api:
    key: str = KEY
    lag: float = 0.3
    #: The database: id → row as stored.
    store: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The database's router_settings row.
    router: dict[str, Any] = field(default_factory=dict)
    config_models: list[dict[str, Any]] = field(default_factory=list)
    #: The router settings of the gateway's config file: what llmgw's values set by default.
    file_router: dict[str, Any] = field(
        default_factory=lambda: {"routing_strategy": "simple-shuffle", "num_retries": 2}
    )
    replicas: list[Replica] = field(default_factory=lambda: [Replica(), Replica()])
    #: Switch on with a name: router_in_file, not_live, no_db, store_off,
    #: fail_after (N writes succeed, then every write answers 500), and stale_list (the next N
    #: lists come from a replica that has loaded no database row yet), and refuse ({"GET
    #: /model/info": 400}: that request answers that status).
    faults: dict[str, Any] = field(default_factory=dict)
    #: Every request as "METHOD path" (writes counted by tests and the benchmark).
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    turn: int = 0

    def writes(self) -> list[str]:
        return [r for r in self.log if not r.startswith("GET ")]

    def add_ui_row(self, name: str, params: dict[str, Any]) -> str:
        """A row a person added in the UI: no llmgw keys."""
        row_id = str(uuid.uuid4())
        self.store[row_id] = {
            "model_name": name,
            "litellm_params": params,
            "model_info": {"id": row_id},
        }
        return row_id

    def _replica(self) -> Replica:
        replica = self.replicas[self.turn % len(self.replicas)]
        self.turn += 1
        if time.monotonic() - replica.loaded_at >= self.lag:
            replica.rows = copy.deepcopy(self.store)
            replica.router = copy.deepcopy(self.router)
            replica.loaded_at = time.monotonic()
        return replica


def _public(row: dict[str, Any], db_model: bool) -> dict[str, Any]:
    """A row as /model/info shows it: stored params come back stripped of secrets."""
    params = {k: v for k, v in row["litellm_params"].items() if "key" not in k}
    return {
        "model_name": row["model_name"],
        "litellm_params": params,
        "model_info": {**row.get("model_info", {}), "db_model": db_model},
    }


class _Handler(loopback.JsonHandler):
    api: Api
    protocol_version = "HTTP/1.1"

    def _authorized(self) -> bool:
        bearer = self.headers.get("Authorization", "")
        header = self.headers.get("x-litellm-api-key", "")
        return self.api.key in (bearer.removeprefix("Bearer "), header)

    def _error(self, status: int, message: str) -> None:
        self.send_json(status, {"detail": {"error": message}})

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return dict(json.loads(self.rfile.read(length) or b"{}"))

    def _handle(self) -> None:
        api = self.api
        url = urlsplit(self.path)
        body = self._body() if self.command in ("POST", "PATCH") else {}
        with api.lock:
            api.log.append(f"{self.command} {url.path}")
            if not self._authorized():
                self._error(401, "Authentication Error, invalid proxy server token passed")
                return
            refused = (api.faults.get("refuse") or {}).get(f"{self.command} {url.path}")
            if refused:
                self._error(refused, "injected refusal")
                return
            replica = api._replica()
            if self.command == "GET":
                self._read(url, replica)
            else:
                self._write(url.path, body, replica)

    def _read(self, url: Any, replica: Replica) -> None:
        api = self.api
        rows = [_public(r, True) for r in replica.rows.values()]
        rows += [_public(r, False) for r in api.config_models]
        # As LiteLLM does: each alias lists copies of its target's rows under its own name.
        for alias, target in (replica.router.get("model_group_alias") or {}).items():
            rows += [{**r, "model_name": alias} for r in rows if r["model_name"] == target]
        if url.path == "/router/settings":
            self.send_json(200, {"current_values": {**api.file_router, **replica.router}})
        elif url.path == "/model/info":
            wanted = parse_qs(url.query).get("litellm_model_id", [None])[0]
            if wanted is not None:
                rows = [r for r in rows if r["model_info"].get("id") == wanted]
            elif api.faults.get("stale_list", 0) > 0:  # a replica that has not reloaded yet
                api.faults["stale_list"] -= 1
                rows = [_public(r, False) for r in api.config_models]
            self.send_json(200, {"data": rows})
        elif url.path == "/v1/models":
            names = sorted({r["model_name"] for r in rows})
            self.send_json(200, {"data": [{"id": n, "object": "model"} for n in names]})
        else:
            self._error(404, f"Not Found {url.path}")

    def _write(self, path: str, body: dict[str, Any], replica: Replica) -> None:
        api, faults = self.api, self.api.faults
        if faults.get("no_db"):
            text = faults["no_db"]
            self._error(
                500,
                text
                if isinstance(text, str)
                else "No DB Connected. Here's how to do it - https://docs.litellm.ai/docs/proxy/virtual_keys",
            )
            return
        if faults.get("store_off"):
            self._error(500, "Set `'STORE_MODEL_IN_DB='True'` in your env to enable this feature.")
            return
        if "fail_after" in faults:
            if faults["fail_after"] <= 0:
                self._error(500, "injected failure")
                return
            faults["fail_after"] -= 1
        if path == "/config/update" and faults.get("router_in_file"):  # as LiteLLM 1.108 answers
            keys = sorted(body.get("router_settings") or {})
            self._error(
                400,
                f"router_settings key '{keys[0]}' is set in the config file and cannot be "
                "changed here.",
            )
        elif path == "/config/update":
            api.router.update(body.get("router_settings") or {})
            replica.router = copy.deepcopy(api.router)
            self.send_json(200, {"message": "Config updated successfully"})
        elif path == "/model/new":
            row_id = str(body.get("model_info", {}).get("id") or uuid.uuid4())
            if row_id in api.store:
                self._error(500, "Failed to add model to db. Check your server logs.")
                return
            row = {
                "model_name": body["model_name"],
                "litellm_params": body.get("litellm_params", {}),
                "model_info": {**body.get("model_info", {}), "id": row_id},
            }
            api.store[row_id] = row
            if faults.get("not_live"):
                self._error(500, f"Model {row_id} saved to the database, but not live in this pod")
                return
            replica.rows[row_id] = copy.deepcopy(row)
            self.send_json(200, row)
        elif path.startswith("/model/") and path.endswith("/update") and self.command == "PATCH":
            row_id = path.split("/")[2]
            if row_id not in api.store:
                self._error(400, f"Model with id={row_id} not found in db")
                return
            row = api.store[row_id]
            row["model_name"] = body.get("model_name", row["model_name"])
            row["litellm_params"] = {**row["litellm_params"], **body.get("litellm_params", {})}
            row["model_info"] = {**row["model_info"], **body.get("model_info", {}), "id": row_id}
            replica.rows[row_id] = copy.deepcopy(row)
            self.send_json(200, row)
        elif path == "/model/delete":
            row_id = str(body.get("id"))
            if row_id not in api.store:
                self._error(400, f"Model with id={row_id} not found in db")
                return
            del api.store[row_id]
            replica.rows.pop(row_id, None)
            self.send_json(200, {"message": f"Model: {row_id} deleted successfully"})
        else:
            self._error(404, f"Not Found {path}")

    do_GET = _handle
    do_POST = _handle
    do_PATCH = _handle


def serve(api: Api) -> AbstractContextManager[str]:
    """Serve ``api`` on 127.0.0.1; yields the base URL."""
    return loopback.serve(_Handler, api=api)
