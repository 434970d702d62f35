"""One run of the whole pipeline on built-in demo data, as a sequence of named steps.

``run_demo`` writes the demo tables to ``<out>/data/`` and then runs every step of
``DEMO_STEPS`` in order. A stage joins the demo by adding one ``DemoStep``: a name for the
progress bar and a function that reads the ``DemoRun`` (input paths, earlier outputs) and
records what it produced (``run.outputs``) and one or two summary lines (``run.lines``).
Steps print nothing themselves; the CLI prints the summary.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privseg import audit
from privseg._progress import steps
from privseg.demo.generator import DEMO_AS_OF, write_demo_data
from privseg.errors import InputError
from privseg.io import fingerprint

__all__ = [
    "DEFAULT_DEMO_DIR",
    "DEMO_ENTRIES",
    "DEMO_STEPS",
    "DemoRun",
    "DemoStep",
    "DemoSummary",
    "run_demo",
]

#: Where ``privseg demo`` writes when no ``--out`` is given.
DEFAULT_DEMO_DIR = Path("privseg-demo")

#: The entries a demo run writes under its folder; a new run needs none of them to exist.
DEMO_ENTRIES = ("data", "keys", "audits", "pseudonymized", "segments", "releases", "reports")


@dataclass
class DemoRun:
    """State handed from step to step (mutable: each step adds its outputs)."""

    out_dir: Path
    customers: int
    seed: int
    data: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DemoStep:
    """One named stage of the demo."""

    name: str
    run: Callable[[DemoRun], None]


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run did and where its files are.

    >>> summary = privseg.run_demo("demo", quiet=True, customers=150)
    >>> summary.steps[0], summary.data["customers"]
    ('generate demo data', PosixPath('demo/data/customers.csv'))
    >>> summary.outputs["run_report"]
    PosixPath('demo/reports/run.html')
    """

    out_dir: Path
    data: Mapping[str, Path]
    outputs: Mapping[str, Path]
    lines: tuple[str, ...]
    steps: tuple[str, ...]


def _audited(run: DemoRun, command: str, **about: Any) -> AbstractContextManager[audit.RunRecorder]:
    """Audit a step into ``<out>/audits/trail.jsonl``.

    The demo signs with its own key in ``<out>/keys/`` (apart from ``audits/``, with the
    trail's checkpoints), so deleting the demo folder starts a fresh, verifiable trail.
    """
    return audit.run(
        command,
        trail=run.out_dir / "audits" / "trail.jsonl",
        key=run.out_dir / "keys" / "audit-signing.key",
        **about,
    )


def _generate_data(run: DemoRun) -> None:
    run.data = write_demo_data(run.out_dir / "data", run.customers, seed=run.seed)
    run.lines.append(
        f"demo data: {run.customers:,} synthetic WeCom customers (seed {run.seed}, "
        f"as of {DEMO_AS_OF.isoformat()})"
    )


def _profile_tables(run: DemoRun) -> None:
    for name, path in run.data.items():
        table = fingerprint(path)
        run.lines.append(
            f"{name}: {table.rows:,} rows x {len(table.columns)} columns "
            f"(sha256 {table.sha256[:12]})"
        )


def _screen_customers(run: DemoRun) -> None:
    """Screen the customers table; write the screening report (HTML and Markdown)."""
    from privseg._files import atomic_path
    from privseg.report import ReportFormat, render_screening
    from privseg.screening import screen

    source = run.data["customers"]
    folder = run.out_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "screening.html"
    with _audited(run, "screen") as record:
        report = screen(source, as_of=DEMO_AS_OF)
        report.record_to(record, source)
        for fmt in ReportFormat:
            with atomic_path(folder / f"screening.{fmt.value}") as tmp:
                tmp.write_text(render_screening(report, fmt), encoding="utf-8")
    run.outputs["screening_report"] = out
    run.lines.append(
        f"screening: {len(report.personal_columns)} of {len(report.columns)} customer columns "
        f"hold personal information, {len(report.sensitive_columns)} sensitive (PIPL Art. 28) "
        "-> reports/screening.html"
    )


def _apply_policy(run: DemoRun) -> None:
    """Minimize and pseudonymize all three tables under the marketing policy and one key.

    The same key and purpose give the same 外部联系人ID tokens in every table, so the
    pseudonymized orders still join onto the pseudonymized customers.
    """
    from privseg._resources import policies_dir
    from privseg.anonymity.gate import summary
    from privseg.engines.engine import Engine, apply
    from privseg.io import read_table
    from privseg.manifest import manifest_path
    from privseg.policy import PolicyKeys, load_policy
    from privseg.pseudonym import new_key_file

    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    key_path = run.out_dir / "keys" / f"{policy.purpose}.key"
    key_path.parent.mkdir(parents=True, exist_ok=True)
    keys = PolicyKeys(new_key_file(key_path))
    folder = run.out_dir / "pseudonymized"
    folder.mkdir(parents=True, exist_ok=True)
    dropped = 0
    risks = []
    for name, source in run.data.items():
        out = folder / f"{name}.csv"
        with _audited(run, "apply", purpose=policy.purpose, policy_sha256=policy.sha256) as record:
            manifest = apply(Engine.LOCAL, source, policy, keys, out, staging=record.staging)
            manifest.record_to(record, policy)
            if manifest.risk is not None:
                risks.append(f"{name}: {summary(manifest.risk)} -> reports/run.html")
            record.add_output(manifest_path(out))
        run.outputs[f"pseudonymized_{name}"] = out
        dropped += len(manifest.dropped)
    customers = read_table(run.outputs["pseudonymized_customers"])
    orders = read_table(run.outputs["pseudonymized_orders"])
    joined = orders[policy.unit].isin(customers[policy.unit]).mean()
    run.lines.append(
        f"apply: policy {policy.purpose} on 3 tables, {dropped} columns dropped (PIPL Art. 6), "
        f"identifiers tokenized with key id {keys.master.key_id}; {joined:.0%} of pseudonymized "
        f"orders join a pseudonymized customer on {policy.unit} tokens -> pseudonymized/"
    )
    run.lines.extend(risks)


def _assign_segments(run: DemoRun) -> None:
    """Segment labels per customer from the pseudonymized tables (raw ones before apply)."""
    from privseg.io import read_table, write_table
    from privseg.segments import assign, load_schemes

    with _audited(run, "segment assign") as record:
        tables = {}
        for name, path in run.data.items():
            source = run.outputs.get(f"pseudonymized_{name}", path)
            tables[name] = read_table(source)
            record.add_input(source, rows=len(tables[name]), columns=list(tables[name].columns))
        schemes = load_schemes()
        labels = assign(
            tables["customers"], tables["orders"], tables["interactions"], schemes, as_of=DEMO_AS_OF
        )
        folder = run.out_dir / "segments"
        folder.mkdir(parents=True, exist_ok=True)
        run.outputs["segment_labels"] = folder / "labels.csv"
        write_table(labels, record.stage(folder / "labels.csv"))
        record.add_output(
            run.outputs["segment_labels"], rows=len(labels), columns=list(labels.columns)
        )
    kinds = ", ".join(kind.value for kind, _ in schemes.schemes)
    run.lines.append(
        f"segments: {len(labels):,} customers labelled ({kinds}) -> segments/labels.csv"
    )


def _release_segment_counts(run: DemoRun) -> None:
    """DP segment counts (lifecycle x province, value tier) charged to a fresh demo ledger."""
    from privseg._resources import policies_dir
    from privseg.dp.counts import release_counts
    from privseg.dp.ledger import Ledger, PrivacyBudget
    from privseg.dp.types import DEFAULT_EPSILON, Account, Bounding
    from privseg.io import read_table, write_table
    from privseg.policy import load_policy
    from privseg.segments import load_schemes

    labels = read_table(run.outputs["segment_labels"])
    schemes = load_schemes()
    policy = load_policy(policies_dir() / "wecom-marketing.yaml")
    assert policy.release is not None
    keys = {kind.value: values for kind, values in schemes.labels().items()}
    keys["省份"] = policy.release.keys["省份"]
    ledger_path = run.out_dir / "audits" / "budget.db"
    ledger = Ledger(ledger_path)
    total = PrivacyBudget(policy.release.budget.epsilon, policy.release.budget.delta)
    ledger.set_budget("demo", total, purpose=policy.purpose)
    account = Account(ledger, "demo", policy.purpose)
    folder = run.out_dir / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    predicted = []
    for name, by in (
        ("lifecycle_by_province", ["lifecycle", "省份"]),
        ("value_tier", ["value_tier"]),
    ):
        about = {"purpose": policy.purpose, "policy_sha256": policy.sha256}
        with _audited(run, "release counts", **about) as record:
            record.add_input(
                run.outputs["segment_labels"], rows=len(labels), columns=list(labels.columns)
            )
            release = release_counts(
                labels,
                by=by,
                keys=keys,
                epsilon=DEFAULT_EPSILON,
                account=account,
                bounding=Bounding(schemes.columns.unit),
            )
            out = folder / f"{name}.csv"
            write_table(release.table, record.stage(out), neutralize_formulas=True)
            run.outputs[f"release_{name}"] = out
            record.add_output(out, rows=len(release.table), columns=list(release.table.columns))
            left = ledger.remaining("demo", policy.purpose)
            release.record_to(record, float(left.epsilon), by=by)
        predicted.append(f"{release.plan.predicted_value:.3f}")
    remaining = ledger.remaining("demo", policy.purpose)
    run.outputs["budget_ledger"] = ledger_path
    run.lines.append(
        f"releases: DP segment counts (lifecycle x 省份, value tier) at epsilon "
        f"{DEFAULT_EPSILON:g} each, predicted analytic value {' / '.join(predicted)}; "
        f"epsilon {float(remaining.epsilon):g} of {float(total.epsilon):g} left "
        "-> releases/, audits/budget.db"
    )


def _write_reports(run: DemoRun) -> None:
    """Run and privacy-budget reports (HTML and Markdown) beside the screening report."""
    from privseg._files import atomic_path
    from privseg.dp.ledger import Ledger
    from privseg.report import ReportFormat, render_budget, render_run

    trail, key = run.out_dir / "audits" / "trail.jsonl", run.out_dir / "keys" / "audit-signing.key"
    verification = audit.ensure_valid(trail, key=key)  # never report on an altered trail
    records = audit.read_records(trail)
    ledger = Ledger(run.out_dir / "audits" / "budget.db")
    folder = run.out_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in ReportFormat:
        for name, text in (
            ("run", render_run(records, verification, fmt, trail=str(trail))),
            ("budget", render_budget(ledger.statuses(), fmt, source=str(ledger.path))),
        ):
            with atomic_path(folder / f"{name}.{fmt.value}") as tmp:
                tmp.write_text(text, encoding="utf-8")
    run.outputs["run_report"] = folder / "run.html"
    run.outputs["budget_report"] = folder / "budget.html"
    run.lines.append(
        f"reports: screening, run (impact-assessment evidence, PIPL Art. 55-56) and privacy "
        f"budget, HTML and Markdown -> {folder}/{{screening,run,budget}}.{{html,md}}"
    )


def _verify_audit_trail(run: DemoRun) -> None:
    """Check the demo's audit trail (chain, signatures, checkpoint); IntegrityError if not."""
    trail, key = run.out_dir / "audits" / "trail.jsonl", run.out_dir / "keys" / "audit-signing.key"
    result = audit.ensure_valid(trail, key=key)
    run.outputs["audit_trail"] = trail
    run.lines.append(
        f"audit: trail verified, {result.records} records (hash chain, Ed25519 signatures, "
        f"checkpoint) -> audits/trail.jsonl; check it again with: privseg audit verify "
        f"--trail {trail} --audit-key {key}"
    )


#: The demo's stages, in order; later stages append themselves before the audit check.
DEMO_STEPS: tuple[DemoStep, ...] = (
    DemoStep("generate demo data", _generate_data),
    DemoStep("profile tables", _profile_tables),
    DemoStep("screen customers", _screen_customers),
    DemoStep("apply policy", _apply_policy),
    DemoStep("assign segments", _assign_segments),
    DemoStep("release segment counts", _release_segment_counts),
    DemoStep("write reports", _write_reports),
    DemoStep("verify audit trail", _verify_audit_trail),
)


def _start_afresh(folder: Path, *, force: bool) -> None:
    """Refuse a folder holding an earlier demo run, or with ``force`` remove that run."""
    earlier = [folder / name for name in DEMO_ENTRIES if (folder / name).exists()]
    if earlier and not force:
        raise InputError(
            "already holds a demo run (its trail, ledger and keys belong together); choose "
            "another --out or pass --force to delete that run and start afresh",
            source=folder,
        )
    for entry in earlier:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def run_demo(
    out_dir: str | Path = DEFAULT_DEMO_DIR,
    *,
    quiet: bool = False,
    customers: int = 20_000,
    seed: int = 0,
    force: bool = False,
) -> DemoSummary:
    """Generate demo data into ``<out_dir>/data/`` and run every step of ``DEMO_STEPS``.

    Each run starts afresh, so its trail, ledger and keys belong together: a folder that
    already holds a demo's entries (``DEMO_ENTRIES``) is refused (``InputError``), or with
    ``force`` those entries are deleted first. The first step creates the folders. A
    progress bar is drawn on an interactive terminal unless ``quiet``.

    >>> summary = privseg.run_demo("demo", quiet=True, customers=150)
    >>> summary.lines[-1].split(",")[0]
    'audit: trail verified'
    >>> privseg.run_demo("demo", quiet=True, customers=150)
    Traceback (most recent call last):
    privseg.errors.InputError: demo: already holds a demo run ...
    >>> _ = privseg.run_demo("demo", quiet=True, customers=150, force=True)  # a fresh run
    """
    folder = Path(out_dir)
    _start_afresh(folder, force=force)
    run = DemoRun(out_dir=folder, customers=customers, seed=seed)
    with steps(len(DEMO_STEPS), quiet=quiet) as bar:
        for step in DEMO_STEPS:
            bar.step(step.name)
            step.run(run)
            bar.done()
    return DemoSummary(
        out_dir=folder,
        data=dict(run.data),
        outputs=dict(run.outputs),
        lines=tuple(run.lines),
        steps=tuple(step.name for step in DEMO_STEPS),
    )
