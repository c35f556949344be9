"""Locust scenario: people browsing the admin while managers enter indicator period values.

Run through :mod:`benchmarks.load.run` (which prepares the database, starts the server
and checks the result); the environment names the plan and the acknowledgement log:

- ``LOAD_PLAN``: JSON written by :mod:`benchmarks.load.prepare`;
- ``LOAD_ACK_LOG``: file to which each write is appended as a JSON line, once when
  it is sent (``attempt``) and again when the server acknowledged it (``ack``).

``ReaderUser`` logs in with a role (donor, partner, manager, admin in turn) and opens
list pages, searches, pages through lists and opens records. ``WriterUser`` logs in as
its own manager account and edits its own indicator periods through the edit form,
exactly as a person would: GET the form (CSRF token and row version), POST it. A write
is *acknowledged* when the server answers with the redirect that follows a save.

Pages that other parts of the app add later (the logframe page, calendar feeds) are
listed in ``OPTIONAL_PATHS``: each is probed once per user and browsed if it exists.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
from decimal import Decimal
from typing import Any

from locust import HttpUser, between, task

PLAN: dict[str, Any] = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())
ACK_LOG = os.environ.get("LOAD_ACK_LOG", "acks.jsonl")

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION = re.compile(r'name="row_version" type="hidden" value="(\d+)"')
# Words that must never reach a person: a failed save or a database that gave up.
TROUBLE = ("database is locked", "Failed to update record", "Traceback", "OperationalError")

LIST_PATHS = [
    "/admin/",
    "/admin/organisation/",
    "/admin/person/",
    "/admin/partnership/",
    "/admin/project/",
    "/admin/intervention/",
    "/admin/intervention/?page=1",
    "/admin/meeting/",
    "/admin/result/",
    "/admin/indicator/",
    "/admin/indicatorperiod/",
    "/admin/organisation/?search=garment",
    "/admin/intervention/?search=training",
]
DETAIL_VIEWS = ["organisation", "intervention", "indicator", "indicatorperiod"]
# Pages being built elsewhere: browsed when the server has them (404 means not yet).
OPTIONAL_PATHS = [
    "/admin/logframe/",
    "/admin/logframe/1/",  # the demo project's logframe, as drawn for the users above
    "/admin/logframe/1/iptt",
    "/admin/overlaps/",
    "/admin/coverage/",
    "/admin/calendar/",
    "/admin/calendar/all.ics",
]

_roles = itertools.cycle(PLAN["readers"].items())
_writers = iter(PLAN["writers"])
_lock = threading.Lock()
_ack_file = open(ACK_LOG, "a", encoding="utf-8", buffering=1)  # one line per write


def _log_in(user: HttpUser, email: str) -> None:
    page = user.client.get("/login", name="/login [GET]")
    token = CSRF.search(page.text)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    with user.client.post(
        "/login",
        data={"email": email, "password": PLAN["password"], "csrf_token": token.group(1)},
        allow_redirects=False,
        name="/login [POST]",
        catch_response=True,
    ) as response:
        if response.status_code != 302:
            response.failure(f"login of {email} failed: {response.status_code}")


def _check(response: Any) -> None:
    if response.status_code >= 400:
        response.failure(f"HTTP {response.status_code}")
        return
    if response.url and "/login" in response.url:
        response.failure("sent to the login page: not logged in")
        return
    for word in TROUBLE:
        if word in response.text:
            response.failure(f"page says {word!r}")
            return
    response.success()


class ReaderUser(HttpUser):
    """Someone reading lists and records (50 of them in the full test)."""

    fixed_count = int(os.environ.get("LOAD_READERS", "50"))
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        with _lock:
            self.role, email = next(_roles)
        _log_in(self, email)
        self.extra: list[str] = []
        for path in OPTIONAL_PATHS:
            with self.client.get(
                path, name="(probe optional pages)", catch_response=True
            ) as response:
                if response.status_code == 200:
                    self.extra.append(path)
                if response.status_code in (200, 404):
                    response.success()

    @task(6)
    def browse_list(self) -> None:
        path = random.choice(LIST_PATHS + self.extra)
        with self.client.get(path, name=path, catch_response=True) as response:
            _check(response)

    @task(3)
    def open_record(self) -> None:
        view = random.choice(DETAIL_VIEWS)
        row_id = random.choice(PLAN["ids"][view])
        with self.client.get(
            f"/admin/{view}/details/?id={row_id}",
            name=f"/admin/{view}/details/",
            catch_response=True,
        ) as response:
            _check(response)


class WriterUser(HttpUser):
    """A manager entering values for their own indicator periods (5 in the full test)."""

    fixed_count = int(os.environ.get("LOAD_WRITERS", "5"))
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        with _lock:
            self.plan = next(_writers)
        self.counter = 0
        _log_in(self, self.plan["email"])

    @task
    def enter_value(self) -> None:
        period = random.choice(self.plan["periods"])
        edit = f"/admin/indicatorperiod/edit/?id={period['id']}"
        with self.client.get(
            edit, name="/admin/indicatorperiod/edit/ [GET]", catch_response=True
        ) as form:
            _check(form)
            token, version = CSRF.search(form.text), VERSION.search(form.text)
            if token is None or version is None:
                form.failure("edit form without CSRF token or row version")
                return
        self.counter += 1
        # A value unique to this writer and write, so the check can tell writes apart.
        value = Decimal(self.counter) + Decimal(int(self.plan["email"][6:7])) / 10
        data = {
            "csrf_token": token.group(1),
            "row_version": version.group(1),
            "indicator": str(period["indicator_id"]),
            "start_date": period["start_date"],
            "end_date": period["end_date"],
            "target_value": period["target_value"],
            "actual_value": str(value),
            "comment": f"load test write {self.counter}",
        }
        self._log("attempt", period["id"], value)
        with self.client.post(
            edit,
            data=data,
            allow_redirects=False,
            name="/admin/indicatorperiod/edit/ [POST]",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                detail = next((w for w in TROUBLE if w in response.text), "")
                response.failure(f"save not acknowledged: HTTP {response.status_code} {detail}")
                return
            response.success()
        self._log("ack", period["id"], value)

    def _log(self, event: str, period: int, value: Decimal) -> None:
        line = {"event": event, "writer": self.plan["email"], "period": period, "value": str(value)}
        with _lock:
            _ack_file.write(json.dumps(line) + "\n")
