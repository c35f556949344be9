"""Response headers, session lifetime, login throttling and the secret-key check.

- **Content-Security-Policy** on every response: scripts only from this site or inline
  blocks carrying this request's nonce (templates use ``{{ csp_nonce() }}``; Flask-Admin's
  own inline scripts get it through ``Admin(csp_nonce_generator=...)``). Flask-Admin's
  templates also use a few fixed ``onclick`` handlers; the hashes of exactly those
  (matched by strict patterns, never arbitrary text) are allowed with ``'unsafe-hashes'``.
  Frames from other sites are refused (``frame-ancestors 'none'``).
- **Sessions** are signed cookies (never opened on calendar feeds, which are read by
  token: :class:`FeedlessSessionInterface`) that expire after ``SESSION_HOURS`` (default 12; sets
  ``PERMANENT_SESSION_LIFETIME``, checked when the cookie is read) and end sooner after
  ``SESSION_IDLE_MINUTES`` without a request (default 60). Cookies are HttpOnly and
  SameSite=Lax.
- **Login throttling**: after ``LOGIN_MAX_FAILURES_PER_ACCOUNT`` (5) wrong passwords for
  one account, or ``LOGIN_MAX_FAILURES_PER_IP`` (20) from one address, within
  ``LOGIN_WINDOW_SECONDS`` (900), further attempts are refused with 429 until the
  window has passed. Counters live in the process (``coordination serve`` runs one).
- **Secret key**: outside tests and the demo, a missing, short or well-known key stops
  the application from starting.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import threading
import time
from collections import deque
from datetime import timedelta
from typing import Any

from flask import Flask, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, logout_user
from werkzeug.wrappers import Request, Response

__all__ = ["LoginThrottle", "check_secret_key", "csp_nonce", "init_app", "throttle"]

MIN_SECRET_LENGTH = 32
# Keys seen in tutorials, examples and our own docs: never acceptable in production.
KNOWN_SECRET_KEYS = {
    "dev",
    "development",
    "secret",
    "secret-key",
    "secret_key",
    "changeme",
    "change-me",
    "change_me",
    "replace-me",
    "default",
    "test",
    "testing",
    "insecure",
    "coordination",
    "your-secret-key",
    "super-secret",
    "supersecret",
    "please-change-me",
}

# Inline event handlers Flask-Admin's templates render; only these may run.
_ALLOWED_HANDLERS = (
    re.compile(r"return false;"),
    re.compile(r"return faHelpers\.safeConfirm\('[^'\\<>]*'\);"),
    re.compile(r"return modelActions\.execute\('[\w-]+'\);"),
    re.compile(r"faForm\.addInlineField\(this, '[\w-]+'\);"),
    re.compile(r"javascript:void\(0\)"),
)
_HANDLER = re.compile(r'\s(?:on[a-z]+|href)="([^"]*)"')


def check_secret_key(app: Flask) -> None:
    """Refuse to run outside tests and the demo with a missing, short or known key."""
    if app.config.get("TESTING") or app.config.get("DEMO"):
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    key = app.config.get("SECRET_KEY")
    advice = (
        "set COORDINATION_SECRET_KEY to a long random value, for example the output of: "
        "python -c 'import secrets; print(secrets.token_hex())'"
    )
    if not key:
        raise RuntimeError(f"no secret key configured: {advice}")
    text = key.decode() if isinstance(key, bytes) else str(key)
    if text.strip().lower() in KNOWN_SECRET_KEYS:
        raise RuntimeError(f"the secret key is a well-known default value: {advice}")
    if len(text) < MIN_SECRET_LENGTH or len(set(text)) < 8:
        raise RuntimeError(
            f"the secret key is too weak (at least {MIN_SECRET_LENGTH} characters, "
            f"not one repeated pattern): {advice}"
        )


class LoginThrottle:
    """Counts failed logins per account and per address in a sliding window."""

    def __init__(self, per_account: int, per_ip: int, window: float) -> None:
        self.limits = {"account": per_account, "ip": per_ip}
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(
        self, account: str, ip: str, now: float | None = None
    ) -> tuple[str, int] | None:
        """(which limit, seconds to wait) when a new attempt must be refused, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for kind, value in (("account", account.strip().lower()), ("ip", ip)):
                times = self._recent((kind, value), now)
                if len(times) >= self.limits[kind]:
                    return kind, max(1, int(times[0] + self.window - now) + 1)
        return None

    def failed(self, account: str, ip: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in (("account", account.strip().lower()), ("ip", ip)):
                self._recent(key, now).append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account.strip().lower()), None)


def throttle() -> LoginThrottle:
    from flask import current_app

    return current_app.extensions["login_throttle"]  # type: ignore[no-any-return]


def throttle_message(kind: str, seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    who = "this account" if kind == "account" else "your network address"
    return (
        f"Too many failed logins for {who}. For your protection, logging in is paused: "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def csp_nonce() -> str:
    """This request's nonce for inline ``<script nonce="...">`` blocks."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def _handler_hashes(body: str) -> list[str]:
    found = set()
    for match in _HANDLER.finditer(body):
        value = html.unescape(match.group(1))
        if any(pattern.fullmatch(value) for pattern in _ALLOWED_HANDLERS):
            digest = hashlib.sha256(value.encode()).digest()
            found.add(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(found)


def _content_security_policy(response: Response) -> str:
    script = ["'self'", f"'nonce-{csp_nonce()}'"]
    if response.mimetype == "text/html" and not response.direct_passthrough:
        hashes = _handler_hashes(response.get_data(as_text=True))
        if hashes:
            script += ["'unsafe-hashes'", *hashes]
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {' '.join(script)}",
            # Select2, x-editable and Bootstrap set style attributes from script.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _content_security_policy(response)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A page may ask for less (feeds at secret URLs send no referrer at all).
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers["X-Frame-Options"] = "DENY"
    # The session cookie says who is logged in without loading the account: this hook
    # also runs on the 503 page, when the database is gone.
    if session.get("_user_id") is not None:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _idle_expiry() -> Response | None:
    """End a logged-in session that has been idle too long; keep the clock running."""
    # Static files and calendar feeds (read by token, never by session) leave the
    # session alone: a feed response must set no cookie.
    if request.endpoint in ("static", "admin.static") or request.blueprint == "feeds":
        return None
    if not current_user.is_authenticated:
        return None
    idle = timedelta(minutes=float(session_idle_minutes()))
    now = time.time()
    last = session.get("_seen")
    session.permanent = True
    if last is not None and now - float(last) > idle.total_seconds():
        logout_user()
        session.clear()
        flash("Your session expired after a period of inactivity. Please log in again.", "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))
    session["_seen"] = now
    return None


FEED_PATH_PREFIX = "/feeds/"


class FeedlessSessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions, except on calendar feeds (``/feeds/...``).

    A feed is read by its token only: it gets an empty session that is never read from
    the cookie nor saved (no ``Set-Cookie``, no ``Vary: Cookie``), so a logged-in
    browser's session cannot change what a feed shows, and a revalidation polled every
    few minutes does not pay for unsigning and signing cookies. Decided by path: Flask
    opens the session before it matches the URL to a view.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(FEED_PATH_PREFIX):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if request.path.startswith(FEED_PATH_PREFIX):
            return
        super().save_session(app, session, response)


def session_idle_minutes() -> float:
    from flask import current_app

    return float(current_app.config["SESSION_IDLE_MINUTES"])


def init_app(app: Flask) -> None:
    check_secret_key(app)
    # Flask ships defaults for these keys (31 days, no SameSite), so setdefault would
    # never apply ours: COORDINATION_SESSION_HOURS and friends configure them instead.
    app.config.setdefault("SESSION_HOURS", 12)
    app.permanent_session_lifetime = timedelta(hours=float(app.config["SESSION_HOURS"]))
    app.config.setdefault("SESSION_IDLE_MINUTES", 60)
    for key, value in {
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
    }.items():
        if app.config.get(key) is None:
            app.config[key] = value
    app.config.setdefault("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
    app.config.setdefault("LOGIN_MAX_FAILURES_PER_IP", 20)
    app.config.setdefault("LOGIN_WINDOW_SECONDS", 900)
    app.extensions["login_throttle"] = LoginThrottle(
        int(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
        int(app.config["LOGIN_MAX_FAILURES_PER_IP"]),
        float(app.config["LOGIN_WINDOW_SECONDS"]),
    )
    app.session_interface = FeedlessSessionInterface()
    app.before_request(_idle_expiry)
    app.after_request(_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


def client_address() -> str:
    return request.remote_addr or "unknown"
