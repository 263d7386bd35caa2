"""Failed dashboard sign-ins are limited per client address and per login, over real HTTP
against `agentops serve`: past 10 failures the form answers 429 with Retry-After, even to the
right password, and a successful sign-in clears the count.

Each test signs in from its own loopback addresses (127.0.0.x), so one server serves them all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from agentops_server.auth.signin_limit import SignInLimiter
from tests.support.dashboard import csrf_token
from tests.support.server import ServerProcess, cli

PASSWORD = "correct horse battery staple"
LIMIT = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("signin") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


def account(server: ServerProcess) -> str:
    login = f"user-{uuid.uuid4().hex[:8]}@example.com"
    cli("users", "create", login, "--password", PASSWORD, *server.db_args())
    return login


def client_from(server: ServerProcess, address: str) -> httpx.Client:
    """A browser on another loopback address: the server sees `address` as the client."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=30)


def sign_in(
    server: ServerProcess, address: str, login: str, password: str, forwarded_for: str = ""
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with client_from(server, address) as browser:
        token = csrf_token(browser.get("/login").text)
        form = {"csrf_token": token, "email": login, "password": password, "next": "/"}
        return browser.post("/login", data=form, headers=headers)


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= 15 * 60
    assert "Too many failed sign-ins" in response.text
    assert "Try again in" in response.text
    assert 'name="password"' in response.text  # still the sign-in page, not signed in


@pytest.mark.slow
def test_too_many_failures_from_one_address_block_it_even_with_the_right_password(
    server: ServerProcess,
) -> None:
    login = account(server)
    for _ in range(LIMIT):
        wrong = sign_in(server, "127.0.0.2", f"{uuid.uuid4().hex}@example.com", "not-it-at-all")
        assert wrong.status_code == 401
        assert "Wrong email or password." in wrong.text
    assert_limited(sign_in(server, "127.0.0.2", login, PASSWORD))
    # the same account from another address is fine: only that address was limited
    assert sign_in(server, "127.0.0.3", login, PASSWORD).status_code == 303


@pytest.mark.slow
def test_too_many_failures_for_one_login_block_it_from_every_address(
    server: ServerProcess,
) -> None:
    login = account(server)
    for n in range(LIMIT):
        assert sign_in(server, f"127.0.0.{10 + n}", login, "not-it-at-all").status_code == 401
    limited = sign_in(server, "127.0.0.30", login, PASSWORD)
    assert_limited(limited)
    with client_from(server, "127.0.0.30") as browser:  # not signed in
        assert browser.get("/").status_code in (303, 307)
    # another account from the same address signs in
    assert sign_in(server, "127.0.0.30", account(server), PASSWORD).status_code == 303


@pytest.mark.slow
def test_a_successful_sign_in_clears_the_failures(server: ServerProcess) -> None:
    login = account(server)
    for _ in range(2):
        for _ in range(LIMIT - 1):
            assert sign_in(server, "127.0.0.40", login, "not-it-at-all").status_code == 401
        assert sign_in(server, "127.0.0.40", login, PASSWORD).status_code == 303


@pytest.mark.slow
def test_x_forwarded_for_is_not_believed_by_default(server: ServerProcess) -> None:
    """Rotating X-Forwarded-For (even from loopback) does not buy more password checks."""
    for n in range(LIMIT):
        login = f"{uuid.uuid4().hex}@example.com"
        wrong = sign_in(server, "127.0.0.1", login, "not-it", forwarded_for=f"203.0.113.{n}")
        assert wrong.status_code == 401
    limited = sign_in(server, "127.0.0.1", account(server), PASSWORD, "203.0.113.99")
    assert_limited(limited)


@pytest.mark.slow
def test_x_forwarded_for_is_believed_from_the_proxies_the_operator_names(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    env = {"AGENTOPS_TRUSTED_PROXIES": "127.0.0.60, 10.9.0.0/16"}
    data_dir = tmp_path_factory.mktemp("proxied") / "data"
    proxied = ServerProcess(data_dir=data_dir, extra_env=env).start()
    try:
        for n in range(LIMIT):  # ten users behind the proxy, one failure each
            login = f"{uuid.uuid4().hex}@example.com"
            wrong = sign_in(proxied, "127.0.0.60", login, "not-it", forwarded_for=f"198.51.100.{n}")
            assert wrong.status_code == 401
        # an eleventh user behind the same proxy is not limited by the others' failures
        ok = sign_in(proxied, "127.0.0.60", account(proxied), PASSWORD, "198.51.100.200")
        assert ok.status_code == 303
        # the header from anyone else is still ignored: its peer address is what counts
        for _ in range(LIMIT):
            login = f"{uuid.uuid4().hex}@example.com"
            wrong = sign_in(proxied, "127.0.0.61", login, "not-it", forwarded_for="198.51.100.7")
            assert wrong.status_code == 401
        assert_limited(sign_in(proxied, "127.0.0.61", account(proxied), PASSWORD, "192.0.2.1"))
    finally:
        proxied.stop()


def test_limiter_memory_is_bounded_and_failures_leave_the_window() -> None:
    now = [0.0]
    limiter = SignInLimiter(max_failures=3, window=60, max_tracked=100, clock=lambda: now[0])
    for n in range(1000):
        assert limiter.attempt(f"10.0.{n // 256}.{n % 256}", f"guess-{n}") is None
    assert len(limiter) == 100
    for _ in range(3):
        assert limiter.attempt("10.9.9.9", "admin") is None
    assert limiter.attempt("10.9.9.9", "admin") == 60
    now[0] = 59.5
    assert limiter.attempt("10.9.9.8", "ADMIN ") == 1  # logins compare like sign-in does
    now[0] = 60.0
    assert limiter.attempt("10.9.9.9", "admin") is None
    assert limiter.attempt("10.9.9.7", "x" * 100_000) is None
    assert len(limiter) == 100
