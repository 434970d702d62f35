"""Build privseg's Python API reference with pdoc: ``python docs/build_api.py [OUTDIR]``.

Documents every name in ``privseg.__all__`` with its signature and docstring (each holds an
example, which ``tests/test_api_docs.py`` runs) into ``OUTDIR/privseg.html`` (default
``api-docs/``). pdoc comes with the ``test`` extra: ``pip install 'privseg[test]'``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pdoc
import pdoc.render

import privseg


def build(out: Path) -> Path:
    """Write the reference into ``out``; returns the page of the ``privseg`` package."""
    for name in privseg.__all__:
        getattr(privseg, name)  # load the lazily exported names, so that pdoc sees them
    pdoc.render.configure(
        docformat="markdown", show_source=False, footer_text=f"privseg {privseg.__version__}"
    )
    pdoc.pdoc("privseg", output_directory=out)
    return out / "privseg.html"


if __name__ == "__main__":
    page = build(Path(sys.argv[1] if len(sys.argv) > 1 else "api-docs"))
    print(f"wrote {page}")
