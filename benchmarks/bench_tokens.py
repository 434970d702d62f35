"""Token throughput: privseg's Tokenizer vs a plain per-value stdlib ``hmac`` loop, same run.

    python benchmarks/bench_tokens.py [--rows 1000000] [--distinct 1000000]

Both sides compute the same tokens (checked): normalization, HMAC-SHA256 under the
per-purpose key, lowercase base32, 26 characters. Reported in ids (rows) per second.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import time

import numpy as np
import pandas as pd

from privseg.pseudonym import IdKind, Key, Tokenizer, purpose_key


def baseline(values: list[str | None], key: bytes) -> list[str | None]:
    """One ``hmac.new`` per value, as a straightforward implementation would do it."""
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        text = value.strip().replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
        for prefix in ("+86", "0086"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
        out.append(base64.b32encode(digest).decode().lower()[:26])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    numbers = 13_000_000_000 + rng.choice(999_999_999, size=args.distinct, replace=False)
    pool = np.array([f"+86 {n // 10**8}-{n // 10**4 % 10**4:04d}-{n % 10**4:04d}" for n in numbers])
    values = (
        pool[rng.integers(0, args.distinct, size=args.rows)] if args.rows != args.distinct else pool
    )
    series = pd.Series(values, dtype="str")
    master = Key(os.urandom(32))
    tokenizer = Tokenizer(master, "bench")

    start = time.perf_counter()
    ours = tokenizer.tokenize(series, kind=IdKind.MOBILE)
    ours_s = time.perf_counter() - start

    as_list = series.tolist()
    start = time.perf_counter()
    theirs = baseline(as_list, purpose_key(master, "bench"))
    theirs_s = time.perf_counter() - start

    assert ours.tolist() == theirs, "the two implementations disagree"
    print(f"rows={args.rows:,} distinct={args.distinct:,} cpus={os.cpu_count()}")
    print(f"privseg Tokenizer : {args.rows / ours_s:>12,.0f} ids/s ({ours_s:.2f} s)")
    print(f"stdlib hmac loop  : {args.rows / theirs_s:>12,.0f} ids/s ({theirs_s:.2f} s)")
    print(f"speed-up          : {theirs_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
