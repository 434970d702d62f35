"""Hostile input, crashes and signals through the real CLI: exit codes, one line, nothing
published unaudited, nothing left behind (issue 16)."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from privseg import audit
from privseg.audit import recorder as audit_recorder
from privseg.cli import main
from privseg.demo.generator import write_demo_data
from privseg.limits import MAX_COLUMNS, MAX_POLICY_BYTES

PRIVSEG = shutil.which("privseg") or str(Path(sys.executable).with_name("privseg"))
POLICY = (
    "purpose: t\ndescription: t\nlawful_basis: consent\ncontroller: ACME\n"
    "retention_days: 30\nunit: uid\nfields:\n"
    "  uid: {action: pseudonymize, kind: wechat_id}\n  b: {action: keep}\n"
)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script (for signals, pipes and warnings)."""
    return subprocess.run(
        [PRIVSEG, *map(str, args)], capture_output=True, text=True, cwd=cwd, check=False
    )


def invoke(*args: str | Path) -> Result:
    """The CLI in this process (fast)."""
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line(done: Result | subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a run that exited with ``code`` (never an internal error)."""
    returned = done.exit_code if isinstance(done, Result) else done.returncode
    assert returned == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], done.stderr
    return lines[0]


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    assert invoke("keys", "new", tmp_path / "k.key").exit_code == 0
    (tmp_path / "t.csv").write_text("uid,b\nwmA,1\nwmB,2\n", encoding="utf-8")
    return tmp_path


def apply(folder: Path, source: str | Path, out: str | Path) -> Result:
    """``privseg apply`` of ``folder``'s policy and key (relative paths are in ``folder``)."""
    where = [folder / p if not Path(p).is_absolute() and not str(p).startswith("./") else p
             for p in (source, out)]  # fmt: skip
    return invoke(
        "apply", where[0], "--policy", folder / "p.yaml", "--key", folder / "k.key",
        "--out", where[1],
    )  # fmt: skip


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".privseg-tmp-"))


def trail_outcomes() -> list[str]:
    return [r.outcome for r in audit.read_records(Path(os.environ[audit.ENV_TRAIL]))]


# ------------------------------------------------------------------ audit first, publish second


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("uid,b\x00c", "control character"),
        ('uid,"b\nc"', "control character"),
        ("uid,13812345678", "mobile number"),
        ("uid," + "x" * 201, "longer than 200"),
    ],
)
def test_bad_headers_exit_2_and_publish_nothing(setup: Path, header: str, why: str) -> None:
    (setup / "h.csv").write_text(header + "\nwmA,1\n", encoding="utf-8")
    line = one_line(apply(setup, "h.csv", "o.csv"), 2)
    assert why in line and "13812345678" not in line
    assert not (setup / "o.csv").exists() and not (setup / "o.csv.manifest.json").exists()
    assert leftovers(setup) == []
    assert trail_outcomes()[-1] in {"MalformedInputError", "LimitError"}


def test_failed_trail_append_publishes_nothing(
    setup: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = audit_recorder.append

    def full_disk(record: audit.AuditRecord, **kwargs: object) -> audit.AuditRecord:
        if record.outcome == audit.SUCCESS:
            raise OSError(errno.ENOSPC, "No space left on device", os.environ[audit.ENV_TRAIL])
        return real(record, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audit_recorder, "append", full_disk)
    monkeypatch.chdir(setup)
    args = ["apply", "t.csv", "--policy", "p.yaml", "--key", "k.key", "--out", "o.csv"]
    result = CliRunner().invoke(main, args)
    assert "No space left" in one_line(result, 2)
    assert not (setup / "o.csv").exists() and not (setup / "o.csv.manifest.json").exists()
    assert leftovers(setup) == []
    assert audit.verify(Path(os.environ[audit.ENV_TRAIL])).ok
    assert trail_outcomes() == ["OSError"]  # the failed run is on record, its outputs are not


def test_success_record_fingerprints_the_published_files(setup: Path) -> None:
    assert apply(setup, "t.csv", "o.csv").exit_code == 0
    record = audit.read_records(Path(os.environ[audit.ENV_TRAIL]))[-1]
    published = {ref.path: ref.sha256 for ref in record.outputs}
    for name in ("o.csv", "o.csv.manifest.json"):
        path = str((setup / name).absolute())
        assert published[path] == hashlib.sha256((setup / name).read_bytes()).hexdigest()
    assert leftovers(setup) == []


# ------------------------------------------------------------------ nothing left behind


def test_stale_temporary_folders_are_swept_and_reported(setup: Path) -> None:
    stale = setup / ".privseg-tmp-999999999-abcdef"
    stale.mkdir()
    (stale / "rows.arrow").write_bytes(b"raw ids")
    done = run(
        "apply", "t.csv", "--policy", "p.yaml", "--key", "k.key", "--out", "o.csv", cwd=setup
    )
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and "killed privseg runs" in done.stderr


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    write_demo_data(folder, customers=60_000)
    assert invoke("keys", "new", folder / "k.key").exit_code == 0
    return folder


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _start_apply(big: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PRIVSEG, "apply", str(big / "customers.csv"), "--policy", "wecom-marketing",
         "--key", str(big / "k.key"), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_workers(proc: subprocess.Popen[str]) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        if len(workers) >= 2:
            return workers
        time.sleep(0.05)
    pytest.skip("apply finished before its workers could be observed")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_clean_up_and_audit(big: Path, tmp_path: Path, sig: int) -> None:
    out = tmp_path / "o.csv"
    proc = _start_apply(big, out)
    workers = _wait_for_workers(proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "terminated by" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no output, manifest or temporary folder
    assert trail_outcomes()[-1] == "Terminated"
    time.sleep(0.5)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and prctl")
def test_workers_die_with_a_killed_parent(big: Path, tmp_path: Path) -> None:
    proc = _start_apply(big, tmp_path / "o.csv")
    workers = _wait_for_workers(proc)
    proc.kill()
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    alive = []
    for w in workers:
        try:
            state = Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(w)
    assert alive == []
    assert not (tmp_path / "o.csv").exists()
    # SIGKILL cannot be caught: a staging folder may remain, for the next run to sweep
    assert len(leftovers(tmp_path)) <= 1


# ------------------------------------------------------------------ Excel


def test_xlsx_never_holds_formulas_and_nul_cells_exit_2(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        POLICY.replace("  b: {action: keep}\n", '  b: {action: keep}\n  "=1+2": {action: keep}\n'),
        encoding="utf-8",
    )
    assert invoke("keys", "new", tmp_path / "k.key").exit_code == 0
    (tmp_path / "f.csv").write_text("uid,b,=1+2\nwmA,=SUM(A1),@x\n", encoding="utf-8")
    assert apply(tmp_path, "f.csv", "f.xlsx").exit_code == 0
    sheet = openpyxl.load_workbook(tmp_path / "f.xlsx").active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row]
    assert {c.data_type for c in cells} == {"s"}
    assert [c.value for c in cells][2] == "=1+2"
    (tmp_path / "n.csv").write_text("uid,b\nwmA,x\x00y\n", encoding="utf-8")
    line = one_line(apply(tmp_path, "n.csv", "n.xlsx"), 2)
    assert "XLSX cannot store" in line and not (tmp_path / "n.xlsx").exists()


def test_release_csv_neutralizes_formulas(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"uid": [f"wm{i}" for i in range(40)], "seg": ["=cmd", "@x"] * 20}).to_csv(
        labels, index=False
    )
    ledger = tmp_path / "b.db"
    assert invoke("budget", "set", "d", "--epsilon", "1", "--ledger", ledger).exit_code == 0
    assert invoke("budget", "register", "d", labels, "--ledger", ledger).exit_code == 0
    done = invoke(
        "release", "counts", labels, "--by", "seg", "--keys", "seg==cmd,@x,-1", "--epsilon",
        "0.5", "--dataset", "d", "--unit", "uid", "--ledger", ledger, "--out", tmp_path / "r.csv",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    with (tmp_path / "r.csv").open(newline="") as handle:
        first = [row[0] for row in csv.reader(handle)][1:]
    assert first == ["'=cmd", "'@x", "'-1"]


# ------------------------------------------------------------------ never overwrite the input


def test_input_is_never_overwritten(setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(setup)
    original = (setup / "t.csv").read_bytes()
    (setup / "link.csv").symlink_to(setup / "t.csv")
    os.link(setup / "t.csv", setup / "hard.csv")
    for out in ("t.csv", "./t.csv", str(setup / "t.csv"), "link.csv", "hard.csv"):
        line = one_line(apply(setup, "t.csv", out), 2)
        assert "input" in line
    assert "input" in one_line(apply(setup, "link.csv", "t.csv"), 2)
    done = invoke("screen", "t.csv", "--format", "html", "--out", "./t.csv")
    assert "input" in one_line(done, 2)
    assert (setup / "t.csv").read_bytes() == original
    assert (setup / "link.csv").is_symlink() and leftovers(setup) == []


# ------------------------------------------------------------------ limits


def test_xlsx_zip_bomb_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (300 << 20))
    assert "limit" in one_line(invoke("info", tmp_path / "bomb.xlsx"), 2)


def test_too_many_columns_and_a_huge_cell(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(
        ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + "1," * MAX_COLUMNS + "1\n"
    )
    assert "limit" in one_line(invoke("screen", wide), 2)
    big = tmp_path / "cell.csv"
    big.write_text('a,b\n1,2\n2,"' + "x\n" * (1 << 20) + '"\n3,4\n')
    line = one_line(invoke("info", big), 2)
    assert "cell.csv:3:" in line and "limit" in line


def apply_with(folder: Path, policy: Path) -> Result:
    return invoke(
        "apply", folder / "t.csv", "--policy", policy, "--key", folder / "k.key",
        "--out", folder / "o.csv",
    )  # fmt: skip


@pytest.mark.parametrize(
    "policy",
    [
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                  for p, c in zip("abcdefgh", "bcdefghi", strict=False)),
        "x: " + "y" * (MAX_POLICY_BYTES + 1) + "\n",
        "/dev/zero",
        "/proc/self/environ",
        "a: &a [*a]\n",
        "\x00\x01",
    ],
    ids=["billion-laughs", "too-large", "device", "proc-file", "recursive", "control-bytes"],
)  # fmt: skip
def test_hostile_policies_exit_2_with_one_line(setup: Path, policy: str) -> None:
    path = Path(policy) if policy.startswith("/") else setup / "hostile.yaml"
    if not policy.startswith("/"):
        path.write_text(policy, encoding="utf-8")
    started = time.monotonic()
    one_line(apply_with(setup, path), 2)
    assert time.monotonic() - started < 20


# ------------------------------------------------------------------ exit codes


@pytest.mark.parametrize(
    "column",
    [pa.array([[1, 2], [3]]), pa.array([b"\x00\xff", b"ab"]), pa.array([{"a": 1}, {"a": 2}])],
    ids=["list", "binary", "struct"],
)
def test_nested_or_binary_parquet_exits_2(setup: Path, column: pa.Array) -> None:
    pq.write_table(pa.table({"uid": ["wmA", "wmB"], "b": column}), setup / "x.parquet")
    for command in ("info", "screen"):
        assert "not supported" in one_line(invoke(command, setup / "x.parquet"), 2)
    assert "not supported" in one_line(apply(setup, "x.parquet", "o.csv"), 2)


def test_unwritable_output_folder_exits_2(setup: Path) -> None:
    line = one_line(apply(setup, "t.csv", "/proc/o.csv"), 2)
    assert "/proc" in line


def test_closed_standard_output_is_not_an_internal_error(tmp_path: Path) -> None:
    ledger = tmp_path / "b.db"
    for i in range(200):
        CliRunner().invoke(
            main, ["budget", "set", f"d{i}", "--epsilon", "1", "--ledger", str(ledger)]
        )
    read, write = os.pipe()
    os.close(read)
    done = subprocess.run(
        [PRIVSEG, "budget", "status", "--ledger", str(ledger)],
        stdout=write, stderr=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    os.close(write)
    assert done.returncode == 141 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "internal error" not in done.stderr


def test_reports_and_manifests_hold_no_raw_values(setup: Path) -> None:
    assert apply(setup, "t.csv", "o.csv").exit_code == 0
    manifest = json.loads((setup / "o.csv.manifest.json").read_text())
    assert "wmA" not in json.dumps(manifest) and "wmB" not in json.dumps(manifest)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_devices_are_refused_as_tables_keys_and_schemes(setup: Path, device: str) -> None:
    assert "regular file" in one_line(invoke("info", device), 2)
    done = invoke("token", "--key", device, "--purpose", "p", "--kind", "other", "x")
    assert "regular file" in one_line(done, 2)
    done = invoke(
        "segment", "assign", "--customers", setup / "t.csv", "--orders", setup / "t.csv",
        "--interactions", setup / "t.csv", "--schemes", device, "--out", setup / "l.csv",
    )  # fmt: skip
    assert "regular file" in one_line(done, 2)
    assert not (setup / "l.csv").exists()


# ------------------------------------------------------------------ outside auditors


def test_outside_auditor_verifies_from_public_material(
    setup: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert apply(setup, "t.csv", "o.csv").exit_code == 0
    trail = Path(os.environ[audit.ENV_TRAIL])
    auditor = tmp_path_factory.mktemp("auditor")
    done = invoke("audit", "checkpoint", "--out", auditor / "cp.json")
    assert done.exit_code == 0, done.output
    signer = json.loads((auditor / "cp.json").read_text())["signer"]
    copy = auditor / "trail.jsonl"  # another path than the owner's
    copy.write_bytes(trail.read_bytes())
    (auditor / "signer.pem").write_bytes(audit.public_key_path(trail).read_bytes())
    audit.public_key_path(copy).write_bytes(audit.public_key_path(trail).read_bytes())
    # the auditor holds no private key at all
    monkeypatch.delenv(audit.ENV_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(auditor / "config"))
    alone = invoke("audit", "verify", "--trail", copy)
    assert alone.exit_code == 6 and alone.stdout.startswith("UNCONFIRMED")
    assert "completeness not confirmed" in alone.stdout and "signer not confirmed" in alone.stdout
    for pin in (["--public-key", auditor / "signer.pem"], ["--signer", signer]):
        done = invoke("audit", "verify", "--trail", copy, *pin, "--checkpoint", auditor / "cp.json")
        assert done.exit_code == 0 and done.stdout.startswith("OK"), done.output
    # a forged trail with its own forged public key
    forger = tmp_path_factory.mktemp("forger")
    monkeypatch.setenv(audit.ENV_KEY, str(forger / "k.key"))
    forged = forger / "trail.jsonl"
    with audit.run("apply", trail=forged, purpose="t"):
        pass
    monkeypatch.delenv(audit.ENV_KEY)
    unpinned = invoke("audit", "verify", "--trail", forged)
    assert unpinned.exit_code == 6 and signer not in unpinned.stdout
    pinned = invoke("audit", "verify", "--trail", forged, "--signer", signer)
    assert "TAMPERED" in one_line(pinned, 5)
    # records cut from the end
    copy.write_bytes(b"".join(copy.read_bytes().splitlines(keepends=True)[:-1]))
    cut = invoke("audit", "verify", "--trail", copy, "--signer", signer,
                 "--checkpoint", auditor / "cp.json")  # fmt: skip
    assert "truncated" in one_line(cut, 5)


def test_lost_checkpoint_is_recovered_by_audit_repair(setup: Path) -> None:
    assert apply(setup, "t.csv", "o.csv").exit_code == 0
    trail = Path(os.environ[audit.ENV_TRAIL])
    records = trail.read_bytes()
    audit.checkpoint_path(trail, Path(os.environ[audit.ENV_KEY])).unlink()
    assert "audit repair" in one_line(apply(setup, "t.csv", "o2.csv"), 5)
    assert invoke("audit", "verify").exit_code == 6
    repaired = invoke("audit", "repair")
    assert repaired.exit_code == 0 and "checkpointed" in repaired.stdout
    assert trail.read_bytes().startswith(records)
    assert invoke("audit", "verify").exit_code == 0
    assert apply(setup, "t.csv", "o2.csv").exit_code == 0


def test_run_report_ignores_manifests_that_do_not_match_the_trail(setup: Path) -> None:
    (setup / "p.yaml").write_text(
        POLICY.replace("kind: wechat_id}", "kind: wechat_id, reversible: true}"), encoding="utf-8"
    )
    assert invoke("keys", "new", setup / "r.key").exit_code == 0
    done = invoke(
        "apply", setup / "t.csv", "--policy", setup / "p.yaml", "--key", setup / "k.key",
        "--reversible-key", setup / "r.key", "--out", setup / "o.csv",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    manifest = setup / "o.csv.manifest.json"
    genuine = json.loads(manifest.read_text())["reversible_key_id"]
    report = invoke("report", "run", "--format", "md")
    assert report.exit_code == 0 and genuine in report.stdout
    forged = json.loads(manifest.read_text()) | {"reversible_key_id": "f" * 16}
    manifest.write_text(json.dumps(forged), encoding="utf-8")
    report = invoke("report", "run", "--format", "md")
    assert report.exit_code == 0 and "f" * 16 not in report.stdout


def test_release_over_its_input_is_refused_before_the_ledger_is_charged(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"uid": [f"wm{i}" for i in range(20)], "seg": ["a", "b"] * 10}).to_csv(
        labels, index=False
    )
    original = labels.read_bytes()
    ledger = tmp_path / "b.db"
    assert invoke("budget", "set", "d", "--epsilon", "1", "--ledger", ledger).exit_code == 0
    done = invoke(
        "release", "counts", labels, "--by", "seg", "--keys", "seg=a,b", "--epsilon", "0.5",
        "--dataset", "d", "--unit", "uid", "--ledger", ledger, "--out", labels,
    )  # fmt: skip
    assert "input" in one_line(done, 2)
    assert labels.read_bytes() == original
    status = invoke("budget", "status", "--ledger", ledger, "--format", "json")
    (budget,) = json.loads(status.stdout)["budgets"]
    assert budget["spent"]["epsilon"] == 0 and budget["releases"] == 0
