"""A real Kubernetes control plane on loopback for the cluster tests.

etcd, kube-apiserver and kube-controller-manager are the binaries ``tools/install-kube.sh``
builds from the Go module proxy; the kubelet is played by ``tests/kubelet_standin.py``. The API
server runs with TLS, RBAC authorization, a client-certificate admin, service-account signing
keys (so TokenRequest tokens authenticate), the default admission plugins and an audit log
(the real server's own record of every request, which the tests count and read).

Pods are not in the watch cache (``--watch-cache-sizes=pods#0``): a pod watch is etcd's own,
so a watch from a compacted revision gets etcd's real 410 Gone. Everything else is cached, as
on any cluster.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
#: The controllers a cluster needs for what llmgw and helm do: workloads, their pods' Service
#: endpoints, namespaces deleted with their contents, owners' garbage, ServiceAccounts and
#: their tokens, and the aggregated `admin`/`edit`/`view` ClusterRoles. No node-lifecycle: the
#: stand-in kubelet sends no heartbeats, and its Nodes stay Ready.
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "job-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "namespace-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "clusterrole-aggregation-controller",
    "root-ca-certificate-publisher-controller",
)
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    users: ["system:kube-controller-manager", "system:apiserver"]
  - level: None
    nonResourceURLs: ["/readyz*", "/healthz*", "/livez*", "/version"]
  - level: Metadata
"""


def binaries_dir() -> Path:
    return Path(os.environ.get("LLMGW_TEST_KUBE_BIN") or REPO / ".cache/tools")


def missing_binaries() -> list[str]:
    where = binaries_dir()
    return [name for name in BINARIES if not (where / name).is_file()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_pki(pki: Path) -> None:
    """A CA, the API server's serving cert for 127.0.0.1, the admin's client cert
    (O=system:masters) and the service-account signing key pair."""
    pki.mkdir(parents=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
             "-subj", "/CN=llmgw-test-ca", cwd=pki)  # fmt: skip
    (pki / "serving.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth\n"
    )
    (pki / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject, ext in (
        ("serving", "/CN=kube-apiserver", "serving.ext"),
        ("admin", "/O=system:masters/CN=llmgw-test-admin", "client.ext"),
    ):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
                 cwd=pki)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", f"{name}.crt",
                 cwd=pki)  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@dataclass
class ControlPlane:
    """A running control plane; ``start()`` makes one, ``stop()`` leaves no process behind."""

    workdir: Path
    url: str = ""
    etcd_url: str = ""
    admin_kubeconfig: Path = Path()
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_in: float = 0.0
    _namespaces: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pki(self) -> Path:
        return self.workdir / "pki"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    # -- starting and stopping --------------------------------------------------------------

    @classmethod
    def start(cls, workdir: Path | None = None) -> ControlPlane:
        missing = missing_binaries()
        if missing:
            raise RuntimeError(
                f"no {', '.join(missing)} in {binaries_dir()}: run bash tools/install-kube.sh"
            )
        cp = cls(workdir or Path(tempfile.mkdtemp(prefix="llmgw-cp-")))
        begin = time.monotonic()
        try:
            cp._start()
        except BaseException:
            cp.stop()
            raise
        cp.started_in = time.monotonic() - begin
        return cp

    def _start(self) -> None:
        bins = binaries_dir()
        _make_pki(self.pki)
        logs = self.workdir / "logs"
        logs.mkdir()
        client, peer, secure = free_port(), free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn(
            "etcd",
            [
                str(bins / "etcd"),
                "--name=test",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=test=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            logs,
        )
        self._wait("etcd", lambda: _get(f"{self.etcd_url}/health").get("health") == "true")
        (self.workdir / "audit-policy.yaml").write_text(AUDIT_POLICY)
        self.url = f"https://127.0.0.1:{secure}"
        pki = self.pki
        self._spawn(
            "kube-apiserver",
            [
                str(bins / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                "--etcd-prefix=/registry",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={secure}",
                f"--cert-dir={self.workdir / 'certs'}",
                f"--tls-cert-file={pki / 'serving.crt'}",
                f"--tls-private-key-file={pki / 'serving.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=RBAC",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--allow-privileged=true",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--max-requests-inflight=0",
                "--max-mutating-requests-inflight=0",
                "--watch-cache-sizes=pods#0",
                f"--audit-policy-file={self.workdir / 'audit-policy.yaml'}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-mode=blocking",
                "--audit-log-format=json",
                "--v=1",
            ],
            logs,
        )
        self.admin_kubeconfig = self.workdir / "admin.kubeconfig"
        self.admin_kubeconfig.write_text(self._kubeconfig_text({
            "client-certificate-data": _b64(pki / "admin.crt"),
            "client-key-data": _b64(pki / "admin.key"),
        }, "admin"))  # fmt: skip
        self._wait("kube-apiserver", self._ready, timeout=90)
        self._spawn(
            "kube-controller-manager",
            [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={self.admin_kubeconfig}",
                "--leader-elect=false",
                f"--controllers={','.join(CONTROLLERS)}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                "--secure-port=0",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--concurrent-deployment-syncs=10",
                "--concurrent-replicaset-syncs=10",
                "--v=1",
            ],
            logs,
        )
        # The controller-manager is up once it made the default namespace's ServiceAccount.
        self._wait("kube-controller-manager", lambda: self._has_default_sa("default"), 60)

    def _spawn(self, name: str, argv: list[str], logs: Path) -> None:
        log = (logs / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def _wait(self, name: str, ready: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log_tail(name)}")
            try:
                if ready():
                    return
            except (OSError, ValueError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready within {timeout} s: {self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / "logs" / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.procs.clear()
        if not os.environ.get("LLMGW_TEST_KEEP_CLUSTER"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- talking to it -----------------------------------------------------------------------

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(self.pki / "admin.crt", self.pki / "admin.key")
        return ctx

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/readyz", context=self._ssl(), timeout=5) as r:
            return bool(r.status == 200)

    def admin_client(self) -> Any:
        """A kubernetes ApiClient as the cluster admin (for setup, never for llmgw's calls)."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            str(self.admin_kubeconfig), client_configuration=configuration, persist_config=False
        )
        configuration.connection_pool_maxsize = 8
        return client.ApiClient(configuration)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One admin request (for the tests' own setup), JSON in and out."""
        data = None if body is None else json.dumps(body).encode()
        content = "application/merge-patch+json" if method == "PATCH" else "application/json"
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": content}
        )
        with urllib.request.urlopen(req, context=self._ssl(), timeout=30) as r:
            return json.loads(r.read() or b"null")

    def _has_default_sa(self, namespace: str) -> bool:
        try:
            self.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
        except urllib.error.HTTPError:
            return False
        return True

    def _kubeconfig_text(self, user: dict[str, str], name: str) -> str:
        return json.dumps({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": {
                "server": self.url, "certificate-authority-data": _b64(self.pki / "ca.crt")}}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": "test", "user": name}}],
            "current-context": name,
        })  # fmt: skip

    def kubeconfig(self, path: Path, token: str | None = None, name: str = "admin") -> Path:
        """A kubeconfig for the admin, or for a bearer token (a ServiceAccount's)."""
        if token is None:
            shutil.copyfile(self.admin_kubeconfig, path)
        else:
            path.write_text(self._kubeconfig_text({"token": token}, name))
        return path

    def namespace(self, prefix: str) -> str:
        """A fresh namespace (tests isolate themselves by namespace), once its default
        ServiceAccount exists: pods are refused before it does."""
        with self._lock:
            self._namespaces += 1
            name = f"{prefix}-{self._namespaces}"
        self.ensure_namespace(name)
        return name

    def ensure_namespace(self, name: str) -> str:
        try:
            self.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise
        deadline = time.monotonic() + 30
        while not self._has_default_sa(name):
            if time.monotonic() > deadline:
                raise RuntimeError(f"namespace {name}: no default ServiceAccount within 30 s")
            time.sleep(0.1)
        return name

    def token(self, namespace: str, service_account: str, seconds: int = 3600) -> str:
        """A ServiceAccount token from the TokenRequest API, as a pod would get it."""
        answer = self.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": seconds}},
        )  # fmt: skip
        return str(answer["status"]["token"])

    # -- etcd ------------------------------------------------------------------------------

    def etcd_revision(self) -> int:
        key = base64.b64encode(b"/registry/").decode()
        answer = _post(f"{self.etcd_url}/v3/kv/range", {"key": key, "limit": 1})
        return int(answer["header"]["revision"])

    def compact(self) -> int:
        """Compact etcd's history up to now: every older resourceVersion is gone (410)."""
        revision = self.etcd_revision()
        _post(f"{self.etcd_url}/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    # -- the audit log -----------------------------------------------------------------------

    def audit(self, user: str | None = None) -> Iterator[dict[str, Any]]:
        """The API server's audit events (ResponseComplete), optionally of one user."""
        if not self.audit_log.exists():
            return
        with self.audit_log.open() as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("stage") != "ResponseComplete":
                    continue
                if user is not None and event.get("user", {}).get("username") != user:
                    continue
                yield event


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
