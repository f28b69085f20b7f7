from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmgw.errors import InputError
from llmgw.files import write_atomic


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
