"""CDNOW (real purchases of 23,570 customers, 1997-1998) as a per-customer table.

The data ships inside the ``lifetimes`` package (the ``bench`` extra): its file is read from
the installed package without importing it (lifetimes' own imports are heavy). The demo
generator never produced it, so it is the held-out data predictions are checked on.

Per customer: first and last purchase date, orders, CDs, spend, and the segment columns the
benchmarks group by, each with declared keys (``KEYS``), never read from the data.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

END = pd.Timestamp("1998-06-30")
RECENCY_EDGES = (0, 30, 90, 180, 365, 10_000)  # days since the last purchase
RECENCY = ("active", "warm", "cooling", "lapsing", "lost")
SPEND_EDGES = (0, 15, 30, 50, 100, 200, 500, 1e9)
SPEND = ("<15", "15-30", "30-50", "50-100", "100-200", "200-500", "500+")
KEYS: dict[str, tuple[str, ...]] = {
    "recency_segment": RECENCY,
    "first_week": tuple(f"W{w:02d}" for w in range(1, 13)),
    "last_month": tuple(f"M{m:02d}" for m in range(1, 19)),
    "spend_tier": SPEND,
}
#: Bounds of the k-means features (declared, as a user would): days since the last
#: purchase, orders, ln(1 + spend).
KM_BOUNDS = {"recency_days": (0.0, 545.0), "orders": (0.0, 30.0), "log_spend": (0.0, 8.5)}


def master_path() -> Path:
    """The CDNOW master file inside the installed lifetimes package."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("CDNOW needs the bench extra: pip install -e '.[bench]' (lifetimes)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"


def customers() -> pd.DataFrame:
    """One row per customer with the segment columns and k-means features."""
    raw = pd.read_csv(
        master_path(),
        sep=r"\s+",
        header=0,
        names=["customer", "date", "cds", "spend"],
        dtype={"customer": str, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    per = raw.groupby("customer").agg(
        first=("date", "min"),
        last=("date", "max"),
        orders=("date", "nunique"),
        cds=("cds", "sum"),
        spend=("spend", "sum"),
    )
    recency = (END - per["last"]).dt.days
    per["recency_days"] = recency.astype(float)
    per["log_spend"] = np.log1p(per["spend"])
    per["recency_segment"] = pd.cut(recency, RECENCY_EDGES, labels=RECENCY, right=False).astype(str)
    week = ((per["first"] - pd.Timestamp("1997-01-01")).dt.days // 7).clip(0, 11) + 1
    per["first_week"] = week.map(lambda w: f"W{w:02d}")
    month = (per["last"].dt.year - 1997) * 12 + per["last"].dt.month
    per["last_month"] = month.map(lambda m: f"M{m:02d}")
    per["spend_tier"] = pd.cut(per["spend"], SPEND_EDGES, labels=SPEND, right=False).astype(str)
    per["orders"] = per["orders"].astype(float)
    return per.reset_index()
