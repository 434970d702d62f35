"""``privseg demo-data`` and ``privseg demo`` through the installed console script."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from privseg.cli import main
from privseg.demo.generator import Lang, generate
from privseg.io import read_table

PRIVSEG_BIN = shutil.which("privseg") or str(Path(sys.executable).with_name("privseg"))


def privseg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("privseg")
    found = str(script) if script.exists() else shutil.which("privseg")
    assert found, "the privseg console script is not installed"
    return subprocess.run(
        [found, *args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False
    )


def test_demo_data_writes_the_generated_tables(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = privseg("demo-data", str(out), "--customers", "300", "--seed", "3", "--lang", "en")
    assert done.returncode == 0, done.stderr
    expected = generate(300, seed=3, lang=Lang.EN)
    for name, table in expected.tables().items():
        path = out / f"{name}.csv"
        assert f"wrote {path}" in done.stdout
        pd.testing.assert_frame_equal(read_table(path), table, check_dtype=False)
    assert list(read_table(out / "orders.csv").columns) == [
        "order_id",
        "external_userid",
        "ordered_at",
        "amount",
        "sku",
        "promotion",
    ]


def test_demo_data_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = privseg("demo-data", str(blocker / "sub"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_demo_data_usage_errors_exit_2_and_write_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    for bad in (["--customers", "0"], ["--seed", "-1"], ["--lang", "fr"]):
        result = runner.invoke(main, ["demo-data", str(tmp_path / "x"), *bad])
        assert result.exit_code == 2, bad
    assert not (tmp_path / "x").exists()


def test_demo_quiet_exits_0_and_says_where_outputs_are(tmp_path: Path) -> None:
    done = privseg("demo", "--out", "run", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = (tmp_path / "run").resolve()
    assert done.stdout.strip().splitlines() == [f"outputs: {out}"]
    assert done.stderr == ""
    for name in ("customers", "orders", "interactions"):
        assert (out / "data" / f"{name}.csv").is_file()
    assert len(read_table(out / "data" / "customers.csv")) == 20_000


def test_demo_prints_a_summary(tmp_path: Path) -> None:
    done = privseg("demo", "--customers", "400", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = (tmp_path / "privseg-demo").resolve()
    assert "customers: 400 rows x 26 columns" in done.stdout
    assert f"outputs: {out}" in done.stdout
    assert str(Path("privseg-demo") / "data" / "orders.csv") in done.stdout
    # The printed verification command and the help examples work as shown, also when the
    # home folder holds another audit signing key.
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "PRIVSEG_AUDIT_KEY"}
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    other = subprocess.run(
        [PRIVSEG_BIN, "demo-data", str(tmp_path / "other")], env=env, cwd=tmp_path,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert other.returncode == 0 and (home / ".config/privseg/audit-signing.key").exists()
    printed = done.stdout.split("check it again with: ")[1].splitlines()[0]
    examples = [
        shlex.split(printed)[1:],
        ["audit", "verify", "--trail", "privseg-demo/audits/trail.jsonl",
         "--audit-key", "privseg-demo/keys/audit-signing.key"],
    ]  # fmt: skip
    for args in examples:
        again = subprocess.run(
            [PRIVSEG_BIN, *args], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert again.returncode == 0 and again.stdout.startswith("OK: "), (
            again.stdout + again.stderr
        )


def test_demo_data_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "d"
    assert runner.invoke(main, ["demo-data", str(out), "--customers", "50"]).exit_code == 0
    before = (out / "customers.csv").read_bytes()
    again = runner.invoke(main, ["demo-data", str(out), "--customers", "60", "--seed", "1"])
    assert again.exit_code == 2
    assert "customers.csv, orders.csv, interactions.csv already exist" in again.output
    assert "--force" in again.output
    assert (out / "customers.csv").read_bytes() == before
    forced = runner.invoke(main, ["demo-data", str(out), "--customers", "60", "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(read_table(out / "customers.csv")) == 60


def test_demo_again_in_the_same_folder_needs_force(tmp_path: Path) -> None:
    assert privseg("demo", "--customers", "150", "--quiet", cwd=tmp_path).returncode == 0
    again = privseg("demo", "--customers", "150", "--quiet", cwd=tmp_path)
    assert again.returncode == 2
    assert "already holds a demo run" in again.stderr and "--force" in again.stderr
    forced = privseg("demo", "--customers", "150", "--quiet", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    verified = privseg(
        "audit", "verify", "--trail", "privseg-demo/audits/trail.jsonl",
        "--audit-key", "privseg-demo/keys/audit-signing.key", cwd=tmp_path,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert "7 records verified" in verified.stdout
