"""Table I/O: read and write CSV/TSV, Parquet, XLSX and JSONL; stream large files; write atomically.

CSV, TSV and JSONL cells are read as text exactly as written (pandas ``str`` dtype, empty
cells become missing); Parquet and XLSX keep their native types. CSV encodings UTF-8,
UTF-8 with BOM and GB18030 (a superset of GBK and GB2312) are detected from the first
64 KiB; bytes further on that do not decode still raise :class:`EncodingError` with a line.

CSV goes through pyarrow's multithreaded reader. When it fails, a slower diagnostic pass with
the standard library finds the line and reason, so error messages name a line and never
quote cell values.
"""

from __future__ import annotations

from privseg._files import atomic_path, make_parent
from privseg.io._read import TableStream, fingerprint, iter_table, open_table, read_table, sniff
from privseg.io._source import STDIO, Fingerprint, SourceInfo, TableFormat, table_format
from privseg.io._write import TableWriter, neutralize_formulas, open_table_writer, write_table

__all__ = [
    "STDIO",
    "Fingerprint",
    "SourceInfo",
    "TableFormat",
    "TableStream",
    "TableWriter",
    "atomic_path",
    "fingerprint",
    "iter_table",
    "make_parent",
    "neutralize_formulas",
    "open_table",
    "open_table_writer",
    "read_table",
    "sniff",
    "table_format",
    "write_table",
]
