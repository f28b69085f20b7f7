"""Snapshots: read back what is saved, and malformed objects are named, never a crash."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmgw import config, discovery
from llmgw import snapshot as snap
from llmgw.errors import InputError
from llmgw.state import check_object
from tests.conftest import REPO, Result
from tests.k8s_objects import kube_list, pod, service

Cli = Callable[..., Result]
Write = Callable[[str, str], Path]


def good() -> list[dict[str, Any]]:
    return [
        pod("a-1", "vllm", {"app": "a"}, args=["--served-model-name", "org/a"]),
        service("a", "vllm", {"app": "a"}, 8000),
    ]


def break_(items: list[dict[str, Any]], where: str, value: Any) -> list[dict[str, Any]]:
    items = copy.deepcopy(items)
    *path, last = where.split(".")
    node: Any = items
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return items


# Each corruption the fuzzing found, and the message naming object and field.
BAD = [
    (
        "0.status.containerStatuses.0",
        "not-a-status",
        "Pod 'vllm/a-1': status.containerStatuses[0] must be a mapping, not text",
    ),
    (
        "0.spec.containers.0",
        None,
        "Pod 'vllm/a-1': spec.containers[0] must be a mapping, not NoneType",
    ),
    (
        "0.status.conditions.0",
        ["Ready"],
        "Pod 'vllm/a-1': status.conditions[0] must be a mapping, not a list",
    ),
    (
        "0.status.conditions",
        {"type": "Ready"},
        "Pod 'vllm/a-1': status.conditions must be a list, not a mapping",
    ),
    (
        "0.metadata.labels.app",
        {"x": 1},
        "Pod 'vllm/a-1': metadata.labels.app must be text, not a mapping",
    ),
    (
        "0.metadata.labels.app",
        ["a"],
        "Pod 'vllm/a-1': metadata.labels.app must be text, not a list",
    ),
    ("1.spec.ports", "8000", "Service 'vllm/a': spec.ports must be a list, not text"),
    ("1.spec.ports.0.port", "http", "Service 'vllm/a': spec.ports[0].port must be a port number"),
    (
        "1.spec.ports.0",
        {"name": "http"},
        "Service 'vllm/a': spec.ports[0].port must be a port number",
    ),
    (
        "0.status.podIP",
        "not-an-ip",
        "Pod 'vllm/a-1': status.podIP 'not-an-ip' is not an IP address",
    ),
    (
        "1.metadata.name",
        "a.b:8000/evil",
        "Service 'vllm/a.b:8000/evil': metadata.name 'a.b:8000/evil' is not a valid Service name",
    ),
    (
        "0.spec.containers.0.args.1",
        {"k": "v"},
        "Pod 'vllm/a-1': spec.containers[0].args[1] must be text, not a mapping",
    ),
]


@pytest.mark.parametrize(("where", "value", "said"), BAD)
def test_malformed_objects_are_named(
    snapshot: Callable[[list[dict[str, Any]]], Path], where: str, value: Any, said: str
) -> None:
    path = snapshot(break_(good(), where, value))
    with pytest.raises(InputError) as info:
        snap.load(path)
    assert info.value.exit_code == 2
    assert f"{path}: {said}" in info.value.message, info.value.message


def _mutations(obj: Any, path: str = "") -> list[str]:
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(f"{path}{k}")
            out += _mutations(v, f"{path}{k}.")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(f"{path}{i}")
            out += _mutations(v, f"{path}{i}.")
    return out


def test_fuzzed_snapshots_never_crash(cli: Cli, write: Write, tmp_path: Path) -> None:
    """Replace one field anywhere with a value of the wrong shape: exit 0 or 2, never 70."""
    rng = random.Random(1100)
    cfg = write("config.yaml", "models:\n  vllm: [{name: a}]\n")
    items = good()
    paths = _mutations(items)
    junk: list[Any] = [None, "x", 7, -1, 3.5, True, [], ["x"], {}, {"k": [1]}, "\x1b[31mred"]
    for _ in range(150):
        where = rng.choice(paths)
        path = tmp_path / "fuzz.json"
        path.write_text(json.dumps(kube_list(break_(items, where, rng.choice(junk)))))
        result = cli("-c", cfg, "discover", "--pods-from", path, "-o", "json")
        assert result.code in (0, 2), (where, result.err)
        assert "internal error" not in result.err, (where, result.err)


def test_check_object_ignores_other_kinds_and_accepts_real_shapes() -> None:
    assert check_object({"kind": "ConfigMap", "data": 7}) is None
    for obj in good():
        assert check_object(obj) is None
    assert check_object("text") == "must be a mapping, not text"


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    state = snap.state_from_objects(good(), "t")
    for name in ("s.yaml", "s.json"):
        snap.save(tmp_path / name, state)
        again = snap.load(tmp_path / name)
        assert again.pods == state.pods and again.services == state.services


def test_example_snapshot_is_valid() -> None:
    cfg = config.load(REPO / "config.example.yaml")
    found = discovery.discover(cfg, snap.load(REPO / "examples/cluster.yaml"))
    assert any(m.ready for m in found)


def test_a_malformed_object_s_hint_gives_the_whole_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p", "labels": 1}}]}'
    )
    with pytest.raises(InputError) as info:
        snap.load(bad)
    assert info.value.hint == (
        "fix or remove those objects, or make the snapshot again: "
        "kubectl get pods,services -A -o yaml > FILE"
    )


def test_a_saved_snapshot_and_every_file_rendered_from_it_hold_no_planted_secret(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    """Pods carrying secret env values and secret flags (every form), saved with
    `discover --save`, then rendered: no canary in any file llmgw wrote, and discovery
    decides alike from the saved snapshot."""
    import json

    from tests.k8s_objects import kube_list, pod, service

    leaky = pod(
        "a-0", "vllm", {"app": "a"},
        args=["--model", "org/a", "--api-key", "sk-CANARY-1", "--hf-token=hf_CANARY-2",
              "--tokenizer", "org/a", "OPENAI_API_KEY=sk-CANARY-3"],
        env=[{"name": "HF_TOKEN", "value": "hf_CANARY-4"}, {"name": "MODEL_ID", "value": "org/tgi"}],
    )  # fmt: skip
    leaky["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"env": "hf_CANARY-5"}',
        "llmgw.io/weight": "2",
    }
    source = tmp_path / "in" / "cluster.json"
    source.parent.mkdir()
    source.write_text(json.dumps(kube_list([leaky, service("a", "vllm", {"app": "a"}, 8000)])))
    config = tmp_path / "config.yaml"
    config.write_text("models:\n  vllm: [{name: a}]\n")
    out = tmp_path / "out"
    out.mkdir()
    saved = out / "snap.yaml"
    first = cli("-c", config, "discover", "--pods-from", source, "--save", saved, "-o", "json")
    assert first.code == 0, first.err
    # Read as kubectl wrote it, the file is said to hold secrets: by name, never by value.
    [note] = [n for n in json.loads(first.out)["notes"] if "in the clear" in n]
    for name in ("env 'HF_TOKEN' in vllm/a-0", "args '--api-key'", "'--hf-token'", "1 more"):
        assert name in note, note
    assert "MODEL_ID" not in note and "4 value(s)" in note  # OPENAI_API_KEY=… is the fourth
    assert "CANARY" not in first.out + first.err
    leaked = cli("-c", config, "render", "--pods-from", source, "--stdout")
    assert "warning: " in leaked.err and "in the clear" in leaked.err, leaked.err
    assert "CANARY" not in leaked.out + leaked.err
    again = cli("-c", config, "discover", "--pods-from", saved, "-o", "json")
    assert json.loads(again.out)["models"] == json.loads(first.out)["models"]
    assert json.loads(again.out)["notes"] == []  # what --save wrote is masked: no warning
    rendered = cli("-c", config, "render", "--pods-from", saved, "--out", out / "values.yaml")
    assert rendered.code == 0 and "in the clear" not in rendered.err, rendered.err
    written = {p.name: p.read_text() for p in out.iterdir()}
    assert set(written) == {"snap.yaml", "values.yaml"}
    for name, text in written.items():
        assert "CANARY" not in text, name
    snap = written["snap.yaml"]
    assert "--api-key" in snap and "--hf-token=(masked by llmgw)" in snap and "HF_TOKEN" in snap
    assert "org/tgi" in snap and "llmgw.io/weight" in snap  # what discovery reads stays


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "the snapshot is empty"),
        ("- a\n- b\n", "expected a Kubernetes List object, got a list"),
    ],
)
def test_a_snapshot_that_is_no_list_is_said_in_words(tmp_path: Path, text: str, said: str) -> None:
    from llmgw.errors import InputError

    path = tmp_path / "snap.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        snap.load(path)
    assert said in info.value.message and "NoneType" not in info.value.message
