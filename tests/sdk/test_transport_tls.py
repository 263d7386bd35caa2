"""TLS in the HttpTransport: certificates loaded for https endpoints only, and still verified.

The TLS server is a real one on loopback, with a self-signed certificate for 127.0.0.1 made
for these tests (tls/, valid until 2126): trusted only when SSL_CERT_FILE names it.
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from agentops import wire
from agentops._transport import HttpTransport, Request, TransportError
from tests.sdk.conftest import export, run_script, script_env
from tests.support.loopback_http import LoopbackHTTPServer
from tests.support.server import ServerProcess

TLS = Path(__file__).parent / "tls"
CERT = TLS / "loopback-cert.pem"
KEY = TLS / "loopback-key.pem"


class RecordingServer(LoopbackHTTPServer):
    """Answers every POST with `answer` (status, headers) and keeps what it was sent
    (bodies unzipped)."""

    received: list[tuple[str, dict[str, str], bytes]]
    answer: tuple[int, dict[str, str]]


class Recorder(BaseHTTPRequestHandler):
    server: RecordingServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.received.append((self.path, dict(self.headers.items()), body))
        status, headers = self.server.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def loopback(
    tls: bool, status: int = 200, headers: dict[str, str] | None = None
) -> Iterator[RecordingServer]:
    server = RecordingServer(("127.0.0.1", 0), Recorder)
    server.received = []
    server.answer = (status, headers or {})
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(CERT, KEY)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def url_of(server: RecordingServer, scheme: str) -> str:
    return f"{scheme}://127.0.0.1:{server.server_address[1]}"


def post(url: str) -> Request:
    path = wire.CREATE_SESSION
    headers = {wire.API_KEY_HEADER: "the-key"}
    return Request(url=url + path, path=path, body=b"{}", headers=headers)


@pytest.fixture
def trust_nothing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default trust (certifi's bundle), which the test certificate is not in."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "not-prepared"])
@pytest.mark.usefixtures("trust_nothing_extra")
def test_https_refuses_a_certificate_nobody_said_to_trust(prepared: bool) -> None:
    """Also for an https URL that init() did not announce (an earlier run's spool file): its
    certificates are loaded on first use, as httpx's defaults."""
    with loopback(tls=True) as server:
        transport = HttpTransport(timeout=5)
        try:
            transport.prepare(url_of(server, "https") if prepared else "http://127.0.0.1:9")
            with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                transport.send(post(url_of(server, "https")))
        finally:
            transport.close()
        assert server.received == []


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "not-prepared"])
def test_https_sends_to_a_certificate_trusted_by_ssl_cert_file(
    prepared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    with loopback(tls=True) as server:
        transport = HttpTransport(timeout=5)
        try:
            if prepared:
                transport.prepare(url_of(server, "https"))
            res = transport.send(post(url_of(server, "https")))
        finally:
            transport.close()
        assert res.status == 200
        [(path, headers, _)] = server.received
        assert (path, headers[wire.API_KEY_HEADER]) == (wire.CREATE_SESSION, "the-key")


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_a_redirect_from_http_to_https_is_not_followed(
    trusted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The http endpoint's client has no certificates loaded: a redirect must not take the
    API key anywhere else, verified or not. The exporter sees the 307 as the answer."""
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    with loopback(tls=True) as tls_server:
        location = {"Location": url_of(tls_server, "https") + wire.CREATE_SESSION}
        with loopback(tls=False, status=307, headers=location) as plain:
            transport = HttpTransport(timeout=5)
            try:
                transport.prepare(url_of(plain, "http"))
                res = transport.send(post(url_of(plain, "http")))
            finally:
                transport.close()
        assert res.status == 307
        assert len(plain.received) == 1
        assert tls_server.received == []


WATCH_CERTIFICATES = """
import os, ssl, threading

def watch_certificates(name):
    original = getattr(ssl.SSLContext, name)
    def loading(self, *args, **kwargs):
        print("loaded certificates on", os.getpid(), threading.current_thread().name, flush=True)
        return original(self, *args, **kwargs)
    setattr(ssl.SSLContext, name, loading)

for name in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
    watch_certificates(name)
"""


def test_an_http_endpoint_loads_no_certificates_in_parent_or_forked_child(
    server: ServerProcess, tmp_path: Path
) -> None:
    """init() loaded certifi's bundle (about 20 ms of its time) for an http:// endpoint,
    which never uses it. A child forked after init() still sends through its own client."""
    done = run_script(
        tmp_path,
        WATCH_CERTIFICATES
        + """
import agentops

def child(tag):
    s = agentops.start_session(tags=[tag])
    agentops.record(agentops.ActionEvent(action_type=tag))
    s.end_session("Success")
    print("session", s.session_id, flush=True)

if __name__ == "__main__":
    import multiprocessing
    agentops.init(auto_start_session=False)
    child("parent")
    p = multiprocessing.get_context("fork").Process(target=child, args=("child",))
    p.start()
    p.join()
""",
        env=script_env(server, AGENTOPS_SPOOL_DIR=str(tmp_path / "spool")),
    )
    assert done.returncode == 0, done.stderr
    assert server.url.startswith("http://")
    lines = done.stdout.splitlines()
    assert [line for line in lines if not line.startswith("session")] == []
    for line, tag in zip(lines, ["parent", "child"], strict=True):
        assert [a["action_type"] for a in export(server, line.split()[1])["actions"]] == [tag]


def test_an_https_endpoint_loads_its_certificates_in_init(tmp_path: Path) -> None:
    """On init()'s thread, once: neither the worker nor a forked child loads them (a fork
    while a thread loads certificates leaves OpenSSL's locks held in the child), and the
    child still sends, verified, through its own connections."""
    with loopback(tls=True) as tls_server:
        done = run_script(
            tmp_path,
            WATCH_CERTIFICATES
            + """
import multiprocessing
import agentops

def child(tag):
    s = agentops.start_session(tags=[tag])
    agentops.flush()
    print("sent", tag, flush=True)

if __name__ == "__main__":
    agentops.init(auto_start_session=False)
    print("initialized", flush=True)
    child("parent")
    p = multiprocessing.get_context("fork").Process(target=child, args=("child",))
    p.start()
    p.join()
""",
            env=script_env(
                AGENTOPS_API_KEY="7f1b9d4e-0000-4000-8000-000000000001",
                AGENTOPS_API_ENDPOINT=url_of(tls_server, "https"),
                AGENTOPS_SPOOL="false",
                SSL_CERT_FILE=str(CERT),
            ),
        )
        assert done.returncode == 0, done.stderr
        first, *rest = done.stdout.splitlines()
        assert first.startswith("loaded certificates on") and first.endswith(" MainThread")
        assert rest == ["initialized", "sent parent", "sent child"]
        tags = [
            json.loads(body)["session"]["tags"]
            for path, _, body in tls_server.received
            if path == wire.CREATE_SESSION
        ]
        assert sorted(tags) == [["child"], ["parent"]]
