"""The service-need-priority scheme: urgent, important, routine, latent.

First match, in this order (defaults from the WeChat/WeCom operators' playbooks):

- ``urgent``: at least ``messages_at_least`` messages (2) with an urgent keyword (紧急, 立刻, ...)
  in the last ``days`` (7);
- ``important``: at least one message with a contract, payment or complaint keyword in the
  last 30 days;
- ``routine``: at least one message in the last 30 days;
- ``latent``: viewed a product page in the last 30 days without sending a message then;
- else ``fallback`` (``none``).

Message text is communication content, a sensitive item of the national catalogue: privseg
never reads it. The interactions table carries per-message keyword counts (``紧急词数``,
``重要词数``) derived when the messages were ingested, under the policy's consent gate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from privseg.segments.inputs import Columns, Inputs, InteractionKind, Labels, Table

__all__ = ["ServicePriority"]

_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_CONFIG)
class Messages:
    """At least ``messages_at_least`` (matching) messages in the last ``days``."""

    days: int = Field(gt=0)
    messages_at_least: int = Field(default=1, ge=1)


@dataclass(frozen=True, config=_CONFIG)
class Latent:
    """At least ``page_views_at_least`` product-page views and no message in the last ``days``."""

    days: int = Field(default=30, gt=0)
    page_views_at_least: int = Field(default=1, ge=1)


@dataclass(frozen=True, config=_CONFIG)
class ServicePriority:
    """urgent, important, routine, latent (first match), else ``fallback``."""

    urgent: Messages = Messages(days=7, messages_at_least=2)
    important: Messages = Messages(days=30, messages_at_least=1)
    routine: Messages = Messages(days=30, messages_at_least=1)
    latent: Latent = Latent()
    fallback: str = "none"

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("urgent", "important", "routine", "latent", self.fallback)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""

        def at_least(rule: Messages, what: str) -> str:
            return f"at least {rule.messages_at_least} {what} in the last {rule.days} days"

        return {
            "urgent": at_least(self.urgent, "messages with urgent keywords"),
            "important": at_least(
                self.important, "messages with contract/payment/complaint keywords"
            ),
            "routine": at_least(self.routine, "messages"),
            "latent": f"at least {self.latent.page_views_at_least} product-page views and no "
            f"message in the last {self.latent.days} days",
            self.fallback: "none of the above",
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {
            Table.INTERACTIONS: (
                cols.occurred_at,
                cols.interaction_type,
                cols.urgent_keywords,
                cols.important_keywords,
            )
        }

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        cols, message = inputs.columns, InteractionKind.MESSAGE

        def messages(rule: Messages, keyword_column: str | None = None) -> Any:
            where = None if keyword_column is None else inputs.keyword_messages(keyword_column)
            return inputs.interaction_count(message, rule.days, where) >= rule.messages_at_least

        latent = self.latent
        views = inputs.interaction_count(InteractionKind.PAGE_VIEW, latent.days)
        silent = inputs.interaction_count(message, latent.days) == 0
        conditions = [
            messages(self.urgent, cols.urgent_keywords),
            messages(self.important, cols.important_keywords),
            messages(self.routine),
            (views >= latent.page_views_at_least) & silent,
        ]
        return np.select(conditions, list(self.labels()[:4]), self.fallback), {}
