"""The YAML boundary of policies: pydantic models of ``policies/*.yaml`` (``extra="forbid"``),
their JSON schema, and reading a file into a validated model with errors that name the file,
line and field. ``privseg.policy`` freezes the model into a ``Policy``."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from privseg._yaml import load_yaml_model
from privseg.errors import PolicyError
from privseg.pseudonym import IdKind, Pseudonymize
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
    Withhold,
)

__all__ = [
    "LawfulBasis",
    "PolicyModel",
    "ladder_of",
    "policy_json_schema",
    "read_policy_model",
    "schema_text",
    "transform_of",
]


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


class _Step(_Model):
    """An action with its parameters: a field's action, or one step of its ladder."""

    note: str | None = None


class _KeepStep(_Step):
    action: Literal["keep"]


class _DropStep(_Step):
    action: Literal["drop"]


class _PseudonymizeStep(_Step):
    action: Literal["pseudonymize"]
    kind: IdKind
    reversible: bool = Field(False, description="Also keep an AES-SIV ciphertext column.")


class _GenAgeStep(_Step):
    action: Literal["generalize"]
    type: Literal["age"]
    width: int = Field(gt=0, le=100)


class _GenBirthDateStep(_Step):
    action: Literal["generalize"]
    type: Literal["birth_date"]
    to: Literal["year", "age_band"]
    width: int | None = Field(None, gt=0, le=100)
    reference_date: date | None = None

    @model_validator(mode="after")
    def _band_needs_width_and_date(self) -> _GenBirthDateStep:
        if self.to == "age_band" and (self.width is None or self.reference_date is None):
            raise ValueError("to: age_band needs width and reference_date")
        return self


class _GenAddressStep(_Step):
    action: Literal["generalize"]
    type: Literal["address"]
    to: AddressLevel


class _GenCoordinatesStep(_Step):
    action: Literal["generalize"]
    type: Literal["coordinates"]
    precision: int = Field(ge=1, le=12)


class _GenTimestampStep(_Step):
    action: Literal["generalize"]
    type: Literal["timestamp"]
    to: TimeUnit


class _MaskStep(_Step):
    action: Literal["mask"]
    kind: MaskKind


class _BucketizeStep(_Step):
    action: Literal["bucketize"]
    edges: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> _BucketizeStep:
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must be strictly increasing")
        return self


class _ClipStep(_Step):
    action: Literal["clip"]
    bounds: tuple[float, float]

    @model_validator(mode="after")
    def _ordered(self) -> _ClipStep:
        if self.bounds[0] > self.bounds[1]:
            raise ValueError("bounds must be [lower, upper] with lower <= upper")
        return self


_LadderStep = Annotated[
    Annotated[
        _GenAgeStep | _GenBirthDateStep | _GenAddressStep | _GenCoordinatesStep | _GenTimestampStep,
        Field(discriminator="type"),
    ]
    | _BucketizeStep
    | _DropStep,
    Field(discriminator="action"),
]


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
    ladder: list[_LadderStep] = Field(
        default_factory=list,
        description="Generalization ladder, finest first, each step computed from the input "
        "value (drop: the column is withheld): levels 1, 2, ... the risk gate may choose.",
    )


class _Keep(_FieldBase, _KeepStep):
    pass


class _Drop(_FieldBase, _DropStep):
    pass


class _Pseudonymize(_FieldBase, _PseudonymizeStep):
    pass


class _GenAge(_FieldBase, _GenAgeStep):
    pass


class _GenBirthDate(_FieldBase, _GenBirthDateStep):
    pass


class _GenAddress(_FieldBase, _GenAddressStep):
    pass


class _GenCoordinates(_FieldBase, _GenCoordinatesStep):
    pass


class _GenTimestamp(_FieldBase, _GenTimestampStep):
    pass


_Generalize = Annotated[
    _GenAge | _GenBirthDate | _GenAddress | _GenCoordinates | _GenTimestamp,
    Field(discriminator="type"),
]


class _Mask(_FieldBase, _MaskStep):
    pass


class _Bucketize(_FieldBase, _BucketizeStep):
    pass


class _Clip(_FieldBase, _ClipStep):
    pass


_FieldModel = Annotated[
    _Keep | _Drop | _Pseudonymize | _Generalize | _Mask | _Bucketize | _Clip,
    Field(discriminator="action"),
]


class _RiskModel(_Model):
    quasi_identifiers: list[str] = Field(
        min_length=1, description="Columns an attacker may know from elsewhere."
    )
    sensitive: list[str] = Field(
        default_factory=list, description="Columns whose values need l-diversity."
    )
    k: int = Field(ge=1, description="Every equivalence class holds at least k records.")
    l: int | None = Field(  # noqa: E741 (the measure's name)
        None, ge=1, description="Distinct sensitive values per class (l-diversity)."
    )
    max_suppression: float = Field(
        0.0, ge=0, le=1, description="Largest share of records apply may suppress."
    )

    @model_validator(mode="after")
    def _distinct(self) -> _RiskModel:
        names = [*self.quasi_identifiers, *self.sensitive]
        if len(set(names)) != len(names):
            raise ValueError("quasi_identifiers and sensitive must be distinct columns")
        if self.l is not None and not self.sensitive:
            raise ValueError("l needs sensitive columns")
        return self


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


class PolicyModel(_Model):
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
    recognizers: str | None = Field(
        default=None,
        min_length=1,
        description="YAML file of the user's own screening recognizers, relative to the policy.",
    )
    risk: _RiskModel | None = Field(
        None, description="Re-identification risk gate of apply's output (k, l, suppression)."
    )

    @model_validator(mode="after")
    def _unit_is_declared(self) -> PolicyModel:
        if self.unit not in self.fields:
            raise ValueError(f"unit {self.unit!r} must be declared under fields")
        return self

    @model_validator(mode="after")
    def _risk_columns_are_output(self) -> PolicyModel:
        for column, spec in self.fields.items():
            if spec.ladder and spec.action in ("drop", "pseudonymize"):
                raise ValueError(f"{column!r}: a {spec.action} field cannot have a ladder")
        if self.risk is not None:
            for column in (*self.risk.quasi_identifiers, *self.risk.sensitive):
                declared = self.fields.get(column)
                if declared is None or declared.action in ("drop", "pseudonymize"):
                    raise ValueError(
                        f"risk column {column!r} must be declared under fields with an action "
                        "that outputs its values (not drop or pseudonymize)"
                    )
        return self


def policy_json_schema() -> dict[str, Any]:
    """The JSON schema of policy files (shipped as ``policies/schema.json``)."""
    return PolicyModel.model_json_schema()


def transform_of(model: Any) -> Transform | Pseudonymize | None:
    """The transform a field model asks for (None: keep or drop)."""
    if isinstance(model, _PseudonymizeStep):
        return Pseudonymize(model.kind, model.reversible)
    if isinstance(model, _GenAgeStep):
        return AgeBand(model.width)
    if isinstance(model, _GenBirthDateStep):
        if model.to == "year":
            return BirthDateYear()
        assert model.width is not None and model.reference_date is not None
        return BirthDateAgeBand(model.width, model.reference_date)
    if isinstance(model, _GenAddressStep):
        return GeneralizeAddress(model.to)
    if isinstance(model, _GenCoordinatesStep):
        return Geohash(model.precision)
    if isinstance(model, _GenTimestampStep):
        return TruncateTime(model.to)
    if isinstance(model, _MaskStep):
        return Mask(model.kind)
    if isinstance(model, _BucketizeStep):
        return Bucketize(tuple(model.edges))
    if isinstance(model, _ClipStep):
        return Clip(*model.bounds)
    return None


def ladder_of(model: Any) -> tuple[Transform, ...]:
    """A field model's ladder steps as transforms (a drop step withholds the column)."""
    steps: list[Transform] = []
    for step in model.ladder:
        transform = Withhold() if isinstance(step, _DropStep) else transform_of(step)
        assert transform is not None and not isinstance(transform, Pseudonymize)
        steps.append(transform)
    return tuple(steps)


# ---------------------------------------------------------------------------- loading


def read_policy_model(path: str | Path) -> tuple[PolicyModel, str]:
    """Read and validate a policy file, with its sha256; PolicyError names the file, line and field."""
    model, raw = load_yaml_model(Path(path), PolicyModel, PolicyError, "policy")
    return model, hashlib.sha256(raw).hexdigest()


def schema_text() -> str:
    """The policy JSON schema as written to ``policies/schema.json``."""
    return json.dumps(policy_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
