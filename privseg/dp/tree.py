"""DP decision trees: "rules + model" grouping released only as readable rules.

A tree of declared ``depth`` over declared features, each clipped to its declared bounds, is
grown level by level with pure epsilon-DP, for neighbours that add or remove one customer:

- **splits**: at each internal node, the exponential mechanism picks one (feature, threshold)
  among a data-independent candidate set (``thresholds`` evenly spaced points inside each
  feature's bounds), scoring a candidate by how many of the node's rows the majority classes
  of its two children get right. Adding one row raises every score by 0 or 1 (sensitivity 1,
  monotone), so sampling with weights ``exp(eps_level * score)`` is ``eps_level``-DP (McSherry
  and Talwar 2007). The nodes of a level hold disjoint rows (parallel composition): each level
  costs ``eps_level = split_share * epsilon / depth``.
- **leaves**: the class counts of every leaf get two-sided geometric noise (sensitivity 1; a
  row is in one leaf and one class) with the remaining ``(1 - split_share) * epsilon``; a
  leaf predicts its largest noisy count (ties: the first declared class).

The tree thus spends exactly ``epsilon``. diffprivlib's ``DecisionTreeClassifier`` falls short
here: its splits are drawn at random without looking at the data (a random tree), so at the
few levels a readable rule set allows it rarely separates the classes; the spend, bounds and
classes are the same declarations. Sibling leaves predicting the same class are merged
afterwards (post-processing), which keeps the rules short.

Released: the rules (conditions, prediction, noisy counts) and two figures computed from the
released counts only (post-processing): the estimated accuracy (largest noisy count over
noisy total, summed over leaves) and the predicted analytic value (``Tree.predicted_value``:
the accuracy relative to the best tree on the same candidates, from the exponential
mechanism's expected shortfall and the leaves' label fidelity). ``evaluate`` measures, on
held-out rows, the DP tree's accuracy over that of a non-private tree of the same depth
(scikit-learn's, exact thresholds), INTERNAL to the data controller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privseg.dp.charge import charge, guarantee, record_prediction, stamp
from privseg.dp.exact import exact_epsilon, exponential_choice
from privseg.dp.noise import geometric, geometric_var, seeded_bits
from privseg.dp.types import (
    PER_ROW,
    Account,
    Bounding,
    Mechanism,
    RandomState,
    Release,
    ReleaseKind,
    ReleasePlan,
)
from privseg.dp.validation import check_epsilon, measure_bounds, seeded
from privseg.errors import InputError

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_THRESHOLDS",
    "HOLDOUT_SHARE",
    "SPLIT_SHARE",
    "Rule",
    "Tree",
    "TreeRelease",
    "fit_tree",
    "release_tree",
]

DEFAULT_DEPTH = 3
MAX_DEPTH = 6
DEFAULT_THRESHOLDS = 32
#: Share of epsilon spent choosing splits (the rest measures the leaves).
SPLIT_SHARE = 0.5
#: Share of rows held out from training when evaluating.
HOLDOUT_SHARE = 0.2

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Rule:
    """One leaf as a rule: ``(feature, "<=" or ">", threshold)`` conditions, all must hold."""

    conditions: tuple[tuple[str, str, float], ...]
    prediction: str
    counts: tuple[tuple[str, int], ...]

    def text(self, target: str) -> str:
        """``if recency <= 30 and frequency > 4 then loyalty = fan (noisy counts: ...)``."""
        cond = " and ".join(f"{f} {op} {v:g}" for f, op, v in self.conditions) or "always"
        counts = ", ".join(f"{c} {n}" for c, n in self.counts)
        return f"if {cond} then {target} = {self.prediction} (noisy counts: {counts})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly rule."""
        return {
            "if": [{"feature": f, "op": op, "value": v} for f, op, v in self.conditions],
            "then": self.prediction,
            "noisy_counts": dict(self.counts),
        }


@dataclass(frozen=True, eq=False)
class Tree:
    """A full binary tree in heap order: ``splits[i]`` = (feature index, threshold) of internal
    node ``i`` (left: value <= threshold); ``counts[j]`` = noisy class counts of leaf ``j``."""

    features: tuple[str, ...]
    classes: tuple[str, ...]
    splits: tuple[tuple[int, float], ...]
    counts: Ints

    @property
    def depth(self) -> int:
        return int(math.log2(len(self.splits) + 1))

    def leaves_of(self, X: Floats) -> Ints:
        """The leaf each row falls in."""
        node = np.zeros(len(X), dtype=np.int64)
        for _ in range(self.depth):
            feature = np.array([f for f, _ in self.splits])[node]
            threshold = np.array([t for _, t in self.splits])[node]
            right = X[np.arange(len(X)), feature] > threshold
            node = 2 * node + 1 + right
        return node - len(self.splits)

    def predictions(self) -> Ints:
        """Each leaf's predicted class: its largest noisy count (ties: the first class); a
        leaf whose noisy counts are all zero takes the prediction of its nearest ancestor
        with counts (post-processing)."""
        out = np.empty(len(self.counts), dtype=np.int64)
        inner = len(self.splits)
        for leaf in range(len(self.counts)):
            node = inner + leaf
            counts = self.counts[leaf]
            while counts.sum() == 0 and node > 0:
                node = (node - 1) // 2
                counts = self.counts[self._leaves_under(node)].sum(axis=0)
            out[leaf] = int(np.argmax(counts))
        return out

    def predict(self, X: Floats) -> Ints:
        """The predicted class of each row."""
        return self.predictions()[self.leaves_of(X)]

    def rules(self) -> tuple[Rule, ...]:
        """The leaves as rules, siblings with the same prediction merged (post-processing)."""
        out: list[Rule] = []
        self._collect(0, (), out)
        return tuple(out)

    def _collect(
        self, node: int, path: tuple[tuple[int, bool, float], ...], out: list[Rule]
    ) -> None:
        leaves = self._leaves_under(node)
        labels = set(self.predictions()[leaves].tolist())
        if len(labels) == 1:  # a leaf, or leaves that all predict the same class
            counts = self.counts[leaves].sum(axis=0)
            out.append(
                Rule(
                    _simplify(path, self.features),
                    self.classes[labels.pop()],
                    tuple((c, int(n)) for c, n in zip(self.classes, counts, strict=True)),
                )
            )
            return
        feature, threshold = self.splits[node]
        self._collect(2 * node + 1, (*path, (feature, False, threshold)), out)
        self._collect(2 * node + 2, (*path, (feature, True, threshold)), out)

    def _leaves_under(self, node: int) -> Ints:
        first, last = node, node
        while first < len(self.splits):
            first, last = 2 * first + 1, 2 * last + 2
        return np.arange(first, last + 1) - len(self.splits)

    def estimated_accuracy(self) -> float:
        """Largest noisy count over noisy total, summed over leaves (from released counts)."""
        total = int(self.counts.sum())
        return float(self.counts.max(axis=1).sum() / total) if total > 0 else 0.0

    def label_fidelity(self, leaf_epsilon: float) -> float:
        """Chance, weighted by noisy leaf totals, that each leaf's released label is the label
        its exact counts give (normal approximation of the difference of two noises)."""
        ordered = np.sort(self.counts, axis=1)
        gap = (ordered[:, -1] - ordered[:, -2]).astype(np.float64)
        sd = math.sqrt(2 * geometric_var(leaf_epsilon, 1))
        agree = np.array([0.5 * (1 + math.erf(g / (sd * math.sqrt(2)))) for g in gap])
        weights = self.counts.sum(axis=1).astype(np.float64)
        if weights.sum() <= 0:
            return float(agree.mean())
        return float((agree * weights).sum() / weights.sum())

    def predicted_value(self, level_epsilon: float, leaf_epsilon: float, candidates: int) -> float:
        """Accuracy relative to the best tree on the same candidate thresholds, predicted from
        released quantities: the estimated accuracy against it plus the exponential
        mechanism's expected shortfall, ``(ln candidates + 1) / level_epsilon`` rows per
        internal node, times the leaves' label fidelity."""
        total = float(self.counts.sum())
        if total <= 0:
            return 0.0
        accuracy = self.estimated_accuracy()
        shortfall = len(self.splits) * (math.log(candidates) + 1) / level_epsilon / total
        return min(1.0, accuracy / min(1.0, accuracy + shortfall)) * self.label_fidelity(
            leaf_epsilon
        )

    def to_dict(self, target: str) -> dict[str, Any]:
        """JSON-friendly tree: the rules and the full split structure."""
        return {
            "target": target,
            "classes": list(self.classes),
            "features": list(self.features),
            "depth": self.depth,
            "splits": [
                {"node": i, "feature": self.features[f], "le": t}
                for i, (f, t) in enumerate(self.splits)
            ],
            "rules": [r.to_dict() for r in self.rules()],
        }


def _simplify(
    path: tuple[tuple[int, bool, float], ...], features: tuple[str, ...]
) -> tuple[tuple[str, str, float], ...]:
    """Keep the tightest bound per feature and side: ``x <= 30 and x <= 60`` -> ``x <= 30``."""
    upper: dict[int, float] = {}
    lower: dict[int, float] = {}
    for f, right, t in path:
        if right:
            lower[f] = max(lower.get(f, -math.inf), t)
        else:
            upper[f] = min(upper.get(f, math.inf), t)
    out: list[tuple[str, str, float]] = []
    for f in dict.fromkeys(f for f, _, _ in path):
        if f in lower:
            out.append((features[f], ">", lower[f]))
        if f in upper:
            out.append((features[f], "<=", upper[f]))
    return tuple(out)


def candidates(bounds: Sequence[tuple[float, float]], thresholds: int) -> Floats:
    """``thresholds`` evenly spaced interior points of each feature's bounds, shape (F, T),
    rounded to a tenth of their spacing so the rules read well (``177``, not ``176.9697``)."""
    steps = np.arange(1, thresholds + 1) / (thresholds + 1)
    rows = []
    for lo, hi in bounds:
        decimals = max(0, 1 - math.floor(math.log10((hi - lo) / (thresholds + 1))))
        rows.append(np.round(lo + (hi - lo) * steps, decimals))
    return np.array(rows, dtype=np.float64)


def exponential_pick(
    scores: Floats, epsilon: float, random_state: np.random.RandomState | None
) -> int:
    """Index drawn with probability proportional to ``exp(epsilon * score)`` among the finite
    scores (monotone integer scores of sensitivity 1: epsilon-DP), exactly
    (``exact.exponential_choice`` on the gaps to the best score, with twice epsilon since it
    halves it for scores that need not be monotone)."""
    feasible = np.flatnonzero(np.isfinite(scores))
    if not len(feasible):  # nothing left to split on: the first candidate
        return 0
    gaps = (scores[feasible].max() - scores[feasible]).astype(np.int64)
    pick = exponential_choice(gaps, 2 * exact_epsilon(epsilon), 1, seeded_bits(random_state))
    return int(feasible[pick])


def split_scores(X: Floats, y: Ints, node: Ints, nodes: int, classes: int, cuts: Floats) -> Floats:
    """Per node and candidate (feature-major): rows its children's majorities get right."""
    features, thresholds = cuts.shape
    out = np.empty((nodes, features * thresholds))
    for f in range(features):
        bins = np.searchsorted(cuts[f], X[:, f], side="left")  # x <= cuts[f][j] iff bin <= j
        hist = np.bincount(
            (node * (thresholds + 1) + bins) * classes + y,
            minlength=nodes * (thresholds + 1) * classes,
        ).reshape(nodes, thresholds + 1, classes)
        left = np.cumsum(hist, axis=1)[:, :thresholds, :]
        right = hist.sum(axis=1, keepdims=True) - left
        out[:, f * thresholds : (f + 1) * thresholds] = left.max(axis=2) + right.max(axis=2)
    return out


def fit_tree(
    X: Floats,
    y: Ints,
    *,
    features: Sequence[str],
    classes: Sequence[str],
    bounds: Sequence[tuple[float, float]],
    depth: int,
    epsilon: float,
    thresholds: int = DEFAULT_THRESHOLDS,
    split_share: float = SPLIT_SHARE,
    random_state: RandomState = None,
) -> Tree:
    """Grow the DP tree on rows ``X`` (already clipped to ``bounds``) with class codes ``y``."""
    check_epsilon(epsilon)
    if not 1 <= depth <= MAX_DEPTH:
        raise InputError(f"the tree depth must be between 1 and {MAX_DEPTH}, got {depth}")
    if thresholds < 1:
        raise InputError("at least one candidate threshold per feature is needed")
    if not 0 < split_share < 1:
        raise InputError("the split share of epsilon must be between 0 and 1")
    state = seeded(random_state)
    k = len(classes)
    cuts = candidates(bounds, thresholds)
    level_epsilon = split_share * epsilon / depth
    node = np.zeros(len(X), dtype=np.int64)
    # each node's box (public: the bounds and the splits above it); only candidates strictly
    # inside it can split the node, so no rule is a contradiction
    low = np.array([[lo for lo, _ in bounds]], dtype=np.float64)
    high = np.array([[hi for _, hi in bounds]], dtype=np.float64)
    splits: list[tuple[int, float]] = []
    for level in range(depth):
        scores = split_scores(X, y, node, 2**level, k, cuts)
        inside = (cuts[None, :, :] > low[:, :, None]) & (cuts[None, :, :] < high[:, :, None])
        scores[~inside.reshape(len(scores), -1)] = -np.inf
        chosen = [exponential_pick(row, level_epsilon, state) for row in scores]
        level_splits = [
            (c // thresholds, float(cuts[c // thresholds, c % thresholds])) for c in chosen
        ]
        splits += level_splits
        feature = np.array([f for f, _ in level_splits])
        threshold = np.array([t for _, t in level_splits])
        node = 2 * node + (X[np.arange(len(X)), feature[node]] > threshold[node])
        low, high = np.repeat(low, 2, axis=0), np.repeat(high, 2, axis=0)
        children = np.arange(2 ** (level + 1))
        parent_feature = feature[children // 2]
        right = children % 2 == 1
        high[children[~right], parent_feature[~right]] = threshold[children[~right] // 2]
        low[children[right], parent_feature[right]] = threshold[children[right] // 2]
    leaves = 2**depth
    exact = np.bincount(node * k + y, minlength=leaves * k)
    noisy = geometric(exact, (1 - split_share) * epsilon, 1, state).reshape(leaves, k)
    return Tree(tuple(features), tuple(classes), tuple(splits), np.clip(noisy, 0, None))


@dataclass(frozen=True)
class TreeRelease(Release):
    """A tree release: the rules table (``table``: one row per rule, its text in ``text``),
    the plan and spends, and the tree itself, whose JSON ``to_dict`` adds."""

    tree: Tree = field(kw_only=True)
    target: str = field(kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """The released JSON: the tree, its figures and the release metadata (no evaluation)."""
        return {
            **self.tree.to_dict(self.target),
            "estimated_accuracy": self.tree.estimated_accuracy(),
            "predicted_value": self.plan.predicted_value,
            "guarantee": guarantee(self.plan.epsilon, self.plan.bounding),
            "release": super().to_dict(),
        }

    def text(self) -> str:
        """The rules, one per line, then the guarantee."""
        lines = [rule.text(self.target) for rule in self.tree.rules()]
        lines.append(f"# {guarantee(self.plan.epsilon, self.plan.bounding)}")
        return "\n".join(lines) + "\n"


def _rows(
    df: pd.DataFrame,
    target: str,
    classes: Sequence[str],
    features: Sequence[str],
    box: Sequence[tuple[float, float]],
) -> tuple[Floats, Ints]:
    """Rows with a declared class and every feature numeric, features clipped to ``box``."""
    from privseg.dp.cells import numeric

    if target not in df.columns:
        raise InputError("no such column in the input", column=target)
    data = np.column_stack([numeric(df, f) for f in features])
    codes = pd.Index(list(classes)).get_indexer(df[target].astype("str"))
    keep = ~np.isnan(data).any(axis=1) & (codes >= 0)
    lo, hi = [b[0] for b in box], [b[1] for b in box]
    return np.clip(data[keep], lo, hi), np.asarray(codes[keep], dtype=np.int64)


def release_tree(
    df: pd.DataFrame,
    *,
    target: str,
    classes: Sequence[str],
    features: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    epsilon: float,
    account: Account | None,
    bounding: Bounding = PER_ROW,
    depth: int = DEFAULT_DEPTH,
    thresholds: int = DEFAULT_THRESHOLDS,
    evaluate: bool = False,
    random_state: RandomState = None,
) -> TreeRelease:
    """Train a DP tree predicting ``target`` (declared ``classes``) from declared ``features``
    and ``bounds``, charge ``epsilon`` to ``account``, and release only its rules.

    One row per customer (``bounding``); rows whose target is not a declared class or with a
    missing feature are left out (their number is not released). With ``evaluate`` the tree
    is trained on all but a random ``HOLDOUT_SHARE`` of the rows, and ``evaluation`` holds its
    held-out accuracy relative to a non-private tree of the same depth (INTERNAL).

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(3), purpose="wecom-marketing")
    >>> account = privseg.Account(ledger, "crm", "wecom-marketing")
    >>> labels = pd.DataFrame({"uid": [f"u{i}" for i in range(400)],
    ...                        "recency": [i % 365 for i in range(400)]})
    >>> labels["lifecycle"] = ["active" if r < 180 else "lapsed" for r in labels["recency"]]
    >>> tree = privseg.release_tree(
    ...     labels, target="lifecycle", classes=["active", "lapsed"], features=["recency"],
    ...     bounds={"recency": (0, 365)}, epsilon=1.0, account=account,
    ...     bounding=privseg.Bounding(unit="uid"), depth=1)
    >>> len(tree.table), list(tree.table.columns[:3])  # only the rules leave: one per leaf
    (2, ['rule', 'conditions', 'lifecycle'])
    >>> ledger.remaining("crm", "wecom-marketing").epsilon
    Fraction(2, 1)
    """
    from privseg.dp.cells import bound_rows

    state = seeded(random_state)
    check_epsilon(epsilon)
    if not features:
        raise InputError("at least one feature is needed")
    if len(set(features)) != len(features):
        raise InputError("--features lists a feature twice")
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise InputError("declare at least two distinct classes of the target", column=target)
    if target in features:
        raise InputError("the target cannot be a feature", column=target)
    if bounding.max_rows_per_unit != 1:
        raise InputError("a tree takes one row per customer (max rows per unit 1)")
    box = [measure_bounds(f, bounds) for f in features]
    X, y = _rows(bound_rows(df, bounding), target, classes, features, box)
    train = np.ones(len(X), dtype=bool)
    if evaluate:
        train = _training_rows(len(X), state)
    plan = ReleasePlan(
        kind=ReleaseKind.TREE,
        mechanism=Mechanism.DP_TREE,
        epsilon=epsilon,
        split=(
            *((f"split level {i + 1}", SPLIT_SHARE * epsilon / depth) for i in range(depth)),
            ("leaf counts", (1 - SPLIT_SHARE) * epsilon),
        ),
        sensitivity=1,
        noise_scale=1 / ((1 - SPLIT_SHARE) * epsilon),
        expected_abs_error=float("nan"),
        ci95_half_width=float("nan"),
        bounding=bounding,
        notes=(
            "features clipped to their declared bounds; rows with a missing feature or an "
            "undeclared class left out",
            "predicted value: accuracy relative to the best tree on the same candidate "
            "thresholds, from the released counts and the mechanisms' expected error "
            "(post-processing)",
        ),
    )
    spends = charge(account, epsilon, ReleaseKind.TREE)
    tree = fit_tree(
        X[train],
        y[train],
        features=features,
        classes=classes,
        bounds=box,
        depth=depth,
        epsilon=epsilon,
        thresholds=thresholds,
        random_state=state,
    )
    predicted = tree.predicted_value(
        SPLIT_SHARE * epsilon / depth, (1 - SPLIT_SHARE) * epsilon, len(features) * thresholds
    )
    plan = replace(plan, predicted_value=predicted)
    record_prediction(account, spends, plan.predicted_value)
    table = _rules_table(tree, target)
    stamp(table, plan, postprocessing="counts clamped to >= 0; same-label siblings merged")
    evaluation = _evaluate(tree, X, y, train, depth) if evaluate else None
    return TreeRelease(plan, table, spends, None, evaluation, tree=tree, target=target)


def _rules_table(tree: Tree, target: str) -> pd.DataFrame:
    rules = tree.rules()
    table = pd.DataFrame(
        {
            "rule": np.arange(1, len(rules) + 1),
            "conditions": [
                " and ".join(f"{f} {op} {v:g}" for f, op, v in r.conditions) or "always"
                for r in rules
            ],
            target: [r.prediction for r in rules],
        }
    )
    for i, label in enumerate(tree.classes):
        table[f"count_{label}"] = [r.counts[i][1] for r in rules]
    table["text"] = [r.text(target) for r in rules]
    return table


def _training_rows(n: int, state: np.random.RandomState | None) -> npt.NDArray[np.bool_]:
    """A random ``1 - HOLDOUT_SHARE`` of ``n`` rows (secure unless seeded)."""
    if state is None:
        bits = seeded_bits(None)
        order = np.argsort([bits.randbelow(1 << 64) for _ in range(n)], kind="stable")
    else:
        order = state.permutation(n)
    train = np.ones(n, dtype=bool)
    train[order[: round(HOLDOUT_SHARE * n)]] = False
    return train


def _evaluate(
    tree: Tree, X: Floats, y: Ints, train: npt.NDArray[np.bool_], depth: int
) -> dict[str, float]:
    """Held-out accuracy of the DP tree, of a non-private tree of the same depth, their ratio."""
    from sklearn.tree import DecisionTreeClassifier

    test = ~train
    if not test.any() or not train.any():
        raise InputError("too few rows to hold some out for the evaluation")
    exact = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X[train], y[train])
    private = float((tree.predict(X[test]) == y[test]).mean())
    baseline = float((exact.predict(X[test]) == y[test]).mean())
    return {
        "heldout_accuracy": private,
        "nonprivate_heldout_accuracy": baseline,
        "realised_value": private / baseline if baseline > 0 else 0.0,
    }
