"""OpenLineage export, validated by rebuilding every event with openlineage-python's models."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openlineage.client import event_v2 as ol
from openlineage.client.generated import (
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
    tags_dataset,
)
from openlineage.client.serde import Serde

from privseg import audit, lineage

_FACETS: dict[str, Any] = {
    "schema": schema_dataset.SchemaDatasetFacet,
    "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
    "tags": tags_dataset.TagsDatasetFacet,
    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
    "errorMessage": error_message_run.ErrorMessageRunFacet,
    "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
    "jobType": job_type_job.JobTypeJobFacet,
}
# Transformation types and subtypes allowed by ColumnLineageDatasetFacet 1-2-0.
_SUBTYPES = {
    "DIRECT": {"IDENTITY", "TRANSFORMATION", "AGGREGATION"},
    "INDIRECT": {"JOIN", "GROUP_BY", "FILTER", "SORT", "WINDOW", "CONDITIONAL"},
}


def _facet(name: str, data: dict[str, Any]) -> Any:
    """Rebuild a facet with the client's model; unknown or missing fields raise TypeError."""
    cls = _FACETS[name]
    assert data["_schemaURL"] == cls._get_schema()
    kw = {k: v for k, v in data.items() if not k.startswith("_")}
    if name == "schema":
        kw["fields"] = [schema_dataset.SchemaDatasetFacetFields(**f) for f in kw["fields"]]
    elif name == "tags":
        kw["tags"] = [tags_dataset.TagsDatasetFacetFields(**t) for t in kw["tags"]]
    elif name == "columnLineage":
        cl = column_lineage_dataset
        for spec in kw["fields"].values():
            for f in spec["inputFields"]:
                for t in f["transformations"]:
                    assert t["subtype"] in _SUBTYPES[t["type"]], t
        kw["fields"] = {
            out: cl.Fields(
                inputFields=[
                    cl.InputField(
                        **{
                            **f,
                            "transformations": [
                                cl.Transformation(**t) for t in f["transformations"]
                            ],
                        }
                    )
                    for f in spec.pop("inputFields")
                ],
                **spec,
            )
            for out, spec in kw["fields"].items()
        }
        kw["dataset"] = [cl.InputField(**f) for f in kw["dataset"]]
    return cls(**kw, producer=data["_producer"])


def _facets(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, facet in data.items():
        if name == "privseg_audit":  # custom facet: the spec asks only for these two
            assert facet["_producer"] and facet["_schemaURL"]
            continue
        out[name] = _facet(name, facet)
    return out


def _rebuild(event: dict[str, Any]) -> ol.RunEvent:
    ev = dict(event)
    assert ev.pop("schemaURL") == ol.RunEvent._get_schema()
    run, job = ev.pop("run"), ev.pop("job")
    return ol.RunEvent(
        eventType=ol.RunState(ev.pop("eventType")),
        eventTime=ev.pop("eventTime"),
        producer=ev.pop("producer"),
        run=ol.Run(runId=run["runId"], facets=_facets(run["facets"])),
        job=ol.Job(namespace=job["namespace"], name=job["name"], facets=_facets(job["facets"])),
        inputs=[
            ol.InputDataset(namespace=d["namespace"], name=d["name"], facets=_facets(d["facets"]))
            for d in ev.pop("inputs")
        ],
        outputs=[
            ol.OutputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=_facets(d["facets"]),
                outputFacets=_facets(d.get("outputFacets", {})),
            )
            for d in ev.pop("outputs")
        ],
        **ev,  # anything left is not a RunEvent field: TypeError
    )


def _pruned(value: Any) -> Any:
    """Drop empty containers and the custom facet, which the rebuild leaves out."""
    if isinstance(value, dict):
        items = {k: _pruned(v) for k, v in value.items() if k != "privseg_audit"}
        return {k: v for k, v in items.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _validate(event: dict[str, Any]) -> None:
    rebuilt = _rebuild(json.loads(json.dumps(event)))
    assert _pruned(Serde.to_dict(rebuilt)) == _pruned(event)


@pytest.fixture
def trail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(audit.ENV_KEY, str(tmp_path / "keys" / "audit.key"))
    return tmp_path / "audits" / "trail.jsonl"


def _apply_run(trail: Path, tmp_path: Path, *, fail: bool = False) -> None:
    src, out = tmp_path / "customers.csv", tmp_path / "customers.safe.csv"
    src.write_text("x\n")
    out.write_text("y\n")
    in_fp = SimpleNamespace(
        sha256="a1" * 32, rows=3, columns=("外部联系人ID", "手机号", "出生日期", "备注", "金额")
    )
    out_fp = SimpleNamespace(
        sha256="b2" * 32,
        rows=3,
        columns=("外部联系人ID", "手机号", "手机号__reversible", "年龄段", "金额"),
    )
    try:
        with audit.run("apply", trail=trail, purpose="marketing", policy_sha256="c3" * 32) as rec:
            rec.add_input(src, in_fp)
            rec.add_column(
                "外部联系人ID", ["wechat_id"], "pseudonymize", output_columns=["外部联系人ID"]
            )
            rec.add_column(
                "手机号",
                ["phone_number"],
                "encrypt",
                output_columns=["手机号", "手机号__reversible"],
            )
            rec.add_column(
                "出生日期", ["birth_date", "minor"], "generalize", output_columns=["年龄段"]
            )
            rec.add_column("备注", ["medical_health"], "drop", reason="PIPL Art. 6")
            rec.add_column("金额", [], "keep", output_columns=["金额"])
            rec.set_key_id("0f1e2d3c4b5a6978")
            if fail:
                raise RuntimeError("stop")
            rec.add_output(out, out_fp)
    except RuntimeError:
        assert fail


def test_events_are_valid_openlineage(trail: Path, tmp_path: Path) -> None:
    _apply_run(trail, tmp_path)
    _apply_run(trail, tmp_path, fail=True)
    events = list(lineage.events(audit.read_records(trail)))
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "START", "FAIL"]
    for event in events:
        _validate(event)
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"] != events[2]["run"]["runId"]
    assert events[3]["run"]["facets"]["errorMessage"]["message"] == "RuntimeError"
    assert events[0]["outputs"] == [] and events[3]["outputs"] == []
    records = audit.read_records(trail)
    facet = events[1]["run"]["facets"]["privseg_audit"]
    assert (facet["operator"], facet["signerKeyId"]) == (records[0].operator, records[0].signer)


def test_column_lineage_flags_masking_and_tags_categories(trail: Path, tmp_path: Path) -> None:
    _apply_run(trail, tmp_path)
    complete = list(lineage.events(audit.read_records(trail)))[1]
    (output,) = complete["outputs"]
    fields = output["facets"]["columnLineage"]["fields"]
    assert set(fields) == {"外部联系人ID", "手机号", "手机号__reversible", "年龄段", "金额"}
    assert fields["手机号__reversible"]["inputFields"][0]["field"] == "手机号"  # 备注 was dropped
    (age,) = fields["年龄段"]["inputFields"]
    assert (age["field"], age["name"]) == ("出生日期", str((tmp_path / "customers.csv").absolute()))
    assert age["transformations"] == [
        {
            "type": "DIRECT",
            "subtype": "TRANSFORMATION",
            "description": "generalize",
            "masking": True,
        }
    ]
    (amount,) = fields["金额"]["inputFields"]
    assert amount["transformations"][0]["subtype"] == "IDENTITY"
    assert amount["transformations"][0]["masking"] is False
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 3
    tags = {
        (t["field"], t["key"], t["value"]) for t in complete["inputs"][0]["facets"]["tags"]["tags"]
    }
    assert ("备注", "pipl_category", "medical_health") in tags
    assert ("备注", "pipl_sensitive", "true") in tags
    assert ("出生日期", "pipl_category", "minor") in tags
    assert not any(f == "金额" for f, _, _ in tags)
    schema = [f["name"] for f in complete["inputs"][0]["facets"]["schema"]["fields"]]
    assert schema == ["外部联系人ID", "手机号", "出生日期", "备注", "金额"]


def test_rebuild_rejects_what_the_spec_does_not_allow(trail: Path, tmp_path: Path) -> None:
    _apply_run(trail, tmp_path)
    event = next(lineage.events(audit.read_records(trail)))
    with pytest.raises(ValueError):
        _validate({**event, "eventType": "DONE"})
    with pytest.raises(ValueError):
        _validate({**event, "run": {**event["run"], "runId": "run-1"}})
    with pytest.raises(TypeError):
        _validate({**event, "extra": 1})


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("keep", ("DIRECT", "IDENTITY", False)),
        ("pseudonymize", ("DIRECT", "TRANSFORMATION", True)),
        ("count", ("DIRECT", "AGGREGATION", True)),
        ("group_by", ("INDIRECT", "GROUP_BY", False)),
        ("something_new", ("DIRECT", "TRANSFORMATION", False)),
    ],
)
def test_actions_map_to_transformations(action: str, expected: tuple[str, str, bool]) -> None:
    assert lineage.lineage_of(action) == expected
