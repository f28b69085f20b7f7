"""`llmgw history`, `rollback` and `uninstall`: the rollback's preview and the revision it
picks (pure); the commands themselves run on the real helm and API server in
test_cluster_deploy.py."""

from __future__ import annotations

import pytest

from llmgw import helm, release
from llmgw.errors import InputError


def rev(
    n: int, status: str, chart: str = "litellm-helm-1.100.5", app: str = "1.100.5"
) -> helm.Revision:
    return helm.Revision(n, status, chart, app)


def values(*names: str) -> dict[str, object]:
    return {
        "proxy_config": {
            "model_list": [
                {"model_name": n, "litellm_params": {"model": f"openai/{n}"}} for n in names
            ]
        }
    }


def test_the_rollback_preview_names_models_and_the_chart() -> None:
    p = release.rollback_preview(
        values("a", "b"), values("a", "c"), rev(2, "deployed", "litellm-helm-1.101.0", "1.101.0"),
        rev(1, "superseded"),
    )  # fmt: skip
    assert (p.added, p.removed, p.changed) == (["c"], ["b"], [])
    assert p.release_changes == [
        "roll back: revision 2 → revision 1's chart and values",
        "chart litellm-helm-1.101.0 → litellm-helm-1.100.5 (LiteLLM 1.101.0 → 1.100.5)",
    ]
    assert p.changes


def test_the_default_target_is_the_last_good_revision_before_the_live_one() -> None:
    past = [rev(1, "superseded"), rev(2, "superseded"), rev(3, "failed"), rev(4, "deployed")]
    assert release._choose(past, None).revision == 2  # 3 failed: not a place to go back to
    assert release._choose(past, 1).revision == 1


@pytest.mark.parametrize(
    ("past", "asked", "said"),
    [
        ([rev(1, "deployed")], None, "nothing to roll back to"),
        ([rev(1, "superseded"), rev(2, "deployed")], 7, "no revision 7 (kept: 1, 2)"),
        ([rev(1, "superseded"), rev(2, "deployed")], 2, "revision 2 is the live one"),
    ],
)
def test_revisions_that_cannot_be_rolled_back_to(
    past: list[helm.Revision], asked: int | None, said: str
) -> None:
    with pytest.raises(InputError) as info:
        release._choose(past, asked)
    assert said in info.value.message and info.value.exit_code == 2
