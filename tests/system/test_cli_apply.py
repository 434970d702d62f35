"""privseg apply, keys, token and reidentify through the real console script."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from privseg.cli import main
from privseg.demo.generator import Lang, write_demo_data
from privseg.io import read_table

PRIVSEG = shutil.which("privseg") or str(Path(sys.executable).with_name("privseg"))
VECTOR = "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a"


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRIVSEG, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder, customers=300)
    assert run("keys", "new", folder / "k.key").returncode == 0
    return folder


@pytest.mark.slow
def test_marketing_policy_end_to_end_and_join(demo: Path) -> None:
    for table in ("customers", "orders"):
        done = run(
            "apply", demo / f"{table}.csv", "--policy", "wecom-marketing",
            "--key", demo / "k.key", "--out", demo / f"{table}.min.csv",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    customers = read_table(demo / "customers.min.csv")
    orders = read_table(demo / "orders.min.csv")
    raw = read_table(demo / "customers.csv")
    assert {"姓名", "身份证号", "银行卡号", "宗教信仰", "详细地址"}.isdisjoint(customers.columns)
    assert customers["外部联系人ID"].str.fullmatch(r"[a-z2-7]{26}").all()
    assert not set(raw["外部联系人ID"]) & set(customers["外部联系人ID"])
    joined = orders.merge(customers, on="外部联系人ID", how="left", validate="many_to_one")
    assert joined["性别"].notna().all()  # 省份 may be withheld by the risk gate on 300 customers
    manifest = json.loads((demo / "customers.min.csv.manifest.json").read_text())
    key_text = (demo / "k.key").read_text().strip()
    assert key_text not in json.dumps(manifest)
    assert manifest["policy"]["purpose"] == "wecom-marketing"
    assert manifest["input"]["rows"] == 300 and manifest["output"]["rows"] == 300
    assert manifest["output"]["columns"] == list(customers.columns)
    by_column = {c["column"]: c for c in manifest["columns"]}
    assert by_column["宗教信仰"]["action"] == "drop"
    assert "religious_belief" in by_column["宗教信仰"]["categories"]
    assert by_column["出生日期"]["action"] == "generalize"


@pytest.mark.slow
def test_refusal_writes_nothing(demo: Path, tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    text = (Path(__file__).parents[2] / "policies/wecom-marketing.yaml").read_text()
    policy.write_text(text.replace("宗教信仰: {action: drop}", "宗教信仰: {action: keep}"))
    out = tmp_path / "out.csv"
    done = run("apply", demo / "customers.csv", "--policy", policy, "--key", demo / "k.key",
               "--out", out)  # fmt: skip
    assert done.returncode == 3
    assert "宗教信仰" in done.stderr and "religious_belief" in done.stderr
    assert "Art. 28" in done.stderr
    assert list(tmp_path.iterdir()) == [policy]


@pytest.mark.slow
def test_english_headers_apply_with_the_english_policy(demo: Path, tmp_path: Path) -> None:
    english = tmp_path / "en"
    write_demo_data(english, customers=300, lang=Lang.EN)
    trail = {"PRIVSEG_TRAIL": str(tmp_path / "trail.jsonl")}
    mismatch = run("apply", english / "customers.csv", "--policy", "wecom-marketing",
                   "--key", demo / "k.key", "--out", tmp_path / "zh" / "c.csv", env=trail)  # fmt: skip
    assert mismatch.returncode == 2
    assert "unit column '外部联系人ID' (one customer) is missing" in mismatch.stderr
    assert "'external_userid'" in mismatch.stderr and "wecom-marketing-en" in mismatch.stderr
    assert not (tmp_path / "zh").exists()
    for table in ("customers", "orders", "interactions"):
        done = run("apply", english / f"{table}.csv", "--policy", "wecom-marketing-en",
                   "--key", demo / "k.key", "--out", tmp_path / "p" / f"{table}.csv", env=trail)  # fmt: skip
        assert done.returncode == 0, done.stderr
    chinese = run("apply", demo / "customers.csv", "--policy", "wecom-marketing",
                  "--key", demo / "k.key", "--out", tmp_path / "zh.csv", env=trail)  # fmt: skip
    assert chinese.returncode == 0, chinese.stderr
    en, zh = read_table(tmp_path / "p" / "customers.csv"), read_table(tmp_path / "zh.csv")
    assert len(en.columns) == len(zh.columns)
    assert list(en.columns)[:8] == [
        "external_userid", "mobile", "gender", "birth_date", "province", "city",
        "registered_at", "channel",
    ]  # fmt: skip
    # same seed, same purpose, same key: the same customers get the same tokens
    assert en["external_userid"].tolist() == zh["外部联系人ID"].tolist()
    assert en["mobile"].equals(zh["手机号"].rename("mobile"))
    orders = read_table(tmp_path / "p" / "orders.csv")
    assert orders["external_userid"].isin(en["external_userid"]).all()


def test_apply_names_the_undeclared_columns_it_drops(demo: Path, tmp_path: Path) -> None:
    source = tmp_path / "crm.csv"
    source.write_text(
        "外部联系人ID,渠道来源,会员等级\nwm1,公众号,金\nwm2,小程序,银\n", encoding="utf-8"
    )
    done = run("apply", source, "--policy", "wecom-marketing", "--key", demo / "k.key",
               "--out", tmp_path / "out" / "crm.csv",
               env={"PRIVSEG_TRAIL": str(tmp_path / "trail.jsonl")})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 of 3 columns kept (1 undeclared dropped)" in done.stderr
    assert "dropped 1 columns the policy does not declare (PIPL Art. 6): '会员等级'" in done.stderr
    assert list(read_table(tmp_path / "out" / "crm.csv").columns) == ["外部联系人ID", "渠道来源"]


def test_token_command_prints_the_test_vector(tmp_path: Path) -> None:
    key = tmp_path / "v.key"
    key.write_text(VECTOR + "\n")
    key.chmod(0o600)
    done = run("token", "--key", key, "--purpose", "wecom-marketing", "--kind", "mobile",
               "+86 138-1234-5678", "13812345678")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["he4lscfas47ru2rbfeus4mgjj5"] * 2
    env_run = run("token", "--purpose", "wecom-marketing", "--kind", "mobile", "13812345678",
                  env={"PRIVSEG_MASTER_KEY": VECTOR})  # fmt: skip
    assert env_run.stdout.strip() == "he4lscfas47ru2rbfeus4mgjj5"
    key.chmod(0o644)
    refused = run("token", "--key", key, "--purpose", "p", "--kind", "other", "x")
    assert refused.returncode == 2 and "chmod 600" in refused.stderr
    assert VECTOR not in refused.stderr


def test_keys_new_mode_and_no_overwrite(tmp_path: Path) -> None:
    key = tmp_path / "n.key"
    assert run("keys", "new", key).returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = run("keys", "new", key)
    assert again.returncode == 2 and "overwrite" in again.stderr


def test_reversible_reidentify_and_rotate(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "purpose: activation\ndescription: push segments to WeCom tags\nlawful_basis: consent\n"
        "controller: ACME\nretention_days: 30\nunit: uid\nfields:\n"
        "  uid: {action: pseudonymize, kind: wechat_id, reversible: true}\n"
        "  segment: {action: keep}\n",
        encoding="utf-8",
    )
    table = tmp_path / "t.csv"
    pd.DataFrame({"uid": ["wmA", "wmB", "wmA"], "segment": ["gold", "silver", "gold"]}).to_csv(
        table, index=False
    )
    runner = CliRunner()
    for name in ("k", "r", "k2", "r2"):
        assert runner.invoke(main, ["keys", "new", str(tmp_path / name)]).exit_code == 0
    out = tmp_path / "t.min.csv"
    args = ["apply", str(table), "--policy", str(policy), "--key", str(tmp_path / "k")]
    assert runner.invoke(main, [*args, "--out", str(out)]).exit_code == 2  # no reversible key
    result = runner.invoke(
        main, [*args, "--reversible-key", str(tmp_path / "r"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ids = tmp_path / "ids.csv"
    reid = ["reidentify", "--policy", str(policy), "--reversible-key", str(tmp_path / "r")]
    result = runner.invoke(main, [*reid, str(out), "--out", str(ids)])
    assert result.exit_code == 2 and "no key" in result.output  # the tokens need checking
    result = runner.invoke(main, [*reid, "--key", str(tmp_path / "k"), str(out), "--out", str(ids)])
    assert result.exit_code == 0, result.output
    assert read_table(ids)["uid__id"].tolist() == ["wmA", "wmB", "wmA"]
    # A ciphertext moved to another row, or into another column, is an integrity failure.
    written = read_table(out)
    moved = tmp_path / "moved.csv"
    written.assign(uid__reversible=written["uid__reversible"].iloc[[1, 0, 2]].to_numpy()).to_csv(
        moved, index=False
    )
    result = runner.invoke(
        main, [*reid, "--key", str(tmp_path / "k"), str(moved), "--out", str(ids)]
    )
    assert result.exit_code == 5 and "2 rows" in result.output
    policy2 = tmp_path / "p2.yaml"
    policy2.write_text(policy.read_text().replace("uid", "uid2"), encoding="utf-8")
    renamed = tmp_path / "renamed.csv"
    written.rename(columns={"uid": "uid2", "uid__reversible": "uid2__reversible"}).to_csv(
        renamed, index=False
    )
    result = runner.invoke(main, ["reidentify", "--policy", str(policy2), "--reversible-key",
                                  str(tmp_path / "r"), str(renamed),
                                  "--key", str(tmp_path / "k"), "--out", str(ids)])  # fmt: skip
    assert result.exit_code == 5 and "altered or moved" in result.output
    rotated = tmp_path / "rot.csv"
    result = runner.invoke(main, ["keys", "rotate", str(out), "--policy", str(policy),
                                  "--old-key", str(tmp_path / "k"), "--new-key", str(tmp_path / "k2"),
                                  "--old-reversible-key", str(tmp_path / "r"),
                                  "--new-reversible-key", str(tmp_path / "r2"), "--out", str(rotated)])  # fmt: skip
    assert result.exit_code == 0, result.output
    new_tokens = runner.invoke(main, ["token", "--key", str(tmp_path / "k2"), "--purpose",
                                      "activation", "--kind", "wechat_id", "wmA"]).output.strip()  # fmt: skip
    assert read_table(rotated)["uid"].iloc[0] == new_tokens


@pytest.mark.parametrize("command", [["apply"], ["keys"], ["keys", "new"], ["keys", "rotate"],
                                     ["token"], ["reidentify"]])  # fmt: skip
def test_help_has_examples(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output
