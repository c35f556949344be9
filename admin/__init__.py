"""The web layer: a Flask-Admin interface over the coordination library.

``create_app`` builds a fresh application each call (tests make many). It never
creates or migrates the schema: ``coordination init`` does that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from werkzeug.wrappers import Response

from admin import security
from admin.extensions import csrf, db, login_manager
from coordination.db import database_url, engine_options

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The application, configured from ``COORDINATION_*`` variables, then ``config``.

    Keys: ``DATABASE_URL`` (default :func:`coordination.db.database_url`) and
    ``SECRET_KEY`` (required unless ``TESTING`` or ``DEMO`` is true).
    """
    app = Flask(__name__)
    app.config.from_prefixed_env("COORDINATION")
    if config:
        app.config.update(config)
    security.init_app(app)  # refuses a missing or weak secret key outside tests and demo

    url = database_url(app.config.get("DATABASE_URL"))
    app.config["DATABASE_URL"] = url
    app.config.setdefault("SQLALCHEMY_ENGINES", {"default": {"url": url, **engine_options(url)}})
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from admin import auth

    app.register_blueprint(auth.blueprint)
    from admin.errors import register_error_handlers

    register_error_handlers(app)
    app.before_request(auth.record_actor)

    admin = Admin(
        app,
        name="Coordination",
        theme=Bootstrap4Theme(base_template="coordination/master.html", fluid=True),
        index_view=_home_view(),
        csp_nonce_generator=security.csp_nonce,
    )
    from admin.views import register_views

    with app.app_context():  # Flask-Admin inspects ``db.session`` while building views
        register_views(admin)

    @app.get("/")
    def root() -> Response:
        if current_user.is_authenticated:
            return redirect(url_for("admin.index"))
        return redirect(url_for("auth.login"))

    return app


def _home_view() -> Any:
    from admin.views.home import HomeView

    return HomeView(name="Home", url="/admin", endpoint="admin")
