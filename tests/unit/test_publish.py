"""Staging: private folders, publication together, nothing left on failure, inputs guarded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from privseg.errors import FileAccessError, InputError
from privseg.publish import Staging, guard_output
from privseg.tempdirs import PREFIX, sweep_stale


def test_staged_files_appear_only_on_commit(tmp_path: Path) -> None:
    with Staging() as staging:
        a, b = staging.path(tmp_path / "a.csv"), staging.path(tmp_path / "b.json")
        assert a.parent.name.startswith(PREFIX) and stat.S_IMODE(a.parent.stat().st_mode) == 0o700
        assert a.suffix == ".csv" and staging.path(tmp_path / "a.csv") == a
        a.write_text("x")
        b.write_text("y")
        assert not (tmp_path / "a.csv").exists()
        staging.commit()
    assert (tmp_path / "a.csv").read_text() == "x" and (tmp_path / "b.json").read_text() == "y"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.json"]


def test_a_failure_publishes_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Staging() as staging:
        staging.path(tmp_path / "a.csv").write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with Staging() as staging:
        staging.path(tmp_path / "never.csv")
        with pytest.raises(InputError, match="never written"):
            staging.commit()


def test_inputs_are_never_outputs(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a\n1\n")
    (tmp_path / "link.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")
    for out in (source, tmp_path / "." / "in.csv", tmp_path / "link.csv", tmp_path / "hard.csv"):
        with pytest.raises(FileAccessError, match="input"):
            guard_output(out, [source])
    guard_output(tmp_path / "other.csv", [source, "-"])


def test_stale_folders_of_dead_processes_are_swept(tmp_path: Path) -> None:
    stale = tmp_path / f"{PREFIX}999999999-abc123"
    stale.mkdir()
    mine = tmp_path / f"{PREFIX}{os.getpid()}-abc123"
    mine.mkdir()
    with pytest.warns(UserWarning, match="killed privseg runs"):
        assert sweep_stale(tmp_path) == [stale]
    assert mine.exists()
