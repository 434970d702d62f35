"""The typed apply manifest: the file written is ``to_dict``, and it records into the audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from privseg import audit
from privseg._resources import policies_dir
from privseg.demo.generator import generate
from privseg.engines.apply import apply_file
from privseg.io import fingerprint, write_table
from privseg.manifest import UNDECLARED, manifest_path
from privseg.policy import Action, PolicyKeys, load_policy
from privseg.pseudonym import Key

KEYS = PolicyKeys(Key(bytes(range(32))))


def test_the_manifest_file_is_its_dict_and_fingerprints_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "customers.csv"
    table = generate(120, seed=2).customers.assign(extra="x")  # a column no policy names
    write_table(table, source)
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    out = tmp_path / "out.csv"
    manifest = apply_file(source, policy, KEYS, out)

    written = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    assert written == manifest.to_dict()
    assert manifest.input == fingerprint(source) and manifest.output == fingerprint(out)
    assert "extra" in manifest.dropped_undeclared and "extra" in manifest.dropped
    assert {c.action for c in manifest.columns} <= set(Action)

    monkeypatch.setenv(audit.ENV_KEY, str(tmp_path / "keys" / "audit.key"))
    trail = tmp_path / "audits" / "trail.jsonl"
    with audit.run("apply", trail=trail, operator="tester") as record:
        manifest.record_to(record, policy)
    (entry,) = audit.read_records(trail)
    assert entry.key_id == KEYS.master.key_id
    assert entry.inputs[0].sha256 == manifest.input.sha256
    reasons = {c.name: c.reason for c in entry.columns}
    assert reasons["extra"] == UNDECLARED
