from __future__ import annotations

import pytest

from llmgw import selector
from llmgw.selector import SelectorError, cover, equality, parse
from tests.kube_standin import matches as api_server_matches

LABELS = [
    {},
    {"app": "a"},
    {"app": "b", "tier": "gpu"},
    {"app": "c", "llmgw.io/serve": "true"},
    {"llmgw.io/serve": "false", "tier": "cpu"},
]


@pytest.mark.parametrize(
    "text",
    [
        "app=a",
        "app==a",
        "app!=a",
        "app in (a, b)",
        "app notin (a,b)",
        "tier",
        "!tier",
        "llmgw.io/serve=true,app in (a,b,c)",
        " app = b , tier = gpu ",
    ],
)
def test_matching_agrees_with_the_api_server(text: str) -> None:
    """The API server stand-in filters by its own parser: a pod llmgw lists by a selector is
    one it would also select itself."""
    parsed = parse(text)
    for labels in LABELS:
        assert parsed.matches(labels) == api_server_matches(text, labels), (text, labels)
        assert parse(parsed.text()).matches(labels) == parsed.matches(labels)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty selector"),
        ("app=a,", "empty requirement"),
        ("app in (a,b", "without"),
        ("app in ()", "at least one value"),
        ("app=has space", "not a label value"),
        ("-bad=x", "not a label key"),
        ("app > 3", "not a requirement"),
    ],
)
def test_bad_selectors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SelectorError, match=message):
        parse(text)


def test_cover_merges_values_of_a_key_every_selector_pins() -> None:
    merged = cover([equality({"app": "a"}), equality({"app": "b", "tier": "gpu"})], 1500)
    assert merged is not None and merged.text() == "app in (a,b)"


def test_cover_keeps_what_all_share() -> None:
    merged = cover([parse("llmgw.io/serve=true,team=x"), parse("llmgw.io/serve=true")], 1500)
    assert merged is not None and merged.text() == "llmgw.io/serve=true"


def test_cover_of_unrelated_selectors_is_the_whole_namespace() -> None:
    assert cover([equality({"app": "a"}), parse("llmgw.io/serve=true")], 1500) is None
    assert cover([], 1500) is None


def test_cover_never_sends_a_selector_longer_than_the_limit() -> None:
    names = [equality({"app": f"model-{i}"}) for i in range(300)]
    assert cover(names, 1500) is None
    shared = [parse(f"serve=yes,app=model-{i}") for i in range(300)]
    merged = cover(shared, 1500)
    assert merged is not None and merged.text() == "serve=yes"


def test_every_pod_a_selector_picks_passes_its_cover() -> None:
    groups = [
        [equality({"app": "a"}), equality({"app": "b"})],
        [parse("serve=true,app=a"), parse("serve=true,tier notin (cpu)")],
        [parse("app in (a,b)"), parse("app=c,tier=gpu")],
    ]
    for group in groups:
        merged = cover(group, 1500) or selector.Selector(())
        for labels in LABELS:
            if any(s.matches(labels) for s in group):
                assert merged.matches(labels), (group, labels)
