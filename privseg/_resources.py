"""Where shipped resources (policies) live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def policies_dir() -> Path:
    """The shipped ``policies/`` folder: inside the wheel, or at the checkout's root."""
    installed = _PACKAGE / "_policies"
    return installed if installed.is_dir() else _PACKAGE.parent / "policies"
