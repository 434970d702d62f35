"""The policy's risk gate on apply's output: measure, generalize along the ladders, suppress,
or refuse.

After ``apply`` wrote its output, :func:`gate_file` measures the output on the policy's
quasi-identifiers. If it misses the requirement, each quasi-identifier's ladder is evaluated
on the input values (streamed, one column at a time), the lattice is searched for the least
loss (:mod:`privseg.anonymity.lattice`), and the output is rewritten at the chosen levels
with the records of too small classes removed (at most ``max_suppression`` of them). If no
node meets the requirement the output is removed and :class:`PolicyRefusal` (exit 3) names
the columns and the best k reachable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privseg._files import file_sha256
from privseg.anonymity.classes import count_classes
from privseg.anonymity.lattice import Lattice, Node, Requirement, search
from privseg.anonymity.measures import QuasiSource, RiskReport, measure
from privseg.errors import PolicyRefusal, PrivsegError
from privseg.io import Fingerprint, iter_table, open_table_writer
from privseg.manifest import Manifest, manifest_path
from privseg.policy import FieldRule, Policy
from privseg.pseudonym import Pseudonymize
from privseg.publish import Staging
from privseg.transforms import (
    AgeBand,
    BirthDateAgeBand,
    BirthDateYear,
    Bucketize,
    GeneralizeAddress,
    Geohash,
    TruncateTime,
    Withhold,
)

__all__ = [
    "GateResult",
    "describe",
    "gate_file",
    "ladder_values",
    "summary",
    "update_manifest",
]

#: Stands for a missing value where values are matched as keys.
_NULL = "\uffff"  # a noncharacter: never in text


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as match keys: text, a missing value as ``_NULL`` (string columns, so that
    pandas keeps the character; object columns lose a NUL in ``fillna``)."""
    return _text(frame).astype("str").fillna(_NULL)


@dataclass(frozen=True)
class GateResult:
    """What the gate measured and did: risk before and after, levels chosen, suppression."""

    requirement: Requirement
    before: RiskReport
    after: RiskReport
    levels: dict[str, int]
    #: the chosen ladder step per generalized column, in words
    steps: dict[str, str]
    suppressed: int
    loss: float
    evaluated: int
    nodes: int

    def to_dict(self) -> dict[str, Any]:
        """The ``risk`` entry of the manifest and the run report."""
        return {
            "requirement": {
                "k": self.requirement.k,
                "l": self.requirement.l,
                "max_suppression": self.requirement.max_suppression,
            },
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "levels": dict(self.levels),
            "generalized": dict(self.steps),
            "suppressed": self.suppressed,
            "loss": self.loss,
            "lattice": {"nodes": self.nodes, "evaluated": self.evaluated},
        }


def describe(transform: object) -> str:
    """A ladder step in a few words, for manifests and reports."""
    match transform:
        case AgeBand(width=width) | BirthDateAgeBand(width=width):
            return f"age band {width}"
        case BirthDateYear():
            return "birth year"
        case GeneralizeAddress(level=level):
            return level.value
        case Geohash(precision=precision):
            return f"geohash {precision}"
        case TruncateTime(unit=unit):
            return unit.value
        case Bucketize(edges=edges):
            return f"{len(edges) + 1} buckets"
        case Withhold():
            return "withheld"
    return type(transform).__name__


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as the class counts see them: text, nulls kept."""
    return frame.astype("str").where(frame.notna(), None)


def _levels(raw: pd.Series, rule: FieldRule) -> pd.DataFrame:
    """``raw`` values at every level of ``rule``: column 0 the field's own action, column i
    ladder step i, each computed from the input value."""
    transform = rule.transform
    assert not isinstance(transform, Pseudonymize)  # the policy refuses pseudonymized ones
    base = raw if transform is None else transform.apply(raw, column=rule.column)
    levels = [base, *(step.apply(raw, column=rule.column) for step in rule.ladder)]
    return _text(pd.concat([lv.reset_index(drop=True) for lv in levels], axis=1, ignore_index=True))


def ladder_values(
    source: str | Path, rules: Sequence[FieldRule], *, encoding: str | None = None
) -> dict[str, pd.DataFrame]:
    """Per rule, the distinct values of its column at every level (see ``_levels``), from one
    pass over ``source`` that transforms only each chunk's distinct values."""
    if not rules:
        return {}
    parts: dict[str, list[pd.DataFrame]] = {rule.column: [] for rule in rules}
    columns = [rule.column for rule in rules]
    for chunk in iter_table(source, encoding=encoding, columns=columns):
        for rule in rules:
            distinct = chunk[rule.column].drop_duplicates().reset_index(drop=True)
            parts[rule.column].append(_levels(distinct, rule).drop_duplicates())
    return {
        column: pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
        for column, frames in parts.items()
    }


def _refusal(
    policy: Policy, quasi: Sequence[str], requirement: Requirement, top: Node, best_k: int
) -> PolicyRefusal:
    wanted = f"k >= {requirement.k}" + (f", l >= {requirement.l}" if requirement.l else "")
    return PolicyRefusal(
        f"policy {policy.path.name} (purpose {policy.purpose}): the output misses the risk "
        f"requirement {wanted} on {', '.join(quasi)} at every level of their ladders with at "
        f"most {requirement.max_suppression:.1%} of records suppressed; the best k reachable is "
        f"{best_k} (most general levels {list(top.levels)}); declare coarser ladders, allow more "
        "suppression or drop a quasi-identifier"
    )


def _rewrite(
    out: Path,
    lattice: Lattice,
    node: Node,
    requirement: Requirement,
    ladders: dict[str, pd.DataFrame],
) -> int:
    """Rewrite ``out`` at ``node``'s levels without its suppressed records; rows written."""
    counts = lattice.counts
    keys = [*counts.quasi, *counts.sensitive]
    bad = lattice.failing(node.levels, requirement)
    suppressed_keys = pd.MultiIndex.from_frame(
        _keyed(counts.counts.index[bad].to_frame(index=False))
    )
    mappings: dict[str, dict[str, str | None]] = {}
    for column, level in zip(counts.quasi, node.levels, strict=True):
        if level:
            table = ladders[column]
            mappings[column] = dict(
                zip(_keyed(table[[0]])[0], table[level].where(table[level].notna()), strict=True)
            )
    with open_table_writer(out) as writer:
        for chunk in iter_table(out):
            key_frame = _keyed(chunk[keys])
            drop = pd.MultiIndex.from_frame(key_frame).isin(suppressed_keys)
            kept = chunk.loc[~np.asarray(drop)].copy()
            for column, mapping in mappings.items():
                kept[column] = key_frame.loc[kept.index, column].map(mapping).astype("str")
            writer.write(kept)
        return writer.rows


def gate_file(
    source: str | Path,
    out: str | Path,
    policy: Policy,
    *,
    encoding: str | None = None,
    staged: Path | None = None,
) -> GateResult | None:
    """Apply ``policy``'s risk gate to ``out`` (apply's output of ``source``, still at
    ``staged`` when it is not yet published); None when the policy has no risk section or
    the output has none of its quasi-identifiers."""
    spec = policy.risk
    name = str(out)
    out = Path(staged) if staged is not None else Path(out)
    if spec is None:
        return None
    columns = set(next(iter_table(out, chunk_rows=1)).columns)
    quasi = [c for c in spec.quasi_identifiers if c in columns]
    sensitive = [c for c in spec.sensitive if c in columns]
    if not quasi:
        return None
    requirement = Requirement(spec.k, spec.l if sensitive else None, spec.max_suppression)
    counts = count_classes(iter_table(out, columns=[*quasi, *sensitive]), quasi, sensitive)
    before = measure(counts, source=name, k=spec.k, quasi_source=QuasiSource.POLICY)
    if before.meets(requirement.k, requirement.l):
        zero = dict.fromkeys(quasi, 0)
        return GateResult(requirement, before, before, zero, {}, 0, 0.0, 0, 0)
    ladders = ladder_values(
        source, [policy.fields[c] for c in quasi if policy.fields[c].ladder], encoding=encoding
    )
    lattice = Lattice(counts, ladders)
    result = search(lattice, requirement)
    if result.best is None:
        best_k = result.best_k_within_limit(_top_sizes(lattice), requirement.max_suppression)
        out.unlink(missing_ok=True)
        manifest_path(out).unlink(missing_ok=True)
        raise _refusal(policy, quasi, requirement, result.top, best_k)
    _rewrite(out, lattice, result.best, requirement, ladders)
    counts = count_classes(iter_table(out, columns=[*quasi, *sensitive]), quasi, sensitive)
    after = measure(counts, source=name, k=spec.k, quasi_source=QuasiSource.POLICY)
    if not after.meets(requirement.k, requirement.l):
        raise PrivsegError("the generalized output does not meet the risk requirement")
    return GateResult(
        requirement,
        before,
        after,
        dict(zip(quasi, result.best.levels, strict=True)),
        {
            column: describe(policy.fields[column].ladder[level - 1])
            for column, level in zip(quasi, result.best.levels, strict=True)
            if level
        },
        result.best.suppressed,
        result.best.loss,
        result.evaluated,
        result.nodes,
    )


def _top_sizes(lattice: Lattice) -> np.ndarray:
    """Class sizes at the most general node."""
    ids = lattice.classes(tuple(h - 1 for h in lattice.heights))
    return np.bincount(ids, weights=lattice.weights).astype(np.int64)


def update_manifest(manifest: Manifest, gate: GateResult, staging: Staging) -> Manifest:
    """The apply manifest with the gate's ``risk`` entry and the rewritten output's
    fingerprint, staged again beside the output in ``staging``."""
    output = staging.where(manifest.output_path)
    updated = replace(
        manifest,
        output=Fingerprint(file_sha256(output), gate.after.rows, manifest.output.columns),
        risk=gate.to_dict(),
    )
    updated.write(staging)
    return updated


def summary(risk: Mapping[str, Any]) -> str:
    """One line for people: k before and after, uniques, what was generalized."""
    before, after = risk["before"], risk["after"]
    steps = ", ".join(f"{column} to {step}" for column, step in risk["generalized"].items())
    return (
        f"risk on {', '.join(risk['levels'])}: k {before['k_anonymity']} -> "
        f"{after['k_anonymity']} (required {risk['requirement']['k']}), "
        f"{before['sample_uniques']:.1%} -> {after['sample_uniques']:.1%} alone in their class; "
        f"generalized {steps or 'nothing'}, {risk['suppressed']} records suppressed"
    )
