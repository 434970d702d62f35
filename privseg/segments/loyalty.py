"""The loyalty scheme (fan, price sensitive, rational supporter) and the behaviour extras.

``loyalty``, first match, in this order (defaults from the WeChat/WeCom operators' playbooks):

- ``fan``: shared more than ``shares_over`` times (5) in the last ``days`` (90, a quarter) and
  answered the recommendation survey (``NPS评分``, 0-100) above ``nps_over`` (80);
- ``price_sensitive``: at least ``orders_at_least`` orders (2) in the last ``days`` (365), of
  which at least ``promotion_share_at_least`` (1.0: all) were promotion orders (``是否促销``);
  before the next rule, so a repeat buyer who only buys on promotion is price sensitive;
- ``rational_supporter``: ordered in at least ``ordering_months_at_least`` (3) of the last
  ``months`` (6) 30-day windows and had fewer than ``interactions_under`` interactions (3) in
  the last ``interaction_days`` (90): keeps repurchasing, rarely interacts;
- else ``fallback`` (``other``).

``behaviour``, the playbooks' behaviour extras, first match:

- ``frequent_consulter``: more than ``messages_over`` messages (8) in the last ``days`` (30);
- ``promotion_sensitive``: at least 2 orders in the last 365 days, at least half on promotion;
- else ``fallback`` (``other``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from privseg.segments.inputs import (
    Bools,
    Columns,
    Inputs,
    InteractionKind,
    Labels,
    Table,
    numbers,
)

__all__ = ["Behaviour", "Loyalty"]

_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_CONFIG)
class Fan:
    """More than ``shares_over`` shares in the last ``days`` and an NPS answer over ``nps_over``."""

    days: int = Field(default=90, gt=0)
    shares_over: float = Field(default=5, ge=0)
    nps_over: float = Field(default=80, ge=0)


@dataclass(frozen=True, config=_CONFIG)
class Promotions:
    """At least ``orders_at_least`` orders in the last ``days``, a promotion share reached."""

    days: int = Field(default=365, gt=0)
    orders_at_least: int = Field(default=2, ge=1)
    promotion_share_at_least: float = Field(default=1.0, gt=0, le=1)

    def rule(self) -> str:
        share = (
            "all"
            if self.promotion_share_at_least == 1
            else f"at least {self.promotion_share_at_least:.0%}"
        )
        return (
            f"at least {self.orders_at_least} orders in the last {self.days} days, "
            f"{share} on promotion"
        )

    def holds(self, inputs: Inputs) -> Bools:
        orders = inputs.orders
        total = orders.count(self.days)
        on_promotion = orders.count(self.days, inputs.promotions)
        # exact: compare counts, not a rounded share
        return (total >= self.orders_at_least) & (
            on_promotion >= self.promotion_share_at_least * total - 1e-9
        )


@dataclass(frozen=True, config=_CONFIG)
class Rational:
    """Orders in enough recent months and few interactions."""

    months: int = Field(default=6, gt=0)
    ordering_months_at_least: int = Field(default=3, ge=1)
    interaction_days: int = Field(default=90, gt=0)
    interactions_under: float = Field(default=3, gt=0)


@dataclass(frozen=True, config=_CONFIG)
class Loyalty:
    """fan, price_sensitive, rational_supporter (first match), else ``fallback``."""

    fan: Fan = Fan()
    price_sensitive: Promotions = Promotions()
    rational_supporter: Rational = Rational()
    fallback: str = "other"

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("fan", "price_sensitive", "rational_supporter", self.fallback)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        fan, rat = self.fan, self.rational_supporter
        return {
            "fan": f"shared more than {fan.shares_over:g} times in the last {fan.days} days "
            f"and NPS answer over {fan.nps_over:g}",
            "price_sensitive": self.price_sensitive.rule(),
            "rational_supporter": f"ordered in at least {rat.ordering_months_at_least} of the "
            f"last {rat.months} months, under {rat.interactions_under:g} interactions "
            f"in the last {rat.interaction_days} days",
            self.fallback: "none of the above",
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {
            Table.CUSTOMERS: (cols.nps,),
            Table.ORDERS: (cols.ordered_at, cols.promotion),
            Table.INTERACTIONS: (cols.occurred_at, cols.interaction_type),
        }

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        fan, rat = self.fan, self.rational_supporter
        shares = inputs.interaction_count(InteractionKind.SHARE, fan.days)
        nps = numbers(inputs.customer(inputs.columns.nps), "customers", missing=np.nan)
        with np.errstate(invalid="ignore"):
            is_fan = (shares > fan.shares_over) & (nps > fan.nps_over)
        rational = (inputs.orders.months_with(rat.months) >= rat.ordering_months_at_least) & (
            inputs.interaction_count(None, rat.interaction_days) < rat.interactions_under
        )
        conditions = [is_fan, self.price_sensitive.holds(inputs), rational]
        return np.select(conditions, list(self.labels()[:3]), self.fallback), {}


@dataclass(frozen=True, config=_CONFIG)
class Consulter:
    """More than ``messages_over`` messages in the last ``days``."""

    days: int = Field(default=30, gt=0)
    messages_over: float = Field(default=8, ge=0)


@dataclass(frozen=True, config=_CONFIG)
class Behaviour:
    """frequent_consulter, promotion_sensitive (first match), else ``fallback``."""

    frequent_consulter: Consulter = Consulter()
    promotion_sensitive: Promotions = Promotions(promotion_share_at_least=0.5)
    fallback: str = "other"

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("frequent_consulter", "promotion_sensitive", self.fallback)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        c = self.frequent_consulter
        return {
            "frequent_consulter": f"more than {c.messages_over:g} messages in the last {c.days} days",
            "promotion_sensitive": self.promotion_sensitive.rule(),
            self.fallback: "none of the above",
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {
            Table.ORDERS: (cols.ordered_at, cols.promotion),
            Table.INTERACTIONS: (cols.occurred_at, cols.interaction_type),
        }

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        c = self.frequent_consulter
        messages = inputs.interaction_count(InteractionKind.MESSAGE, c.days)
        conditions = [messages > c.messages_over, self.promotion_sensitive.holds(inputs)]
        return np.select(conditions, list(self.labels()[:2]), self.fallback), {}
