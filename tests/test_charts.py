"""The values llmgw renders, fed to the real helm with a stand-in of each LiteLLM chart.

Each stand-in (tests/charts/) consumes its chart's values contract: litellm-helm 0.x and 1.x
(`proxy_config` → ConfigMap `<release>-config`) and the litellm chart (`gateway.config.
proxy_config` → `<fullname>-config` in monolith mode, `<fullname>-gateway-config` otherwise,
with a values schema closed where the real one is). Every shipped and test config must
render, template cleanly, and the ConfigMap's config.yaml must be the proxy config llmgw meant.
"""

from __future__ import annotations

import subprocess
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmgw import pipeline, render
from tests.conftest import REPO
from tests.test_e2e_litellm import all_engines_snapshot

CHARTS = REPO / "tests/charts"
CLUSTER = REPO / "examples/cluster.yaml"

# (config, chart, snapshot: None for the example cluster, "all" for every engine, mode override)
CASES = {
    "example on litellm-helm 1.x": (REPO / "config.example.yaml", "litellm-helm-1x", None, None),
    "example on litellm-helm 0.x": (REPO / "config.example.yaml", "mini-litellm", None, None),
    "all engines on litellm-helm 1.x": (
        REPO / "tests/e2e/all-engines.yaml",
        "litellm-helm-1x",
        "all",
        None,
    ),
    # api mode: the models go through the management API; the chart's demo models must not
    # reach the ConfigMap through helm's map merge (the stand-ins carry the real defaults).
    "example in api mode on litellm-helm 1.x": (
        REPO / "config.example.yaml",
        "litellm-helm-1x",
        None,
        "api",
    ),
    "example in api mode on litellm-helm 0.x": (
        REPO / "config.example.yaml",
        "mini-litellm",
        None,
        "api",
    ),
    "litellm chart, monolith": (REPO / "tests/e2e/litellm-chart.yaml", "litellm", "all", None),
    "litellm chart, componentized": (
        REPO / "tests/e2e/litellm-chart.yaml",
        "litellm",
        "all",
        "componentized",
    ),
}


def helm(real_helm: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([real_helm, *map(str, args)], capture_output=True, text=True, check=False)


def rendered(tmp_path: Path, case: str) -> tuple[dict[str, Any], Path]:
    config, _chart, snap, mode = CASES[case]
    if mode == "api":
        text = config.read_text().replace(
            "  release: litellm\n", "  release: litellm\n  model_source: api\n"
        )
        config = tmp_path / "config.yaml"
        config.write_text(
            text.replace("secrets:\n", "secrets:\n  salt_key: {env: LITELLM_SALT_KEY}\n")
        )
    elif mode:
        text = config.read_text().replace("mode: monolith", f"mode: {mode}")
        config = tmp_path / "config.yaml"
        config.write_text(text)
    cluster = all_engines_snapshot(tmp_path / "cluster.json") if snap else CLUSTER
    result = pipeline.render(config, pipeline.Source(pods_from=cluster), env={})
    values_file = tmp_path / "values.yaml"
    values_file.write_text(result.text)
    return result.values, values_file


@pytest.mark.parametrize("chart", sorted(p.name for p in CHARTS.iterdir()))
def test_the_stand_in_charts_lint(real_helm: str, chart: str) -> None:
    result = helm(real_helm, "lint", CHARTS / chart)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_every_config_templates_and_the_configmap_is_the_proxy_config(
    real_helm: str, tmp_path: Path, case: str
) -> None:
    values, values_file = rendered(tmp_path, case)
    chart = CASES[case][1]
    result = helm(real_helm, "template", "rel", CHARTS / chart, "-n", "ai", "-f", values_file)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    if chart == "litellm":
        name = "rel-litellm-config" if "monolith" in case else "rel-litellm-gateway-config"
        env_names = {
            e["name"]
            for d in docs
            if d["kind"] == "Deployment"
            for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert {"LITELLM_MASTER_KEY", "REDIS_HOST", "REDIS_PASSWORD", "DATABASE_HOST"} <= env_names
        deployments = sorted(d["metadata"]["name"] for d in docs if d["kind"] == "Deployment")
        assert deployments == (
            ["rel-litellm"]
            if "monolith" in case
            else ["rel-litellm-backend", "rel-litellm-gateway"]
        )
    else:
        name = "rel-config"
    assert list(maps) == [name]
    mounted = yaml.safe_load(maps[name]["data"]["config.yaml"])
    assert mounted == render.proxy_config_of(values)
    # Exactly llmgw's models: in values mode the rendered list, in api mode none at all.
    expected = [] if "api mode" in case else render.model_list(values)
    assert mounted["model_list"] == expected and (expected or "api mode" in case)


def test_every_kind_in_the_catalogue_renders_and_its_chart_takes_it(
    real_helm: str, tmp_path: Path
) -> None:
    """A chart kind is its catalogue entry and its template: each one renders, is read back
    as its own kind, and its stand-in chart puts the proxy config where the entry says."""
    from llmgw import charts
    from llmgw.config import schema

    stand_in = {"litellm-helm": "litellm-helm-1x", "litellm": "litellm"}
    assert set(charts.CHARTS) == set(stand_in)  # a new kind needs a stand-in chart here
    kinds = typing.get_args(schema.Gateway.model_fields["chart_kind"].annotation)
    assert set(charts.CHARTS) == set(kinds)
    config = REPO / "tests/e2e/litellm-chart.yaml"
    for kind, entry in charts.CHARTS.items():
        path = tmp_path / f"{kind}.yaml"
        # An existing database and Redis: what every kind can take.
        path.write_text(
            config.read_text().replace("chart_kind: litellm\n", f"chart_kind: {kind}\n")
        )
        result = pipeline.render(path, pipeline.Source(pods_from=CLUSTER), env={})
        assert charts.kind_of(result.values) == kind
        assert render.default_template(kind).name == entry.template
        values_file = tmp_path / f"{kind}.values.yaml"
        values_file.write_text(result.text)
        out = helm(real_helm, "template", "rel", CHARTS / stand_in[kind], "-f", values_file)
        assert out.returncode == 0, out.stderr
        maps = [d for d in yaml.safe_load_all(out.stdout) if d and d["kind"] == "ConfigMap"]
        assert yaml.safe_load(maps[0]["data"]["config.yaml"]) == render.proxy_config_of(
            result.values
        )


def test_each_chart_refuses_the_other_kinds_values(real_helm: str, tmp_path: Path) -> None:
    """The litellm chart's schema rejects litellm-helm values, as the real one does."""
    _values, helm_values = rendered(tmp_path, "example on litellm-helm 1.x")
    result = helm(real_helm, "template", "rel", CHARTS / "litellm", "-f", helm_values)
    assert result.returncode != 0
    assert "/postgresql': false schema" in result.stderr and "/redis/enabled'" in result.stderr


def test_the_proxy_config_is_the_same_for_both_kinds(tmp_path: Path) -> None:
    """Only where it goes and the master key's variable differ."""
    litellm_values, _ = rendered(tmp_path, "litellm chart, monolith")
    config = (REPO / "tests/e2e/litellm-chart.yaml").read_text()
    helm_config = tmp_path / "helm.yaml"
    helm_config.write_text(
        config.replace("  chart_kind: litellm\n  mode: monolith\n", "").replace(
            "  database: {host: postgres.db, name: litellm, secret: litellm-db}\n", ""
        )
    )
    result = pipeline.render(
        helm_config, pipeline.Source(pods_from=all_engines_snapshot(tmp_path / "c.json")), env={}
    )
    ours, theirs = render.proxy_config_of(litellm_values), render.proxy_config_of(result.values)
    assert ours["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert theirs["general_settings"]["master_key"] == "os.environ/PROXY_MASTER_KEY"
    for key in ("model_list", "router_settings", "litellm_settings"):
        assert ours[key] == theirs[key], key


SYNC_CHART = REPO / "charts/llmgw-sync"
SYNC_VALUES = SYNC_CHART / "ci/api-values.yaml"


def sync_chart(real_helm: str, *extra: str) -> list[dict[str, Any]]:
    result = helm(real_helm, "template", "s", SYNC_CHART, "-n", "ops", "-f", SYNC_VALUES, *extra)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def test_the_controller_chart_lints(real_helm: str) -> None:
    result = helm(real_helm, "lint", SYNC_CHART, "-f", SYNC_VALUES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_controller_chart_grants_exactly_what_it_needs(real_helm: str) -> None:
    docs = sync_chart(real_helm)
    roles = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d["rules"]
        for d in docs
        if d["kind"] == "Role"
    }
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    # The config lists one vLLM model: its engine's namespace, and no other.
    assert [ns for ns, name in roles if name == "s-llmgw-sync-models"] == ["vllm"]
    assert roles[("vllm", "s-llmgw-sync-models")] == [
        {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["list", "watch"]}
    ]
    assert roles[("ops", "s-llmgw-sync-lease")] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update"],
        }
    ]
    assert roles[("litellm", "s-llmgw-sync-gateway")] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["litellm-llmgw-env"],
            "verbs": ["get"],
        },
        {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get", "create", "patch"]},
    ]
    bindings = [d for d in docs if d["kind"] == "RoleBinding"]
    assert len(bindings) == len(roles)
    assert all(
        b["subjects"] == [{"kind": "ServiceAccount", "name": "s-llmgw-sync", "namespace": "ops"}]
        for b in bindings
    )


def test_the_controller_chart_grants_the_serving_kinds_its_rules_name_where_they_name_them(
    real_helm: str, tmp_path: Path
) -> None:
    """A rule's kind is read (list, watch) in that rule's namespaces only; a pool brings the
    Gateway API objects it is reached through; a production-stack rule needs no more."""
    import json

    config = {
        "gateway": {"release": "litellm", "namespace": "litellm", "model_source": "api"},
        "discover": [
            {"kind": "InferenceService", "namespaces": ["kserve"], "selector": "team=ml"},
            {"kind": "InferencePool", "namespaces": ["pools"], "selector": "team=ml"},
            {"kind": "ProductionStack", "namespaces": ["stack"], "selector": "a=b"},
            {"namespaces": ["pods"], "selector": "llmgw.io/serve=true"},
        ],
        "secrets": {"salt_key": {"secret": "litellm-salt", "key": "salt"}},
    }
    values = tmp_path / "v.yaml"
    values.write_text(json.dumps({"config": config}))
    docs = sync_chart(real_helm, "-f", str(values))
    rules = {
        d["metadata"]["namespace"]: d["rules"][1:]
        for d in docs
        if d["kind"] == "Role" and d["metadata"]["name"] == "s-llmgw-sync-models"
    }
    read = ["list", "watch"]
    assert rules == {
        "kserve": [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                    "verbs": read}],
        "pools": [
            {"apiGroups": ["inference.networking.k8s.io", "inference.networking.x-k8s.io"],
             "resources": ["inferencepools"], "verbs": read},
            {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes", "gateways"],
             "verbs": read},
        ],
        "stack": [],
        "pods": [],
        "vllm": [],  # the CI values' listed model (helm merges -f files)
    }  # fmt: skip


def model_roles(docs: list[dict[str, Any]]) -> list[str]:
    return [
        d["metadata"]["namespace"]
        for d in docs
        if d["kind"] == "Role" and d["metadata"]["name"].endswith("-models")
    ]


def test_the_controller_chart_reads_exactly_the_configs_namespaces(
    real_helm: str, tmp_path: Path
) -> None:
    extra = tmp_path / "rules.yaml"
    extra.write_text(
        "config:\n"
        "  models: {vllm: [{name: a}], tei: [{name: e, namespace: embed}]}\n"
        "  discover:\n"
        "    - {namespaces: [models, team-a], selector: llmgw.io/serve=true}\n"
        "    - {namespaces: [models], selector: team=b}\n"
    )
    docs = sync_chart(real_helm, "-f", str(extra))
    assert model_roles(docs) == ["vllm", "embed", "models", "team-a"]
    given = sync_chart(real_helm, "-f", str(extra), "--set", "modelNamespaces={only}")
    assert model_roles(given) == ["only"]
    result = helm(
        real_helm, "template", "s", SYNC_CHART, "-n", "ops", "--set", "existingConfigMap=mine"
    )
    assert result.returncode != 0 and "modelNamespaces is required" in result.stderr


def test_the_controller_deployment(real_helm: str) -> None:
    docs = sync_chart(real_helm)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    pod_spec = deployment["spec"]["template"]["spec"]
    container = pod_spec["containers"][0]
    assert container["args"][:2] == ["sync", "--watch"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    account = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/llmgw"
    }
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert yaml.safe_load(config["data"]["config.yaml"])["gateway"]["model_source"] == "api"
    assert not [d for d in docs if d["kind"] == "ServiceMonitor"]
    monitored = sync_chart(real_helm, "--set", "serviceMonitor.enabled=true")
    assert [
        d["spec"]["endpoints"][0]["path"] for d in monitored if d["kind"] == "ServiceMonitor"
    ] == ["/metrics"]


def test_the_controller_chart_config_validates_with_llmgw(real_helm: str, tmp_path: Path) -> None:
    """The config the chart mounts is one llmgw accepts."""
    from llmgw import config

    docs = sync_chart(real_helm)
    mounted = tmp_path / "config.yaml"
    mounted.write_text(next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"])
    assert config.load(mounted).gateway.model_source == "api"


def api_mode(tmp_path: Path, source: Path) -> Path:
    text = source.read_text()
    text = text.replace("gateway:\n", "gateway:\n  model_source: api\n", 1)
    text = text.replace(
        "secrets:\n", "secrets:\n  salt_key: {secret: litellm-salt, key: salt}\n", 1
    )
    path = tmp_path / source.name
    path.write_text(text)
    return path


def test_the_controller_chart_takes_the_config_file_as_it_is(
    real_helm: str, tmp_path: Path
) -> None:
    """`helm install … --set-file config=config.yaml`, as the docs say."""
    config_file = api_mode(tmp_path, REPO / "tests/e2e/litellm-chart.yaml")
    result = helm(real_helm, "template", "s", SYNC_CHART, "--set-file", f"config={config_file}")
    assert result.returncode == 0, result.stderr
    config = next(d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "ConfigMap")
    assert config["data"]["config.yaml"].strip() == config_file.read_text().strip()


@pytest.mark.parametrize(
    "source", [REPO / "config.example.yaml", REPO / "tests/e2e/litellm-chart.yaml"]
)
def test_the_controller_reads_the_master_key_where_deploy_writes_it(
    real_helm: str, tmp_path: Path, source: Path
) -> None:
    """litellm-helm keeps it as PROXY_MASTER_KEY, the litellm chart as LITELLM_MASTER_KEY."""
    from llmgw import config as config_mod
    from llmgw import gateway

    config_file = api_mode(tmp_path, source)
    cfg = config_mod.load(config_file)
    result = helm(real_helm, "template", "s", SYNC_CHART, "--set-file", f"config={config_file}")
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    (key_env,) = [e for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})]
    assert key_env["name"] == cfg.secrets.master_key.env
    assert key_env["valueFrom"]["secretKeyRef"] == {
        "name": cfg.managed_secret_name(),
        "key": gateway.master_key_env(cfg),
    }
    gateway_role = next(
        d for d in docs if d["kind"] == "Role" and d["metadata"]["name"].endswith("-gateway")
    )
    assert gateway_role["rules"][0]["resourceNames"] == [cfg.managed_secret_name()]


def test_the_controller_chart_refuses_a_values_mode_config(real_helm: str) -> None:
    result = helm(
        real_helm,
        "template",
        "s",
        SYNC_CHART,
        "--set-file",
        f"config={REPO / 'config.example.yaml'}",
    )
    assert result.returncode == 1
    assert (
        "config: gateway.model_source must be api: this chart runs `llmgw sync --watch` without helm inside"
        in result.stderr
    )
