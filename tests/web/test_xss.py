"""Stored XSS: a script payload in every text column of every model shows escaped on
every page (lists, details, edit forms, and any page added later without URL arguments).

The payloads go straight into the database (as an import or a careless script might
put them there), so the test checks the output side whatever the input validation does.
"""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import Engine, String, Text, select, update
from sqlalchemy.exc import DBAPIError

from coordination.db import Base
from tests.web.trust import ROLES, build_scenario

# Values the application parses rather than shows (a time zone, a recurrence rule): the
# services refuse invalid ones on the way in; stored garbage there is not an XSS matter.
PARSED_COLUMNS = {"timezone", "rrule"}
_RAW = re.compile(r"<script>xss\d+</script>|<img src=x onerror=xss\d+>")


def _payload(n: int, length: int | None) -> str | None:
    text = f"<script>xss{n}</script>"
    if length is not None and length < len(text):
        text = f"<img src=x onerror=xss{n}>"
        if length < len(text):
            return None
    return text


def _plant(engine: Engine) -> dict[str, str]:
    """Put a numbered payload into every text column of one row of every table."""
    planted: dict[str, str] = {}
    n = 0
    for table in Base.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        if not key or table.name == "audit_entry":
            continue
        with engine.connect() as connection:
            row = connection.execute(select(*key).order_by(*key).limit(1)).first()
        if row is None:
            continue
        for column in table.columns:
            if column.primary_key or column.foreign_keys or column.name in PARSED_COLUMNS:
                continue
            if not isinstance(column.type, String | Text) or getattr(column.type, "enums", None):
                continue
            n += 1
            payload = _payload(n, getattr(column.type, "length", None))
            if payload is None:
                continue
            condition = [k == v for k, v in zip(key, row, strict=True)]
            try:
                with engine.begin() as connection:
                    connection.execute(update(table).where(*condition).values({column: payload}))
            except DBAPIError:
                continue  # a CHECK or UNIQUE rule refuses it: nothing stored, nothing to show
            planted[f"{table.name}.{column.name}"] = payload
    return planted


def test_stored_script_payloads_are_escaped_everywhere(app: Flask, engine: Engine, data):
    scenario = build_scenario(data)
    clients = {role: scenario.client(app, role) for role in ROLES if role != "anonymous"}
    planted = _plant(engine)
    assert len(planted) > 40  # names, titles, descriptions, comments, narratives, ...

    views = [v for v in app.extensions["admin"][0]._views if hasattr(v, "model")]
    urls = ["/admin/"]
    for view in views:
        base = view.url.rstrip("/")
        urls.append(f"{base}/")
        key = list(view.model.__table__.primary_key.columns)
        with engine.connect() as connection:
            row = connection.execute(select(*key).order_by(*key).limit(1)).first()
        if row is not None and len(key) == 1:
            urls += [f"{base}/details/?id={row[0]}", f"{base}/edit/?id={row[0]}"]
    for rule in app.url_map.iter_rules():  # pages of other areas, present and future
        if "GET" in rule.methods and not rule.arguments and rule.rule not in urls:
            if not rule.endpoint.endswith(("ajax_lookup", "ajax_update")):
                urls.append(rule.rule)

    shown_escaped = set()
    for role, client in clients.items():
        for url in urls:
            response = client.get(url)
            body = response.get_data(as_text=True)
            response.close()
            assert response.status_code < 500, (role, url)
            if response.mimetype != "text/html":
                # Data (JSON, CSV, iCalendar) carries text as it is; with nosniff a
                # browser never renders it as a page. Its consumers must escape it.
                assert response.headers.get("X-Content-Type-Options") == "nosniff", url
                continue
            found = _RAW.findall(body)
            assert not found, f"{role} {url} shows unescaped {found[:3]}"
            for name, payload in planted.items():
                if payload.replace("<", "&lt;").replace(">", "&gt;") in body:
                    shown_escaped.add(name)
    # The payloads really reached the pages (else the test would prove nothing).
    for expected in ("organisation.name", "intervention.title", "person.name", "meeting.title"):
        assert expected in shown_escaped, expected
    assert len(shown_escaped) > 25
