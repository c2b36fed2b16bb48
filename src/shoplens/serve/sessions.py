"""Dashboard sign-ins: a random session token in an HttpOnly cookie, kept in this process's memory.

The cookie never holds the API key. A session remembers the key's id, so revoking the key ends the
session at the next request. Sessions end after ``session_hours`` and when the service restarts.

A dashboard form that changes something (deploy, roll back a model) carries the session's CSRF token — an HMAC
of the session token under a secret of this process — and the service checks it: another site can make a
browser post a form, never read the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

COOKIE_NAME = "shoplens_session"
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    key_id: str
    expires_at: float  # time.monotonic()


class SessionStore:
    """Session tokens → key ids, with expiry."""

    def __init__(self, lifetime_s: float) -> None:
        self.lifetime_s = lifetime_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._csrf_secret = secrets.token_bytes(32)

    def start(self, key_id: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._drop_expired(now)
            if len(self._sessions) >= MAX_SESSIONS:  # still full: forget the oldest sign-in
                oldest = min(self._sessions, key=lambda t: self._sessions[t].expires_at)
                del self._sessions[oldest]
            self._sessions[token] = Session(key_id, now + self.lifetime_s)
        return token

    def key_id(self, token: str | None) -> str | None:
        """The key id of a live session, or None."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires_at <= time.monotonic():
                del self._sessions[token]
                return None
            return session.key_id

    def csrf_token(self, token: str) -> str:
        """The CSRF token of a session (for its forms)."""
        return hmac.new(self._csrf_secret, token.encode("utf-8"), hashlib.sha256).hexdigest()

    def check_csrf(self, token: str | None, presented: str | None) -> bool:
        """Whether a form's CSRF token is that of the live session ``token``."""
        if not token or not presented or self.key_id(token) is None:
            return False
        return hmac.compare_digest(self.csrf_token(token), presented)

    def end(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def _drop_expired(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[token]
