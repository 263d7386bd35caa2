"""Dashboard accounts: password hashes and signed cookie sessions with CSRF tokens."""

from __future__ import annotations

import time

import pytest

from agentops_server.auth.cookies import CookieSigner
from agentops_server.auth.passwords import (
    PasswordError,
    generate_password,
    hash_password,
    verify_password,
)

SECRET = "s" * 32


def test_password_hash_verifies_only_the_same_password() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert hash_password("correct horse battery") != stored  # salted


@pytest.mark.parametrize("stored", ["", "scrypt$1$2$3", "md5$x$y$z$a$b", "scrypt$x$8$1$aa$bb"])
def test_malformed_stored_hash_never_verifies(stored: str) -> None:
    assert not verify_password("whatever-password", stored)


def test_short_password_is_refused_with_a_reason() -> None:
    with pytest.raises(PasswordError, match="at least 8"):
        hash_password("short")


def test_generated_passwords_are_long_and_distinct() -> None:
    first, second = generate_password(), generate_password()
    assert len(first) >= 20 and first != second


def test_cookie_round_trip_and_tamper_detection() -> None:
    signer = CookieSigner(SECRET)
    session = signer.new_session("user-1")
    cookie = signer.dumps(session)
    assert signer.loads(cookie) == session
    body, mac = cookie.split(".")
    forged = signer.dumps(signer.new_session("user-2")).split(".")[0] + "." + mac
    assert signer.loads(forged) is None
    assert signer.loads(body + "." + mac[:-2] + "AA") is None
    assert signer.loads("garbage") is None
    assert signer.loads("ü.ü") is None
    assert CookieSigner("t" * 32).loads(cookie) is None  # another server's secret


def test_cookie_expires() -> None:
    signer = CookieSigner(SECRET, max_age=60)
    cookie = signer.dumps(signer.new_session("user-1"))
    assert signer.loads(cookie, now=time.time() + 61) is None


def test_csrf_token_is_bound_to_the_browser_session() -> None:
    signer = CookieSigner(SECRET)
    mine, theirs = signer.new_session(None), signer.new_session(None)
    token = signer.csrf_token(mine)
    assert signer.check_csrf(mine, token)
    assert not signer.check_csrf(theirs, token)
    assert not signer.check_csrf(mine, "")
    assert not signer.check_csrf(None, token)
