"""Live discovery through the real kubernetes client against the loopback API stand-in, for
what a real API server cannot be made to do on demand: 500s part way through, slow answers,
expired continue tokens, malformed objects, an unreachable server, and the services proxy to
engines (a real one would dial the pods' IPs). What a real server does by itself — listing,
selectors, paging, 401/403 from the real authorizer, missing namespaces — is proven on the
real control plane in test_cluster_discovery.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from llmgw import config, discovery, inputs, snapshot
from llmgw.errors import ExternalError, InputError
from llmgw.kube import api as api_mod
from llmgw.kube import auth, read
from llmgw.state import ClusterState
from tests.conftest import REPO, Result
from tests.k8s_objects import pod, service
from tests.kube_standin import Cluster, Fault, kubeconfig, serve

Cli = Callable[..., Result]
EXAMPLE = REPO / "config.example.yaml"


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster()
    c.add(
        pod("a-1", "vllm", {"app": "a"}, args=["--served-model-name", "org/a"]),
        pod("a-2", "vllm", {"app": "a"}),
        pod("b-1", "vllm", {"app": "b"}, state="crashloop"),
        pod("noise-1", "vllm", {"app": "noise"}),
        pod("e-1", "tei", {"app": "e"}, args=["--model-id", "BAAI/bge"]),
        service("a", "vllm", {"app": "a"}, 8000),
        service("emb", "tei", {"app": "e"}, 80),
    )
    return c


@pytest.fixture
def api(cluster: Cluster, tmp_path: Path) -> Iterator[Path]:
    with serve(cluster) as url:
        yield kubeconfig(tmp_path / "kubeconfig", url)


def cfg(
    write: Callable[[str, str], Path],
    models: str = "  vllm: [{name: a}, {name: b}]\n  tei: [{name: e}]\n",
) -> config.Config:
    return config.load(write("config.yaml", "models:\n" + models))


def read_live(c: config.Config, kc: Path) -> ClusterState:
    return read.read_state(auth.connect(auth.Connection(kc, None)), discovery.wanted(c))


def test_requests_do_not_grow_with_models(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path]
) -> None:
    many = "  vllm:\n" + "".join(f"    - name: m{i}\n" for i in range(60))
    read_live(cfg(write, many), api)
    assert len(cluster.requests) == 2


def test_expired_continue_token_restarts_once(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "PAGE_SIZE", 1)
    cluster.faults.append(
        Fault(r"vllm/pods.*continue=2", status=410, times=1, message="too old resource version")
    )
    state = read_live(cfg(write), api)
    assert sorted(p["metadata"]["name"] for p in state.pods["vllm"]) == ["a-1", "a-2", "b-1"]
    assert not state.problems


def test_selectors_that_share_no_key_list_the_whole_namespace_once(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path]
) -> None:
    cluster.add(pod("x-1", "vllm", {"model": "x"}))
    state = read_live(
        cfg(write, "  vllm:\n    - name: a\n    - name: x\n      selector: {model: x}\n"), api
    )
    pods = [r for r in cluster.requests if "/pods" in r]
    assert len(pods) == 1 and "labelSelector" not in pods[0]
    c = cfg(write, "  vllm:\n    - name: a\n    - name: x\n      selector: {model: x}\n")
    found = {m.name: m.replicas for m in discovery.discover(c, state)}
    assert found == {"a": 2, "x": 1}


def test_500_part_way_marks_the_data_incomplete(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path]
) -> None:
    cluster.faults.append(
        Fault(r"/namespaces/tei/services", status=500, message="etcd leader changed")
    )
    c = cfg(write)
    state = read_live(c, api)
    assert state.problems and "500 etcd leader changed" in state.problems[0]
    found = {m.name: m for m in discovery.discover(c, state)}
    assert found["e"].reason == "unknown: listing namespace tei failed"
    assert found["a"].ready


def test_slow_server_times_out_as_incomplete(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_mod, "LIST_TIMEOUT", 0.3)
    cluster.faults.append(Fault(r"/namespaces/tei/pods", status=0, delay=1.0, times=1))
    state = read_live(cfg(write), api)
    assert state.problems and "timed out" in state.problems[0]


def test_unreachable_server(tmp_path: Path, write: Callable[[str, str], Path]) -> None:
    kc = kubeconfig(tmp_path / "kc", "http://127.0.0.1:9")
    with pytest.raises(ExternalError) as info:
        read_live(cfg(write), kc)
    assert "API server unreachable" in info.value.message and "127.0.0.1:9" in info.value.message


def test_kubeconfig_resolution_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube/config").write_text("{}")
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text("{}")
    two.write_text("{}")
    assert auth.kubeconfig_path(None, {}, home) == str(home / ".kube/config")
    assert (
        auth.kubeconfig_path(None, {"KUBECONFIG": f"{one}:{tmp_path / 'gone'}:{two}"}, home)
        == f"{one}:{two}"
    )
    assert auth.kubeconfig_path(one, {"KUBECONFIG": str(two)}, home) == str(one)
    assert auth.kubeconfig_path(None, {}, tmp_path) is None
    with pytest.raises(InputError, match="KUBECONFIG names no file"):
        auth.kubeconfig_path(None, {"KUBECONFIG": str(tmp_path / "gone")}, home)


def test_no_kubeconfig_and_not_in_a_pod(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        auth.connect(auth.Connection(), env={}, home=tmp_path)
    assert (
        "no kubeconfig found" in info.value.message
        and info.value.hint == "pass --kubeconfig PATH or set KUBECONFIG"  # discovery adds
        # "or use --pods-from FILE" where a snapshot can stand in (tests/test_cli.py)
    )


def test_in_cluster_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("sa-token")
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cluster = auth.connect(auth.Connection(), env=env, home=tmp_path)
    assert cluster.context == "in-cluster" and cluster.server == "https://10.96.0.1:443"


def test_unknown_context(api: Path) -> None:
    with pytest.raises(InputError) as info:
        auth.connect(auth.Connection(api, "prod"))
    assert (
        "context 'prod' is not in" in info.value.message
        and info.value.hint == "known contexts: test"
    )


def test_probe_uses_the_served_id_and_marks_failures(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path]
) -> None:
    cluster.proxy["vllm/a:8000/v1/models"] = (
        200,
        {"object": "list", "data": [{"id": "org/a-v2", "object": "model"}]},
    )
    c = cfg(write, "  vllm: [{name: a, served_name: org/a}, {name: b}]\n  tei: [{name: e}]\n")
    conn = auth.connect(auth.Connection(api, None))
    models = discovery.discover(c, read.read_state(conn, discovery.wanted(c)))
    before = len(cluster.requests)
    probed = {m.name: m for m in inputs.Prober().probe(conn, c, models).models}
    assert probed["a"].served_name == "org/a-v2"
    assert any("not 'org/a' as configured" in n for n in probed["a"].notes)
    assert any(n.startswith("unverified:") and "503" in n for n in probed["e"].notes)
    assert probed["b"] == next(m for m in models if m.name == "b")  # not ready: not probed
    assert len(cluster.requests) - before == 2


def test_probe_ollama_tags(cluster: Cluster, api: Path, write: Callable[[str, str], Path]) -> None:
    cluster.add(
        pod("o-1", "ollama", {"app": "o"}), service("ollama", "ollama", {"app": "o"}, 11434)
    )
    cluster.proxy["ollama/ollama:11434/api/tags"] = (
        200,
        {"models": [{"name": "llama3.2:3b", "model": "llama3.2:3b"}]},
    )
    c = cfg(write, "  ollama: [{name: o}]\n")
    conn = auth.connect(auth.Connection(api, None))
    found = discovery.discover(c, read.read_state(conn, discovery.wanted(c)))
    probed = inputs.Prober().probe(conn, c, found).models
    assert probed[0].served_name == "llama3.2:3b"


def test_cli_render_refuses_partial_data(
    cli: Cli, cluster: Cluster, api: Path, tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    conf = write(
        "config.yaml",
        "bedrock:\n  region: us-west-2\n  llm: [{name: c, model: m.c}]\nmodels:\n  vllm: [{name: a}]\n  tei: [{name: e}]\n",
    )
    cluster.faults.append(Fault(r"/namespaces/tei/pods", status=503, message="unavailable"))
    out = tmp_path / "v.yaml"
    refused = cli("render", "-c", conf, "--kubeconfig", api, "--out", out)
    assert refused.code == 3 and "incomplete" in refused.err and not out.exists()
    allowed = cli("render", "-c", conf, "--kubeconfig", api, "--out", out, "--allow-partial")
    assert (
        allowed.code == 0
        and "warning: rendering from partial data" in allowed.err
        and "tei" in allowed.err
    )
    names = [
        e["model_name"]
        for e in YAML(typ="safe").load(out.read_text())["proxy_config"]["model_list"]
    ]
    assert names == ["bedrock/c", "vllm/a"]


def test_cli_discover_exit_3_when_incomplete(cli: Cli, cluster: Cluster, api: Path) -> None:
    cluster.faults.append(Fault(r"/namespaces/tgi/", status=500))
    result = cli("-c", EXAMPLE, "discover", "--kubeconfig", api)
    assert result.code == 3 and "warning: incomplete" in result.err


def test_cli_probe_needs_a_cluster(cli: Cli) -> None:
    result = cli(
        "-c", EXAMPLE, "discover", "--pods-from", REPO / "examples/cluster.yaml", "--probe"
    )
    assert result.code == 2 and "--probe" in result.err


def test_cli_context_and_kubeconfig_env(
    cli: Cli, api: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(api))
    result = cli("-c", EXAMPLE, "discover", "--context", "test")
    assert result.code == 0 and "(context test)" in result.err  # the title, off stdout


def test_very_long_selector_lists_the_namespace_instead(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path]
) -> None:
    many = "  vllm:\n    - name: a\n" + "".join(
        f"    - name: model-with-a-long-name-{i}\n" for i in range(100)
    )
    c = cfg(write, many)
    state = read_live(c, api)
    pod_lists = [r for r in cluster.requests if "/pods" in r]
    assert len(pod_lists) == 1 and "labelSelector" not in pod_lists[0]
    found = {m.name: m for m in discovery.discover(c, state)}
    assert found["a"].ready and not found["model-with-a-long-name-0"].ready


def test_a_410_restart_counts_no_service_twice(
    cluster: Cluster, api: Path, write: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "PAGE_SIZE", 1)
    cluster.add(service("b", "vllm", {"app": "b"}, 8000), service("c", "vllm", {"app": "c"}, 80))
    cluster.faults.append(Fault(r"vllm/services.*continue=2", status=410, times=1))
    state = read_live(cfg(write), api)
    names = [s["metadata"]["name"] for s in state.services["vllm"]]
    assert sorted(names) == ["a", "b", "c"], names
    assert not state.problems


def test_a_persistent_410_ends_in_exit_3(
    cli: Cli, cluster: Cluster, api: Path, write: Callable[[str, str], Path]
) -> None:
    cluster.faults.append(Fault(r"vllm/pods", status=410, message="too old resource version"))
    c = write(
        "config.yaml",
        "bedrock: {region: us-west-2, llm: [{name: x, model: m.x}]}\nmodels:\n  vllm: [{name: a}]\n",
    )
    result = cli("-c", c, "render", "--kubeconfig", api, "--stdout")
    assert result.code == 3, result.err
    assert "410" in result.err and "too old resource version" in result.err
    assert len([r for r in cluster.requests if "vllm/pods" in r]) == 2  # one restart, no loop


def test_malformed_live_objects_make_the_data_incomplete(
    cli: Cli, cluster: Cluster, api: Path, write: Callable[[str, str], Path]
) -> None:
    cluster.add(pod("a-9", "vllm", {"app": "a"}))
    cluster.pods["vllm"][-1]["status"]["conditions"] = "Ready"
    c = write(
        "config.yaml",
        "bedrock: {region: us-west-2, llm: [{name: x, model: m.x}]}\nmodels:\n  vllm: [{name: a}]\n",
    )
    result = cli("-c", c, "render", "--kubeconfig", api, "--stdout")
    assert result.code == 3, result.err
    assert "Pod 'vllm/a-9': status.conditions must be a list, not text" in result.err


def test_label_found_models_live_one_list_per_namespace_and_alike_from_a_snapshot(
    api: Path, cluster: Cluster, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """Over real HTTP: render lists each namespace once by a selector covering its rule and
    entries; discover lists it whole, once, to report what nothing selects; a snapshot of the
    same cluster decides alike."""
    from tests import labelled

    cluster.add(*labelled.objects())
    c = config.load(labelled.CONFIG)
    live = read_live(c, api)
    pod_lists = sorted(
        r.split("?")[0] for r in cluster.requests if r.split("?")[0].endswith("/pods")
    )
    assert pod_lists == ["/api/v1/namespaces/inhouse/pods", "/api/v1/namespaces/models/pods"]
    assert all(
        "labelSelector=llmgw.io%2Fserve%3Dtrue" in r for r in cluster.requests if "/pods?" in r
    )
    got = {
        m.public_name: (m.engine, m.namespace, m.served_name) for m in discovery.discover(c, live)
    }
    assert got == labelled.EXPECTED
    cluster.requests.clear()
    result = cli("-c", labelled.CONFIG, "discover", "--kubeconfig", api, "-o", "json")
    data = json.loads(result.out)
    assert {m["public_name"] for m in data["models"]} == set(labelled.EXPECTED)
    assert any("models/stray-0" in r for r in data["left_out"])
    pod_requests = [r for r in cluster.requests if "/pods" in r]
    assert len(pod_requests) == 2 and not any("labelSelector" in r for r in pod_requests)
    from_file = discovery.discover(c, snapshot.load(labelled.snapshot(tmp_path / "s.json")))
    assert [m.as_dict() for m in from_file] == [m.as_dict() for m in discovery.discover(c, live)]
