"""One writer: leader election on a coordination.k8s.io/v1 Lease.

A small elector of its own (the kubernetes client 36 ships only a ConfigMap lock): the holder
renews ``renewTime`` well within ``leaseDurationSeconds``; anyone may take a Lease whose
holder is empty or whose renewal is older than the duration; every write carries the Lease's
resourceVersion, so of two candidates exactly one wins (the other gets 409 Conflict). Releasing
empties the holder, so a successor need not wait out the duration.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from llmgw.errors import ExternalError
from llmgw.kube.api import LIST_TIMEOUT, Ask, ListFailed
from llmgw.kube.auth import Cluster

log = logging.getLogger("llmgw.kube.lease")


class Unreachable(Exception):
    """A Lease write failed for another reason than losing the race (the API server)."""


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Elector:
    def __init__(
        self,
        cluster: Cluster,
        namespace: str,
        name: str,
        identity: str,
        duration: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.name = name
        self.identity = identity
        #: The last failure said (so an outage is one line, not one a renewal).
        self.last_error = ""
        self.duration = duration
        self.clock = clock
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"

    def _send(self, method: str, path: str, body: Any) -> bool:
        """True when the write won; False on a conflict (someone else wrote first). Any other
        failure is ``Unreachable``: the caller holds no Lease until a write wins again."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            self.cluster.api.call_api(
                path,
                method,
                body=body,
                header_params={"Content-Type": "application/json", "Accept": "application/json"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=False,
                _request_timeout=LIST_TIMEOUT,
            )
            self.last_error = ""
        except ApiException as exc:
            if exc.status in (409, 422):
                return False
            raise Unreachable(
                f"{method} Lease {self.namespace}/{self.name}: {exc.status} {exc.reason}"
            ) from None
        except (HTTPError, OSError) as exc:
            raise Unreachable(f"{method} Lease {self.namespace}/{self.name}: {exc}") from None
        return True

    def _spec(self, now: float, transitions: int, acquired: str) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.duration)),
            "acquireTime": acquired,
            "renewTime": _stamp(now),
            "leaseTransitions": transitions,
        }

    def try_acquire_or_renew(self) -> bool:
        """Whether this process holds the Lease now (errors count as not holding it)."""
        now = self.clock()
        try:
            lease = Ask(self.cluster, self.namespace).get(f"{self.path}/{self.name}")
        except ListFailed as exc:
            if exc.status != 404:
                return self._lost(exc)
            lease = None  # none yet: create it
        except ExternalError as exc:  # refused, or the API server unreachable
            return self._lost(exc)
        try:
            if lease is None:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._spec(now, 0, _stamp(now)),
                }
                return self._send("POST", self.path, body)
            spec = lease.get("spec") or {}
            holder = spec.get("holderIdentity") or ""
            renewed = _parse(spec.get("renewTime"))
            expired = renewed + float(spec.get("leaseDurationSeconds") or 0) < now
            if holder and holder != self.identity and not expired:
                return False
            transitions = int(spec.get("leaseTransitions") or 0) + (holder != self.identity)
            acquired = spec.get("acquireTime") if holder == self.identity else _stamp(now)
            lease["spec"] = self._spec(now, transitions, str(acquired))
            return self._send("PUT", f"{self.path}/{self.name}", lease)
        except Unreachable as exc:
            return self._lost(exc)

    def release(self) -> None:
        """Give the Lease up so a successor takes it at once."""
        try:
            lease = Ask(self.cluster, self.namespace).get(f"{self.path}/{self.name}")
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = ""
            lease["spec"]["renewTime"] = _stamp(self.clock())
            self._send("PUT", f"{self.path}/{self.name}", lease)
        except (ListFailed, ExternalError, Unreachable) as exc:
            log.warning("could not release the Lease (%s): it expires on its own", exc)

    def _lost(self, exc: Exception) -> bool:
        """A failed read or write of the Lease: not held, said once per kind of failure."""
        said = str(exc).splitlines()[0][:200]
        if said != self.last_error:
            log.warning("Lease %s/%s: %s; not holding it", self.namespace, self.name, said)
            self.last_error = said
        return False
