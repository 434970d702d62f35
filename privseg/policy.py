"""Minimum-necessary policies: load ``policies/*.yaml``, plan column actions, enforce them.

A policy names a purpose and, per input column, the one action that purpose needs (PIPL
Art. 6). ``load_policy`` validates the YAML with pydantic (``extra="forbid"``) and returns a
frozen ``Policy``; errors name the file, line and field. ``plan`` checks a policy against a
screening report (deny by default; PIPL Art. 28-29 and 31 refusals) without touching data;
``enforce`` applies a plan to a table.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from privseg import __version__
from privseg.errors import InputError, PolicyError, PolicyRefusal, PrivsegError
from privseg.io import atomic_path, iter_table, open_table, open_table_writer
from privseg.pseudonym import (
    REVERSIBLE_SUFFIX,
    IdKind,
    Key,
    Pseudonymize,
    ReversibleCipher,
    Tokenizer,
)
from privseg.screening import ScreenReport, screen
from privseg.streaming import WriteBehind, file_sha256, prefetched
from privseg.taxonomy import Category, info, is_sensitive
from privseg.transforms import (
    AddressLevel,
    AgeBand,
    BirthDateAgeBand,
    BirthDateYear,
    Bucketize,
    Clip,
    GeneralizeAddress,
    Geohash,
    Mask,
    MaskKind,
    TimeUnit,
    Transform,
    TruncateTime,
)

__all__ = [
    "Action",
    "Budget",
    "ColumnPlan",
    "FieldRule",
    "LawfulBasis",
    "Plan",
    "Policy",
    "PolicyKeys",
    "ReleaseSpec",
    "apply_file",
    "enforce",
    "fingerprint_dict",
    "load_policy",
    "manifest_path",
    "output_columns",
    "plan",
    "policy_json_schema",
    "schema_text",
    "write_manifest",
]


class Action(StrEnum):
    """What a policy does with a column."""

    KEEP = "keep"
    DROP = "drop"
    PSEUDONYMIZE = "pseudonymize"
    GENERALIZE = "generalize"
    MASK = "mask"
    BUCKETIZE = "bucketize"
    CLIP = "clip"


#: Actions allowed on a PIPL Art. 28 sensitive column (with separate consent and necessity).
SENSITIVE_ACTIONS = frozenset({Action.PSEUDONYMIZE, Action.GENERALIZE, Action.DROP})


class LawfulBasis(StrEnum):
    """PIPL Art. 13 lawful bases."""

    CONSENT = "consent"
    CONTRACT = "contract"
    EMPLOYMENT = "employment"
    LEGAL_OBLIGATION = "legal_obligation"
    PUBLIC_HEALTH_OR_SAFETY = "public_health_or_safety"
    NEWS_OR_PUBLIC_INTEREST = "news_or_public_interest"
    PUBLISHED = "published"
    OTHER_LAW = "other_law"


# ---------------------------------------------------------------------------- YAML models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _FieldBase(_Model):
    separate_consent: bool = Field(
        False, description="Separate consent recorded for this column (PIPL Art. 29)."
    )
    necessity: str | None = Field(
        None, description="Why the purpose needs this sensitive column (PIPL Art. 28-29)."
    )
    guardian_consent: bool = Field(
        False, description="Guardian consent recorded for minors' data (PIPL Art. 31)."
    )
    note: str | None = None


class _Keep(_FieldBase):
    action: Literal["keep"]


class _Drop(_FieldBase):
    action: Literal["drop"]


class _Pseudonymize(_FieldBase):
    action: Literal["pseudonymize"]
    kind: IdKind
    reversible: bool = Field(False, description="Also keep an AES-SIV ciphertext column.")


class _GenAge(_FieldBase):
    action: Literal["generalize"]
    type: Literal["age"]
    width: int = Field(gt=0, le=100)


class _GenBirthDate(_FieldBase):
    action: Literal["generalize"]
    type: Literal["birth_date"]
    to: Literal["year", "age_band"]
    width: int | None = Field(None, gt=0, le=100)
    reference_date: date | None = None

    @model_validator(mode="after")
    def _band_needs_width_and_date(self) -> _GenBirthDate:
        if self.to == "age_band" and (self.width is None or self.reference_date is None):
            raise ValueError("to: age_band needs width and reference_date")
        return self


class _GenAddress(_FieldBase):
    action: Literal["generalize"]
    type: Literal["address"]
    to: AddressLevel


class _GenCoordinates(_FieldBase):
    action: Literal["generalize"]
    type: Literal["coordinates"]
    precision: int = Field(ge=1, le=12)


class _GenTimestamp(_FieldBase):
    action: Literal["generalize"]
    type: Literal["timestamp"]
    to: TimeUnit


_Generalize = Annotated[
    _GenAge | _GenBirthDate | _GenAddress | _GenCoordinates | _GenTimestamp,
    Field(discriminator="type"),
]


class _Mask(_FieldBase):
    action: Literal["mask"]
    kind: MaskKind


class _Bucketize(_FieldBase):
    action: Literal["bucketize"]
    edges: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> _Bucketize:
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must be strictly increasing")
        return self


class _Clip(_FieldBase):
    action: Literal["clip"]
    bounds: tuple[float, float]

    @model_validator(mode="after")
    def _ordered(self) -> _Clip:
        if self.bounds[0] > self.bounds[1]:
            raise ValueError("bounds must be [lower, upper] with lower <= upper")
        return self


_FieldModel = Annotated[
    _Keep | _Drop | _Pseudonymize | _Generalize | _Mask | _Bucketize | _Clip,
    Field(discriminator="action"),
]


class _BudgetModel(_Model):
    epsilon: float = Field(gt=0)
    delta: float = Field(0.0, ge=0, lt=1)


class _ReleaseModel(_Model):
    budget: _BudgetModel
    keys: dict[str, list[str]] = Field(
        default_factory=dict, description="Declared public segment keys per column."
    )
    bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Clipping bounds per column: [lower, upper]."
    )
    resolution: dict[str, float] = Field(
        default_factory=dict,
        description="Spacing of the candidate values of quantile releases per column.",
    )
    max_orders_per_customer: int | None = Field(
        None,
        gt=0,
        description="Ceiling of --max-rows-per-unit in releases under this policy.",
    )

    @model_validator(mode="after")
    def _check(self) -> _ReleaseModel:
        for column, (lo, hi) in self.bounds.items():
            if lo > hi:
                raise ValueError(f"bounds of {column!r} must be [lower, upper]")
        for column, values in self.keys.items():
            if not values or len(set(values)) != len(values):
                raise ValueError(f"keys of {column!r} must be a non-empty list without repeats")
        return self


class _PolicyModel(_Model):
    """A privseg policy: one purpose and the minimum fields it needs."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="privseg policy")

    purpose: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Purpose id.")
    description: str = Field(min_length=1)
    lawful_basis: LawfulBasis
    controller: str = Field(min_length=1)
    retention_days: int = Field(gt=0)
    unit: str = Field(min_length=1, description="Column identifying one customer.")
    fields: dict[str, _FieldModel] = Field(min_length=1)
    release: _ReleaseModel | None = None

    @model_validator(mode="after")
    def _unit_is_declared(self) -> _PolicyModel:
        if self.unit not in self.fields:
            raise ValueError(f"unit {self.unit!r} must be declared under fields")
        return self


def policy_json_schema() -> dict[str, Any]:
    """The JSON schema of policy files (shipped as ``policies/schema.json``)."""
    return _PolicyModel.model_json_schema()


# ---------------------------------------------------------------------------- frozen values


@dataclass(frozen=True)
class FieldRule:
    """The policy's rule for one column."""

    column: str
    action: Action
    transform: Transform | Pseudonymize | None
    separate_consent: bool
    necessity: str | None
    guardian_consent: bool


@dataclass(frozen=True)
class Budget:
    """Total privacy budget of the purpose."""

    epsilon: float
    delta: float


@dataclass(frozen=True)
class ReleaseSpec:
    """What releases under this policy may use: budget, public keys, clipping bounds."""

    budget: Budget
    keys: Mapping[str, tuple[str, ...]]
    bounds: Mapping[str, tuple[float, float]]
    max_orders_per_customer: int | None
    resolution: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """A validated policy."""

    path: Path
    sha256: str
    purpose: str
    description: str
    lawful_basis: LawfulBasis
    controller: str
    retention_days: int
    unit: str
    fields: Mapping[str, FieldRule]
    release: ReleaseSpec | None


def _transform(model: Any) -> Transform | Pseudonymize | None:
    if isinstance(model, _Pseudonymize):
        return Pseudonymize(model.kind, model.reversible)
    if isinstance(model, _GenAge):
        return AgeBand(model.width)
    if isinstance(model, _GenBirthDate):
        if model.to == "year":
            return BirthDateYear()
        assert model.width is not None and model.reference_date is not None
        return BirthDateAgeBand(model.width, model.reference_date)
    if isinstance(model, _GenAddress):
        return GeneralizeAddress(model.to)
    if isinstance(model, _GenCoordinates):
        return Geohash(model.precision)
    if isinstance(model, _GenTimestamp):
        return TruncateTime(model.to)
    if isinstance(model, _Mask):
        return Mask(model.kind)
    if isinstance(model, _Bucketize):
        return Bucketize(tuple(model.edges))
    if isinstance(model, _Clip):
        return Clip(*model.bounds)
    return None


def _freeze(model: _PolicyModel, path: Path, sha256: str) -> Policy:
    rules = {
        column: FieldRule(
            column=column,
            action=Action(spec.action),
            transform=_transform(spec),
            separate_consent=spec.separate_consent,
            necessity=spec.necessity,
            guardian_consent=spec.guardian_consent,
        )
        for column, spec in model.fields.items()
    }
    release = None
    if model.release is not None:
        r = model.release
        release = ReleaseSpec(
            budget=Budget(r.budget.epsilon, r.budget.delta),
            keys=MappingProxyType({k: tuple(v) for k, v in r.keys.items()}),
            bounds=MappingProxyType({k: (lo, hi) for k, (lo, hi) in r.bounds.items()}),
            max_orders_per_customer=r.max_orders_per_customer,
            resolution=MappingProxyType(dict(r.resolution)),
        )
    return Policy(
        path=path,
        sha256=sha256,
        purpose=model.purpose,
        description=model.description,
        lawful_basis=model.lawful_basis,
        controller=model.controller,
        retention_days=model.retention_days,
        unit=model.unit,
        fields=MappingProxyType(rules),
        release=release,
    )


# ---------------------------------------------------------------------------- loading


def _locate(node: yaml.Node | None, loc: tuple[int | str, ...]) -> tuple[int | None, str]:
    """1-based line of the deepest YAML node along a pydantic error location, and its path.

    Location parts that are not keys of the current mapping (union tags such as
    ``pseudonymize``) are skipped, so the path is the one written in the file.
    """
    path: list[str] = []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    node = value
                    path.append(str(part))
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            node = node.value[part]
            path.append(str(part))
    line = None if node is None else int(node.start_mark.line) + 1
    return line, ".".join(path) or "(top level)"


def _duplicate_key(node: yaml.Node | None) -> tuple[str, int] | None:
    """The first repeated mapping key (YAML silently keeps the last one), with its line."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                return str(key.value), int(key.start_mark.line) + 1
            seen.add(key.value)
            found = _duplicate_key(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _duplicate_key(item)
            if found:
                return found
    return None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; PolicyError names the file, line and field."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except FileNotFoundError as error:
        raise PolicyError("policy file not found", source=source) from error
    except OSError as error:
        raise PolicyError(f"cannot read policy ({type(error).__name__})", source=source) from error
    try:
        text = raw.decode("utf-8-sig")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except UnicodeDecodeError as error:
        raise PolicyError("policy is not UTF-8", source=source) from error
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise PolicyError(f"not valid YAML: {error.problem}", source=source, line=line) from error
    duplicate = _duplicate_key(node)
    if duplicate:
        raise PolicyError(f"key {duplicate[0]!r} appears twice", source=source, line=duplicate[1])
    if not isinstance(data, dict):
        raise PolicyError("a policy must be a YAML mapping", source=source, line=1)
    try:
        model = _PolicyModel.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        line, field = _locate(node, tuple(first["loc"]))
        more = f" (and {error.error_count() - 1} more errors)" if error.error_count() > 1 else ""
        raise PolicyError(
            f"field {field}: {first['msg']}{more}", source=source, line=line
        ) from None
    return _freeze(model, source, hashlib.sha256(raw).hexdigest())


# ---------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class ColumnPlan:
    """What happens to one input column, and why."""

    column: str
    action: Action
    declared: bool
    categories: tuple[Category, ...]
    rule: FieldRule | None

    @property
    def output_columns(self) -> tuple[str, ...]:
        """Columns this input column becomes in the output."""
        if self.action is Action.DROP:
            return ()
        rule = self.rule
        if (
            rule is not None
            and isinstance(rule.transform, Pseudonymize)
            and rule.transform.reversible
        ):
            return (self.column, self.column + REVERSIBLE_SUFFIX)
        return (self.column,)


@dataclass(frozen=True)
class Plan:
    """A policy checked against one table's screening: per-column actions, no data touched."""

    policy: Policy
    columns: tuple[ColumnPlan, ...]

    @property
    def dropped_undeclared(self) -> tuple[str, ...]:
        """Columns the policy does not name: dropped by default (PIPL Art. 6)."""
        return tuple(c.column for c in self.columns if not c.declared)

    @property
    def needs_reversible_key(self) -> bool:
        """True if a kept column is pseudonymized in reversible mode."""
        return any(len(c.output_columns) == 2 for c in self.columns)


def _refusals(column: str, rule: FieldRule, sensitive: list[Category]) -> list[str]:
    reasons: list[str] = []
    for category in sensitive:
        label = f"column {column!r}: category {category.value} ({info(category).article})"
        if rule.action not in SENSITIVE_ACTIONS:
            reasons.append(
                f"{label}: the policy declares it harmless ({rule.action.value}) but screening "
                "found sensitive personal information; only pseudonymize, generalize or drop "
                "are allowed (PIPL Art. 28)"
            )
            continue
        if rule.action is Action.DROP:
            continue
        if not rule.separate_consent or not (rule.necessity or "").strip():
            reasons.append(
                f"{label}: needs separate_consent: true and a non-empty necessity statement "
                "(PIPL Art. 29)"
            )
        if category is Category.MINOR and not rule.guardian_consent:
            reasons.append(f"{label}: minors' data needs guardian_consent: true (PIPL Art. 31)")
    return reasons


def plan(policy: Policy, screen_report: ScreenReport) -> Plan:
    """Check ``policy`` against a screening report; PolicyRefusal lists every refused column."""
    return _plan(
        policy, [(v.name, tuple(Category(c) for c in v.categories)) for v in screen_report.columns]
    )


def _unscreened_plan(policy: Policy, columns: Sequence[str]) -> Plan:
    """The plan's actions before screening: they follow from the policy and the header alone
    (screening adds categories and refusals, never changes an action)."""
    return _plan(policy, [(str(c), ()) for c in columns])


def _plan(policy: Policy, columns: Sequence[tuple[str, tuple[Category, ...]]]) -> Plan:
    steps: list[ColumnPlan] = []
    reasons: list[str] = []
    for name, categories in columns:
        rule = policy.fields.get(name)
        if rule is None:
            steps.append(ColumnPlan(name, Action.DROP, False, categories, None))
            continue
        sensitive = [c for c in categories if is_sensitive(c)]
        reasons.extend(_refusals(name, rule, sensitive))
        steps.append(ColumnPlan(name, rule.action, True, categories, rule))
    if reasons:
        raise PolicyRefusal(
            f"policy {policy.path.name} (purpose {policy.purpose}) refused: " + "; ".join(reasons)
        )
    return Plan(policy, tuple(steps))


# ---------------------------------------------------------------------------- enforce


@dataclass(frozen=True)
class PolicyKeys:
    """Keys ``enforce`` needs: the pseudonym master key and, for reversible columns, a second one."""

    master: Key
    reversible: Key | None = None


def enforce(
    plan: Plan, df: pd.DataFrame, keys: PolicyKeys, *, workers: int | None = None
) -> pd.DataFrame:
    """Apply a plan to a table (or a chunk of it); returns only the planned output columns.

    ``df`` needs only the columns the plan outputs (dropped ones may be absent);
    ``workers`` is the tokenizer's process count (default: up to two).
    """
    missing = [c for c in input_columns(plan) if c not in df.columns]
    if missing:
        raise InputError(f"table lacks planned columns {missing}")
    purpose = plan.policy.purpose
    tokenizer = Tokenizer(keys.master, purpose, workers=workers)
    cipher: ReversibleCipher | None = None
    if plan.needs_reversible_key:
        if keys.reversible is None:
            raise InputError("the policy asks for reversible pseudonyms: pass a reversible key")
        if keys.reversible.key_id == keys.master.key_id:
            raise InputError("the reversible key must differ from the pseudonym key")
        cipher = ReversibleCipher(keys.reversible, purpose)
    out: dict[str, pd.Series] = {}
    for step in plan.columns:
        if step.action is Action.DROP or step.rule is None:
            continue
        values = df[step.column]
        transform = step.rule.transform
        if transform is None:
            out[step.column] = values
        elif isinstance(transform, Pseudonymize):
            out[step.column] = tokenizer.tokenize(values, transform.kind)
            if transform.reversible:
                assert cipher is not None
                out[step.column + REVERSIBLE_SUFFIX] = cipher.encrypt(values, transform.kind)
        else:
            out[step.column] = transform.apply(values, column=step.column)
    return pd.DataFrame(out, index=df.index)


def input_columns(the_plan: Plan) -> list[str]:
    """The input columns ``enforce`` reads: those with an output."""
    return [step.column for step in the_plan.columns if step.output_columns]


_worker_job: tuple[Plan, PolicyKeys, pd.DataFrame] | None = None


def _start_worker(the_plan: Plan, keys: PolicyKeys, first: pd.DataFrame) -> None:
    global _worker_job
    _worker_job = (the_plan, keys, first)


def _enforce_in_worker(chunk: pd.DataFrame) -> pd.DataFrame:
    """``enforce`` in a pool worker: the pool already spreads chunks over the cores."""
    assert _worker_job is not None
    the_plan, keys, _ = _worker_job
    return enforce(the_plan, chunk, keys, workers=1)


def _screen_in_worker() -> ScreenReport:
    """The sampling screen of the first chunk (inherited at the fork) in a pool worker."""
    assert _worker_job is not None
    return screen(_worker_job[2])


def _worker_pool(
    the_plan: Plan, keys: PolicyKeys, first: pd.DataFrame
) -> ProcessPoolExecutor | None:
    """Forked worker processes that enforce ``the_plan`` (None where fork is unavailable).

    They are forked at once, before ``apply_file`` starts its own threads; the plan, keys and
    first chunk are inherited, never pickled.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    pool = ProcessPoolExecutor(
        _APPLY_WORKERS,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(the_plan, keys, first),
    )
    try:
        _worker_result(pool.submit(int))  # a fork pool starts all its workers on the first submit
    except BaseException:
        _kill_pool(pool)  # a worker stuck from the start would otherwise hang the exit
        raise
    return pool


_R = TypeVar("_R")
#: A chunk takes well under a second in a worker; one silent this long is stuck (e.g. it
#: inherited a lock held by another thread at fork time).
_WORKER_TIMEOUT_S = 600.0


def _worker_result(future: Future[_R]) -> _R:
    """A pool worker's result; a worker that died or hangs raises PrivsegError (the errors
    the work itself raises, such as InputError, pass through)."""
    try:
        return future.result(timeout=_WORKER_TIMEOUT_S)
    except BrokenProcessPool:
        raise PrivsegError(
            "an apply worker process died (killed by the system, e.g. out of memory?)"
        ) from None
    except TimeoutError:
        raise PrivsegError(
            f"an apply worker process gave no result in {_WORKER_TIMEOUT_S:.0f} s"
        ) from None


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers and shut it down without waiting (after a failure; workers
    write nothing). ``ProcessPoolExecutor.kill_workers`` only arrives in Python 3.14."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def manifest_path(out: str | Path) -> Path:
    """Where ``apply`` writes the manifest of ``out``: ``OUT.manifest.json``."""
    path = Path(out)
    return path.with_name(path.name + ".manifest.json")


#: Rows per chunk of a streamed ``apply``: a few chunks in flight stay far below 1.5 GB.
APPLY_CHUNK_ROWS = 100_000
#: Worker processes enforcing chunks of a streamed ``apply``, and chunks in flight per worker.
_APPLY_WORKERS = 2
_IN_FLIGHT_PER_WORKER = 2


def fingerprint_dict(path: Path, rows: int, columns: Sequence[str], sha256: str) -> dict[str, Any]:
    """``io.fingerprint`` of a file streamed once: rows and columns were counted on the way."""
    return {"path": str(path), "sha256": sha256, "rows": rows, "columns": list(columns)}


def _merge_reports(reports: Sequence[ScreenReport]) -> ScreenReport:
    """One report from full screens of consecutive chunks: a column has every category found."""
    first = reports[0]
    columns = []
    for i, verdict in enumerate(first.columns):
        found = [r.columns[i] for r in reports]
        categories = tuple(dict.fromkeys(c for v in found for c in v.categories))
        columns.append(
            replace(
                verdict,
                categories=categories,
                sensitive=any(v.sensitive for v in found),
                evidence=tuple(e for v in found for e in v.evidence),
                examined=sum(v.examined for v in found),
            )
        )
    return replace(
        first,
        rows=sum(r.rows for r in reports),
        rows_examined=sum(r.rows_examined for r in reports),
        columns=tuple(columns),
    )


def apply_file(
    source: str | Path,
    policy: Policy,
    keys: PolicyKeys,
    out: str | Path,
    *,
    full: bool = False,
    encoding: str | None = None,
    chunk_rows: int = APPLY_CHUNK_ROWS,
) -> dict[str, Any]:
    """Screen ``source``, plan ``policy`` against it, enforce, write ``out`` and its manifest.

    The table is streamed in chunks of ``chunk_rows`` rows (memory stays bounded whatever
    its size). Reading, enforcing (whole chunks in two worker processes, reading only the
    columns with an output) and writing overlap. The sampling screen of the first chunk runs
    in one of the workers while the stream starts: the actions follow from the policy and
    the header alone, and the output stays a temporary file until the screen has passed.
    ``full`` screens every chunk in a first pass instead. A refusal raises as soon as the
    screen is done and leaves no output. Returns the manifest: input fingerprint, policy
    sha256, per-column action and categories found, key ids (never keys), output fingerprint.
    """
    source, out = Path(source), Path(out)
    if str(source) == "-":
        raise InputError("apply needs a file (its fingerprint goes into the manifest), not stdin")
    first_pass = open_table(source, chunk_rows=chunk_rows, encoding=encoding).chunks
    first = next(first_pass)
    del first_pass  # the last reference: the reader closes
    the_plan: Plan | None = None
    if full:  # a refusal raises before any worker starts
        the_plan = plan(
            policy,
            _merge_reports(
                [
                    screen(c, full=True)
                    for c in iter_table(source, chunk_rows=chunk_rows, encoding=encoding)
                ]
            ),
        )
    provisional = _unscreened_plan(policy, first.columns)
    pool = _worker_pool(provisional, keys, first)
    screening: Future[ScreenReport] | None = None
    if the_plan is None:
        if pool is None:
            the_plan = plan(policy, screen(first))
        else:
            screening = pool.submit(_screen_in_worker)
    del first

    with ThreadPoolExecutor(1, thread_name_prefix="privseg-sha256") as hashing:
        input_sha = hashing.submit(file_sha256, source)
        # Second pass over the whole file, reading only the columns with an output.
        chunks = iter_table(
            source, chunk_rows=chunk_rows, encoding=encoding, columns=input_columns(provisional)
        )
        rows = 0
        pending: deque[Future[pd.DataFrame]] = deque()
        try:
            with open_table_writer(out) as writer, WriteBehind(writer.write) as behind:
                for chunk in prefetched(chunks):
                    if the_plan is None and screening is not None and screening.done():
                        the_plan = plan(policy, _worker_result(screening))  # a refusal raises now
                    rows += len(chunk)
                    if pool is None:
                        behind.submit(enforce(provisional, chunk, keys))
                        continue
                    pending.append(pool.submit(_enforce_in_worker, chunk))
                    if len(pending) >= _APPLY_WORKERS * _IN_FLIGHT_PER_WORKER:
                        behind.submit(_worker_result(pending.popleft()))
                while pending:
                    behind.submit(_worker_result(pending.popleft()))
                if the_plan is None:  # the output is committed only once screened
                    assert screening is not None
                    the_plan = plan(policy, _worker_result(screening))
        except BaseException:
            if pool is not None:  # a stuck worker would never finish: do not wait for it
                _kill_pool(pool)
                pool = None
            raise
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        input_fp = fingerprint_dict(
            source, rows, [s.column for s in the_plan.columns], input_sha.result()
        )
    output = fingerprint_dict(out, writer.rows, output_columns(the_plan), file_sha256(out))
    return write_manifest(the_plan, keys, input_fp, output)


def output_columns(the_plan: Plan) -> list[str]:
    """The output table's columns, in order."""
    return [c for step in the_plan.columns for c in step.output_columns]


def write_manifest(
    the_plan: Plan, keys: PolicyKeys, input_fp: dict[str, Any], output_fp: dict[str, Any]
) -> dict[str, Any]:
    """Write ``OUT.manifest.json`` of an apply run (any engine) and return it."""
    policy = the_plan.policy
    manifest = {
        "privseg_version": __version__,
        "command": "apply",
        "input": input_fp,
        "policy": {"path": str(policy.path), "purpose": policy.purpose, "sha256": policy.sha256},
        "key_id": keys.master.key_id,
        "reversible_key_id": keys.reversible.key_id if keys.reversible else None,
        "columns": [
            {
                "column": step.column,
                "action": step.action.value,
                "declared": step.declared,
                "categories": [c.value for c in step.categories],
                "output_columns": list(step.output_columns),
            }
            for step in the_plan.columns
        ],
        "dropped": [s.column for s in the_plan.columns if not s.output_columns],
        "dropped_undeclared": list(the_plan.dropped_undeclared),
        "output": output_fp,
    }
    with atomic_path(manifest_path(output_fp["path"])) as tmp:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def schema_text() -> str:
    """The policy JSON schema as written to ``policies/schema.json``."""
    return json.dumps(policy_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
