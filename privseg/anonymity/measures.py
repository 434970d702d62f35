"""Re-identification risk measures of a table on its quasi-identifiers.

From the equivalence classes (records sharing every quasi-identifier value) of a table:

- ``k_anonymity``: size of the smallest class; every record hides among at least k;
- ``classes``: number of classes;
- ``sample_uniques``: share of records alone in their class;
- ``records_below_k``: share of records in classes smaller than the threshold K (default 5);
- ``prosecutor_risk``: an attacker who knows a person is in the table and their
  quasi-identifiers picks one record of the class: success 1 / class size; ``max`` over
  records (1 / k) and ``mean`` over records (classes / rows);
- ``l_diversity``: per sensitive column, the fewest distinct values in any class;
- ``population_uniqueness``: the estimated people unique in the population (Zayatz model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privseg.anonymity.classes import ClassCounts, count_classes
from privseg.anonymity.population import PopulationUniqueness, zayatz
from privseg.errors import InputError

__all__ = ["DEFAULT_K", "QuasiSource", "RiskReport", "measure", "risk"]

#: Default threshold K of ``records_below_k``.
DEFAULT_K = 5


class QuasiSource(StrEnum):
    """Where the quasi-identifiers of a measurement came from."""

    OPTION = "option"
    POLICY = "policy"
    SCREENING = "screening"


@dataclass(frozen=True)
class RiskReport:
    """Re-identification risk of one table (see the module docstring for each figure).

    >>> table = pd.DataFrame({"性别": ["女", "女", "男", "男", "男"], "省份": ["上海市"] * 4 + ["北京市"]})
    >>> report = privseg.risk(table, ["性别", "省份"], k=2)
    >>> report.k_anonymity, report.classes, report.records_below_k  # one customer stands alone
    (1, 3, 0.2)
    >>> "k_anonymity" in report.to_dict()  # the JSON of ``privseg risk --format json``
    True
    """

    source: str
    rows: int
    quasi_identifiers: tuple[str, ...]
    quasi_source: QuasiSource
    k: int
    k_anonymity: int
    classes: int
    sample_uniques: float
    records_below_k: float
    prosecutor_max: float
    prosecutor_mean: float
    l_diversity: dict[str, int]
    population: PopulationUniqueness
    #: (class size, number of classes of that size), smallest size first
    class_size_histogram: tuple[tuple[int, int], ...] = field(default=())

    def meets(self, k: int, l_min: int | None = None) -> bool:
        """True if every class has at least ``k`` records (and ``l_min`` distinct values)."""
        diverse = l_min is None or all(v >= l_min for v in self.l_diversity.values())
        return self.k_anonymity >= k and diverse

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``privseg risk --format json``."""
        return {
            "source": self.source,
            "rows": self.rows,
            "quasi_identifiers": list(self.quasi_identifiers),
            "quasi_identifiers_from": self.quasi_source.value,
            "k": self.k,
            "k_anonymity": self.k_anonymity,
            "classes": self.classes,
            "sample_uniques": self.sample_uniques,
            "records_below_k": self.records_below_k,
            "prosecutor_risk": {"max": self.prosecutor_max, "mean": self.prosecutor_mean},
            "l_diversity": dict(self.l_diversity),
            "population_uniqueness": self.population.to_dict(),
            "class_sizes": [[size, n] for size, n in self.class_size_histogram],
        }


def measure(
    counts: ClassCounts,
    *,
    source: str,
    k: int = DEFAULT_K,
    population: int | None = None,
    quasi_source: QuasiSource = QuasiSource.OPTION,
) -> RiskReport:
    """The risk measures of counted classes."""
    if k < 1:
        raise InputError("k must be at least 1")
    sizes = counts.class_sizes()
    rows = int(sizes.sum())
    histogram_sizes, histogram_classes = np.unique(sizes, return_counts=True)
    smallest = int(sizes.min())
    return RiskReport(
        source=source,
        rows=rows,
        quasi_identifiers=counts.quasi,
        quasi_source=quasi_source,
        k=k,
        k_anonymity=smallest,
        classes=len(sizes),
        sample_uniques=float(sizes[sizes == 1].sum() / rows),
        records_below_k=float(sizes[sizes < k].sum() / rows),
        prosecutor_max=1.0 / smallest,
        prosecutor_mean=len(sizes) / rows,
        l_diversity=counts.l_diversity(),
        population=zayatz(sizes, population),
        class_size_histogram=tuple(
            (int(s), int(n)) for s, n in zip(histogram_sizes, histogram_classes, strict=True)
        ),
    )


def risk(
    table: pd.DataFrame | str | Path,
    quasi: Sequence[str],
    *,
    sensitive: Sequence[str] = (),
    k: int = DEFAULT_K,
    population: int | None = None,
    encoding: str | None = None,
) -> RiskReport:
    """Re-identification risk of ``table`` (a DataFrame, or a file streamed in chunks) on the
    quasi-identifiers ``quasi``; l-diversity for each ``sensitive`` column.

    ``population`` is the size of the population the table was drawn from, for the
    population-uniqueness estimate (default: the table is the whole population).

    >>> table = pd.DataFrame({"性别": ["女", "女", "男", "男"], "宗教信仰": ["佛教", "无", "无", "无"]})
    >>> report = privseg.risk(table, ["性别"], sensitive=["宗教信仰"], k=2)
    >>> report.k_anonymity, report.l_diversity  # every man shares one religion value
    (2, {'宗教信仰': 1})
    """
    if isinstance(table, pd.DataFrame):
        counts = count_classes([table], quasi, sensitive)
        source = "<DataFrame>"
    else:
        from privseg.io import iter_table

        columns = [*quasi, *sensitive]
        chunks = iter_table(table, encoding=encoding, columns=columns or None)
        counts = count_classes(chunks, quasi, sensitive)
        source = str(table)
    return measure(counts, source=source, k=k, population=population)
