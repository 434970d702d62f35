"""apply's risk gate on generated tables with missing values: it meets the requirement within
the suppression limit, or refuses and removes the output."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privseg.anonymity import risk
from privseg.anonymity.gate import gate_file
from privseg.errors import PolicyRefusal
from privseg.policy import load_policy

POLICY = """purpose: gate-test
description: test
lawful_basis: consent
controller: test
retention_days: 30
unit: id
fields:
  id: {action: keep}
  age:
    action: keep
    ladder:
      - {action: generalize, type: age, width: 10}
      - {action: generalize, type: age, width: 20}
      - {action: drop}
  city: {action: keep, ladder: [{action: drop}]}
  sex: {action: keep}
  channel: {action: keep}
risk:
  quasi_identifiers: [age, city, sex]
  k: K
  max_suppression: S
"""
DIVERSE = "  sensitive: [channel]\n  l: 2\n"


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(5, 120),
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 12),
    limit=st.sampled_from([0.0, 0.05, 0.2]),
    diverse=st.booleans(),
)
def test_the_gate_meets_k_or_refuses(
    tmp_path_factory: pytest.TempPathFactory,
    rows: int,
    seed: int,
    k: int,
    limit: float,
    diverse: bool,
) -> None:
    folder = tmp_path_factory.mktemp("gate")
    rng = np.random.default_rng(seed)
    ages = rng.integers(0, 90, rows).astype(str).astype(object)
    ages[rng.random(rows) < 0.1] = None
    cities = rng.choice(["c1", "c2", "c3", "c4", None], rows).astype(object)
    df = pd.DataFrame(
        {"id": [f"u{i}" for i in range(rows)], "age": ages, "city": cities,
         "sex": rng.choice(["m", "f"], rows), "channel": rng.choice(["a", "b", "c"], rows)}
    )  # fmt: skip
    source, out = folder / "in.csv", folder / "out.csv"
    df.to_csv(source, index=False)
    shutil.copy(source, out)  # what apply writes for keep-only fields
    text = POLICY.replace("K", str(k)).replace("S", str(limit)) + (DIVERSE if diverse else "")
    (folder / "p.yaml").write_text(text, "utf-8")
    policy = load_policy(folder / "p.yaml")
    try:
        gate = gate_file(source, out, policy)
    except PolicyRefusal as refusal:
        assert not out.exists()
        assert "age, city, sex" in str(refusal) and "best k reachable" in str(refusal)
        return
    assert gate is not None
    # measured independently of the gate
    after = risk(out, ["age", "city", "sex"], sensitive=["channel"], k=k)
    assert after.k_anonymity >= k
    assert not diverse or after.l_diversity["channel"] >= 2
    assert after.rows == rows - gate.suppressed <= rows
    assert gate.suppressed <= limit * rows
    assert gate.after.k_anonymity == after.k_anonymity
    if gate.before.k_anonymity >= k:
        assert set(gate.levels.values()) == {0} and out.read_bytes() == source.read_bytes()


def test_a_record_with_a_missing_value_is_suppressed(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"id": [f"u{i}" for i in range(6)], "age": ["30"] * 5 + [None], "city": ["c1"] * 6,
         "sex": ["m"] * 6}
    )  # fmt: skip
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    df.to_csv(source, index=False)
    shutil.copy(source, out)
    df["channel"] = ["a", "b"] * 3
    df.to_csv(source, index=False)
    shutil.copy(source, out)
    (tmp_path / "p.yaml").write_text(POLICY.replace("K", "2").replace("S", "0.2"), "utf-8")
    gate = gate_file(source, out, load_policy(tmp_path / "p.yaml"))
    assert gate is not None and gate.suppressed == 1 and set(gate.levels.values()) == {0}
    assert pd.read_csv(out)["age"].notna().all() and gate.after.k_anonymity == 5
