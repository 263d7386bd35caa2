"""OTLP/JSON decodes to the same records as protobuf: hex ids, string int64s, int enums."""

from __future__ import annotations

from typing import Any

import orjson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord

from agentops_server.ingest.otlp.decode import decode_logs, decode_traces
from tests.server.ingest.otlp import wire

JSON = "application/json"

# The shape of opentelemetry-proto's examples/trace.json.
SPEC_EXAMPLE: dict[str, Any] = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]
            },
            "scopeSpans": [
                {
                    "scope": {
                        "name": "my.library",
                        "version": "1.0.0",
                        "attributes": [
                            {"key": "my.scope.attribute", "value": {"stringValue": "scope"}}
                        ],
                    },
                    "spans": [
                        {
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "parentSpanId": "EEE19B7EC3C1B173",
                            "name": "I'm a server span",
                            "startTimeUnixNano": "1544712660000000000",
                            "endTimeUnixNano": "1544712661000000000",
                            "kind": 2,
                            "attributes": [
                                {"key": "my.span.attr", "value": {"stringValue": "some value"}}
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}


def test_the_spec_example_decodes() -> None:
    (span,) = decode_traces(orjson.dumps(SPEC_EXAMPLE), JSON)
    assert (span.trace_id, span.span_id, span.parent_span_id) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b173",
    )
    assert (span.name, span.kind, span.start_ns, span.end_ns) == (
        "I'm a server span",
        2,
        1544712660000000000,
        1544712661000000000,
    )
    assert span.attributes == {"my.span.attr": "some value"}
    assert span.resource == {"service.name": "my.service"}
    assert (span.scope_name, span.scope_version) == ("my.library", "1.0.0")
    assert (span.status_code, span.status_message, span.events) == (0, "", ())


def test_json_and_protobuf_of_one_request_decode_to_equal_records() -> None:
    request = wire.traces(
        (
            "agentops",
            [
                wire.span("root", span_id=wire.ROOT_ID, attrs={"agentops.span.kind": "session"}),
                wire.span(
                    "child",
                    parent=wire.ROOT_ID,
                    kind=3,
                    status=(2, "RuntimeError: boom"),
                    attrs={
                        "i": 2**62,
                        "neg": -3,
                        "d": 1.5,
                        "b": False,
                        "arr": ["x", 2, {"k": [None, b"\x01"]}],
                        "raw": b"\x00\x01",
                    },
                    events=[("exception", {"exception.type": "RuntimeError"})],
                ),
            ],
        ),
        resource={"service.name": "agentops"},
    )
    from_json = decode_traces(wire.as_otlp_json(request), JSON)
    assert from_json == decode_traces(request.SerializeToString(), "application/x-protobuf")
    assert all(s.resource is from_json[0].resource for s in from_json)


def test_int64_as_numbers_and_enum_names_are_accepted() -> None:
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "parentSpanId": "",
                                "startTimeUnixNano": 1544712660000000000,
                                "kind": "SPAN_KIND_CLIENT",
                                "status": {"code": "STATUS_CODE_ERROR", "message": "bad"},
                                "attributes": [
                                    {"key": "n", "value": {"intValue": 21}},
                                    {"key": "s", "value": {"intValue": "-5"}},
                                    {"key": "d", "value": {"doubleValue": "0.5"}},
                                    {"key": "inf", "value": {"doubleValue": "Infinity"}},
                                    {"key": "empty", "value": {}},
                                    {"key": "missing"},
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (span,) = decode_traces(orjson.dumps(body), JSON)
    assert (span.parent_span_id, span.start_ns, span.end_ns) == (None, 1544712660000000000, 0)
    assert (span.kind, span.status_code, span.status_message) == (3, 2, "bad")
    assert span.attributes == {
        "n": 21,
        "s": -5,
        "d": 0.5,
        "inf": float("inf"),
        "empty": None,
        "missing": None,
    }


def test_unknown_fields_are_ignored() -> None:
    body = orjson.loads(orjson.dumps(SPEC_EXAMPLE))
    body["somethingNew"] = {"x": 1}
    body["resourceSpans"][0]["schemaUrl"] = "https://opentelemetry.io/schemas/1.4.0"
    span_json = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span_json.update(flags=256, droppedAttributesCount=3, links=[{"traceId": "zz"}], future=[1])
    span_json["attributes"][0]["value"]["futureValue"] = 1
    (span,) = decode_traces(orjson.dumps(body), JSON)
    assert span.attributes == {"my.span.attr": "some value"}


def test_an_empty_json_request_has_no_spans() -> None:
    assert decode_traces(b"{}", JSON) == []
    assert decode_traces(b'{"resourceSpans": []}', JSON) == []


def test_json_logs_decode_like_protobuf_logs() -> None:
    record = PbLogRecord(
        time_unix_nano=wire.T0,
        observed_time_unix_nano=wire.T0 + 5,
        event_name="gen_ai.client.inference.operation.details",
        trace_id=wire.TRACE_ID,
        span_id=wire.CHILD_ID,
        body=wire.any_value("hello"),
        attributes=wire.key_values({"gen_ai.operation.name": "chat"}),
    )
    as_protobuf = wire.logs(record, resource={"service.name": "app"})
    request = ExportLogsServiceRequest()
    request.ParseFromString(as_protobuf)
    (log,) = decode_logs(wire.as_otlp_json(request), "Application/JSON")
    assert log == decode_logs(as_protobuf, "application/x-protobuf")[0]
    assert (log.time_ns, log.observed_ns) == (wire.T0, wire.T0 + 5)
    assert (log.trace_id, log.event_name, log.body) == (
        "5b8efff798038103d269b633813fc60c",
        "gen_ai.client.inference.operation.details",
        "hello",
    )
