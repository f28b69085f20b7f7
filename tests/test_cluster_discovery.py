"""Live discovery on the real control plane: model Deployments created through the API server,
their ReplicaSets and pods made by the real controllers and run by the kubelet stand-in;
`discover` and `render` read them over real HTTPS with the real authorizer. The API server's
audit log counts what llmgw asked for. (Faults a real server cannot show on demand — 500s,
slow answers, expired continue tokens — stay on the stand-in, in test_kube.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmgw.kube import read
from tests.cluster_objects import create, model_deployment, model_service, ready_pods
from tests.conftest import Kube, Result
from tests.kubelet_standin import wait_for

pytestmark = pytest.mark.cluster
Cli = Callable[..., Result]
PYTHON_CLIENT = "OpenAPI-Generator"


def llmgw_requests(kube: Kube, since: int = 0) -> list[dict[str, Any]]:
    """What llmgw (the Python client, not the kubelet stand-in) asked the API server."""
    return [
        e
        for e in list(kube.plane.audit())[since:]
        if str(e.get("userAgent", "")).startswith(PYTHON_CLIENT)
    ]


def audit_mark(kube: Kube) -> int:
    return len(list(kube.plane.audit()))


def pod_lists(events: list[dict[str, Any]], namespace: str) -> list[str]:
    return [
        e["requestURI"]
        for e in events
        if e["verb"] == "list"
        and e.get("objectRef", {}).get("resource") == "pods"
        and e.get("objectRef", {}).get("namespace") == namespace
    ]


@pytest.fixture
def models(kube: Kube) -> str:
    """A namespace with a ready vLLM model (2 replicas), a crash-looping one, one whose pods
    never get a node, and a TEI embedding model behind a Service named otherwise."""
    ns = kube.plane.namespace("models")
    api = kube.admin()
    create(
        api,
        model_deployment(
            "a", ns, replicas=2, args=["--model", "org/a", "--served-model-name", "org/a"]
        ),
        model_service("a", ns, 8000),
        model_deployment("b", ns, state="crashloop"),
        model_service("b", ns, 8000),
        model_deployment("c", ns, state="unscheduled"),
        model_deployment(
            "e",
            ns,
            image="ghcr.io/huggingface/text-embeddings-inference:1.8",
            args=["--model-id", "BAAI/bge"],
        ),
        model_service("emb", ns, 80, {"app": "e"}),
    )
    wait_for(lambda: ready_pods(api, ns, "app=a") == 2 and ready_pods(api, ns, "app=e") == 1)
    return ns


def config(write: Callable[[str, str], Path], ns: str, extra: str = "") -> Path:
    return write(
        "config.yaml",
        "bedrock: {region: us-west-2, llm: [{name: claude, model: m.c}]}\n"
        f"models:\n  vllm:\n    - {{name: a, namespace: {ns}}}\n    - {{name: b, namespace: {ns}}}\n"
        f"    - {{name: c, namespace: {ns}}}\n  tei: [{{name: e, namespace: {ns}}}]\n" + extra,
    )


def test_discover_reads_deployments_the_controllers_made(
    kube: Kube, models: str, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    kc = kube.plane.kubeconfig(tmp_path / "kc")
    result = cli("-c", config(write, models), "discover", "--kubeconfig", kc, "-o", "json")
    assert result.code == 0, result.err
    found = {m["name"]: m for m in json.loads(result.out)["models"]}
    a = found["a"]
    assert (a["ready"], a["ready_replicas"], a["served_name"]) == (True, 2, "org/a")
    assert a["api_base"] == f"http://a.{models}:8000/v1"
    assert found["b"]["ready"] is False and found["b"]["reason"] == "CrashLoopBackOff"
    assert found["c"]["ready"] is False and "Pending" in found["c"]["reason"]
    assert found["e"]["ready"] and found["e"]["api_base"] == f"http://emb.{models}:80/v1"
    assert found["e"]["served_name"] == "BAAI/bge"
    assert json.loads(result.out)["source"] == f"cluster {kube.plane.url} (context admin)"


def test_one_pod_list_per_namespace_whatever_the_number_of_models(
    kube: Kube, models: str, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    kc = kube.plane.kubeconfig(tmp_path / "kc")
    mark = audit_mark(kube)
    assert cli("-c", config(write, models), "render", "--kubeconfig", kc, "--stdout").code == 0
    lists = pod_lists(llmgw_requests(kube, mark), models)
    assert len(lists) == 1, lists
    assert "labelSelector=app+in+%28a%2Cb%2Cc%2Ce%29" in lists[0]


def test_render_live_equals_render_from_the_saved_snapshot(
    kube: Kube, models: str, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    kc = kube.plane.kubeconfig(tmp_path / "kc")
    conf = config(write, models)
    saved = tmp_path / "snap.yaml"
    assert cli("-c", conf, "discover", "--kubeconfig", kc, "--save", saved).code == 0
    live = cli("-c", conf, "render", "--kubeconfig", kc, "--stdout")
    offline = cli("-c", conf, "render", "--pods-from", saved, "--stdout")
    assert live.code == offline.code == 0, live.err + offline.err
    served = yaml.safe_load(live.out)["proxy_config"]["model_list"]
    assert yaml.safe_load(offline.out)["proxy_config"]["model_list"] == served
    assert {e["model_name"] for e in served} == {"bedrock/claude", "vllm/a", "tei/e"}


def test_a_discover_rule_finds_labelled_servers_by_one_selector(
    kube: Kube, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    ns = kube.plane.namespace("labelled")
    api = kube.admin()
    serve = {"llmgw.io/serve": "true"}
    create(
        api,
        model_deployment(
            "llama",
            ns,
            labels={**serve, "app.kubernetes.io/name": "llama"},
            args=["--served-model-name", "llama-8b"],
        ),
        model_service("llama", ns, 8000),
        model_deployment("stray", ns, labels={"app.kubernetes.io/name": "stray"}),
    )
    wait_for(lambda: ready_pods(api, ns, "app in (llama,stray)") == 2)
    conf = write(
        "config.yaml",
        f"discover:\n  - namespaces: [{ns}]\n    selector: llmgw.io/serve=true\n",
    )
    kc = kube.plane.kubeconfig(tmp_path / "kc")
    mark = audit_mark(kube)
    result = cli("-c", conf, "render", "--kubeconfig", kc, "--stdout")
    assert result.code == 0, result.err
    served = yaml.safe_load(result.out)["proxy_config"]["model_list"]
    assert [(e["model_name"], e["litellm_params"]["api_base"]) for e in served] == [
        ("vllm/llama", f"http://llama.{ns}:8000/v1")
    ]
    assert served[0]["litellm_params"]["model"].endswith("/llama-8b")
    lists = pod_lists(llmgw_requests(kube, mark), ns)
    assert len(lists) == 1 and "labelSelector=llmgw.io%2Fserve%3Dtrue" in lists[0], lists
    shown = cli("-c", conf, "discover", "--kubeconfig", kc, "-o", "json")
    assert shown.code == 0, shown.err
    assert "stray" in json.dumps(json.loads(shown.out)["left_out"])


def test_paging_reads_every_pod_of_a_large_namespace(
    kube: Kube, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ns = kube.plane.namespace("paged")
    api = kube.admin()
    create(api, model_deployment("big", ns, replicas=7), model_service("big", ns, 8000))
    wait_for(lambda: ready_pods(api, ns, "app=big") == 7)
    monkeypatch.setattr(read, "PAGE_SIZE", 3)
    conf = write("config.yaml", f"models:\n  vllm: [{{name: big, namespace: {ns}}}]\n")
    mark = audit_mark(kube)
    result = cli(
        "-c", conf, "discover", "--kubeconfig", kube.plane.kubeconfig(tmp_path / "kc"), "-o", "json"
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["models"][0]["ready_replicas"] == 7
    lists = pod_lists(llmgw_requests(kube, mark), ns)
    assert len(lists) == 3 and all("limit=3" in u for u in lists)
    assert sum("continue=" in u for u in lists) == 2


def test_a_namespace_that_does_not_exist(
    kube: Kube, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    conf = write("config.yaml", "models:\n  vllm: [{name: ghost, namespace: no-such-ns}]\n")
    result = cli(
        "-c", conf, "discover", "--kubeconfig", kube.plane.kubeconfig(tmp_path / "kc"), "-o", "json"
    )
    assert result.code == 0, result.err
    ghost = json.loads(result.out)["models"][0]
    assert ghost["ready"] is False and "namespace no-such-ns" in ghost["reason"]


def reader(kube: Kube, namespaces: list[str], tmp_path: Path) -> Path:
    """A ServiceAccount that may list pods and services in ``namespaces`` only (a Role in
    each, as docs/rbac.md suggests for narrow read), and a kubeconfig with its token."""
    home = kube.plane.namespace("reader")
    api = kube.admin()
    create(
        api,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "llmgw", "namespace": home},
        },
    )
    for ns in namespaces:
        create(
            api,
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": "llmgw-read", "namespace": ns},
             "rules": [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["list"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "llmgw-read", "namespace": ns},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "llmgw-read"},
             "subjects": [{"kind": "ServiceAccount", "name": "llmgw", "namespace": home}]},
        )  # fmt: skip
    token = kube.plane.token(home, "llmgw")
    return kube.plane.kubeconfig(tmp_path / "reader.kc", token, "reader")


def test_a_namespace_the_identity_may_not_list_is_the_real_403(
    kube: Kube, models: str, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    """Two namespaces, one denied by the real authorizer: discover shows the other and exits
    3; render refuses unless --allow-partial, and names the verb, resource and namespace."""
    other = kube.plane.namespace("denied")
    create(kube.admin(), model_deployment("d", other), model_service("d", other, 8000))
    kc = reader(kube, [models], tmp_path)
    conf = config(write, models, f"  sglang: [{{name: d, namespace: {other}}}]\n")
    shown = cli("-c", conf, "discover", "--kubeconfig", kc, "-o", "json")
    assert shown.code == 3, shown.err
    found = {m["name"]: m for m in json.loads(shown.out)["models"]}
    assert found["a"]["ready"] and not found["d"]["ready"]
    assert f"cannot list pods in namespace {other}" in shown.err
    assert "Traceback" not in shown.err
    refused = cli("-c", conf, "render", "--kubeconfig", kc, "--stdout")
    assert refused.code == 3 and "cluster data is incomplete" in refused.err
    assert "docs/rbac.yaml" in refused.err
    allowed = cli("-c", conf, "render", "--kubeconfig", kc, "--stdout", "--allow-partial")
    assert allowed.code == 0, allowed.err
    served = {e["model_name"] for e in yaml.safe_load(allowed.out)["proxy_config"]["model_list"]}
    assert "vllm/a" in served and "sglang/d" not in served
    denied = [e for e in kube.plane.audit() if e.get("responseStatus", {}).get("code") == 403]
    assert any(e.get("objectRef", {}).get("namespace") == other for e in denied)


def test_an_expired_token_is_a_401_naming_the_cluster(
    kube: Kube, cli: Cli, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    kc = kube.plane.kubeconfig(tmp_path / "bad.kc", "not-a-token", "expired")
    conf = write("config.yaml", "models:\n  vllm: [{name: a, namespace: default}]\n")
    result = cli("-c", conf, "discover", "--kubeconfig", kc)
    assert result.code == 3
    assert f"cluster {kube.plane.url} (context expired)" in result.err and "401" in result.err
    assert "Traceback" not in result.err
