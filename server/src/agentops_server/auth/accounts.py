"""Dashboard accounts over the Store: create, sign in, and the first admin.

The first start of `agentops serve` calls `ensure_first_admin`, which creates the account
"admin" with a generated password (returned once, to print) when no account exists yet.
"""

from __future__ import annotations

from typing import Final, Protocol

from agentops_server.auth.passwords import generate_password, hash_password, verify_password
from agentops_server.storage.dashboard_records import User
from agentops_server.storage.store import Conflict

FIRST_ADMIN_LOGIN: Final = "admin"
MAX_LOGIN_LENGTH: Final = 254
# Verified against when the login is unknown, so both failures take the same time.
_DUMMY_HASH: Final = hash_password("not-a-real-password-for-timing")


class AccountError(ValueError):
    """A login or password that cannot be accepted; the message says why."""


class UserStore(Protocol):
    """The part of the Store that accounts need."""

    def create_user(self, email: str, password_hash: str) -> User: ...
    def find_user(self, email: str) -> User | None: ...
    def count_users(self) -> int: ...
    def set_user_password(self, user_id: str, password_hash: str) -> None: ...


def normalize_login(email: str) -> str:
    """Logins are case-insensitive and trimmed; whitespace inside is refused."""
    login = email.strip().lower()
    if not login:
        raise AccountError("the email (login) is empty")
    if len(login) > MAX_LOGIN_LENGTH:
        raise AccountError(f"the email (login) is longer than {MAX_LOGIN_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in login):
        raise AccountError("the email (login) cannot contain spaces or control characters")
    return login


def create_account(store: UserStore, email: str, password: str) -> User:
    """Create an account; raises AccountError for a bad login, PasswordError for a bad
    password, and storage Conflict when the login is taken."""
    login = normalize_login(email)
    return store.create_user(login, hash_password(password))


def set_password(store: UserStore, email: str, password: str) -> User:
    login = normalize_login(email)
    user = store.find_user(login)
    if user is None:
        raise AccountError(f"no account {login!r}")
    store.set_user_password(user.id, hash_password(password))
    return user


def authenticate(store: UserStore, email: str, password: str) -> User | None:
    """The account whose login and password match, else None (same work either way)."""
    try:
        login = normalize_login(email)
    except AccountError:
        verify_password(password, _DUMMY_HASH)
        return None
    user = store.find_user(login)
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    return user if verify_password(password, user.password_hash) else None


def ensure_first_admin(store: UserStore) -> str | None:
    """Create the "admin" account when there is no account; return its generated password."""
    if store.count_users() > 0:
        return None
    password = generate_password()
    try:
        store.create_user(FIRST_ADMIN_LOGIN, hash_password(password))
    except Conflict:  # another replica created it first
        return None
    return password
