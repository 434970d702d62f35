"""Run every benchmark: the other scripts, then the scale benchmark (this file).

    python benchmarks/run_all.py [--sizes 1000000,5000000] [--data /tmp/privseg-bench]
                                 [--skip-others] [--repeat N] [--json benchmarks/scale.json]

The scale benchmark measures, per size (customers rows), throughput and peak memory of
screen, apply, segment assign and release counts, each beside its baseline measured in the
same run: pyarrow reading (and writing) the same table, a per-value stdlib HMAC loop, and
presidio-structured on the same columns (a sample, extrapolated per cell). Every measurement
runs in its own process; peak memory is the larger of that process's VmHWM and the sampled
peak PSS of its process tree (forked tokenizer child, pool workers). Data comes from ``benchmarks/gen_data.py`` (generated if
missing). Results: a Markdown table on stdout, JSON, and ``benchmarks/scale.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
UNIT = "外部联系人ID"
OTHERS = (
    "bench_tokens.py",
    "bench_kmeans.py",
    "bench_analytic_value.py",
    "bench_value.py",
    "bench_quantiles.py",
    "bench_tree.py",
)
PRESIDIO_SAMPLE_ROWS = 300


# -- tasks (each runs in a fresh process and returns {"seconds": ..., ...}) -------------------
def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def task_pyarrow_read(data: Path, work: Path) -> dict[str, Any]:
    import pyarrow.csv as pacsv

    seconds, table = _timed(lambda: pacsv.read_csv(data / "customers.csv"))
    return {"seconds": seconds, "rows": table.num_rows}


def task_pyarrow_read_write(data: Path, work: Path) -> dict[str, Any]:
    import pyarrow.csv as pacsv

    def run() -> int:
        table = pacsv.read_csv(data / "customers.csv")
        pacsv.write_csv(table, work / "pyarrow-copy.csv")
        return int(table.num_rows)

    seconds, rows = _timed(run)
    (work / "pyarrow-copy.csv").unlink()
    return {"seconds": seconds, "rows": rows}


def task_pyarrow_read_three(data: Path, work: Path) -> dict[str, Any]:
    import pyarrow.csv as pacsv

    def run() -> int:
        return sum(
            pacsv.read_csv(data / f"{n}.csv").num_rows
            for n in ("customers", "orders", "interactions")
        )

    seconds, rows = _timed(run)
    return {"seconds": seconds, "rows": rows}


def task_screen(data: Path, work: Path) -> dict[str, Any]:
    from privseg.screening import screen

    seconds, report = _timed(lambda: screen(data / "customers.csv"))
    return {"seconds": seconds, "rows": report.rows}


def task_screen_first_chunk(data: Path, work: Path) -> dict[str, Any]:
    from privseg.engines.apply import APPLY_CHUNK_ROWS
    from privseg.io import iter_table
    from privseg.screening import screen

    def run() -> int:
        first = next(iter_table(data / "customers.csv", chunk_rows=APPLY_CHUNK_ROWS))
        return screen(first).rows

    seconds, rows = _timed(run)
    return {"seconds": seconds, "rows": rows}


def task_apply(data: Path, work: Path) -> dict[str, Any]:
    from privseg._resources import policies_dir
    from privseg.engines.apply import apply_file
    from privseg.policy import PolicyKeys, load_policy
    from privseg.pseudonym import Key

    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    keys = PolicyKeys(Key(os.urandom(32)))
    out = work / "customers.min.csv"
    seconds, manifest = _timed(lambda: apply_file(data / "customers.csv", policy, keys, out))
    out.unlink()
    Path(str(out) + ".manifest.json").unlink()
    return {"seconds": seconds, "rows": manifest.input.rows}


def _mobiles(data: Path) -> list[str | None]:
    import pyarrow.csv as pacsv

    options = pacsv.ConvertOptions(include_columns=["手机号"], column_types={"手机号": "string"})
    column = pacsv.read_csv(data / "customers.csv", convert_options=options).column(0)
    return column.to_pylist()  # type: ignore[no-any-return]


def task_tokens(data: Path, work: Path) -> dict[str, Any]:
    import pandas as pd

    from privseg.pseudonym import IdKind, Key, Tokenizer

    values = pd.Series(_mobiles(data), dtype="str")
    tokenizer = Tokenizer(Key(os.urandom(32)), "bench")
    seconds, tokens = _timed(lambda: tokenizer.tokenize(values, kind=IdKind.MOBILE))
    return {"seconds": seconds, "rows": len(tokens), "distinct": int(values.nunique())}


def task_stdlib_hmac(data: Path, work: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from bench_tokens import baseline

    from privseg.pseudonym import Key, purpose_key

    values = _mobiles(data)
    sample = values[:500_000]
    key = purpose_key(Key(os.urandom(32)), "bench")
    seconds, _ = _timed(lambda: baseline(sample, key))
    return {"seconds": seconds * len(values) / len(sample), "rows": len(values), "sampled": True}


def task_presidio_structured(data: Path, work: Path) -> dict[str, Any]:
    import pandas as pd
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_structured import PandasAnalysisBuilder

    offline = tldextract.TLDExtract(suffix_list_urls=())  # no public-suffix download
    tldextract.extract = offline  # what presidio's EmailRecognizer calls
    from privseg.io import iter_table

    first = next(iter_table(data / "customers.csv", chunk_rows=PRESIDIO_SAMPLE_ROWS))
    rows = sum(1 for _ in (data / "customers.csv").open("rb")) - 1
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    builder = PandasAnalysisBuilder(analyzer=analyzer)
    frame = pd.DataFrame({c: first[c].astype(object).fillna("") for c in first.columns})
    seconds, _ = _timed(lambda: builder.generate_analysis(frame, n=len(frame)))
    return {"seconds": seconds * rows / len(frame), "rows": rows, "sampled": True}


def task_assign(data: Path, work: Path) -> dict[str, Any]:
    from privseg.demo.generator import DEMO_AS_OF
    from privseg.engines.partitioned import assign_files

    out = work / "labels.parquet"
    seconds, run = _timed(
        lambda: assign_files(
            data / "customers.csv",
            data / "orders.csv",
            data / "interactions.csv",
            as_of=DEMO_AS_OF,
            out=out,
        )
    )
    return {"seconds": seconds, "rows": run.rows, "partitions": run.partitions}


def task_pyarrow_read_labels(data: Path, work: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    seconds, table = _timed(lambda: pq.read_table(work / "labels.parquet"))
    return {"seconds": seconds, "rows": table.num_rows}


def task_release(data: Path, work: Path) -> dict[str, Any]:
    from privseg.dp.counts import release_counts
    from privseg.dp.types import Bounding
    from privseg.engines.partitioned import count_file
    from privseg.segments import load_schemes

    lifecycle = dict(load_schemes().labels())
    keys = {"lifecycle": next(v for k, v in lifecycle.items() if k.value == "lifecycle")}

    def run() -> int:
        exact = count_file(
            work / "labels.parquet", by=["lifecycle"], keys=keys, bounding=Bounding(UNIT, 1)
        ).exact
        release_counts(exact, by=["lifecycle"], keys=keys, epsilon=1.0, account=None)
        return int(exact.counts.sum())

    seconds, rows = _timed(run)
    return {"seconds": seconds, "rows": rows}


TASKS: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "pyarrow read": task_pyarrow_read,
    "pyarrow read+write": task_pyarrow_read_write,
    "screen (privseg screen, sampled)": task_screen,
    "screen of the first chunk (in an apply worker)": task_screen_first_chunk,
    "presidio-structured (extrapolated)": task_presidio_structured,
    "apply (streamed)": task_apply,
    "tokens (Tokenizer, mobile column)": task_tokens,
    "stdlib hmac loop (extrapolated)": task_stdlib_hmac,
    "pyarrow read of 3 tables": task_pyarrow_read_three,
    "segment assign (partitioned)": task_assign,
    "pyarrow read of labels": task_pyarrow_read_labels,
    "release counts (partitioned)": task_release,
}


# -- driver -----------------------------------------------------------------------------------
def _hwm_mb() -> float:
    """This process's peak RSS (VmHWM: its own address space since exec, unlike ru_maxrss,
    which a child inherits from the process that forked it)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc/*/stat)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def _pss_mb(pids: list[int]) -> float:
    """Summed proportional set size (shared pages split between sharers) of ``pids``."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total / 1024


def measure(name: str, data: Path, work: Path) -> dict[str, Any]:
    """Run one task in its own process; add its peak memory.

    ``peak_mb`` is the larger of the task process's own VmHWM and the peak summed PSS of
    the task's process tree (its tokenizing fork, pool workers), sampled every 0.2 s.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--task", name, "--data", str(data)]
    cmd += ["--work", str(work)]
    peak = 0.0
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out)
        while proc.poll() is None:
            peak = max(peak, _pss_mb(_tree(proc.pid)))
            time.sleep(0.2)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        return {"task": name, "error": f"exit {proc.returncode}"}
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    result.update(task=name, tree_pss_peak_mb=peak, peak_mb=max(peak, result["main_hwm_mb"]))
    return result


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "load_avg_at_start": os.getloadavg(),
    }


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    names = list(dict.fromkeys(r["task"] for r in results if "seconds" in r))
    for name in names:
        points = sorted(
            (r["size"], r["seconds"]) for r in results if r["task"] == name and "seconds" in r
        )
        style = "--" if name.startswith(("pyarrow", "stdlib", "presidio")) else "-"
        ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("customers (rows)")
    ax.set_ylabel("seconds")
    ax.set_title("privseg cost vs rows (dashed: baselines)")
    ax.legend(fontsize=6.5, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)


def medians(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One result per (size, task): the run with the median seconds, with every run's seconds."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["size"], r["task"]), []).append(r)
    picked = []
    for runs in groups.values():
        timed = sorted((r for r in runs if "seconds" in r), key=lambda r: r["seconds"])
        if not timed:
            picked.append(runs[0])
            continue
        picked.append(timed[(len(timed) - 1) // 2] | {"runs": [r["seconds"] for r in runs]})
    return picked


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| size | task | seconds (median) | runs | rows/s | peak MB |",
        "|---:|---|---:|---|---:|---:|",
    ]
    for r in results:
        if "seconds" not in r:
            lines.append(f"| {r['size']:,} | {r['task']} | {r['error']} | | | |")
            continue
        rate = r["rows"] / r["seconds"] if r["seconds"] else float("inf")
        runs = ", ".join(f"{s:.1f}" for s in r.get("runs", [r["seconds"]]))
        lines.append(
            f"| {r['size']:,} | {r['task']} | {r['seconds']:.1f} | {runs} | {rate:,.0f} | "
            f"{r['peak_mb']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "privseg-bench")
    parser.add_argument("--sizes", default="1000000,5000000")
    parser.add_argument("--only", default=None, help="Task names to run, separated by ';'.")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="Runs of each task, interleaved (task A, B, ..., then again); the tables and plot "
        "show the median run, the JSON keeps every run.",
    )
    parser.add_argument("--skip-others", action="store_true", help="Only the scale benchmark.")
    parser.add_argument(
        "--replot", action="store_true", help="Redraw the PNG and table from --json only."
    )
    parser.add_argument("--json", type=Path, default=HERE / "scale.json")
    parser.add_argument("--png", type=Path, default=HERE / "scale.png")
    args = parser.parse_args()
    if args.task:
        result = TASKS[args.task](args.data, args.work)
        print(json.dumps(result | {"main_hwm_mb": _hwm_mb()}))
        return
    if args.replot:
        results = medians(json.loads(args.json.read_text())["results"])
        plot(results, args.png)
        print(table(results))
        return
    if not args.skip_others:
        for script in OTHERS:
            print(f"## {script}", flush=True)
            subprocess.run([sys.executable, str(HERE / script)], check=True)
    sys.path.insert(0, str(HERE))
    from gen_data import write_blocks

    info = machine()
    print(f"## scale: {info}", flush=True)
    results: list[dict[str, Any]] = []
    names = args.only.split(";") if args.only else list(TASKS)
    for size in (int(s) for s in args.sizes.split(",")):
        data = args.data / f"{size}"
        if not (data / "interactions.csv").exists():
            write_blocks(data, size, 100_000)
        with tempfile.TemporaryDirectory(prefix="privseg-bench-", dir=args.data) as work:
            for run in range(args.repeat):
                for name in names:
                    result = measure(name, data, Path(work)) | {"size": size, "run": run}
                    results.append(result)
                    print(json.dumps(result, ensure_ascii=False), flush=True)
    args.json.write_text(
        json.dumps({"machine": info, "results": results}, ensure_ascii=False, indent=1) + "\n"
    )
    plot(medians(results), args.png)
    print(table(medians(results)))


if __name__ == "__main__":
    main()
