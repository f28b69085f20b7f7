"""docs/rbac.yaml is complete: every role is bound, and namespaced roles have a namespace
before the first deploy. (Its schema is checked by kubernetes-validate in .ci/run.)"""

from __future__ import annotations

import yaml

from tests.conftest import REPO


def test_every_role_in_the_rbac_docs_is_bound_and_its_namespace_exists() -> None:
    docs = [d for d in yaml.safe_load_all((REPO / "docs/rbac.yaml").read_text()) if d]
    roles = {
        (d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in ("Role", "ClusterRole")
    }
    bound = {
        (d["roleRef"]["kind"], d["roleRef"]["name"])
        for d in docs
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding")
    }
    assert roles == bound
    created = [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"]
    first_namespaced = next(i for i, d in enumerate(docs) if d["metadata"].get("namespace"))
    assert docs.index(next(d for d in docs if d["kind"] == "Namespace")) < first_namespaced
    assert {d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace")} <= set(
        created
    )
    # sync --watch from outside: watch on pods and services, and the Lease
    rules = [r for d in docs if d["kind"] in ("Role", "ClusterRole") for r in d["rules"]]
    assert any("watch" in r["verbs"] and "pods" in r["resources"] for r in rules)
    assert any(r["resources"] == ["leases"] and "update" in r["verbs"] for r in rules)


def test_the_lock_file_of_add_bedrock_model_is_ignored_by_git() -> None:
    assert ".config.yaml.lock" in (REPO / ".gitignore").read_text().split()


def _table_rights() -> set[tuple[str, str, str]]:
    """(verb, resource, scope) of each row of docs/rbac.md's table; a resource cell that says
    "(gateway namespace…)" is namespaced, any other is cluster-wide."""
    rights = set()
    text = (REPO / "docs/rbac.md").read_text()
    table = text[text.index("| verb | resource | why |") :].split("\n\n")[0]
    for line in table.splitlines()[2:]:
        verbs, resources, _why = (c.strip() for c in line.strip("|").split("|"))
        scope = "namespace" if " namespace" in resources.partition("(")[2] else "cluster"
        names = resources.split("(")[0]
        for verb in verbs.split(","):
            for resource in names.split(","):
                rights.add((verb.strip(), resource.strip(), scope))
    return rights


def test_the_rbac_table_says_exactly_what_the_yaml_grants() -> None:
    docs = [
        d
        for name in ("rbac.yaml", "rbac-probe.yaml")
        for d in yaml.safe_load_all((REPO / "docs" / name).read_text())
        if d
    ]
    granted = {
        (verb, resource, "namespace" if d["kind"] == "Role" else "cluster")
        for d in docs
        if d["kind"] in ("Role", "ClusterRole")
        for rule in d["rules"]
        for verb in rule["verbs"]
        for resource in rule["resources"]
    }
    assert _table_rights() == granted


def test_no_secret_right_reaches_past_the_gateway_namespace() -> None:
    docs = [d for d in yaml.safe_load_all((REPO / "docs/rbac.yaml").read_text()) if d]
    for d in docs:
        if d["kind"] == "ClusterRole":
            assert not [r for r in d["rules"] if "secrets" in r["resources"]], d["metadata"]


def test_services_proxy_is_never_granted_cluster_wide() -> None:
    """It reaches any HTTP path of any Service: a Role per namespace only."""
    for name in ("rbac.yaml", "rbac-probe.yaml"):
        for d in yaml.safe_load_all((REPO / "docs" / name).read_text()):
            if d and d["kind"] == "ClusterRole":
                assert not [r for r in d["rules"] if "services/proxy" in r["resources"]], name
