"""A scheme file: its input columns, value spellings, kept dimensions, schemes and tag plan.

``policies/segments.yaml`` is the shipped default. pydantic validates the file (errors name
the file, line and field) and ``load_schemes`` returns frozen values. Every threshold is a
parameter, declared: never a quantile of the data, which would leak (``privseg.dp.quantiles``
offers DP quantiles to choose thresholds privately).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import ValidationError, model_validator

from privseg._resources import policies_dir
from privseg.errors import PolicyError, PrivsegWarning
from privseg.limits import MAX_POLICY_BYTES, parse_yaml, read_regular
from privseg.segments import commerce
from privseg.segments.inputs import (
    DEFAULT_VOCABULARY,
    Columns,
    ColumnsModel,
    Inputs,
    InteractionKind,
    Labels,
    Model,
    SchemeKind,
    Table,
    Vocabulary,
    VocabularyModel,
)
from privseg.segments.loyalty import Behaviour, Loyalty
from privseg.segments.profile import CityTier, Generation, LifeStage, Region
from privseg.segments.service import ServicePriority
from privseg.segments.social import Social
from privseg.segments.tags import WECHAT_TAG_LIMIT, TagConfig

__all__ = [
    "WECHAT_TAG_LIMIT",
    "Scheme",
    "Schemes",
    "default_schemes_path",
    "load_schemes",
    "parse_schemes",
]


class Scheme(Protocol):
    """What every scheme offers: its labels and their rules, its inputs, its assignment."""

    def labels(self) -> tuple[str, ...]: ...

    def rules(self) -> dict[str, str]: ...

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]: ...

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]: ...


class _SchemeBodies(Model):
    rfm: commerce._Rfm | None = None
    lifecycle: commerce._Lifecycle | None = None
    value_tier: commerce._ValueTier | None = None
    activity: commerce._Activity | None = None
    channel: commerce._Channel | None = None
    region: Region | None = None
    city_tier: CityTier | None = None
    generation: Generation | None = None
    life_stage: LifeStage | None = None
    social: Social | None = None
    service_priority: ServicePriority | None = None
    loyalty: Loyalty | None = None
    behaviour: Behaviour | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_bodies(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: ({} if value is None else value) for key, value in data.items()}
        return data


class _Schemes(Model):
    columns: ColumnsModel = ColumnsModel()
    values: VocabularyModel = VocabularyModel()
    dimensions: tuple[str, ...] = ()
    schemes: _SchemeBodies
    tags: TagConfig | None = None


_FREEZE: dict[SchemeKind, Any] = {
    SchemeKind.RFM: commerce.Rfm.of,
    SchemeKind.LIFECYCLE: commerce.Lifecycle.of,
    SchemeKind.VALUE_TIER: commerce.ValueTier.of,
    SchemeKind.ACTIVITY: commerce.Activity.of,
    SchemeKind.CHANNEL: commerce.Channel.of,
}


@dataclass(frozen=True)
class Schemes:
    """A scheme file: input columns, kept dimensions, and the schemes in file order.

    >>> schemes = privseg.load_schemes()
    >>> schemes.columns.unit, schemes.dimensions
    ('外部联系人ID', ('省份',))
    >>> schemes.labels()[privseg.SchemeKind.LIFECYCLE]  # the declared keys of a release
    ('introduction', 'decline', 'growth', 'mature', 'other')
    """

    columns: Columns
    dimensions: tuple[str, ...]
    schemes: tuple[tuple[SchemeKind, Scheme], ...]
    source: str = "<schemes>"
    vocabulary: Vocabulary = DEFAULT_VOCABULARY
    tags: TagConfig | None = field(default=None)

    def get(self, kind: SchemeKind) -> Scheme | None:
        """The scheme of ``kind``, if declared."""
        return dict(self.schemes).get(kind)

    def labels(self) -> dict[SchemeKind, tuple[str, ...]]:
        """Every label each scheme can yield (the declared keys of a release)."""
        return {kind: scheme.labels() for kind, scheme in self.schemes}

    def rules(self) -> dict[SchemeKind, dict[str, str]]:
        """Each scheme's labels with their rules in words."""
        return {kind: scheme.rules() for kind, scheme in self.schemes}

    def only(self, *kinds: SchemeKind) -> Schemes:
        """The same file with only ``kinds`` (in file order)."""
        return replace(self, schemes=tuple((k, s) for k, s in self.schemes if k in kinds))

    def needs(self) -> dict[Table, tuple[str, ...]]:
        """Per table, the columns the declared schemes and dimensions read (unit first)."""
        needed: dict[Table, list[str]] = {table: [self.columns.unit] for table in Table}
        needed[Table.CUSTOMERS] += self.dimensions
        for _, scheme in self.schemes:
            for table, names in scheme.needs(self.columns).items():
                needed[table] += names
        return {table: tuple(dict.fromkeys(names)) for table, names in needed.items()}


def default_schemes_path() -> Path:
    """The shipped ``policies/segments.yaml``."""
    return policies_dir() / "segments.yaml"


def load_schemes(path: str | Path | None = None) -> Schemes:
    """Read and validate a scheme file; ``PolicyError`` names the file, line and field.

    Without a path: the shipped ``policies/segments.yaml``.

    >>> [kind.value for kind, _ in privseg.load_schemes().schemes][:5]
    ['rfm', 'lifecycle', 'value_tier', 'activity', 'channel']
    """
    source = Path(path) if path is not None else default_schemes_path()
    raw = read_regular(source, MAX_POLICY_BYTES, "scheme file", PolicyError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("scheme file is not UTF-8", source=source) from None
    return parse_schemes(text, source=str(source))


def parse_schemes(text: str, *, source: str = "<schemes>") -> Schemes:
    """Validate scheme YAML text (see ``load_schemes``)."""
    node, raw = parse_yaml(text, source)
    if not isinstance(raw, dict):
        raise PolicyError(
            "a scheme file is a mapping with a 'schemes' section", source=source, line=1
        )
    try:
        model = _Schemes.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(first["loc"])
        name = ".".join(str(p) for p in loc) or "<root>"
        raise PolicyError(
            f"field {name!r}: {first['msg']}", source=source, line=_line_of(node, loc)
        ) from None
    declared = [SchemeKind(key) for key in raw.get("schemes") or {}]
    if not declared:
        raise PolicyError("declare at least one scheme under 'schemes'", source=source, line=1)
    schemes = tuple((kind, _freeze(kind, getattr(model.schemes, kind.value))) for kind in declared)
    values = model.values
    result = Schemes(
        columns=Columns(**model.columns.model_dump()),
        dimensions=tuple(model.dimensions),
        schemes=schemes,
        source=source,
        vocabulary=Vocabulary(
            kinds=tuple((k, tuple(getattr(values, k.value))) for k in InteractionKind),
            yes=tuple(values.yes_values),
        ),
        tags=model.tags,
    )
    _warn_tag_limit(result)
    return result


def _freeze(kind: SchemeKind, body: Any) -> Scheme:
    freeze = _FREEZE.get(kind)
    scheme: Scheme = body if freeze is None else freeze(body)  # newer schemes come frozen
    return scheme


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or its nearest ancestor)."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if str(k.value) == str(part)]
            if not match:
                break
            node = match[0]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            continue  # pydantic's union / model tags in loc
        line = node.start_mark.line + 1
    return line


def _warn_tag_limit(schemes: Schemes) -> None:
    for kind, labels in schemes.labels().items():
        if len(labels) > WECHAT_TAG_LIMIT:
            warnings.warn(
                f"{schemes.source}: scheme {kind.value!r} yields {len(labels)} labels, more than "
                f"the {WECHAT_TAG_LIMIT} tags a WeChat official account can hold",
                PrivsegWarning,
                stacklevel=3,
            )
