"""Extensions, created unbound and attached to each app in :func:`admin.create_app`."""

from __future__ import annotations

from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

__all__ = ["csrf", "db", "login_manager"]

db = SQLAlchemy()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see this page."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"
