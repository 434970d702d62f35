"""Re-identification risk: measure it on the quasi-identifiers, and generalize to meet it.

- :mod:`~privseg.anonymity.classes`: the group-by count every measure is built on;
- :mod:`~privseg.anonymity.measures`: k-anonymity, uniques, prosecutor risk, l-diversity;
- :mod:`~privseg.anonymity.population`: population uniqueness (Zayatz model);
- :mod:`~privseg.anonymity.lattice`: full-domain generalization search with a loss measure;
- :mod:`~privseg.anonymity.gate`: the policy's risk gate on apply's output;
- :mod:`~privseg.anonymity.quasi`: quasi-identifiers from a screening report.

Reports render in :mod:`privseg.report.risk`.
"""

from __future__ import annotations

from privseg.anonymity.classes import ClassCounts, count_classes
from privseg.anonymity.measures import DEFAULT_K, QuasiSource, RiskReport, measure, risk

__all__ = [
    "DEFAULT_K",
    "ClassCounts",
    "QuasiSource",
    "RiskReport",
    "count_classes",
    "measure",
    "risk",
]
