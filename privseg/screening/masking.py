"""Masked examples for reports: enough shape to recognise a category, never the value.

Display-only masking for screening reports; the policy stage has its own transforms.
"""

from __future__ import annotations

__all__ = ["mask"]


def mask(value: str) -> str:
    """Mask a matched value for display: ``13812345678`` -> ``138****5678``.

    Emails keep the first character and the domain; strings of 11 or more characters keep
    three leading and four trailing characters; shorter ones keep one at each end (a single
    Chinese character of a name is kept first: ``张三丰`` -> ``张**``).
    """
    text = value.strip()
    if "@" in text:
        local, _, domain = text.rpartition("@")
        return f"{local[:1]}***@{domain}"
    n = len(text)
    if n >= 11:
        return f"{text[:3]}{'*' * min(n - 7, 11)}{text[-4:]}"
    if n >= 5:
        return f"{text[:1]}{'*' * (n - 2)}{text[-1:]}"
    return f"{text[:1]}{'*' * max(n - 1, 1)}"
