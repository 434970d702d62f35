"""Segment schemes assigned per customer, and the WeChat tag plan built on them.

Schemes are declared in YAML (``policies/segments.yaml`` is the shipped default, with the
seed rules of DESIGN.md and the WeChat/WeCom operators' playbooks); every threshold is a
parameter, never a quantile of the data. ``assign`` computes one row per customer relative
to the end of the ``as_of`` day; each scheme yields exactly one label per customer: the first
matching rule in its documented order, else its declared fallback, so labels come from the
scheme file, never from the data.

One module per scheme family: ``commerce`` (rfm, lifecycle, value_tier, activity, channel),
``profile`` (region, city_tier, generation), ``social``, ``service`` (service_priority),
``loyalty`` (loyalty, behaviour); ``inputs`` parses the tables, ``schemes`` the file,
``tags`` plans WeChat tags.
"""

from privseg.segments.assign import assign
from privseg.segments.commerce import RfmLabel
from privseg.segments.inputs import SchemeKind
from privseg.segments.schemes import (
    WECHAT_TAG_LIMIT,
    Schemes,
    default_schemes_path,
    load_schemes,
    parse_schemes,
)
from privseg.segments.tags import TagPlan, plan_tags

__all__ = [
    "WECHAT_TAG_LIMIT",
    "RfmLabel",
    "SchemeKind",
    "Schemes",
    "TagPlan",
    "assign",
    "default_schemes_path",
    "load_schemes",
    "parse_schemes",
    "plan_tags",
]
