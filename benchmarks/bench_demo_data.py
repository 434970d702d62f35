"""Demo data generation: wall time, CPU time and peak memory of ``privseg.demo.generator.generate``.

    python benchmarks/bench_demo_data.py [--customers 1000000] [--seed 0] [--write DIR]

Generation runs in one process on one core; CPU time (user + system) is the figure that does
not depend on how busy a shared machine is. ``--write DIR`` also times writing the three CSV
files with ``privseg.io.write_table`` (through ``write_demo_data``).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from privseg.demo.generator import generate, write_demo_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()

    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    data = generate(args.customers, seed=args.seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rows = {name: len(table) for name, table in data.tables().items()}
    print(f"load average at start: {load:.1f}")
    print(f"customers {rows['customers']:,}  orders {rows['orders']:,}  ", end="")
    print(f"interactions {rows['interactions']:,}")
    print(f"generate: wall {wall:.1f} s, cpu {cpu:.1f} s, peak RSS {peak_gb:.2f} GB")
    if args.write is not None:
        del data
        wall = time.perf_counter()
        write_demo_data(args.write, args.customers, seed=args.seed)
        wall = time.perf_counter() - wall
        size = sum(p.stat().st_size for p in args.write.glob("*.csv")) / 1024**2
        print(f"generate + write CSV: wall {wall:.1f} s, {size:,.0f} MiB")


if __name__ == "__main__":
    main()
