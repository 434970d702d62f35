"""The privacy claims a motivated user tests end to end, through the CLI: one budget per
population whatever names are typed, charge and commit with a crash injected between the
steps, checks before the charge, refusals that do not depend on the data, honest labels."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from privseg import audit, io
from privseg.cli import main
from privseg.dp.commit import Publication
from privseg.dp.ledger import Ledger, SpendState

POLICY = Path(__file__).parents[2] / "policies" / "wecom-marketing.yaml"
SEX = ["--by", "性别", "--keys", "性别=男,女"]


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def pseudonymized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Demo customers applied with one key: the pseudonymized table and its audit trail."""
    base = tmp_path_factory.mktemp("population")
    trail = base / "audits" / "trail.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRIVSEG_TRAIL", str(trail))
        patch.setenv("PRIVSEG_AUDIT_KEY", str(base / "keys" / "audit.key"))
        assert _run("demo-data", base / "raw", "--customers", "200").exit_code == 0
        assert _run("keys", "new", base / "m.key").exit_code == 0
        (base / "p").mkdir()
        done = _run(
            "apply", base / "raw" / "customers.csv", "--policy", "wecom-marketing",
            "--key", base / "m.key", "--out", base / "p" / "customers.csv", "--quiet",
        )  # fmt: skip
        assert done.exit_code == 0, done.output
    return base / "p" / "customers.csv", base


@pytest.fixture
def sandbox(
    pseudonymized: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The module's trail and audit key (its lineage), a ledger and outputs per test."""
    table, base = pseudonymized
    monkeypatch.setenv("PRIVSEG_TRAIL", str(base / "audits" / "trail.jsonl"))
    monkeypatch.setenv("PRIVSEG_AUDIT_KEY", str(base / "keys" / "audit.key"))
    return {
        "table": table,
        "ledger": tmp_path / "b.db",
        "dir": tmp_path,
        "trail": base / "audits" / "trail.jsonl",
    }


def _counts(s: dict[str, Any], *extra: str | Path, out: str = "c.csv") -> Result:
    return _run(
        "release", "counts", s["table"], *SEX, "--ledger", s["ledger"],
        "--out", s["dir"] / out, *extra,
    )  # fmt: skip


def test_renaming_dataset_or_purpose_never_opens_a_fresh_budget(sandbox: dict[str, Any]) -> None:
    """The audit's bypass: with --policy, every new --dataset/--purpose name opened a fresh
    budget (total epsilon 30 on the same customers). Now all names draw on one population."""
    spent = 0.0
    for i in range(12):
        done = _counts(
            sandbox, "--policy", POLICY, "--dataset", f"name-{i}", "--purpose", f"p{i}",
            "--epsilon", "0.5", out=f"c{i}.csv",
        )  # fmt: skip
        if done.exit_code == 4:
            break
        assert done.exit_code == 0, done.output
        spent += 0.5
    assert spent == 5.0  # the policy's budget, once, for these customers
    assert "privacy budget exceeded for population 'name-0'" in done.output
    (population,) = Ledger(sandbox["ledger"]).populations()
    assert population.bound and population.unit == "外部联系人ID"
    assert float(Ledger(sandbox["ledger"]).status(population.name, None).spent.epsilon) == 5.0
    # without the policy and with yet another name: still the same population, still spent
    done = _counts(sandbox, "--unit", "外部联系人ID", "--dataset", "fresh", "--epsilon", "0.1")
    assert done.exit_code == 4 and "population 'name-0'" in done.output


def test_a_population_without_budget_is_refused_with_a_command_that_works(
    sandbox: dict[str, Any],
) -> None:
    done = _counts(sandbox, "--unit", "外部联系人ID", "--epsilon", "0.5")
    assert done.exit_code == 4 and "no privacy budget covers the customers of key" in done.output
    hint = done.output.split("'")[-2]
    assert hint.startswith("privseg budget set ")
    assert _run(*shlex.split(hint)[1:]).exit_code == 0  # pasted as printed
    done = _counts(sandbox, "--unit", "外部联系人ID", "--epsilon", "0.5")
    assert done.exit_code == 0, done.output
    # a file without lineage is refused, and can be registered explicitly
    copy = sandbox["dir"] / "elsewhere.csv"
    pd.read_csv(sandbox["table"]).head(150).to_csv(copy, index=False)
    done = _run("release", "counts", copy, *SEX, "--unit", "外部联系人ID", "--epsilon", "0.1",
                "--ledger", sandbox["ledger"], "--out", sandbox["dir"] / "e.csv")  # fmt: skip
    assert done.exit_code == 4 and "cannot be tied to a population" in done.output
    assert _run("budget", "register", "other", copy, "--ledger", sandbox["ledger"]).exit_code == 4
    registered = _run("budget", "register", "customers-" + hint.split("--key-id ")[1].split()[0],
                      sandbox["table"], "--ledger", sandbox["ledger"])  # fmt: skip
    assert registered.exit_code == 4 and "has a lineage" in registered.output


def _spent(ledger: Path) -> float:
    return sum(float(p.total.epsilon - Ledger(ledger).remaining(p.name, None).epsilon)
               for p in Ledger(ledger).populations())  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.docx"], "unsupported file extension"),
        (["--out", "b.db/x.csv"], "cannot create the output folder"),  # a file as folder
        (["--report", "b.db/r.json"], "cannot create the output folder"),
        (["--out", "c.csv", "--report", "c.csv"], "would overwrite"),
        (["--row-level"], "--row-level releases have no unit"),
    ],
)
def test_what_can_fail_without_the_data_fails_before_the_charge(
    sandbox: dict[str, Any], args: list[str], message: str
) -> None:
    assert (
        _run("budget", "set", "crm", "--epsilon", "1", "--ledger", sandbox["ledger"]).exit_code == 0
    )
    base = ["release", "counts", sandbox["table"], *SEX, "--epsilon", "0.5", "--dataset", "crm",
            "--unit", "外部联系人ID", "--ledger", sandbox["ledger"]]  # fmt: skip
    if "--out" not in args:
        args = [*args, "--out", "c.csv"]
    rel = [str(sandbox["dir"] / a) if a.endswith((".csv", ".json", ".docx")) else a for a in args]
    done = _run(*base, *rel)
    assert done.exit_code == 2 and message in done.output, done.output
    assert _spent(sandbox["ledger"]) == 0


def _stored(ledger: Path) -> Publication:
    (pending,) = Ledger(ledger).pending()
    assert pending.state is SpendState.DRAWN
    blob = Ledger(ledger).stored_release(pending.id)[1]
    assert blob is not None
    return Publication.from_bytes(blob)


def test_a_crash_after_the_charge_is_recovered_with_the_same_release(
    sandbox: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, out = sandbox["ledger"], sandbox["dir"] / "c.csv"
    assert _run("budget", "set", "crm", "--epsilon", "2", "--ledger", ledger).exit_code == 0
    common = ["--epsilon", "0.5", "--dataset", "crm", "--unit", "外部联系人ID"]

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("disk died")

    # 1. between storing the values and writing the outputs
    with monkeypatch.context() as patch:
        patch.setattr("privseg.dp.commit.io.write_table", crash)
        assert _counts(sandbox, *common).exit_code == 1
    assert not out.exists() and _spent(ledger) == 0.5
    stored = _stored(ledger)
    done = _run("budget", "recover", "--ledger", ledger)
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == _written(stored, sandbox).read_bytes()  # the stored values
    assert Ledger(ledger).pending() == () and _spent(ledger) == 0.5
    records = audit.read_records(sandbox["trail"])
    assert records[-1].command == "budget recover" and records[-1].ok
    assert records[-1].outputs[0].sha256 == audit.DatasetRef.of(out).sha256
    # 2. after the outputs and the audit record, before the commit: same bytes again
    out.unlink()
    with monkeypatch.context() as patch:
        patch.setattr("privseg.dp.ledger.Ledger.commit", crash)
        assert _counts(sandbox, *common).exit_code == 1
    first = out.read_bytes()
    assert _run("budget", "recover", "--ledger", ledger).exit_code == 0
    assert out.read_bytes() == first and _spent(ledger) == 1.0
    # 3. between the charge and storing the values: redone from the input with its seed
    out.unlink()
    with monkeypatch.context() as patch:
        patch.setattr("privseg.dp.commit.Publication.store", crash)
        assert _counts(sandbox, *common).exit_code == 1
    assert not out.exists()
    done = _run("budget", "recover", "--ledger", ledger)
    assert done.exit_code == 0, done.output
    assert "re-published" in done.output and out.exists() and _spent(ledger) == 1.5
    status = json.loads(_run("budget", "status", "--format", "json", "--ledger", ledger).output)
    assert [h["state"] for h in status["budgets"][0]["history"]] == ["committed"] * 3


SEED = bytes(range(32))


def _crash_before_the_store(
    patch: pytest.MonkeyPatch, run: Any, sandbox: dict[str, Any], *args: str | Path
) -> Result:
    """``run`` with the seed fixed and a crash between the charge and the store."""

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("power loss")

    patch.setattr("privseg.cli._release_run.new_seed", lambda: SEED)
    patch.setattr("privseg.dp.commit.Publication.store", crash)
    return run(sandbox, *args)  # type: ignore[no-any-return]


def _report(path: Path) -> dict[str, Any]:
    """The JSON report without the ids of the run's own spends."""
    fields = json.loads(path.read_text("utf-8"))
    del fields["ledger_spends"]
    return fields  # type: ignore[no-any-return]


def _quantiles(s: dict[str, Any], *extra: str | Path, out: str = "c.csv") -> Result:
    return _run(
        "release", "quantile", s["table"], "--value", "NPS评分", "--bounds", "NPS评分=0:10",
        "--quantiles", "0.25,0.5", *SEX, "--ledger", s["ledger"], "--out", s["dir"] / out,
        *extra,
    )  # fmt: skip


@pytest.mark.parametrize("release", [_counts, _quantiles])
def test_a_crash_between_charge_and_store_is_redone_with_the_same_noise(
    sandbox: dict[str, Any], monkeypatch: pytest.MonkeyPatch, release: Any
) -> None:
    """The seed kept with the charge redoes the release: a byte-identical table and the same
    report (but for its own spend ids) as a run that did not crash, the same spends
    committed, the seed nowhere but in the ledger."""
    ledger, out, report = sandbox["ledger"], sandbox["dir"] / "c.csv", sandbox["dir"] / "r.json"
    assert _run("budget", "set", "crm", "--epsilon", "2", "--ledger", ledger).exit_code == 0
    # a small epsilon: another seed gives the same three or more draws with odds below 1e-4
    common = ["--epsilon", "0.05", "--dataset", "crm", "--unit", "外部联系人ID", "--report", report]
    with monkeypatch.context() as patch:
        patch.setattr("privseg.cli._release_run.new_seed", lambda: SEED)
        done = release(sandbox, *common)
        assert done.exit_code == 0, done.output
    expected = out.read_bytes(), _report(report)
    out.unlink()
    report.unlink()
    other = release(sandbox, *common)  # a fresh secret seed: other noise (almost surely)
    assert other.exit_code == 0 and _spent(ledger) == 0.1
    assert out.read_bytes() != expected[0] or _report(report) != expected[1]
    out.unlink()
    report.unlink()
    with monkeypatch.context() as patch:
        assert _crash_before_the_store(patch, release, sandbox, *common).exit_code == 1
    assert not out.exists() and not report.exists() and _spent(ledger) == 0.15
    (pending,) = Ledger(ledger).pending()
    assert pending.state is SpendState.CHARGED
    done = _run("budget", "recover", str(pending.id), "--ledger", ledger)
    assert done.exit_code == 0, done.output
    assert (out.read_bytes(), _report(report)) == expected
    assert json.loads(report.read_text("utf-8"))["ledger_spends"] == [pending.id]
    assert Ledger(ledger).pending() == () and _spent(ledger) == 0.15
    record = audit.read_records(sandbox["trail"])[-1]
    assert record.command == "budget recover" and record.ok
    assert record.outputs[0].sha256 == audit.DatasetRef.of(out).sha256
    assert SEED.hex() not in sandbox["trail"].read_text("utf-8") + done.output
    assert ledger.stat().st_mode & 0o777 == 0o600


def test_a_release_whose_input_changed_or_went_is_not_redone(
    sandbox: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery re-reads the input: changed (another SHA-256) or gone, it refuses to redo
    the release and only then marks the spend lost (it stays spent)."""
    ledger, out = sandbox["ledger"], sandbox["dir"] / "c.csv"
    copy = sandbox["dir"] / "customers.csv"
    content = b"".join(sandbox["table"].read_bytes().splitlines(True)[:-1])  # no lineage
    copy.write_bytes(content)
    assert _run("budget", "set", "crm", "--epsilon", "2", "--ledger", ledger).exit_code == 0
    assert _run("budget", "register", "crm", copy, "--ledger", ledger).exit_code == 0
    args = [*SEX, "--epsilon", "0.5", "--dataset", "crm", "--unit", "外部联系人ID"]
    args += ["--ledger", ledger, "--out", out]

    def counts(_: dict[str, Any], *extra: str | Path) -> Result:
        return _run("release", "counts", copy, *extra)

    for change in ("changed", "gone"):
        copy.write_bytes(content)
        with monkeypatch.context() as patch:
            done = _crash_before_the_store(patch, counts, sandbox, *args)
            assert done.exit_code == 1, done.output
        if change == "changed":
            copy.write_bytes(copy.read_bytes() + copy.read_bytes().splitlines(True)[-1])
        else:
            copy.unlink()
        done = _run("budget", "recover", "--ledger", ledger)
        assert done.exit_code == 0, done.output
        assert f"is {change}" in done.output or f"input {copy} {change}" in done.output
        assert "marked lost" in done.output and not out.exists()
    history = Ledger(ledger).status("crm", None).history
    assert [s.state for s in history] == [SpendState.LOST, SpendState.LOST]
    assert _spent(ledger) == 1.0


def _written(publication: Publication, sandbox: dict[str, Any]) -> Path:
    return io.write_table(publication.table, sandbox["dir"] / "stored.csv")


def _labels(path: Path, complete_rows: int) -> Path:
    rng = np.random.default_rng(0)
    n = 40
    df = pd.DataFrame({"uid": [f"u{i}" for i in range(n)],
                       "recency": rng.integers(0, 365, n).astype(float),
                       "frequency": np.nan})  # fmt: skip
    df.loc[: complete_rows - 1, "frequency"] = 3.0
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("complete_rows", [0, 1])
def test_kmeans_on_a_table_without_complete_rows_is_released_like_any_other(
    tmp_path: Path, complete_rows: int
) -> None:
    """The audit's data-dependent refusal: no complete row exited 2 uncharged, one more
    released. Both now release and charge the same, decided by public parameters only."""
    ledger, labels = tmp_path / "b.db", _labels(tmp_path / "l.csv", complete_rows)
    assert _run("budget", "set", "crm", "--epsilon", "1", "--ledger", ledger).exit_code == 0
    assert _run("budget", "register", "crm", labels, "--ledger", ledger).exit_code == 0
    done = _run("release", "kmeans", labels, "--features", "recency,frequency", "--bounds",
                "recency=0:365,frequency=0:10", "--k", "2", "--epsilon", "0.5", "--unit", "uid",
                "--ledger", ledger, "--out", tmp_path / "k.csv")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert len(pd.read_csv(tmp_path / "k.csv")) == 2
    assert _spent(ledger) == 0.5


def test_row_level_needs_saying_so_and_is_labelled_as_such(tmp_path: Path) -> None:
    ledger, labels = tmp_path / "b.db", _labels(tmp_path / "l.csv", 40)
    _run("budget", "set", "crm", "--epsilon", "1", "--ledger", ledger)
    _run("budget", "register", "crm", labels, "--ledger", ledger)
    base = ["release", "quantile", labels, "--value", "recency", "--bounds", "recency=0:365",
            "--epsilon", "0.2", "--ledger", ledger, "--out", tmp_path / "q.csv"]  # fmt: skip
    done = _run(*base)
    assert done.exit_code == 2 and "--row-level" in done.output and _spent(ledger) == 0
    done = _run(*base, "--row-level")
    assert done.exit_code == 0, done.output
    guarantee = pd.read_csv(tmp_path / "q.csv")["guarantee"].iloc[0]
    assert (
        "neighbours: add/remove one row;" in guarantee and "customer" not in guarantee.split(";")[0]
    )
    done = _run(*base, "--unit", "uid")
    assert (
        "neighbours: add/remove one customer (uid)"
        in pd.read_csv(tmp_path / "q.csv")["guarantee"].iloc[0]
    )


def test_the_policy_bounds_rows_per_customer(sandbox: dict[str, Any]) -> None:
    done = _counts(sandbox, "--policy", POLICY, "--max-rows-per-unit", "51", "--epsilon", "0.1")
    assert done.exit_code == 2 and "max_orders_per_customer (50)" in done.output
