"""Minimum-necessary policies: load ``policies/*.yaml``, plan column actions, enforce them.

A policy names a purpose and, per input column, the one action that purpose needs (PIPL
Art. 6). ``load_policy`` validates the YAML with pydantic (``extra="forbid"``) and returns a
frozen ``Policy``; errors name the file, line and field. ``plan`` checks a policy against a
screening report (deny by default; PIPL Art. 28-29 and 31 refusals) without touching data;
``enforce`` applies a plan to a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from privseg._resources import policies_dir
from privseg.errors import InputError, PolicyRefusal
from privseg.policy_model import (
    LawfulBasis,
    PolicyModel,
    ladder_of,
    read_policy_model,
    transform_of,
)
from privseg.pseudonym import (
    REVERSIBLE_SUFFIX,
    Key,
    Pseudonymize,
    Tokenizer,
)
from privseg.reversible import ReversibleCipher
from privseg.screening import ScreenReport
from privseg.taxonomy import Category, info, is_sensitive
from privseg.transforms import (
    Transform,
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
    "RiskSpec",
    "enforce",
    "input_columns",
    "load_policy",
    "plan",
    "unscreened_plan",
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
    #: generalization levels 1, 2, ... (each computed from the input value)
    ladder: tuple[Transform, ...] = ()


@dataclass(frozen=True)
class RiskSpec:
    """The policy's re-identification requirement on apply's output."""

    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...]
    k: int
    l: int | None  # noqa: E741 (the measure's name)
    max_suppression: float


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
    """A validated policy (frozen); ``load_policy`` makes one from YAML.

    >>> policy = privseg.load_policy("wecom-marketing")
    >>> policy.purpose, policy.unit, policy.fields["手机号"].action.value
    ('wecom-marketing', '外部联系人ID', 'pseudonymize')
    >>> len(policy.sha256)
    64
    """

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
    recognizers: Path | None = None  # the user's screening recognizers (resolved path)
    risk: RiskSpec | None = None


def _freeze(model: PolicyModel, path: Path, sha256: str) -> Policy:
    rules = {
        column: FieldRule(
            column=column,
            action=Action(spec.action),
            transform=transform_of(spec),
            separate_consent=spec.separate_consent,
            necessity=spec.necessity,
            guardian_consent=spec.guardian_consent,
            ladder=ladder_of(spec),
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
        recognizers=None if model.recognizers is None else path.parent / model.recognizers,
        risk=None
        if model.risk is None
        else RiskSpec(
            quasi_identifiers=tuple(model.risk.quasi_identifiers),
            sensitive=tuple(model.risk.sensitive),
            k=model.risk.k,
            l=model.risk.l,
            max_suppression=model.risk.max_suppression,
        ),
    )


def shipped_policies() -> tuple[str, ...]:
    """Names of the policies privseg ships (``load_policy`` accepts them as well as paths)."""
    return tuple(sorted(p.stem for p in policies_dir().glob("*.yaml") if p.stem != "segments"))


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; PolicyError names the file, line and field.

    ``path`` is a YAML file, or the name of a shipped policy when no such file exists:

    >>> from privseg.policy import shipped_policies
    >>> shipped_policies()
    ('bi-dashboard', 'customer-service-quality', 'wecom-marketing', 'wecom-marketing-en')
    >>> privseg.load_policy("wecom-marketing-en").unit
    'external_userid'
    """
    source = Path(path)
    if not source.exists() and source.name == str(path) and str(path) in shipped_policies():
        source = policies_dir() / f"{path}.yaml"
    model, sha256 = read_policy_model(source)
    return _freeze(model, source, sha256)


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
    """A policy checked against one table's screening: per-column actions, no data touched.

    >>> table = pd.DataFrame({"外部联系人ID": ["wm1", "wm2"], "姓名": ["张三", "李四"], "会员等级": ["金", "银"]})
    >>> plan = privseg.plan(privseg.load_policy("wecom-marketing"), privseg.screen(table))
    >>> [(c.column, c.action.value) for c in plan.columns]
    [('外部联系人ID', 'pseudonymize'), ('姓名', 'drop'), ('会员等级', 'drop')]
    >>> plan.dropped_undeclared  # not named by the policy: dropped (PIPL Art. 6)
    ('会员等级',)
    >>> len(plan.missing_declared) > 20  # declared for the other demo tables
    True
    """

    policy: Policy
    columns: tuple[ColumnPlan, ...]

    @property
    def dropped_undeclared(self) -> tuple[str, ...]:
        """Columns the policy does not name: dropped by default (PIPL Art. 6)."""
        return tuple(c.column for c in self.columns if not c.declared)

    @property
    def missing_declared(self) -> tuple[str, ...]:
        """Columns the policy declares that this table lacks (normal when a policy spans
        several tables, as the shipped ones do)."""
        present = {c.column for c in self.columns}
        return tuple(name for name in self.policy.fields if name not in present)

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
    """Check ``policy`` against a screening report; PolicyRefusal lists every refused column.

    A table without the policy's unit column is not the table the policy was written for:
    InputError names the missing unit, the table's undeclared columns and the declared
    columns the table lacks.

    >>> english = pd.DataFrame({"external_userid": ["wm1"], "city": ["上海市"]})
    >>> privseg.plan(privseg.load_policy("wecom-marketing"), privseg.screen(english))
    Traceback (most recent call last):
    privseg.errors.InputError: <table>: policy wecom-marketing.yaml does not fit this table: ...
    >>> plan = privseg.plan(privseg.load_policy("wecom-marketing-en"), privseg.screen(english))
    >>> [(c.column, c.action.value) for c in plan.columns]
    [('external_userid', 'pseudonymize'), ('city', 'keep')]
    """
    return _plan(
        policy,
        [(v.name, tuple(Category(c) for c in v.categories)) for v in screen_report.columns],
        source=screen_report.source,
    )


def unscreened_plan(
    policy: Policy, columns: Sequence[str], *, source: str | Path | None = None
) -> Plan:
    """The plan's actions before screening: they follow from the policy and the header alone
    (screening adds categories and refusals, never changes an action)."""
    return _plan(policy, [(str(c), ()) for c in columns], source=source)


def _listed(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _check_unit(policy: Policy, names: Sequence[str], source: str | Path | None) -> None:
    """InputError explaining the mismatch when the table lacks the policy's unit column."""
    if policy.unit in names:
        return
    undeclared = [n for n in names if n not in policy.fields]
    missing = [n for n in policy.fields if n not in names]
    raise InputError(
        f"policy {policy.path.name} does not fit this table: its unit column "
        f"{policy.unit!r} (one customer) is missing; the table's {len(undeclared)} undeclared "
        f"columns ({_listed(undeclared)}) would be dropped, and the policy declares "
        f"{len(missing)} columns the table lacks ({_listed(missing)}). Use a policy written for "
        f"these headers (shipped: {', '.join(shipped_policies())}) or rename the columns",
        source=source,
    )


def _plan(
    policy: Policy,
    columns: Sequence[tuple[str, tuple[Category, ...]]],
    *,
    source: str | Path | None = None,
) -> Plan:
    _check_unit(policy, [name for name, _ in columns], source)
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
    """Keys ``enforce`` needs: the pseudonym master key and, for reversible columns, a second one.

    >>> privseg.PolicyKeys(privseg.Key(bytes(32)))  # key bytes are never shown
    PolicyKeys(master=Key(), reversible=None)
    """

    master: Key
    reversible: Key | None = None


def enforce(
    plan: Plan, df: pd.DataFrame, keys: PolicyKeys, *, workers: int | None = None
) -> pd.DataFrame:
    """Apply a plan to a table (or a chunk of it); returns only the planned output columns.

    ``df`` needs only the columns the plan outputs (dropped ones may be absent);
    ``workers`` is the tokenizer's process count (default: up to two).

    >>> table = pd.DataFrame({"外部联系人ID": ["wm1"], "手机号": ["+86 138-1234-5678"], "姓名": ["张三"]})
    >>> policy = privseg.load_policy("wecom-marketing")
    >>> keys = privseg.PolicyKeys(privseg.Key(bytes(32)))
    >>> out = privseg.enforce(privseg.plan(policy, privseg.screen(table)), table, keys)
    >>> list(out.columns), out["手机号"].str.len().tolist()
    (['外部联系人ID', '手机号'], [26])
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
            out[step.column] = tokenizer.tokenize(values, kind=transform.kind)
            if transform.reversible:
                assert cipher is not None
                out[step.column + REVERSIBLE_SUFFIX] = cipher.encrypt(
                    values, kind=transform.kind, column=step.column
                )
        else:
            out[step.column] = transform.apply(values, column=step.column)
    return pd.DataFrame(out, index=df.index)


def input_columns(the_plan: Plan) -> list[str]:
    """The input columns ``enforce`` reads: those with an output."""
    return [step.column for step in the_plan.columns if step.output_columns]
