"""Transport: the one-method interface the exporter sends requests through, and HttpTransport.

A transport only moves bytes: it returns the server's status, headers and body, or raises
TransportError when no answer came (connection refused, timeout). Retries are the exporter's.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import importlib
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agentops._request_logs import quiet_request_logs

if TYPE_CHECKING:
    import ssl

    import httpx

GZIP_MIN_BYTES = 1024


class TransportError(Exception):
    """No response: the server could not be reached or did not answer in time."""


@dataclass(frozen=True)
class Request:
    """A POST of a JSON body to `url` (the full URL)."""

    url: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def retry_after(self) -> float | None:
        """Seconds from a numeric Retry-After header, if any."""
        raw = self.headers.get("retry-after")
        try:
            return max(0.0, float(raw)) if raw is not None else None
        except ValueError:
            return None


@runtime_checkable
class Transport(Protocol):
    """Anything that can send a Request and return its Response."""

    def send(self, request: Request) -> Response: ...


class HttpTransport:
    """httpx over keep-alive connections; bodies of 1 KiB and more are gzipped.

    httpx is imported here, on the thread that builds the transport (init()), not by
    `import agentops`: importing the SDK stays cheap.
    """

    def __init__(self, timeout: float = 20.0, user_agent: str = "agentops-python") -> None:
        import httpx

        _import_what_requests_need()

        self._httpx = httpx
        self._tls = _tls_settings(httpx)
        self._timeout = timeout
        self._user_agent = user_agent
        self._client: httpx.Client | None = None
        self._pid = os.getpid()

    def _http(self) -> httpx.Client:
        if self._pid != os.getpid():  # forked: the pooled connections are the parent's
            self._client, self._pid = None, os.getpid()
        if self._client is None:
            httpx = self._httpx
            self._client = httpx.Client(
                timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
                headers={"User-Agent": self._user_agent},
                verify=self._tls,
            )
        return self._client

    def send(self, request: Request) -> Response:
        headers = {"Content-Type": "application/json; charset=UTF-8", **request.headers}
        body = request.body
        if len(body) >= GZIP_MIN_BYTES:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            with quiet_request_logs():
                res = self._http().post(request.url, content=body, headers=headers)
        except (self._httpx.HTTPError, self._httpx.InvalidURL) as exc:
            # InvalidURL is not an HTTPError: a URL httpx can't use is a request that
            # can't reach the server, like any other
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        return Response(
            status=res.status_code,
            body=res.content,
            headers={k.lower(): v for k, v in res.headers.items()},
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


_default: HttpTransport | None = None


# What httpx imports on its first request (httpx 0.28 and later import httpcore lazily).
LAZY_IMPORTS = ("httpcore", "h11", "certifi")


def _import_what_requests_need() -> None:
    """Import them on this thread (init()'s), not the worker's: a fork while the worker thread
    imports a module leaves that module's import lock held in the child by a thread the child
    does not have, and the child's own first request then waits for it forever (measured: a
    multiprocessing pool created right after init() had its workers' events wait for the exit
    deadline, then go to the spool). The first connection's getaddrinfo() looks up the "idna"
    codec, which imports encodings.idna and stringprep: looked up here too. About 30 ms, once."""
    for name in LAZY_IMPORTS:
        with contextlib.suppress(ImportError):  # another httpx, other dependencies
            importlib.import_module(name)
    codecs.lookup("idna")


def _tls_settings(httpx: Any) -> ssl.SSLContext:
    """The certificates every client of this transport trusts, loaded now, on this thread
    (init()'s), as httpx would load them (SSL_CERT_FILE, SSL_CERT_DIR, else certifi's). Loading
    them on the worker's thread at its first request put OpenSSL's locks in the hands of a
    thread that a fork right then does not copy: the child's own first request waited for them
    forever, then its events went to the spool at the exit deadline (with one thread loading
    certificates over and over while another forked, about 1 child in 200 hung). A forked
    child builds its client from this context: no certificates loaded again, and no OpenSSL
    call at all for an http:// endpoint. About 20 ms, once."""
    context: ssl.SSLContext = httpx.create_ssl_context()
    return context


def default_transport() -> HttpTransport:
    """The process's HttpTransport, shared by every client (one connection pool)."""
    global _default
    if _default is None:
        from agentops import __version__

        _default = HttpTransport(user_agent=f"agentops-python/{__version__}")
    return _default
