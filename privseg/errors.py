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
    """Root of every error privseg raises on purpose."""


class InputError(PrivsegError):
    """Bad input or usage; names the source and, where known, the line and column."""

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
    """The input file does not exist."""


class EmptyInputError(InputError):
    """The input has no bytes, no columns, or a header and no rows."""


class MalformedInputError(InputError):
    """Ragged rows, empty or duplicate column names, or a corrupt Parquet/XLSX file."""


class EncodingError(InputError):
    """The bytes do not decode in the detected or requested encoding."""


class UnsupportedFormatError(InputError):
    """A file extension or format privseg cannot read or write."""


class PolicyError(InputError):
    """A policy file that does not parse or validate; names file, line and field."""


class KeyFileError(InputError):
    """A key file that is missing, malformed, or readable by group or others."""


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
    """The policy does not justify processing a column (PIPL Art. 6, 28-29, 31)."""


class BudgetError(PrivsegError):
    """The privacy-budget ledger refuses a release."""


class BudgetExceededError(BudgetError):
    """A release would spend more privacy budget than remains."""


class MissingBudgetError(BudgetError):
    """No budget covers the release: its population has none, or cannot be tied to one."""


class IntegrityError(PrivsegError):
    """An audit trail, signature or checkpoint does not verify."""


class UnauthorizedSignerError(PrivsegError):
    """The audit signing key is not (or no longer) on the trail's list of authorized signers;
    nothing was tampered with: an authorized signer must add the key."""


class PrivsegWarning(UserWarning):
    """privseg's own warnings; the test suite turns them into errors."""
