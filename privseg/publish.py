"""Publishing outputs: staged privately, committed only after the run's audit record.

A command that writes derived data asks its :class:`Staging` (``RunRecorder.stage(dest)``
inside ``privseg.audit.run``) where to write each output. The files are written in a private
folder (``privseg.tempdirs``) beside their destination, so nothing is visible under the
output's name while the run can still fail. ``audit.run`` then refuses outputs that would
replace an input, fingerprints the staged files into the record, appends the record, and only
then calls :meth:`Staging.commit`, which renames every staged file over its destination. If
anything fails before, including the audit append (a full disk, a broken trail), the staged
files are discarded and nothing is published.

Without an audit trail (library use) the same object works alone::

    with Staging() as staging:
        write_table(df, staging.path(out))
        staging.commit()
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from privseg._files import fsync_dir, make_parent
from privseg.errors import FileAccessError, InputError
from privseg.tempdirs import make_private_dir

__all__ = ["Staging", "check_target", "guard_output", "staged"]


def check_target(dest: Path) -> None:
    """InputError unless ``dest`` can be replaced: a regular file or nothing, in a folder
    (created with its parents when missing)."""
    if dest.is_dir():
        raise InputError("is a directory", source=dest)
    if dest.exists() and not dest.is_file():
        raise InputError("is not a regular file: privseg replaces only regular files", source=dest)
    make_parent(dest)


def guard_output(dest: str | Path, inputs: Iterable[str | Path]) -> None:
    """FileAccessError (exit 2) if ``dest`` is one of ``inputs``: the same path once links are
    resolved, or the same file (device and inode) through a hard link. Inputs are never
    overwritten."""
    if str(dest) == "-":
        return
    target = Path(dest)
    for source in inputs:
        if str(source) == "-":
            continue
        same = os.path.realpath(target) == os.path.realpath(source)
        if not same and target.exists() and Path(source).exists():
            same = os.path.samefile(target, source)
        if same:
            raise FileAccessError(
                "is an input of this run; choose another output (inputs are never overwritten)",
                source=target,
            )


class Staging:
    """Outputs written privately, then published together (or discarded)."""

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}  # output folder -> private folder in it
        self._files: dict[Path, Path] = {}  # destination -> staged file

    def path(self, dest: str | Path) -> Path:
        """Where to write ``dest`` until it is committed (the same path for the same ``dest``)."""
        target = Path(dest).absolute()
        if target in self._files:
            return self._files[target]
        check_target(target)
        folder = target.parent
        if folder not in self._folders:
            self._folders[folder] = make_private_dir(folder)
        staged = self._folders[folder] / f"{len(self._files)}-{target.name}"
        self._files[target] = staged
        return staged

    def where(self, dest: str | Path) -> Path:
        """The file holding ``dest``'s bytes now: its staged copy, or ``dest`` itself."""
        return self._files.get(Path(dest).absolute(), Path(dest))

    @property
    def destinations(self) -> tuple[Path, ...]:
        """The staged outputs' destinations (absolute), in staging order."""
        return tuple(self._files)

    def check_inputs(self, inputs: Iterable[str | Path]) -> None:
        """:func:`guard_output` for every staged destination."""
        sources = list(inputs)
        for dest in self._files:
            guard_output(dest, sources)

    def commit(self) -> None:
        """Rename each staged file over its destination (each rename is atomic), then remove
        the private folders. A destination whose file was never written is an error."""
        for dest, staged in self._files.items():
            if not staged.is_file():
                raise InputError("the output was never written", source=dest)
            with staged.open("rb+") as handle:
                os.fsync(handle.fileno())
        for dest, staged in self._files.items():
            os.replace(staged, dest)
        for folder in self._folders:
            fsync_dir(folder)
        self._files.clear()
        self.discard()

    def discard(self) -> None:
        """Remove every staged file and private folder; nothing is published."""
        for private in self._folders.values():
            shutil.rmtree(private, ignore_errors=True)
        self._folders.clear()
        self._files.clear()

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


@contextmanager
def staged(staging: Staging | None) -> Iterator[Staging]:
    """``staging`` as given (its owner commits it), or a new one committed on success."""
    if staging is not None:
        yield staging
        return
    with Staging() as own:
        yield own
        own.commit()
