"""Time of ``privseg.segments.assign`` per scheme on the demo data, in one process.

    python benchmarks/bench_segments.py [--customers 200000] [--repeat 3]

Each scheme is assigned alone (the best of ``--repeat`` runs, CPU time), then all of them
together; the five commerce schemes together are the baseline the newer schemes add to.
"""

from __future__ import annotations

import argparse
import time

from privseg.demo import generator
from privseg.segments import SchemeKind, load_schemes
from privseg.segments import assign as assign_segments

COMMERCE = (
    SchemeKind.RFM,
    SchemeKind.LIFECYCLE,
    SchemeKind.VALUE_TIER,
    SchemeKind.ACTIVITY,
    SchemeKind.CHANNEL,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = generator.generate(args.customers)
    schemes = load_schemes()
    print(
        f"{args.customers:,} customers, {len(data.orders):,} orders, "
        f"{len(data.interactions):,} interactions\n"
    )
    print("| schemes | CPU seconds (best of runs) |")
    print("|---|---:|")
    runs = [(kind.value, (kind,)) for kind, _ in schemes.schemes]
    runs += [
        ("commerce five (baseline)", COMMERCE),
        ("all twelve", tuple(k for k, _ in schemes.schemes)),
    ]
    for name, kinds in runs:
        best = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()
            assign_segments(
                data.customers,
                data.orders,
                data.interactions,
                schemes.only(*kinds),
                as_of=generator.DEMO_AS_OF,
            )
            best = min(best, time.process_time() - start)
        print(f"| {name} | {best:.2f} |")


if __name__ == "__main__":
    main()
