"""Reading request bodies: size limit (before and after gzip), decompression, JSON parsing.

Bodies are parsed with orjson when it gives what stdlib json would, else with stdlib json. The
agentops 0.3 client writes NaN and Infinity as bare tokens; they become None here (PostgreSQL
JSONB rejects them), as do numbers too large for a float. NUL characters and lone surrogates
written as escapes, which no database stores, are replaced. A body must be UTF-8 (RFC 8259):
the bytes of a lone surrogate or a UTF-16 body are a 400.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from array import array
from itertools import accumulate
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from agentops_server.api.errors import ApiError, bad_request, invalid

_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19
_ESCAPES_TO_CLEAN = re.compile(rb"\\u(?:0000|[dD])")
"""A NUL or a surrogate written as an escape: the strings are cleaned after parsing. One regex
pass (it looks for the rare backslash first) costs several times less than three `in` scans."""
_NUL_ESCAPE = re.compile(rb"\\u0000")
_NOT_A_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")
_BRACKET_STEP = bytes(
    1 if byte in b"[{" else 255 if byte in b"]}" else 0 for byte in range(256)
)  # 255 is -1 as a signed byte
_ORJSON_SAFE_DEPTH = 512


def too_large(limit: int) -> ApiError:
    message = f"request body is larger than the limit of {limit} bytes"
    return ApiError(413, "body_too_large", message)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed, at most `limit` bytes both on the wire and decompressed."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _inflate(raw, limit, gzip=encoding != "deflate")
    raise ApiError(
        415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported (use gzip)"
    )


def _inflate(raw: bytes, limit: int, *, gzip: bool) -> bytes:
    """Every member of a gzip body (RFC 1952 allows several, concatenated), or the one zlib
    stream of a deflate body; bytes after the end are refused, not ignored."""
    kind = "gzip" if gzip else "deflate"
    parts: list[bytes] = []
    size = 0
    rest = raw
    while True:
        inflater = zlib.decompressobj(wbits=47 if gzip else 15)  # 47: gzip or zlib header
        try:
            data = inflater.decompress(rest, limit - size + 1)
        except zlib.error as exc:
            raise bad_request(f"request body is not valid {kind}: {exc}") from None
        size += len(data)
        if size > limit or inflater.unconsumed_tail:
            raise too_large(limit)
        if not inflater.eof:
            raise bad_request("request body is truncated compressed data")
        parts.append(data)
        rest = inflater.unused_data
        if not rest:
            return b"".join(parts)
        if not gzip or not rest.startswith(b"\x1f\x8b"):
            raise bad_request(f"request body has {len(rest)} bytes after its {kind} data")


async def read_json(request: Request, limit: int, *, strict: bool = False) -> Any:
    """The body as JSON (see parse_json; `strict` for settings, where a number is meant)."""
    return parse_json(await read_body(request, limit), strict=strict)


Model = TypeVar("Model", bound=BaseModel)


async def read_model(request: Request, model: type[Model], limit: int) -> Model:
    """The body read as `read_json` reads it (whatever its Content-Type, the same 400s), then
    validated into `model`: a 422 naming each field at fault. FastAPI's own body parameters
    took only `Content-Type: application/json` and answered `: Input should be a valid
    dictionary` without it, and `0: JSON decode error` for bad JSON."""
    value = await read_json(request, limit, strict=True)
    names = ", ".join(model.model_fields)
    if not isinstance(value, dict):
        raise invalid(f"the body must be a JSON object with the fields {names}")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                problems.append(f"{field}: unknown field (the fields are {names})")
            elif error["type"] == "missing":
                problems.append(f"{field}: required")
            else:
                problems.append(f"{field}: {error['msg']}")
        raise invalid("; ".join(problems)) from None


def parse_json(raw: bytes, *, strict: bool = False) -> Any:
    """The body's JSON value. An agent's data may hold NaN, Infinity and numbers too large
    for a float, stored as null; with `strict` (a setting such as a limit or a price, where
    null means "none") they are a 400 instead, as RFC 8259 has no such numbers."""
    if not raw.strip():
        raise bad_request("request body is empty: expected a JSON object")
    try:
        value, by_orjson = _load_strict(raw) if strict else _load(raw)
    except UnicodeDecodeError:
        raise bad_request("request body is not UTF-8 encoded JSON") from None
    except ValueError as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise bad_request("request body is nested too deeply") from None
    # orjson refuses lone surrogates: what it read can only hold escaped NULs (an emoji
    # escaped as a surrogate pair, as json.dumps writes it, needs no walk of the whole body)
    if (_NUL_ESCAPE if by_orjson else _ESCAPES_TO_CLEAN).search(raw):
        try:
            value = _clean_strings(value)
        except RecursionError:
            raise bad_request("request body is nested too deeply") from None
    return value


def _load(raw: bytes) -> tuple[Any, bool]:
    """The value, and whether orjson read it. orjson (2-5x faster) where it gives what the
    lenient stdlib parser gives: it refuses NaN, Infinity, lone surrogates, non-UTF-8 and
    deep nesting, and reads integers beyond 64 bits as floats; such bodies (any run of 19
    digits, found with one C-speed pass) go to the stdlib parser, which keeps those integers
    exact."""
    if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ZERO) and not _maybe_too_deep(raw):
        try:
            return orjson.loads(raw), True
        except orjson.JSONDecodeError:
            pass
    # decoded here: json.loads would take UTF-16 and the UTF-8 bytes of a lone surrogate
    text = raw.decode("utf-8-sig")
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float), False


def _load_strict(raw: bytes) -> tuple[Any, bool]:
    """The value, by the stdlib parser (bodies of settings are small), refusing what _load
    reads as None: NaN, Infinity and numbers too large for a float."""
    text = raw.decode("utf-8-sig")
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_strict_float), False


def _refuse_constant(token: str) -> None:
    raise ValueError(f"{token} is not a JSON number")


def _strict_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is too large for a number")
    return number


def _maybe_too_deep(raw: bytes) -> bool:
    """Whether the brackets of `raw` (strings' included: an overestimate) nest deeper than
    orjson's readings should go. orjson reads 1,024 levels, where the stdlib parser (and the
    storage's encoder after it) stop near 950; such bodies go to the stdlib parser, whose
    RecursionError is the client's 400. In C but for one accumulate over the brackets."""
    steps = raw.translate(None, _NOT_A_BRACKET).translate(_BRACKET_STEP)
    return max(accumulate(array("b", steps)), default=0) > _ORJSON_SAFE_DEPTH


def _no_constant(token: str) -> None:
    return None  # NaN, Infinity, -Infinity


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _clean_strings(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [_clean_strings(item) for item in value]
    if isinstance(value, dict):
        return {_clean_strings(k): _clean_strings(v) for k, v in value.items()}
    return value
