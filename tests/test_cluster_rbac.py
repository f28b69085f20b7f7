"""docs/rbac.yaml and the Roles of charts/llmgw-sync met by the real authorizer.

The rights are applied as written (the subject bound to a ServiceAccount), then `discover`,
`deploy`, `sync` and `sync --watch` run with that ServiceAccount's token from the TokenRequest
API: each works with exactly what the docs grant; a rule taken away makes its command fail
with one line naming the verb, resource and namespace; SubjectAccessReviews show what the
identity can NOT do."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmgw import row_plan
from llmgw.controller import Controller, Options
from llmgw.kube import auth
from tests.cluster_objects import create, model_deployment, model_service, ready_pods
from tests.conftest import REPO, Kube, Result
from tests.kubelet_standin import wait_for
from tests.litellm_api_standin import KEY, Api
from tests.litellm_api_standin import serve as serve_api
from tests.test_deploy import SECRETS

pytestmark = pytest.mark.cluster
Cli = Callable[..., Result]
GATEWAY_NS = "litellm"  # the namespace docs/rbac.yaml names
CHART = REPO / "tests/charts/litellm-helm-1x"


#: The roles of docs/rbac.yaml each command needs, as its comments say ("on top").
ROLES = {
    "discover": ["llmgw-discovery"],
    "deploy": ["llmgw-discovery", "llmgw-deploy"],
    "sync": ["llmgw-discovery", "llmgw-sync"],
    "watch": ["llmgw-discovery", "llmgw-sync", "llmgw-watch", "llmgw-lease"],
}


def rbac_docs(command: str | None = None) -> list[dict[str, Any]]:
    """docs/rbac.yaml as written; with ``command``, only the roles (and their bindings) that
    command needs."""
    docs = [d for d in yaml.safe_load_all((REPO / "docs/rbac.yaml").read_text()) if d]
    if command is None:
        return docs
    keep = ROLES[command]
    return [
        d for d in docs
        if d["kind"] == "Namespace"
        or d["metadata"]["name"] in keep
        or d.get("roleRef", {}).get("name") in keep
    ]  # fmt: skip


def bound_to(docs: list[dict[str, Any]], sa: str, sa_ns: str, suffix: str) -> list[dict[str, Any]]:
    """The docs' objects with their subject bound to a ServiceAccount, names suffixed so each
    test's set of rights stands alone."""
    out = []
    for doc in copy.deepcopy(docs):
        if doc["kind"] == "Namespace":
            continue
        doc["metadata"]["name"] += suffix
        if "roleRef" in doc:
            doc["roleRef"]["name"] += suffix
            doc["subjects"] = [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}]
        out.append(doc)
    return out


class Identity:
    """A ServiceAccount holding docs/rbac.yaml's rights (perhaps less one rule)."""

    def __init__(self, kube: Kube, tmp_path: Path, docs: list[dict[str, Any]], name: str) -> None:
        self.kube, self.name = kube, name
        plane = kube.plane
        plane.ensure_namespace(GATEWAY_NS)
        api = kube.admin()
        create(api, {"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": name, "namespace": GATEWAY_NS}})  # fmt: skip
        self.objects = bound_to(docs, name, GATEWAY_NS, f"-{name}")
        create(api, *self.objects)
        self.user = f"system:serviceaccount:{GATEWAY_NS}:{name}"
        self.kc = plane.kubeconfig(tmp_path / f"{name}.kc", plane.token(GATEWAY_NS, name), name)

    def can(self, verb: str, resource: str, namespace: str = "", subresource: str = "") -> bool:
        attrs: dict[str, Any] = {"verb": verb, "resource": resource, "group": ""}
        if resource == "leases":
            attrs["group"] = "coordination.k8s.io"
        if namespace:
            attrs["namespace"] = namespace
        if subresource:
            attrs["subresource"] = subresource
        review = self.kube.plane.request(
            "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
             "spec": {"user": self.user, "resourceAttributes": attrs,
                      "groups": ["system:serviceaccounts", f"system:serviceaccounts:{GATEWAY_NS}",
                                 "system:authenticated"]}},
        )  # fmt: skip
        return bool(review["status"].get("allowed"))

    def let_helm_install(self, rules: list[dict[str, Any]] | None = None) -> None:
        """What docs/rbac.md says helm itself needs: `admin` in the gateway namespace (or,
        given ``rules``, a Role of exactly those)."""
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}
        name = f"helm-{self.name}"
        if rules is not None:
            create(self.kube.admin(), {
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": name, "namespace": GATEWAY_NS}, "rules": rules})  # fmt: skip
            ref = {**ref, "kind": "Role", "name": name}
        create(
            self.kube.admin(),
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": name, "namespace": GATEWAY_NS}, "roleRef": ref,
             "subjects": [{"kind": "ServiceAccount", "name": self.name, "namespace": GATEWAY_NS}]},
        )  # fmt: skip


_count = [0]


def identity(kube: Kube, tmp_path: Path, docs: list[dict[str, Any]] | None = None) -> Identity:
    _count[0] += 1
    return Identity(kube, tmp_path, rbac_docs() if docs is None else docs, f"llmgw-{_count[0]}")


def without(command: str, role: str, resource: str, verb: str) -> list[dict[str, Any]]:
    """The command's roles of docs/rbac.yaml less one verb on one resource of one role (the
    rule's other resources and verbs kept)."""
    docs = rbac_docs(command)
    for doc in docs:
        if doc["metadata"]["name"] != role:
            continue
        for rule in doc["rules"]:
            if resource in rule["resources"] and verb in rule["verbs"]:
                rest = [r for r in rule["resources"] if r != resource]
                verbs = [v for v in rule["verbs"] if v != verb]
                doc["rules"].remove(rule)
                if rest:
                    doc["rules"].append({**rule, "resources": rest})
                if verbs:
                    doc["rules"].append({**rule, "resources": [resource], "verbs": verbs})
                return docs
    raise AssertionError(f"docs/rbac.yaml has no {verb} {resource} in {role}")


ALL = ["get", "list", "watch", "create", "update", "patch", "delete"]
#: What helm needs for the test chart and its release records, and nothing of llmgw's: it
#: may not PATCH Secrets (helm stores releases with create/update/delete).
HELM_ONLY = [
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch", "create", "update", "delete"]},
    {"apiGroups": [""], "resources": ["configmaps", "services", "serviceaccounts", "pods", "events"], "verbs": ALL},
    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets", "statefulsets"], "verbs": ALL},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ALL},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ALL},
]  # fmt: skip


@pytest.fixture
def models(kube: Kube) -> str:
    ns = kube.plane.namespace("rbac-models")
    api = kube.admin()
    create(
        api,
        model_deployment("a", ns, args=["--served-model-name", "org/a"]),
        model_service("a", ns, 8000),
    )
    wait_for(lambda: ready_pods(api, ns, "app=a") == 1)
    return ns


def config(tmp_path: Path, models: str, extra_gateway: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"gateway: {{release: litellm, namespace: {GATEWAY_NS}, chart: {CHART}, "
        f'chart_version: "1.100.5", replicas: 1{extra_gateway}}}\n'
        "bedrock: {region: us-west-2, llm: [{name: c, model: m.c}]}\n"
        f"models:\n  vllm: [{{name: a, namespace: {models}}}]\n"
        + ("secrets: {salt_key: {env: LITELLM_SALT_KEY}}\n" if "api" in extra_gateway else "")
    )
    return path


# -- what each identity can and cannot do ------------------------------------------------------


def test_the_documented_rights_and_nothing_more(kube: Kube, tmp_path: Path, models: str) -> None:
    who = identity(kube, tmp_path)
    assert who.can("list", "pods", models) and who.can("watch", "services", models)
    # server-side apply of the Secret needs patch, and create on a first deploy
    assert who.can("get", "secrets", GATEWAY_NS) and who.can("patch", "secrets", GATEWAY_NS)
    assert who.can("create", "secrets", GATEWAY_NS)
    assert who.can("update", "leases", GATEWAY_NS)
    assert who.can("create", "services", GATEWAY_NS, "proxy")
    # Secrets nowhere else, and nothing that writes outside what llmgw does.
    assert not who.can("get", "secrets", "default")
    assert not who.can("get", "secrets", models)
    assert not who.can("list", "secrets", GATEWAY_NS)
    assert not who.can("create", "pods", models)
    assert not who.can("delete", "pods", models)
    assert not who.can("update", "leases", models)
    assert not who.can("create", "services", models, "proxy")
    # --probe's right is not in the cluster-wide read: only where docs/rbac-probe.yaml is applied.
    assert not who.can("get", "services", models, "proxy")
    probe = [
        {**d, "metadata": {**d["metadata"], "namespace": models}}
        for d in yaml.safe_load_all((REPO / "docs/rbac-probe.yaml").read_text())
    ]
    create(kube.admin(), *bound_to(probe, who.name, GATEWAY_NS, f"-{who.name}"))
    assert who.can("get", "services", models, "proxy")
    assert not who.can("get", "services", "default", "proxy")
    assert not who.can("create", "services", models, "proxy")


def test_discover_with_the_documented_rights(
    kube: Kube, tmp_path: Path, models: str, cli: Cli
) -> None:
    who = identity(kube, tmp_path, rbac_docs("discover"))
    result = cli("-c", config(tmp_path, models), "discover", "--kubeconfig", who.kc, "-o", "json")
    assert result.code == 0, result.err
    [a] = json.loads(result.out)["models"]
    assert a["ready"] and a["served_name"] == "org/a"


def test_discover_without_list_pods_names_the_verb_resource_and_namespace(
    kube: Kube, tmp_path: Path, models: str, cli: Cli
) -> None:
    docs = without("discover", "llmgw-discovery", "pods", "list")
    who = identity(kube, tmp_path, docs)
    result = cli("-c", config(tmp_path, models), "render", "--kubeconfig", who.kc, "--stdout")
    assert result.code == 3
    assert f"cannot list pods in namespace {models}" in result.err
    assert "Traceback" not in result.err


@pytest.fixture
def on_path(real_helm: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", f"{Path(real_helm).parent}{os.pathsep}{os.environ['PATH']}")
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)


def uninstall(kube: Kube, helm: str) -> None:
    subprocess.run(
        [helm, "uninstall", "litellm", "-n", GATEWAY_NS, "--wait", "--kubeconfig",
         str(kube.plane.admin_kubeconfig)], capture_output=True, check=False,
    )  # fmt: skip
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with contextlib.suppress(ApiException):
        client.CoreV1Api(kube.admin()).delete_namespaced_secret("litellm-llmgw-env", GATEWAY_NS)


def test_deploy_with_the_documented_rights(
    kube: Kube, tmp_path: Path, models: str, cli: Cli, on_path: None, real_helm: str
) -> None:
    who = identity(kube, tmp_path, rbac_docs("deploy"))
    who.let_helm_install()
    try:
        result = cli("-c", config(tmp_path, models), "deploy", "--kubeconfig", who.kc, "--yes")
        assert result.code == 0, result.err
        from kubernetes import client

        secret = client.CoreV1Api(kube.admin()).read_namespaced_secret(
            "litellm-llmgw-env", GATEWAY_NS
        )
        key = base64.b64decode(secret.data["PROXY_MASTER_KEY"]).decode()
        assert key == SECRETS["LITELLM_MASTER_KEY"]
    finally:
        uninstall(kube, real_helm)


def test_deploy_without_patch_on_secrets_fails_before_helm_naming_it(
    kube: Kube, tmp_path: Path, models: str, cli: Cli, on_path: None, real_helm: str
) -> None:
    """helm holds exactly what it needs (no PATCH on Secrets); without llmgw's patch on
    secrets the deploy stops at the Secret, before helm, and no release is made."""
    who = identity(kube, tmp_path, without("deploy", "llmgw-deploy", "secrets", "patch"))
    who.let_helm_install(HELM_ONLY)
    assert not who.can("patch", "secrets", GATEWAY_NS)
    result = cli("-c", config(tmp_path, models), "deploy", "--kubeconfig", who.kc, "--yes")
    assert result.code == 3
    assert (
        f"403 Forbidden: cannot apply Secret litellm-llmgw-env in namespace {GATEWAY_NS}"
        in result.err
    )
    assert "Traceback" not in result.err
    listed = subprocess.run(
        [real_helm, "list", "-n", GATEWAY_NS, "-o", "json", "--kubeconfig",
         str(kube.plane.admin_kubeconfig)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(listed.stdout) == []


def test_sync_reads_the_master_key_from_the_gateway_secret_and_nothing_else(
    kube: Kube, tmp_path: Path, models: str, cli: Cli
) -> None:
    who = identity(kube, tmp_path, rbac_docs("sync"))
    from kubernetes import client

    core = client.CoreV1Api(kube.admin())
    core.create_namespaced_secret(GATEWAY_NS, {
        "metadata": {"name": "litellm-llmgw-env"}, "stringData": {"PROXY_MASTER_KEY": KEY}})  # fmt: skip
    api = Api(lag=0.0)
    try:
        with serve_api(api) as url:
            conf = config(tmp_path, models, ", model_source: api")
            result = cli("-c", conf, "sync", "--kubeconfig", who.kc, "--gateway-url", url, "--yes")
            assert result.code == 0, result.err
            served = {
                r["model_name"] for r in api.store.values() if r["model_info"].get(row_plan.MANAGED)
            }
            assert "vllm/a" in served
    finally:
        core.delete_namespaced_secret("litellm-llmgw-env", GATEWAY_NS)


@pytest.fixture
def gateway() -> Iterator[tuple[Api, str]]:
    api = Api(lag=0.0)
    with serve_api(api) as url:
        yield api, url


def run_controller(who_kc: Path, conf: Path, stop: Callable[[], bool]) -> Controller:
    options = Options(
        config_path=conf, kubeconfig=who_kc, debounce=0.2, grace=3.0, resync=60.0,
        watch_timeout=30, lease_duration=2.0, backoff_max=0.5, identity="rbac",
    )  # fmt: skip
    return Controller(options, lambda: auth.connect(auth.Connection(who_kc, None)),
                      env={"LITELLM_MASTER_KEY": KEY})  # fmt: skip


def test_sync_watch_with_the_documented_rights(
    kube: Kube, tmp_path: Path, models: str, gateway: tuple[Api, str]
) -> None:
    api, url = gateway
    who = identity(kube, tmp_path, rbac_docs("watch"))
    conf = config(tmp_path, models, f", model_source: api, url: {url}")
    c = run_controller(who.kc, conf, lambda: False)
    thread = threading.Thread(target=c.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: "vllm/a" in {r["model_name"] for r in api.store.values()}, 30)
        from kubernetes import client

        lease = client.CoordinationV1Api(kube.admin()).read_namespaced_lease(
            "llmgw-sync", GATEWAY_NS
        )
        assert lease.spec.holder_identity == "rbac"
    finally:
        c.stop()
        thread.join(15)


def test_sync_watch_without_watch_on_pods_says_so_in_one_line(
    kube: Kube, tmp_path: Path, models: str, gateway: tuple[Api, str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    _api, url = gateway
    who = identity(kube, tmp_path, without("watch", "llmgw-watch", "pods", "watch"))
    conf = config(tmp_path, models, f", model_source: api, url: {url}")
    c = run_controller(who.kc, conf, lambda: False)
    thread = threading.Thread(target=c.run, daemon=True)
    with caplog.at_level("WARNING"):
        thread.start()
        try:
            line = f"cannot watch pods in namespace {models}"
            wait_for(lambda: any(line in r.getMessage() for r in caplog.records), 30, line)
        finally:
            c.stop()
            thread.join(15)


# -- the controller chart's Roles --------------------------------------------------------------


def test_the_controller_chart_roles_are_enough_for_the_controller(
    kube: Kube, tmp_path: Path, models: str, real_helm: str, gateway: tuple[Api, str]
) -> None:
    """helm installs charts/llmgw-sync for real; the controller then runs with its
    ServiceAccount's token: it reads the models' namespace, holds its Lease, writes the
    gateway; and it cannot read Secrets outside the gateway's one."""
    api, url = gateway
    home = kube.plane.namespace("llmgw-sync")
    values = tmp_path / "values.yaml"
    cfg = {
        "gateway": {
            "release": "litellm",
            "namespace": GATEWAY_NS,
            "model_source": "api",
            "url": url,
        },
        "bedrock": {"region": "us-west-2", "llm": [{"name": "c", "model": "m.c"}]},
        "models": {"vllm": [{"name": "a", "namespace": models}]},
        "secrets": {"salt_key": {"secret": "litellm-salt", "key": "salt"}},
    }
    values.write_text(
        json.dumps({"config": cfg, "gatewayNamespace": GATEWAY_NS, "replicaCount": 1})
    )
    kube.plane.ensure_namespace(GATEWAY_NS)
    out = subprocess.run(
        [real_helm, "install", "sync", str(REPO / "charts/llmgw-sync"), "-n", home, "-f", str(values),
         "--kubeconfig", str(kube.plane.admin_kubeconfig), "--wait", "--timeout", "60s"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    sa = "sync-llmgw-sync"
    token = kube.plane.token(home, sa)
    kc = kube.plane.kubeconfig(tmp_path / "sa.kc", token, "sa")
    conf = tmp_path / "config.yaml"
    conf.write_text(json.dumps(cfg))
    options = Options(
        config_path=conf, kubeconfig=kc, debounce=0.2, grace=3.0, resync=60.0, watch_timeout=30,
        lease_duration=2.0, backoff_max=0.5, identity="chart", lease_namespace=home,
    )  # fmt: skip
    c = Controller(
        options, lambda: auth.connect(auth.Connection(kc, None)), env={"LITELLM_MASTER_KEY": KEY}
    )
    thread = threading.Thread(target=c.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: "vllm/a" in {r["model_name"] for r in api.store.values()}, 30)
    finally:
        c.stop()
        thread.join(15)
    user = f"system:serviceaccount:{home}:{sa}"
    review = kube.plane.request(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
         "spec": {"user": user, "groups": ["system:serviceaccounts"],
                  "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": models}}},
    )  # fmt: skip
    assert review["status"].get("allowed") is not True


def test_probe_without_docs_rbac_probe_says_which_file_grants_it(
    kube: Kube, tmp_path: Path, models: str, cli: Cli
) -> None:
    """The real authorizer refuses the services proxy before any engine is dialled."""
    who = identity(kube, tmp_path, rbac_docs("discover"))
    cfg = config(tmp_path, models)
    result = cli("-c", cfg, "discover", "--probe", "--kubeconfig", who.kc, "-o", "json")
    assert result.code == 0, result.err
    said = result.out + result.err
    assert (
        f"403 Forbidden: cannot get services/proxy in namespace {models} "
        f"(kubectl apply -n {models} -f docs/rbac-probe.yaml)"
    ) in said, said
