"""Population uniqueness: how many people in the population are unique on the quasi-identifiers.

A table is often a sample of a larger population (the customers of one shop among a city's
residents), and a record alone in the sample need not be alone in the population. The Zayatz
model (Zayatz 1991, one of the models ARX offers) estimates it from the sample's class sizes:
take the share of sample classes of size i as the share of population classes of size i; the
chance that a class of size i in the population of N leaves exactly one record in a sample of
n is hypergeometric, P_i = i * C(N - i, n - 1) / C(N, n); so a sample unique is a population
unique with probability c_1 P_1 / sum_i c_i P_i (c_i: sample classes of size i), and the
population holds that many sample uniques divided by the sampling fraction n / N. When the
table is the whole population (N = n) the estimate is the number of sample uniques.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from privseg.errors import InputError

__all__ = ["PopulationModel", "PopulationUniqueness", "zayatz"]


class PopulationModel(StrEnum):
    """Population-uniqueness models privseg implements."""

    ZAYATZ = "zayatz"


@dataclass(frozen=True)
class PopulationUniqueness:
    """An estimate of the people unique in the population on the quasi-identifiers."""

    model: PopulationModel
    population: int
    sampling_fraction: float
    uniques: float
    share: float

    def to_dict(self) -> dict[str, object]:
        """JSON form: model, population, sampling_fraction, uniques, share."""
        return {
            "model": self.model.value,
            "population": self.population,
            "sampling_fraction": self.sampling_fraction,
            "uniques": self.uniques,
            "share": self.share,
        }


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _one_drawn(population: int, size: int, sample: int) -> float:
    """P(exactly one of a class of ``size`` in a sample of ``sample`` out of ``population``)."""
    if size > population - sample + 1:  # more than one is always drawn
        return 1.0 if size == 1 else 0.0
    return size * math.exp(
        _log_choose(population - size, sample - 1) - _log_choose(population, sample)
    )


def zayatz(class_sizes: np.ndarray, population: int | None = None) -> PopulationUniqueness:
    """Zayatz estimate of population uniques from the sample's class sizes.

    ``population`` is the size of the population the table was drawn from (default: the table
    is the population).
    """
    sample = int(class_sizes.sum())
    total = sample if population is None else int(population)
    if total < sample:
        raise InputError(f"population {total} is smaller than the table ({sample} records)")
    sizes, classes = np.unique(class_sizes, return_counts=True)
    uniques_in_sample = int(classes[sizes == 1].sum())
    if uniques_in_sample == 0:
        uniques = 0.0
    else:
        weights = np.array([_one_drawn(total, int(s), sample) for s in sizes]) * classes
        conditional = float(weights[sizes == 1].sum() / weights.sum())
        uniques = uniques_in_sample * conditional * total / sample
    return PopulationUniqueness(
        model=PopulationModel.ZAYATZ,
        population=total,
        sampling_fraction=sample / total,
        uniques=uniques,
        share=uniques / total,
    )
