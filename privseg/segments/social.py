"""The social-relationship scheme: strong tie, potential influencer, isolated.

First match, in this order (defaults from the WeChat/WeCom operators' playbooks):

- ``strong_tie``: shared content more than ``shares_over`` times in the last ``days`` (3 in 30);
- ``potential_influencer``: more than ``friends_over`` WeChat friends (2,000), or a KOL in the
  customer's network (the ``网络中有KOL`` flag) when ``kol_in_network`` is on;
- ``isolated``: no group-chat message in the last ``days`` (90) and a one-way follow
  (``关注方式`` is one of ``one_way``);
- else ``fallback`` (``ordinary``).

Shares and group-chat messages are interactions whose type the scheme file's ``values`` names;
a missing friend count counts as none, a missing KOL flag as no.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from privseg.segments.inputs import (
    Columns,
    Inputs,
    InteractionKind,
    Labels,
    Table,
    flags,
    numbers,
)

__all__ = ["Social"]

_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_CONFIG)
class StrongTie:
    """More than ``shares_over`` shares in the last ``days``."""

    days: int = Field(default=30, gt=0)
    shares_over: float = Field(default=3, ge=0)


@dataclass(frozen=True, config=_CONFIG)
class Influencer:
    """More than ``friends_over`` friends, or (if ``kol_in_network``) a KOL in the network."""

    friends_over: float = Field(default=2000, ge=0)
    kol_in_network: bool = True


@dataclass(frozen=True, config=_CONFIG)
class Isolated:
    """No group-chat message in the last ``days`` and a follow direction in ``one_way``."""

    days: int = Field(default=90, gt=0)
    one_way: tuple[str, ...] = ("单向", "one_way")


@dataclass(frozen=True, config=_CONFIG)
class Social:
    """strong_tie, potential_influencer, isolated (first match), else ``fallback``."""

    strong_tie: StrongTie = StrongTie()
    potential_influencer: Influencer = Influencer()
    isolated: Isolated = Isolated()
    fallback: str = "ordinary"

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("strong_tie", "potential_influencer", "isolated", self.fallback)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        tie, inf, iso = self.strong_tie, self.potential_influencer, self.isolated
        kol = " or a KOL in their network" if inf.kol_in_network else ""
        return {
            "strong_tie": f"shared more than {tie.shares_over:g} times in the last {tie.days} days",
            "potential_influencer": f"more than {inf.friends_over:,g} friends{kol}",
            "isolated": f"no group-chat message in the last {iso.days} days and a one-way follow",
            self.fallback: "none of the above",
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        kol = (cols.kol_in_network,) if self.potential_influencer.kol_in_network else ()
        return {
            Table.CUSTOMERS: (cols.friends, *kol, cols.follow),
            Table.INTERACTIONS: (cols.occurred_at, cols.interaction_type),
        }

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        cols, inf = inputs.columns, self.potential_influencer
        shares = inputs.interaction_count(InteractionKind.SHARE, self.strong_tie.days)
        friends = numbers(inputs.customer(cols.friends), "customers", missing=0.0)
        influencer = friends > inf.friends_over
        if inf.kol_in_network:
            influencer |= flags(inputs.customer(cols.kol_in_network), inputs.vocabulary.yes)
        chats = inputs.interaction_count(InteractionKind.GROUP_CHAT, self.isolated.days)
        one_way = flags(inputs.customer(cols.follow), self.isolated.one_way)
        conditions = [shares > self.strong_tie.shares_over, influencer, (chats == 0) & one_way]
        return np.select(conditions, list(self.labels()[:3]), self.fallback), {}
