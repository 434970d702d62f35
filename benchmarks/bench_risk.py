"""``privseg risk`` on a large table beside pandas' own group-by on the same file, same run.

    python benchmarks/bench_risk.py [--rows 5000000] [--repeat 1] [--data DIR]

Writes (once, in DIR, default a temporary folder) a CSV of quasi-identifiers shaped like the
demo customers' apply output: gender, 10-year age band, province, city, registration day and
a channel column (the sensitive column for l-diversity). Then times, in the same run:

- pandas baseline: ``pd.read_csv`` (pyarrow engine, all text) of the five quasi-identifiers
  and ``groupby(...).size()`` on the whole table in memory, and the class sizes from it;
- ``privseg.risk(path, quasi)``: streamed in 100,000-row chunks, partial counts merged;
- the same with ``sensitive=["channel"]`` (l-diversity);
- the ``privseg risk`` command (JSON, audited), as a subprocess, with its peak memory.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

QUASI = ["性别", "年龄段", "省份", "城市", "注册日"]
PROVINCES = [f"省{i:02d}" for i in range(16)]


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    writer = None
    block = 1_000_000
    for start in range(0, rows, block):
        n = min(block, rows - start)
        province = rng.integers(0, len(PROVINCES), n)
        city = province * 10 + rng.integers(0, 8, n)
        days = np.datetime64("2024-01-01") + rng.integers(0, 730, n)
        table = pa.table(
            {
                "性别": rng.choice(["男", "女"], n),
                "年龄段": np.char.add(
                    np.char.add((rng.integers(1, 8, n) * 10).astype(str), "-"), "x"
                ),
                "省份": np.array(PROVINCES)[province],
                "城市": np.char.add("市", city.astype(str)),
                "注册日": np.datetime_as_string(days).astype(str),
                "channel": rng.choice(["渠道活码", "公众号", "小程序", "线下活动"], n),
            }
        )
        if writer is None:
            writer = pacsv.CSVWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def timed(label: str, run: object, results: list[tuple[str, float]]) -> object:
    start = time.perf_counter()
    value = run()  # type: ignore[operator]
    results.append((label, time.perf_counter() - start))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    folder = args.data or Path(tempfile.mkdtemp(prefix="privseg-bench-risk-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"quasi_{args.rows}.csv"
    if not path.exists():
        make_csv(path, args.rows)
    print(f"{path}: {path.stat().st_size / 1e6:.0f} MB, {args.rows} rows")

    import privseg

    results: list[tuple[str, float]] = []

    def pandas_groupby() -> int:
        df = pd.read_csv(path, usecols=QUASI, dtype=str, engine="pyarrow")
        sizes = df.groupby(QUASI, dropna=False, sort=False).size().to_numpy()
        return int(sizes.min())

    k_pandas = timed("pandas read_csv + groupby().size() (in memory)", pandas_groupby, results)
    report = timed("privseg.risk (streamed)", lambda: privseg.risk(path, QUASI), results)
    timed(
        "privseg.risk with l-diversity of channel",
        lambda: privseg.risk(path, QUASI, sensitive=["channel"]),
        results,
    )
    command = [
        str(Path(sys.executable).with_name("privseg")), "risk", str(path),
        "--quasi", ",".join(QUASI), "--format", "json", "--trail", str(folder / "trail.jsonl"),
    ]  # fmt: skip
    timed(
        "privseg risk (command, JSON, audited)",
        lambda: subprocess.run(command, check=True, capture_output=True),
        results,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert report.k_anonymity == k_pandas  # type: ignore[attr-defined]
    base = results[0][1]
    print("| step | seconds | vs pandas |\n|---|---:|---:|")
    for label, seconds in results:
        print(f"| {label} | {seconds:.2f} | {seconds / base:.2f}x |")
    print(f"classes: {report.classes}, k: {report.k_anonymity}; command peak RSS {peak:.0f} MB")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
