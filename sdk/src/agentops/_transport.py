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
    `import agentops`: importing the SDK stays cheap. Certificates are loaded only for an
    https URL (see prepare()): an http:// endpoint goes without them.
    """

    def __init__(self, timeout: float = 20.0, user_agent: str = "agentops-python") -> None:
        import httpx

        _import_what_requests_need()

        self._httpx = httpx
        self._untrusting = _untrusting_context()
        self._verified: ssl.SSLContext | None = None
        self._timeout = timeout
        self._user_agent = user_agent
        self._clients: dict[bool, httpx.Client] = {}  # https? -> its client
        self._pid = os.getpid()

    def prepare(self, url: str) -> None:
        """Load the certificates an https `url` is verified with, now, on this thread (see
        _tls_settings): init() and start_session() call it with their endpoint."""
        if _is_https(url) and self._verified is None:
            self._verified = _tls_settings(self._httpx)

    def _http(self, url: str) -> httpx.Client:
        if self._pid != os.getpid():  # forked: the pooled connections are the parent's
            self._clients, self._pid = {}, os.getpid()
        https = _is_https(url)
        client = self._clients.get(https)
        if client is None:
            if https:
                self.prepare(url)  # an https URL nobody prepared (a file from the spool)
            httpx = self._httpx
            client = httpx.Client(
                timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
                headers={"User-Agent": self._user_agent},
                verify=self._verified if https and self._verified else self._untrusting,
                follow_redirects=False,  # the API key goes nowhere but where it was sent
            )
            client = self._clients.setdefault(https, client)  # another thread's, if first
        return client

    def send(self, request: Request) -> Response:
        headers = {"Content-Type": "application/json; charset=UTF-8", **request.headers}
        body = request.body
        if len(body) >= GZIP_MIN_BYTES:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            with quiet_request_logs():
                res = self._http(request.url).post(request.url, content=body, headers=headers)
        except (self._httpx.HTTPError, self._httpx.InvalidURL, OSError) as exc:
            # InvalidURL is not an HTTPError: a URL httpx can't use is a request that
            # can't reach the server, like any other; so are certificates that can't be
            # loaded (OSError) for an https URL no init() prepared
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        return Response(
            status=res.status_code,
            body=res.content,
            headers={k.lower(): v for k, v in res.headers.items()},
        )

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()


_default: HttpTransport | None = None


# What httpx imports on its first request (httpx 0.28 and later import httpcore lazily).
LAZY_IMPORTS = ("httpcore", "h11")


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


def _is_https(url: str) -> bool:
    return url[:8].lower() == "https://"


def _untrusting_context() -> ssl.SSLContext:
    """The TLS context of the client for http:// URLs, which never uses it: it trusts no
    certificate, so a connection it would make (a redirect to https, were one followed) is
    refused, never left unverified. Building it loads nothing (about 1 ms)."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname checked, a certificate required


def _tls_settings(httpx: Any) -> ssl.SSLContext:
    """The certificates an https client trusts, loaded now, on this thread (init()'s), as
    httpx would load them (SSL_CERT_FILE, SSL_CERT_DIR, else certifi's). Loading them on the
    worker's thread at its first request put OpenSSL's locks in the hands of a thread that a
    fork right then does not copy: the child's own first request waited for them forever,
    then its events went to the spool at the exit deadline (with one thread loading
    certificates over and over while another forked, about 1 child in 200 hung). A forked
    child builds its client from this context: no certificates loaded again. About 20 ms,
    once, and only for an https endpoint: an http:// one makes no OpenSSL call."""
    context: ssl.SSLContext = httpx.create_ssl_context()
    return context


def prepare(transport: Transport, url: str) -> None:
    """Get `transport` ready to send to `url` (certificates for https), on this thread."""
    if isinstance(transport, HttpTransport):
        transport.prepare(url)


def default_transport() -> HttpTransport:
    """The process's HttpTransport, shared by every client (one connection pool)."""
    global _default
    if _default is None:
        from agentops import __version__

        _default = HttpTransport(user_agent=f"agentops-python/{__version__}")
    return _default
