"""Private temporary folders that do not outlive their run.

Every temporary file privseg writes (staged outputs, partitions of out-of-core runs) lives in
a folder named ``.privseg-tmp-<pid>-<random>``, mode 0700, created beside the output (or in
``$TMPDIR`` when there is no output folder) and removed when the run ends, on errors,
Ctrl-C, SIGTERM and SIGHUP too (``privseg.lifecycle``). A SIGKILL or a power cut cannot be
caught: the next run that creates a private folder in the same place removes the folders
whose process is gone and says so in a warning.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from privseg.errors import PrivsegWarning

__all__ = ["PREFIX", "make_private_dir", "private_dir", "sweep_stale"]

#: Name prefix of every private temporary folder.
PREFIX: Final = ".privseg-tmp-"
_NAME: Final = re.compile(re.escape(PREFIX) + r"(\d+)-[0-9a-f]+")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def sweep_stale(folder: Path) -> list[Path]:
    """Remove private folders in ``folder`` left by processes that no longer run; warn once
    with their number. Returns the folders removed."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            match = _NAME.fullmatch(entry.name)
            if match is None or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
                continue
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry)
    if removed:
        warnings.warn(
            f"removed {len(removed)} temporary folder(s) left in {folder} by killed privseg runs",
            PrivsegWarning,
            stacklevel=2,
        )
    return removed


def make_private_dir(near: Path | None = None) -> Path:
    """Create a private folder in ``near`` (default ``$TMPDIR``), after sweeping stale ones.
    The caller removes it (``shutil.rmtree``); prefer :func:`private_dir`."""
    folder = Path(near) if near is not None else Path(tempfile.gettempdir())
    sweep_stale(folder)
    # letters only: a run of random digits can look like a phone or card number to the audit
    token = "".join(secrets.choice("abcdef") for _ in range(16))
    path = folder / f"{PREFIX}{os.getpid()}-{token}"
    os.mkdir(path, 0o700)
    os.chmod(path, 0o700)  # whatever the umask
    return path


@contextlib.contextmanager
def private_dir(near: Path | None = None) -> Iterator[Path]:
    """A private folder (0700) in ``near`` (default ``$TMPDIR``), removed on any exit."""
    path = make_private_dir(near)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
