"""OpenLineage RunEvents (spec 2-0-2) built from audit records, as plain JSON-ready dicts.

Each record becomes a START event at ``started`` and a COMPLETE (or FAIL) event at ``ended``
with the run's input and output datasets (namespace ``file``, name the absolute path), their
schema facets, a column-lineage facet on each output (which input column, through which action;
masking transformations flagged) and tags for the PIPL categories found. Built without the
``openlineage-python`` client so that the export has no extra runtime dependency; the tests
rebuild every event with the client's models to validate it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any

from privseg import __version__
from privseg.audit import SUCCESS, AuditRecord, ColumnEntry, DatasetRef
from privseg.taxonomy import is_sensitive

__all__ = ["NAMESPACE", "PRODUCER", "events", "lineage_of"]

#: Job namespace of privseg's runs; datasets on the local file system use ``file``.
NAMESPACE = "privseg"
PRODUCER = f"urn:privseg:{__version__}"

_SPEC = "https://openlineage.io/spec"
_RUN_EVENT = f"{_SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
_SCHEMAS = {
    "schema": f"{_SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "columnLineage": f"{_SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
    "tags": f"{_SPEC}/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
    "outputStatistics": f"{_SPEC}/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
    "errorMessage": f"{_SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "processing_engine": f"{_SPEC}/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
    "jobType": f"{_SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "privseg_audit": "urn:privseg:facets:AuditRunFacet:1",
}


class _Type(StrEnum):
    DIRECT = "DIRECT"
    INDIRECT = "INDIRECT"


# action -> (type, subtype, masking). Unknown actions are DIRECT TRANSFORMATION, not masking.
_KEEP = (_Type.DIRECT, "IDENTITY", False)
_MASK = (_Type.DIRECT, "TRANSFORMATION", True)
_DP = (_Type.DIRECT, "AGGREGATION", True)
_TRANSFORMATIONS: dict[str, tuple[_Type, str, bool]] = {
    "keep": _KEEP,
    "copy": _KEEP,
    "pseudonymize": _MASK,
    "tokenize": _MASK,
    "hash": _MASK,
    "mask": _MASK,
    "redact": _MASK,
    "encrypt": _MASK,
    "generalize": _MASK,
    "bucketize": _MASK,
    "suppress": _MASK,
    "clip": (_Type.DIRECT, "TRANSFORMATION", False),
    "derive": (_Type.DIRECT, "TRANSFORMATION", False),
    "aggregate": _DP,
    "count": _DP,
    "counts": _DP,
    "means": _DP,
    "quantiles": _DP,
    "size-estimate": _DP,
    "sum": _DP,
    "mean": _DP,
    "quantile": _DP,
    "histogram": _DP,
    "kmeans": _DP,
    "group_by": (_Type.INDIRECT, "GROUP_BY", False),
    "filter": (_Type.INDIRECT, "FILTER", False),
    "join": (_Type.INDIRECT, "JOIN", False),
}


def lineage_of(action: str) -> tuple[str, str, bool]:
    """OpenLineage transformation ``(type, subtype, masking)`` of a privseg action."""
    kind, subtype, masking = _TRANSFORMATIONS.get(action, (_Type.DIRECT, "TRANSFORMATION", False))
    return str(kind), subtype, masking


def _facet(facet: str, /, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": _SCHEMAS[facet], **fields}


def _schema(dataset: DatasetRef) -> dict[str, Any]:
    fields = [{"name": c, "ordinal_position": i} for i, c in enumerate(dataset.columns, 1)]
    return _facet("schema", fields=fields)


def _tags(columns: Sequence[tuple[str, ColumnEntry]]) -> dict[str, Any] | None:
    """Tags ``pipl_category`` (and ``pipl_sensitive`` for Art. 28) per field."""
    tags: list[dict[str, str]] = []
    for field, entry in columns:
        for category in entry.categories:
            tags.append(_tag("pipl_category", category, field))
        if any(is_sensitive(c) for c in entry.categories):
            tags.append(_tag("pipl_sensitive", "true", field))
    return _facet("tags", tags=tags) if tags else None


def _tag(key: str, value: str, field: str) -> dict[str, str]:
    return {"key": key, "value": value, "field": field, "source": "privseg"}


def _input(record: AuditRecord, dataset: DatasetRef) -> dict[str, Any]:
    first = record.inputs[0].path if record.inputs else None
    found = [
        (c.name, c)
        for c in record.columns
        if (c.source or first) == dataset.path
        and (not dataset.columns or c.name in dataset.columns)
    ]
    facets: dict[str, Any] = {"schema": _schema(dataset)}
    if tags := _tags(found):
        facets["tags"] = tags
    return {"namespace": "file", "name": dataset.path, "facets": facets}


def _output(record: AuditRecord, dataset: DatasetRef) -> dict[str, Any]:
    first = record.inputs[0].path if record.inputs else None
    fields: dict[str, Any] = {}
    derived: list[tuple[str, ColumnEntry]] = []
    for entry in record.columns:
        source = entry.source or first
        targets = [c for c in entry.output_columns if c in dataset.columns]
        if source is None or not targets:
            continue
        kind, subtype, masking = lineage_of(entry.action)
        transformation = {
            "type": kind,
            "subtype": subtype,
            "description": entry.action,
            "masking": masking,
        }
        field: dict[str, Any] = {
            "namespace": "file",
            "name": source,
            "field": entry.name,
            "transformations": [transformation],
        }
        for target in targets:
            fields.setdefault(target, {"inputFields": []})["inputFields"].append(field)
            derived.append((target, entry))
    facets: dict[str, Any] = {"schema": _schema(dataset)}
    if fields:
        facets["columnLineage"] = _facet("columnLineage", fields=fields, dataset=[])
    if tags := _tags(derived):
        facets["tags"] = tags
    out: dict[str, Any] = {"namespace": "file", "name": dataset.path, "facets": facets}
    if dataset.rows is not None:
        out["outputFacets"] = {
            "outputStatistics": _facet("outputStatistics", rowCount=dataset.rows)
        }
    return out


def _audit_facet(record: AuditRecord) -> dict[str, Any]:
    fields = {
        "seq": record.seq,
        "recordSha256": record.digest(),
        "operator": record.operator,
        "signerKeyId": record.signer or None,
        "purpose": record.purpose,
        "policySha256": record.policy_sha256,
        "keyId": record.key_id,
        "epsilonSpent": record.epsilon_spent,
        "epsilonRemaining": record.epsilon_remaining,
        "outcome": record.outcome,
    }
    return _facet("privseg_audit", **{k: v for k, v in fields.items() if v is not None})


def _event(record: AuditRecord, state: str, time: str, *, final: bool) -> dict[str, Any]:
    run_facets: dict[str, Any] = {
        "processing_engine": _facet("processing_engine", version=record.version, name="privseg"),
        "privseg_audit": _audit_facet(record),
    }
    if final and not record.ok:
        run_facets["errorMessage"] = _facet(
            "errorMessage", message=record.outcome, programmingLanguage="python"
        )
    job_type = _facet("jobType", processingType="BATCH", integration="PRIVSEG", jobType="COMMAND")
    return {
        "eventType": state,
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": _RUN_EVENT,
        "run": {"runId": record.run_id, "facets": run_facets},
        "job": {
            "namespace": NAMESPACE,
            "name": record.command.replace(" ", "."),
            "facets": {"jobType": job_type},
        },
        "inputs": [_input(record, d) for d in record.inputs],
        "outputs": [_output(record, d) for d in record.outputs] if final else [],
    }


def events(records: Sequence[AuditRecord]) -> Iterator[dict[str, Any]]:
    """START and COMPLETE (or FAIL) RunEvents of each record, in trail order."""
    for record in records:
        yield _event(record, "START", record.started, final=False)
        end = "COMPLETE" if record.outcome == SUCCESS else "FAIL"
        yield _event(record, end, record.ended, final=True)
