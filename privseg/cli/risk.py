"""CLI command of the risk stage: ``privseg risk``."""

from __future__ import annotations

from pathlib import Path

import click

from privseg.cli._common import (
    OutputFormat,
    emit,
    encoding_option,
    format_option,
    operator_option,
    path_argument,
    report_out_option,
    trail_option,
)
from privseg.cli._engine import engine_option
from privseg.engines.engine import Engine

COMMANDS: list[click.Command] = []


def _names(text: str | None) -> list[str]:
    return [] if text is None else [n.strip() for n in text.split(",") if n.strip()]


@click.command("risk")
@path_argument("input_path")
@click.option("--quasi", default=None, help="Quasi-identifier columns, comma-separated.")
@click.option(
    "--sensitive", default=None, help="Sensitive columns for l-diversity, comma-separated."
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(min=1),
    default=None,
    help="Threshold of records_below_k (default: the policy's k with --policy, else 5).",
)
@click.option(
    "--population",
    type=click.IntRange(min=1),
    default=None,
    help="Size of the population the table was drawn from (default: the table is the "
    "population), for the population-uniqueness estimate.",
)
@click.option(
    "--policy",
    "policy_ref",
    default=None,
    help="Take the quasi-identifiers (and sensitive columns) from this policy's risk section.",
)
@format_option(*OutputFormat)
@report_out_option
@encoding_option
@engine_option
@trail_option
@operator_option
def risk_command(
    input_path: Path,
    quasi: str | None,
    sensitive: str | None,
    k: int | None,
    population: int | None,
    policy_ref: str | None,
    fmt: str,
    out: Path | None,
    encoding: str | None,
    engine: Engine,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Measure the re-identification risk of INPUT on its quasi-identifiers.

    k-anonymity, equivalence classes, sample uniques, records in classes smaller than K,
    prosecutor risk, l-diversity of sensitive columns and a population-uniqueness estimate
    (Zayatz model). Quasi-identifiers come from --quasi, else the policy's risk section,
    else screening (gender, age, birth date, address, event dates, plates, location); they
    are always listed in the output. Files are streamed (a group-by count), so any size
    works; --engine spark counts on PySpark.

    \b
    Examples:
      privseg risk p/customers.csv --quasi 性别,出生日期,省份,城市,注册时间
      privseg risk p/customers.csv --policy wecom-marketing --format html --out risk.html
      privseg risk customers.csv --format json          # quasi-identifiers from screening
    """
    from privseg import audit
    from privseg.anonymity import DEFAULT_K, QuasiSource, measure
    from privseg.engines.engine import class_counts_input
    from privseg.report.risk import render

    quasi_names, sensitive_names = _names(quasi), _names(sensitive)
    source = QuasiSource.OPTION
    with audit.run("risk", trail=trail, operator=operator) as record:
        if not quasi_names and policy_ref is not None:
            from privseg.policy import load_policy

            policy = load_policy(policy_ref)  # a path or a shipped policy's name
            record.purpose, record.policy_sha256 = policy.purpose, policy.sha256
            if policy.risk is None:
                raise click.UsageError(f"policy {policy_ref} has no risk section: pass --quasi")
            quasi_names = list(policy.risk.quasi_identifiers)
            k = k or policy.risk.k
            sensitive_names = sensitive_names or list(policy.risk.sensitive)
            source = QuasiSource.POLICY
        if not quasi_names:
            from privseg.anonymity.quasi import screened_quasi
            from privseg.screening import screen

            screening = screen(input_path, encoding=encoding)
            for verdict in screening.columns:
                record.add_column(verdict.name, verdict.categories, "screen")
            quasi_names, source = screened_quasi(screening), QuasiSource.SCREENING
        counts = class_counts_input(
            engine,
            input_path,
            quasi=quasi_names,
            sensitive=sensitive_names,
            record=record,
            encoding=encoding,
        )
        k = k or DEFAULT_K
        report = measure(
            counts, source=str(input_path), k=k, population=population, quasi_source=source
        )
        # an analysis, not processing: the columns read are the input's, named in the metrics
        if sensitive_names:
            record.set_metric("sensitive_columns", ",".join(sensitive_names))
        record.set_metric("quasi_identifiers", ",".join(quasi_names))
        record.set_metric("k", k)
        record.set_metric("k_anonymity", report.k_anonymity)
        record.set_metric("classes", report.classes)
        record.set_metric("sample_uniques", report.sample_uniques)
        record.set_metric("records_below_k", report.records_below_k)
        emit(render(report, fmt), out, record=record)


COMMANDS.append(risk_command)
