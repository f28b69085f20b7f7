from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from llmgw.errors import InputError
from llmgw.files import write_atomic
from tests.conftest import Result


def test_replaces_content_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["v.yaml"]


def test_private_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    write_atomic(path, "secret\n", private=True)
    assert path.stat().st_mode & 0o077 == 0


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_atomic(tmp_path / "nope" / "v.yaml", "x")


def test_failure_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "dir-in-the-way"
    target.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        write_atomic(target, "x")
    assert os.listdir(tmp_path) == ["dir-in-the-way"]


def test_a_write_that_fails_midway_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "v.yaml"
    target.write_text("old: values\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "new: \ud800")  # a lone surrogate cannot be encoded
    assert target.read_text() == "old: values\n"
    assert os.listdir(tmp_path) == ["v.yaml"]


# -- inputs are never outputs, where each command writes ------------------------------------


def test_render_out_onto_its_own_inputs_is_refused_and_nothing_changes(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    from tests.conftest import REPO

    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.example.yaml").read_text())
    snap = tmp_path / "cluster.yaml"
    snap.write_text((REPO / "examples/cluster.yaml").read_text())
    link = tmp_path / "link.yaml"
    link.symlink_to(snap)
    before = (config.read_bytes(), snap.read_bytes())
    for out, what in ((config, "config"), (link, "snapshot")):
        result = cli("-c", config, "render", "--pods-from", snap, "--out", out)
        assert result.code == 2, result.err
        assert f"--out {out}: that is the {what} this run reads" in result.err
    assert (config.read_bytes(), snap.read_bytes()) == before
    saved = cli("-c", config, "discover", "--pods-from", snap, "--save", snap)
    assert saved.code == 2 and "--save" in saved.err and "snapshot this run reads" in saved.err
    deployed = cli("-c", config, "deploy", "--pods-from", snap, "--out", config, "--dry-run")
    assert deployed.code == 2 and "config this run reads" in deployed.err
    assert (config.read_bytes(), snap.read_bytes()) == before
