"""A WeChat tag plan: segment labels mapped onto at most 100 official-account tags.

The scheme file's ``tags`` section declares tag groups (one per scheme, optionally nested
under a ``parent`` group, with display ``names`` per label and labels to ``skip``) and
``combinations``: tags of their own for customers whose labels match every condition (e.g.
platinum or gold customers in decline). ``plan_tags`` checks the plan against the limit (a
WeChat official account holds at most 100 tags; a WeCom corp may set a lower one) and
against duplicate tag names (official-account tags are one flat list), and ``TagPlan.rows``
gives the CSV an operator applies in WeCom's admin console: ``tag_group``, ``tag``, ``rule``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass as std_dataclass
from typing import Annotated, Protocol

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from privseg.errors import InputError, PolicyError
from privseg.segments.inputs import SchemeKind

__all__ = ["WECHAT_TAG_LIMIT", "Tag", "TagConfig", "TagPlan", "plan_tags"]

#: A WeChat official account can hold at most 100 tags.
WECHAT_TAG_LIMIT = 100
#: Tag names longer than this are refused by WeChat.
TAG_NAME_LIMIT = 30
_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_CONFIG)
class TagGroup:
    """One scheme's labels as the tags of a group."""

    scheme: SchemeKind
    name: Annotated[str, Field(min_length=1)]
    parent: str | None = None
    names: dict[str, str] = Field(default_factory=dict)
    skip: tuple[str, ...] = ()


@dataclass(frozen=True, config=_CONFIG)
class Combination:
    """A tag of its own for customers whose labels are in ``when`` for every scheme named."""

    name: Annotated[str, Field(min_length=1)]
    group: Annotated[str, Field(min_length=1)]
    when: Annotated[dict[SchemeKind, tuple[str, ...]], Field(min_length=1)]


@dataclass(frozen=True, config=_CONFIG)
class TagConfig:
    """The ``tags`` section: groups, combinations and the limit to plan within."""

    groups: tuple[TagGroup, ...] = ()
    combinations: tuple[Combination, ...] = ()
    limit: int = Field(default=WECHAT_TAG_LIMIT, ge=1, le=WECHAT_TAG_LIMIT)


@std_dataclass(frozen=True)
class Tag:
    """One planned tag: its group path, name, rule, and how to match a label row."""

    group: str
    name: str
    rule: str
    when: tuple[tuple[SchemeKind, tuple[str, ...]], ...]


@std_dataclass(frozen=True)
class TagPlan:
    """The tags in plan order, and the limit they were checked against."""

    tags: tuple[Tag, ...]
    limit: int

    def rows(self) -> pd.DataFrame:
        """The operator's CSV: ``tag_group``, ``tag``, ``rule``."""
        return pd.DataFrame(
            {
                "tag_group": [t.group for t in self.tags],
                "tag": [t.name for t in self.tags],
                "rule": [t.rule for t in self.tags],
            },
            dtype="str",
        )

    def assign(self, labels: pd.DataFrame, unit: str) -> pd.DataFrame:
        """Per customer of a label table: the unit and its tags, ``;``-separated."""
        schemes = {kind for tag in self.tags for kind, _ in tag.when}
        for kind in schemes:
            if kind.value not in labels.columns:
                raise InputError("label column not found", source="labels", column=kind.value)
        if unit not in labels.columns:
            raise InputError("unit column not found", source="labels", column=unit)
        hits = []
        for tag in self.tags:
            match = np.ones(len(labels), dtype=bool)
            for kind, values in tag.when:
                match &= labels[kind.value].astype("str").isin(values).to_numpy()
            hits.append(np.where(match, tag.name, ""))
        joined = [";".join(t for t in row if t) for row in zip(*hits, strict=True)] if hits else []
        return pd.DataFrame(
            {unit: labels[unit].to_numpy(), "tags": joined or [""] * len(labels)}
        ).astype("str")


class _Planned(Protocol):
    """What a plan reads of a scheme file (``privseg.segments.Schemes``)."""

    @property
    def tags(self) -> TagConfig | None: ...

    @property
    def source(self) -> str: ...

    def labels(self) -> dict[SchemeKind, tuple[str, ...]]: ...

    def rules(self) -> dict[SchemeKind, dict[str, str]]: ...


def plan_tags(schemes: _Planned, *, limit: int | None = None) -> TagPlan:
    """The scheme file's tag plan, checked: ``PolicyError`` if over the limit or ambiguous.

    >>> plan = privseg.plan_tags(privseg.load_schemes())
    >>> len(plan.tags) <= plan.limit <= 100  # a WeChat official account has at most 100 tags
    True
    >>> plan.tags[0].group, plan.tags[0].name
    ('消费行为/生命周期', '引入期')
    """
    config = schemes.tags
    if config is None:
        raise PolicyError("the scheme file has no 'tags' section", source=schemes.source)
    limit = config.limit if limit is None else limit
    if not 1 <= limit <= WECHAT_TAG_LIMIT:
        raise PolicyError(f"a tag limit is between 1 and {WECHAT_TAG_LIMIT}", source=schemes.source)
    labels, rules = schemes.labels(), schemes.rules()
    tags: list[Tag] = []
    for group in config.groups:
        known = _known(labels, group.scheme, (*group.skip, *group.names), schemes.source)
        path = group.name if group.parent is None else f"{group.parent}/{group.name}"
        for label in known:
            if label not in group.skip:
                rule = f"{group.scheme.value} = {label}: {rules[group.scheme][label]}"
                name = group.names.get(label, label)
                tags.append(Tag(path, name, rule, ((group.scheme, (label,)),)))
    for combo in config.combinations:
        for kind, values in combo.when.items():
            _known(labels, kind, values, schemes.source)
        rule = " and ".join(
            f"{kind.value} in ({', '.join(values)})" for kind, values in combo.when.items()
        )
        tags.append(Tag(combo.group, combo.name, rule, tuple(combo.when.items())))
    _check(tags, limit, schemes.source)
    return TagPlan(tuple(tags), limit)


def _known(
    labels: Mapping[SchemeKind, tuple[str, ...]], kind: SchemeKind, named: tuple[str, ...], src: str
) -> tuple[str, ...]:
    """The labels of ``kind``, after checking that every label ``named`` is one of them."""
    if kind not in labels:
        raise PolicyError(f"the tag plan names scheme {kind.value!r}, not declared", source=src)
    unknown = [n for n in named if n not in labels[kind]]
    if unknown:
        raise PolicyError(
            f"the tag plan names {unknown[0]!r}, not a label of {kind.value!r}", source=src
        )
    return labels[kind]


def _check(tags: list[Tag], limit: int, source: str) -> None:
    if len(tags) > limit:
        raise PolicyError(
            f"the tag plan has {len(tags)} tags, more than the limit of {limit}: skip labels, "
            "drop groups or combinations",
            source=source,
        )
    seen: set[str] = set()
    for tag in tags:
        if len(tag.name) > TAG_NAME_LIMIT:
            raise PolicyError(
                f"tag {tag.name!r} is longer than {TAG_NAME_LIMIT} characters", source=source
            )
        if tag.name in seen:
            raise PolicyError(
                f"tag {tag.name!r} is planned twice (official-account tags are one flat list): "
                "rename it under the group's 'names'",
                source=source,
            )
        seen.add(tag.name)
