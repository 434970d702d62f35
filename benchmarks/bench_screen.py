"""Screening speed: ``privseg.screen`` in sampling mode against pyarrow alone, same file, same run.

    python benchmarks/bench_screen.py [--rows 1000000] [--sample 1000] [--repeat 2]
                                      [--structured-rows 1000]

Builds (once, under ``benchmarks/data/``) a CSV of the demo customers (22 columns from
``privseg.demo.generator.generate``) plus 8 columns of decoys (order numbers, amounts, counts,
timestamps, SKUs, 16-digit coupon codes, channel codes, scores): 30 columns. Then reports the
best of ``--repeat`` runs of

- pyarrow ``read_csv`` with default options: the baseline, reading only;
- ``privseg.screen(path)``: reads the file once (``privseg.io.read_table``, pyarrow), counts
  the rows, samples each column and analyses the sample with presidio plus the vectorized
  detectors; its read and analysis parts are timed separately too;
- presidio-structured's ``PandasAnalysisBuilder`` (given privseg's analyzer, so it loads no
  spaCy model) on ``--structured-rows`` rows: it analyses every cell, so its time for the
  whole table is extrapolated linearly from the per-cell rate.

The presidio recognizers are built before timing (one-off import and set-up, ~3-5 s).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from privseg.demo.generator import generate
from privseg.io import read_table
from privseg.screening import screen
from privseg.screening.engine import build_analyzer
from privseg.screening.scan import DEFAULT_SAMPLE

DATA = Path(__file__).resolve().parent / "data"


def make_csv(path: Path, rows: int) -> None:
    customers = generate(rows, seed=0).customers
    rng = np.random.default_rng(1)
    seconds = rng.integers(1.70e9, 1.78e9, rows).astype("datetime64[s]")
    extra = {
        "订单号": np.char.add("2026", rng.integers(10**13, 10**14, rows).astype(str)),
        "金额": np.round(rng.pareto(2.0, rows) * 100, 2).astype(str),
        "购买次数": rng.integers(0, 60, rows).astype(str),
        "下单时间": np.char.replace(np.datetime_as_string(seconds), "T", " "),
        "商品SKU": np.char.add("SKU-", rng.integers(10000, 99999, rows).astype(str)),
        "优惠券码": rng.integers(10**15, 10**16, rows).astype(str),
        "渠道编码": np.char.add("CH", rng.integers(1, 40, rows).astype(str)),
        "评分": np.round(rng.uniform(0, 5, rows), 1).astype(str),
    }
    table = pa.Table.from_pandas(customers.assign(**extra), preserve_index=False)
    tmp = path.with_suffix(".tmp")
    pacsv.write_csv(table, tmp)
    os.replace(tmp, path)


def best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--structured-rows", type=int, default=1000)
    args = parser.parse_args()

    DATA.mkdir(exist_ok=True)
    path = DATA / f"screen_{args.rows}.csv"
    if not path.exists():
        start = time.perf_counter()
        make_csv(path, args.rows)
        print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    size_mb = path.stat().st_size / 1e6
    build_analyzer()  # one-off set-up, not timed

    t_arrow, table = best(args.repeat, lambda: pacsv.read_csv(path))
    cells = table.num_rows * table.num_columns
    del table
    t_screen, report = best(args.repeat, lambda: screen(path, sample=args.sample))
    t_read, frame = best(1, lambda: read_table(path))
    t_analysis = max(t_screen - t_read, 0.0)

    from presidio_structured import PandasAnalysisBuilder

    part = frame.head(args.structured_rows)
    part = part.astype(object).where(part.notna(), "")
    builder = PandasAnalysisBuilder(analyzer=build_analyzer())
    t_struct, _ = best(1, lambda: builder.generate_analysis(part, language="zh"))
    per_cell = t_struct / (len(part) * part.shape[1])
    t_struct_all = per_cell * cells

    rows = [
        ("pyarrow read_csv (baseline)", t_arrow, "-"),
        (f"privseg screen, sample {args.sample}/column", t_screen, f"{t_screen / t_arrow:.2f}x"),
        ("  of which privseg.io.read_table", t_read, f"{t_read / t_arrow:.2f}x"),
        ("  of which sampling + analysis", t_analysis, "-"),
        (
            f"presidio-structured, {len(part):,} rows measured, extrapolated",
            t_struct_all,
            f"{t_struct_all / t_arrow:.0f}x",
        ),
    ]
    load = os.getloadavg()[0]
    print(
        f"\n{report.rows:,} rows x {len(report.columns)} columns, {size_mb:.0f} MB CSV, "
        f"load average {load:.1f}\n"
    )
    print("| step | seconds | vs pyarrow |\n|---|---:|---:|")
    for name, seconds, ratio in rows:
        print(f"| {name} | {seconds:.2f} | {ratio} |")
    print(
        f"\npresidio-structured: {1 / per_cell:,.0f} cells/s; "
        f"sensitive columns found by privseg: {len(report.sensitive_columns)}"
    )
    verdict = "within" if t_screen <= 2 * t_arrow else "NOT within"
    print(f"privseg screen is {verdict} 2x of pyarrow alone ({t_screen / t_arrow:.2f}x)")
    del frame


if __name__ == "__main__":
    main()
