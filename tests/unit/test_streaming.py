"""Streaming helpers and the streamed ``apply_file``: same output as the in-memory path."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from privseg import pseudonym
from privseg._files import file_sha256
from privseg._resources import policies_dir
from privseg.demo.generator import generate
from privseg.engines import pool as pool_module
from privseg.engines.apply import apply_file
from privseg.engines.streaming import WriteBehind, prefetched
from privseg.errors import PolicyRefusal, PrivsegError
from privseg.io import fingerprint, read_table, write_table
from privseg.policy import PolicyKeys, enforce, load_policy, plan
from privseg.pseudonym import Key
from privseg.screening import screen

KEYS = PolicyKeys(Key(bytes(range(32))))


@pytest.fixture(scope="module")
def customers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "customers.csv"
    write_table(generate(2_000, seed=3).customers, path)
    return path


def test_prefetched_keeps_order_and_raises_the_readers_error() -> None:
    assert list(prefetched(range(5))) == [0, 1, 2, 3, 4]

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad chunk")

    got = []
    with pytest.raises(ValueError, match="bad chunk"):
        for item in prefetched(failing()):
            got.append(item)
    assert got == [1]


def test_write_behind_writes_in_order_off_the_main_thread() -> None:
    seen: list[tuple[int, str]] = []
    with WriteBehind(lambda i: seen.append((i, threading.current_thread().name))) as behind:
        for i in range(4):
            behind.submit(i)
    assert [i for i, _ in seen] == [0, 1, 2, 3]
    assert all(name.startswith("privseg-write") for _, name in seen)


def test_write_behind_surfaces_errors() -> None:
    def write(i: int) -> None:
        if i == 1:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), WriteBehind(write) as behind:
        for i in range(3):
            behind.submit(i)


@pytest.mark.parametrize("chunk_rows", [333, 100_000])
def test_streamed_apply_equals_the_in_memory_path(
    customers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    monkeypatch.setattr(pseudonym, "_PARALLEL_MIN", 100)  # tokens split across a fork too
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    out = tmp_path / "out.csv"
    manifest = apply_file(customers, policy, KEYS, out, chunk_rows=chunk_rows)

    table = read_table(customers)
    expected = enforce(plan(policy, screen(table)), table, KEYS)
    write_table(expected, tmp_path / "expected.csv")
    pd.testing.assert_frame_equal(read_table(out), read_table(tmp_path / "expected.csv"))
    assert (tmp_path / "expected.csv").read_bytes() == out.read_bytes()

    for side, path in (("input", customers), ("output", out)):
        fp = fingerprint(path)
        assert getattr(manifest, side) == fp
        assert fp.sha256 == file_sha256(path)


def test_full_screen_sees_every_chunk(tmp_path: Path) -> None:
    """A sensitive column whose values only appear after the first chunk is still refused."""
    df = generate(600, seed=1).customers
    late = df["身份证号"].copy()
    df["身份证号"] = pd.Series([pd.NA] * 500 + late.iloc[500:].tolist(), dtype="str")
    df = df.rename(columns={"身份证号": "code"})
    source = tmp_path / "late.csv"
    write_table(df, source)
    policy_text = (policies_dir() / "wecom-marketing.yaml").read_text(encoding="utf-8")
    policy_path = tmp_path / "p.yaml"
    policy_path.write_text(
        policy_text.replace("fields:\n", "fields:\n  code: {action: keep}\n", 1), encoding="utf-8"
    )
    policy = load_policy(policy_path)
    with pytest.raises(PolicyRefusal, match="code"):
        apply_file(source, policy, KEYS, tmp_path / "o.csv", full=True, chunk_rows=250)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("fork", [True, False])
def test_row_order_cannot_hide_a_sensitive_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    """Issue 12: a file whose first chunks hold only harmless remarks and whose later rows
    mention religion and health is refused (kept without consent), as ``privseg screen``
    refuses it; before, apply screened only its first chunk and wrote the output."""
    if not fork:
        monkeypatch.setattr(pool_module.EnforcePool, "start", classmethod(lambda *_: None))
    df = generate(2_000, seed=5).customers
    harmless = ["老客户", "要发票", "周末到店", "喜欢新品"]
    later = ["信佛，每月初一吃斋", "有糖尿病，要无糖的", "老客户", "要发票"]
    df["remark"] = harmless * 400 + later * 100  # sorted: the first 1,600 rows say nothing
    source = tmp_path / "sorted.csv"
    write_table(df, source)
    assert screen(df.head(500)).column("remark").categories == ()
    text = (policies_dir() / "wecom-marketing.yaml").read_text(encoding="utf-8")
    policy_path = tmp_path / "p.yaml"
    policy_path.write_text(text.replace("fields:\n", "fields:\n  remark: {action: keep}\n", 1))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(PolicyRefusal, match=r"remark.*(religious_belief|medical_health)"):
        apply_file(source, load_policy(policy_path), KEYS, out_dir / "o.csv", chunk_rows=250)
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("fork", [True, False])
def test_sampling_refusal_leaves_no_output(
    customers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    """The stream starts while a worker screens the first chunk; a refusal still commits nothing."""
    if not fork:  # platforms without fork screen first, in the main process
        monkeypatch.setattr(pool_module.EnforcePool, "start", classmethod(lambda *_: None))
    text = (policies_dir() / "wecom-marketing.yaml").read_text(encoding="utf-8")
    policy_path = tmp_path / "p.yaml"
    policy_path.write_text(text.replace("宗教信仰: {action: drop}", "宗教信仰: {action: keep}"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(PolicyRefusal, match="宗教信仰"):
        apply_file(customers, load_policy(policy_path), KEYS, out_dir / "o.csv", chunk_rows=200)
    assert list(out_dir.iterdir()) == []


def test_sampling_screen_runs_beside_the_stream(
    customers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest's categories come from the first chunk's screen and the whole-file sample
    (the same here: the demo customers are not sorted), whichever process ran the screen."""
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    manifest = apply_file(customers, policy, KEYS, tmp_path / "a.csv", chunk_rows=500)
    monkeypatch.setattr(pool_module.EnforcePool, "start", classmethod(lambda *_: None))
    inline = apply_file(customers, policy, KEYS, tmp_path / "b.csv", chunk_rows=500)
    assert manifest.columns == inline.columns
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    first = read_table(customers).head(500)
    expected = plan(policy, screen(first))
    assert [c.categories for c in manifest.columns] == [s.categories for s in expected.columns]


def _die(chunk: pd.DataFrame) -> pd.DataFrame:
    os._exit(9)  # as if the system killed the worker (e.g. out of memory)


def _hang(chunk: pd.DataFrame) -> pd.DataFrame:
    time.sleep(60)  # as if the worker were stuck on a lock inherited at fork time
    return chunk


@pytest.mark.parametrize(
    ("work", "timeout", "message"),
    [(_die, 600.0, "worker process died"), (_hang, 3.0, "gave no result in 3 s")],
)
def test_a_failed_worker_raises_at_once_and_leaves_no_output(
    customers: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    work: Callable[[pd.DataFrame], pd.DataFrame],
    timeout: float,
    message: str,
) -> None:
    monkeypatch.setattr(pool_module, "_enforce_in_worker", work)
    monkeypatch.setattr(pool_module, "_WORKER_TIMEOUT_S", timeout)
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    started = time.monotonic()
    with pytest.raises(PrivsegError, match=message):
        apply_file(customers, policy, KEYS, out_dir / "o.csv", chunk_rows=500)
    assert time.monotonic() - started < 30  # the stuck worker was killed, not awaited
    assert list(out_dir.iterdir()) == []


def test_a_pool_that_does_not_start_is_killed(
    customers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "_WORKER_TIMEOUT_S", 1e-9)  # no fork is this fast
    killed: list[object] = []
    kill = pool_module.EnforcePool.kill
    monkeypatch.setattr(pool_module.EnforcePool, "kill", lambda pool: killed.append(kill(pool)))
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    with pytest.raises(PrivsegError, match="gave no result"):
        apply_file(customers, policy, KEYS, tmp_path / "o.csv")
    assert len(killed) == 1
    assert not (tmp_path / "o.csv").exists()
