"""Shared fixtures."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(autouse=True)
def _audit_sandbox(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test audits into its own trail and signing key (never the checkout or ~/.config)."""
    base = tmp_path_factory.mktemp("audit")
    monkeypatch.setenv("PRIVSEG_TRAIL", str(base / "trail.jsonl"))
    monkeypatch.setenv("PRIVSEG_AUDIT_KEY", str(base / "keys" / "audit-signing.key"))
