"""Shared CLI plumbing: the exit-code map, error reporting and reusable options."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from privseg import audit
from privseg._files import atomic_path
from privseg.dp.ledger import LEDGER_ENV
from privseg.errors import (
    BudgetError,
    FileAccessError,
    InputError,
    IntegrityError,
    PolicyRefusal,
    PrivsegError,
    UnauthorizedSignerError,
)
from privseg.publish import guard_output

if TYPE_CHECKING:
    from privseg.audit import RunRecorder

if TYPE_CHECKING:
    from privseg.screening import ScreenReport

F = TypeVar("F", bound=Callable[..., Any])

#: The one place where errors become exit codes.
EXIT_CODES: tuple[tuple[type[PrivsegError], int], ...] = (
    (InputError, 2),
    (PolicyRefusal, 3),
    (BudgetError, 4),
    (IntegrityError, 5),
    (UnauthorizedSignerError, 7),
    (PrivsegError, 1),
)
EXIT_INTERNAL = 1


def exit_code_for(error: BaseException) -> int:
    """Exit code of an error: 2 input, 3 refusal, 4 budget, 5 integrity, 7 unauthorized audit
    key, 1 anything else."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_INTERNAL


#: ``privseg audit verify``: nothing wrong found, but the signer or completeness unconfirmed.
EXIT_UNCONFIRMED = 6
#: Exit code when the reader of standard output went away (as if killed by SIGPIPE).
EXIT_BROKEN_PIPE = 141


def fail(error: BaseException, *, debug: bool) -> NoReturn:
    """Print one line to stderr (a traceback with --debug) and exit with the mapped code.

    OS errors (a read-only or full file system, permissions) become FileAccessError (exit 2);
    a closed standard output (``privseg ... | head``) exits 141 like a shell pipeline would.
    """
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, BrokenPipeError):
        _silence_stdout()
        click.echo("privseg: standard output was closed by its reader", err=True)
        sys.exit(EXIT_BROKEN_PIPE)
    if isinstance(error, OSError):
        error = FileAccessError.of(error)
    if isinstance(error, PrivsegError):
        click.echo(f"privseg: error: {error}", err=True)
    else:
        # Foreign exception messages may quote data; name only the type.
        click.echo(
            f"privseg: internal error ({type(error).__name__}); rerun with --debug for details",
            err=True,
        )
    sys.exit(exit_code_for(error))


def _silence_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


class OutputFormat(StrEnum):
    """Report formats a command can print."""

    TEXT = "text"
    JSON = "json"
    MD = "md"
    HTML = "html"


def format_option(
    *choices: OutputFormat, default: OutputFormat = OutputFormat.TEXT
) -> Callable[[F], F]:
    """``--format`` limited to ``choices``."""
    allowed = choices or tuple(OutputFormat)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice([c.value for c in allowed]),
        default=default.value,
        show_default=True,
        help="Output format.",
    )


def quiet_option(f: F) -> F:
    """``--quiet``: no progress bars or chatter."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress bars or summaries.")(f)


def path_argument(name: str) -> Callable[[F], F]:
    """An input path argument; ``-`` means standard input. Existence is checked by privseg.io."""
    return click.argument(name, type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))


def encoding_option(f: F) -> F:
    """``--encoding`` to override CSV encoding detection."""
    return click.option(
        "--encoding",
        default=None,
        help="CSV text encoding (default: detect UTF-8, UTF-8 with BOM, GB18030).",
    )(f)


def report_out_option(f: F) -> F:
    """``--out FILE``: write the report there (atomically) instead of standard output."""
    return click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write the report to FILE (atomically) instead of standard output.",
    )(f)


def emit(
    text: str,
    out: Path | None,
    *,
    record: RunRecorder | None = None,
    inputs: Sequence[Path] = (),
) -> None:
    """Write ``text`` to ``out`` (saying so on stderr), or to standard output.

    In an audited run (``record``) the file is staged and published after the run's record;
    otherwise it is written atomically, and never over one of ``inputs``.
    """
    if out is None:
        click.echo(text, nl=False)
        return
    if record is not None:
        guard_output(out, [*inputs, *(ref.path for ref in record.inputs)])
        record.stage(out).write_text(text, encoding="utf-8")
        record.add_output(out)
    else:
        guard_output(out, inputs)
        with atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}", err=True)


def trail_option(f: F) -> F:
    """``--trail PATH`` (env ``PRIVSEG_TRAIL``; default ``audits/trail.jsonl`` here)."""
    return click.option(
        "--trail",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=audit.ENV_TRAIL,
        default=None,
        help="Audit trail (default: audits/trail.jsonl under the working folder).",
    )(f)


def operator_option(f: F) -> F:
    """``--operator NAME`` (env ``PRIVSEG_OPERATOR``; default the OS user)."""
    return click.option(
        "--operator",
        envvar=audit.ENV_OPERATOR,
        default=None,
        help="Who runs this, for the audit trail (default: the OS user).",
    )(f)


def ledger_option(f: F) -> F:
    """``--ledger PATH`` (env PRIVSEG_LEDGER; default audits/budget.db here)."""
    return click.option(
        "--ledger",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=LEDGER_ENV,
        default=None,
        help="Privacy-budget ledger (default: audits/budget.db under the working folder).",
    )(f)


def purpose_option(f: F) -> F:
    """``--purpose`` (default: the policy's, else the purpose the input was processed for)."""
    return click.option(
        "--purpose",
        default=None,
        help="Purpose charged (default: the policy's, else the one the input was "
        "pseudonymized for).",
    )(f)


def sample_options(f: F) -> F:
    """``--sample N`` and ``--full`` (they exclude each other)."""
    f = click.option(
        "--full",
        is_flag=True,
        help="Scan every value with vectorized detectors instead of a sample.",
    )(f)
    return click.option(
        "--sample",
        type=click.IntRange(min=1),
        default=None,
        help="Values examined per column (default 1000): the first half in file order, the "
        "rest drawn reproducibly (seeded by the column name).",
    )(f)


def recognizers_option(f: F) -> F:
    """``--recognizers FILE``: the user's own recognizers (YAML)."""
    return click.option(
        "--recognizers",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="YAML file of your own recognizers: value patterns, vocabulary and header words "
        "per category (see README, 'Your own recognizers').",
    )(f)


@contextmanager
def screened(
    command: str,
    input_path: Path,
    *,
    sample: int | None,
    full: bool,
    encoding: str | None,
    trail: Path | None,
    operator: str | None,
    recognizers: Path | None = None,
) -> Iterator[tuple[ScreenReport, audit.RunRecorder]]:
    """Screen ``input_path`` inside an audited run of ``command``; yields the report and the
    run's recorder (to add outputs)."""
    from privseg.screening import DEFAULT_SAMPLE, load_recognizers, screen

    if full and sample is not None:
        raise click.UsageError("--sample and --full exclude each other")
    custom = None if recognizers is None else load_recognizers(recognizers)
    with audit.run(command, trail=trail, operator=operator) as record:
        report = screen(
            input_path,
            sample=sample or DEFAULT_SAMPLE,
            full=full,
            encoding=encoding,
            recognizers=custom,
        )
        report.record_to(record, input_path)
        yield report, record
