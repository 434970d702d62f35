"""Write large demo tables for the scale benchmarks, block by block (bounded memory).

    python benchmarks/gen_data.py OUTDIR --customers 5000000 [--block 100000]

Each block of customers comes from ``privseg.demo.generator.generate`` with its own seed, so the
tables are the demo data's distributions at any size; ``customers.csv``, ``orders.csv`` and
``interactions.csv`` are streamed to OUTDIR with ``privseg.io.open_table_writer``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

from privseg.demo.generator import generate
from privseg.io import open_table_writer


def write_blocks(outdir: Path, customers: int, block: int) -> dict[str, int]:
    """Generate ``customers`` customers in blocks; returns the rows written per table."""
    outdir.mkdir(parents=True, exist_ok=True)
    names = ("customers", "orders", "interactions")
    with contextlib.ExitStack() as stack:
        writers = {n: stack.enter_context(open_table_writer(outdir / f"{n}.csv")) for n in names}
        for seed, start in enumerate(range(0, customers, block)):
            data = generate(min(block, customers - start), seed=seed)
            for name, df in data.tables().items():
                writers[name].write(df)
        return {name: writer.rows for name, writer in writers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--block", type=int, default=100_000)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = write_blocks(args.outdir, args.customers, args.block)
    print(f"{rows} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
