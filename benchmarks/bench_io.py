"""Table I/O speed: privseg.io against pyarrow alone on the same CSV, same run.

    python benchmarks/bench_io.py [--rows 1000000] [--cols 30] [--repeat 3]

Writes a synthetic CSV (ids, Chinese names, amounts, timestamps; quoted fields) to a
temporary folder and reports the best of ``--repeat`` runs of each step:

- pyarrow ``read_csv`` with default options (type inference), the baseline for reading,
  and with every column as text (what privseg asks of it);
- ``privseg.io.read_table`` (all text, pandas ``str`` dtype) and ``iter_table`` (streamed);
- pyarrow read + ``write_csv``, the baseline for a read-transform-write stage, against
  ``read_table`` + ``write_table`` (atomic, fsynced);
- ``read_table`` of the same table encoded as GB18030 (streamed transcoding).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from privseg.io import iter_table, read_table, write_table


def make_csv(path: Path, rows: int, cols: int) -> None:
    rng = np.random.default_rng(0)
    columns: dict[str, pa.Array] = {}
    surnames = np.array(["张", "王", "李", "赵", "刘", "陈", "杨", "黄"])
    for j in range(cols):
        kind = j % 5
        if kind == 0:
            values = np.char.add("wm", rng.integers(10**9, 10**10, rows).astype(str))
        elif kind == 1:
            values = np.char.add(surnames[rng.integers(0, len(surnames), rows)], "某某")
        elif kind == 2:
            values = np.round(rng.pareto(2.0, rows) * 100, 2).astype(str)
        elif kind == 3:
            seconds = rng.integers(1.6e9, 1.8e9, rows).astype("datetime64[s]")
            values = np.datetime_as_string(seconds).astype(str)
        else:
            values = rng.integers(0, 1000, rows).astype(str)
        columns[f"列{j}"] = pa.array(values)
    pacsv.write_csv(pa.table(columns), path)


def best(step: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "table.csv"
        make_csv(src, args.rows, args.cols)
        gb = Path(folder) / "table_gb18030.csv"
        gb.write_bytes(src.read_text(encoding="utf-8").encode("gb18030"))
        out = Path(folder) / "out.csv"
        size_mb = src.stat().st_size / 1e6

        def arrow_read_write() -> None:
            pacsv.write_csv(pacsv.read_csv(src), out)

        def privseg_read_write() -> None:
            write_table(read_table(src), out)

        names = pacsv.read_csv(src, read_options=pacsv.ReadOptions(block_size=1 << 16)).schema
        as_text = pacsv.ConvertOptions(column_types=dict.fromkeys(names.names, pa.string()))
        rows = [
            ("pyarrow read_csv", best(lambda: pacsv.read_csv(src), args.repeat)),
            (
                "pyarrow read_csv, all text",
                best(lambda: pacsv.read_csv(src, convert_options=as_text), args.repeat),
            ),
            ("privseg read_table", best(lambda: read_table(src), args.repeat)),
            (
                "privseg iter_table",
                best(lambda: sum(len(c) for c in iter_table(src)), args.repeat),
            ),
            ("privseg read_table GB18030", best(lambda: read_table(gb), args.repeat)),
            ("pyarrow read + write_csv", best(arrow_read_write, args.repeat)),
            ("privseg read_table + write_table", best(privseg_read_write, args.repeat)),
        ]
    load = os.getloadavg()[0]
    print(f"{args.rows:,} rows x {args.cols} columns, {size_mb:.0f} MB, load avg {load:.1f}")
    print("| step | seconds | vs pyarrow |")
    print("|---|---:|---:|")
    read_base, write_base = rows[0][1], rows[5][1]
    for i, (name, seconds) in enumerate(rows):
        base = write_base if i >= 5 else read_base
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
