"""Errors raised by privseg.

One root, a shallow tree; the CLI maps each branch to an exit code in one place
(``privseg.cli._common.EXIT_CODES``)::

    PrivsegError                      exit 1  internal or unexpected failure
    ├── InputError                    exit 2  bad input or usage
    │   ├── SourceNotFoundError               the file does not exist
    │   ├── EmptyInputError                   no bytes, or a header and no rows
    │   ├── MalformedInputError               ragged rows, bad or duplicate headers, corrupt files
    │   ├── EncodingError                     bytes that do not decode
    │   ├── UnsupportedFormatError            an extension privseg cannot read or write
    │   ├── PolicyError                       a policy file that is not valid
    │   ├── KeyFileError                      a key file that is missing, malformed or unsafe
    │   ├── LimitError                        an input past a documented limit (size, columns)
    │   └── FileAccessError                   a path that cannot be read or written (OS error)
    ├── PolicyRefusal                 exit 3  the policy does not justify processing a column
    ├── BudgetError                   exit 4  the privacy budget refuses a release
    │   ├── BudgetExceededError               a release would overspend the budget
    │   └── MissingBudgetError                no budget covers the release's population
    ├── IntegrityError                exit 5  an audit trail or checkpoint does not verify
    └── UnauthorizedSignerError       exit 7  the audit key is not on the trail's signer list

    PrivsegWarning                           privseg's own warnings (errors under pytest)

Messages never contain raw cell values: they name files, lines, columns and categories.
The examples assume ``import privseg`` and ``import pandas as pd``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BudgetError",
    "BudgetExceededError",
    "EmptyInputError",
    "EncodingError",
    "FileAccessError",
    "InputError",
    "IntegrityError",
    "KeyFileError",
    "LimitError",
    "MalformedInputError",
    "MissingBudgetError",
    "PolicyError",
    "PolicyRefusal",
    "PrivsegError",
    "PrivsegWarning",
    "SourceNotFoundError",
    "UnauthorizedSignerError",
    "UnsupportedFormatError",
]


class PrivsegError(Exception):
    """Root of every error privseg raises on purpose.

    >>> try:
    ...     privseg.read_table("missing.csv")
    ... except privseg.PrivsegError as error:
    ...     print(type(error).__name__, error)
    SourceNotFoundError missing.csv: no such file: not found
    """


class InputError(PrivsegError):
    """Bad input or usage; names the source and, where known, the line and column.

    >>> str(privseg.InputError("ragged row", source="c.csv", line=3, column="手机号"))
    "c.csv:3: column '手机号': ragged row"
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.source = None if source is None else str(source)
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        col = f"column {self.column!r}: " if self.column is not None else ""
        return f"{where}{col}{self.message}"


class SourceNotFoundError(InputError):
    """The input file does not exist.

    >>> privseg.read_table("missing.csv")
    Traceback (most recent call last):
    privseg.errors.SourceNotFoundError: missing.csv: no such file: not found
    """


class EmptyInputError(InputError):
    """The input has no bytes, no columns, or a header and no rows.

    >>> open("empty.csv", "w").close()
    >>> privseg.read_table("empty.csv")
    Traceback (most recent call last):
    privseg.errors.EmptyInputError: empty.csv: the file is empty
    """


class MalformedInputError(InputError):
    r"""Ragged rows, empty or duplicate column names, or a corrupt Parquet/XLSX file.

    >>> with open("ragged.csv", "w", encoding="utf-8") as f:
    ...     _ = f.write("id,city\nwm1,上海\nwm2,北京,extra\n")
    >>> privseg.read_table("ragged.csv")
    Traceback (most recent call last):
    privseg.errors.MalformedInputError: ragged.csv:3: ragged row: expected 2 fields, found 3
    """


class EncodingError(InputError):
    r"""The bytes do not decode in the detected or requested encoding.

    >>> with open("latin.csv", "wb") as f:
    ...     _ = f.write(b"id\n\xff\xfe\n")
    >>> privseg.read_table("latin.csv", encoding="utf-8")
    Traceback (most recent call last):
    privseg.errors.EncodingError: latin.csv:2: bytes that do not decode as utf-8
    """


class UnsupportedFormatError(InputError):
    """A file extension or format privseg cannot read or write.

    >>> privseg.write_table(pd.DataFrame({"id": ["wm1"]}), "out.docx")
    Traceback (most recent call last):
    privseg.errors.UnsupportedFormatError: out.docx: unsupported file extension '.docx'; ...
    """


class PolicyError(InputError):
    """A policy file that does not parse or validate; names file, line and field.

    >>> privseg.load_policy("no-such-policy")
    Traceback (most recent call last):
    privseg.errors.PolicyError: no-such-policy: no such policy file: not found
    """


class KeyFileError(InputError):
    """A key file that is missing, malformed, or readable by group or others.

    >>> privseg.Key(b"too short")
    Traceback (most recent call last):
    privseg.errors.KeyFileError: a key must be 32 bytes (64 hex characters)
    """


class LimitError(InputError):
    """An input past a documented limit: file, cell or YAML expansion size, column count."""


class FileAccessError(InputError):
    """A path the OS refuses to read or write: permissions, a read-only or full file system,
    the input itself given as output."""

    @classmethod
    def of(cls, error: OSError) -> FileAccessError:
        """From an OSError: its path and reason, never data."""
        reason = error.strerror or type(error).__name__
        return cls(reason, source=error.filename)


class PolicyRefusal(PrivsegError):
    """The policy does not justify processing a column (PIPL Art. 6, 28-29, 31).

    The marketing policy keeps 城市 (city); here the column holds health conditions:

    >>> table = pd.DataFrame({"外部联系人ID": ["wm1", "wm2", "wm3"], "城市": ["糖尿病", "高血压", "抑郁症"]})
    >>> privseg.plan(privseg.load_policy("wecom-marketing"), privseg.screen(table))
    Traceback (most recent call last):
    privseg.errors.PolicyRefusal: policy wecom-marketing.yaml (purpose wecom-marketing) refused:
    column '城市': category medical_health (PIPL Art. 28): the policy declares it harmless (keep) ...
    """


class BudgetError(PrivsegError):
    """The privacy-budget ledger refuses a release.

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(1), purpose="wecom-marketing")
    >>> try:
    ...     ledger.spend("crm", privseg.PrivacyBudget(2), purpose="wecom-marketing", kind="counts")
    ... except privseg.BudgetError as error:
    ...     print(type(error).__name__)
    BudgetExceededError
    """


class BudgetExceededError(BudgetError):
    """A release would spend more privacy budget than remains.

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(1), purpose="wecom-marketing")
    >>> ledger.spend("crm", privseg.PrivacyBudget(2), purpose="wecom-marketing", kind="counts")
    Traceback (most recent call last):
    privseg.errors.BudgetExceededError: privacy budget exceeded for population 'crm', ...
    """


class MissingBudgetError(BudgetError):
    """No budget covers the release: its population has none, or cannot be tied to one.

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(1), purpose="wecom-marketing")
    >>> ledger.spend("other", privseg.PrivacyBudget(1), purpose="wecom-marketing", kind="counts")
    Traceback (most recent call last):
    privseg.errors.MissingBudgetError: no privacy budget for population 'other' in budget.db; ...
    """


class IntegrityError(PrivsegError):
    """An audit trail, signature or checkpoint does not verify.

    >>> from pathlib import Path
    >>> from privseg import audit
    >>> trail, key = Path("trail.jsonl"), Path("keys/audit.key")
    >>> with audit.run("screen", trail=trail, key=key):
    ...     pass
    >>> _ = trail.write_text(trail.read_text().replace('"screen"', '"apply"'))
    >>> audit.ensure_valid(trail, key=key)
    Traceback (most recent call last):
    privseg.errors.IntegrityError: TAMPERED: trail.jsonl: ...
    """


class UnauthorizedSignerError(PrivsegError):
    """The audit signing key is not (or no longer) on the trail's list of authorized signers;
    nothing was tampered with: an authorized signer must add the key."""


class PrivsegWarning(UserWarning):
    """privseg's own warnings; the test suite turns them into errors.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", privseg.PrivsegWarning)  # as the test suite does
    ...     schemes = privseg.load_schemes()
    """
