"""The calendar revision: every write a feed depends on raises it, on every write path,
and a feed's memoised state is used only while the revision stands still."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import delete, event, insert, select, text, update
from sqlalchemy.orm import Session

from coordination.db import make_engine
from coordination.feeds import (
    FEED_STATES,
    FeedTokenError,
    etag_for_state,
    feed_state,
    make_feed_token,
    open_feed,
    reset_feed_token,
)
from coordination.models import Body, Meeting, MeetingParticipant, Organisation, Person, User
from coordination.models.calendar_revision import bump_calendar_revision, read_revision
from coordination.models.meetings import meeting_theme
from coordination.services import meetings as svc
from coordination.services.accounts import create_user
from tests import factories

SECRET = "test-secret-key"


def _value(session: Session) -> int:
    session.commit()
    revision = read_revision(session.connection())
    assert revision is not None
    session.commit()
    return revision.value


def _world(session: Session) -> dict:
    organisation = factories.create_organisation(session, acronym="BGMEA")
    person = factories.create_person(session, organisation=organisation)
    user = create_user(
        session, person.email, "long enough pw", "partner", organisation=organisation
    )
    user.person = person
    series = factories.create_meeting(
        session,
        start=datetime(2026, 3, 3, 10),
        end=datetime(2026, 3, 3, 12),
        rrule="FREQ=WEEKLY;COUNT=4",
    )
    svc.invite(session, series, person=person)
    other = factories.create_meeting(session, title="Not theirs")
    stranger = factories.create_person(session)
    session.commit()
    return {
        "organisation": organisation,
        "person": person,
        "user": user,
        "series": series,
        "other": other,
        "stranger": stranger,
    }


def _writes(session: Session, w: dict) -> list[tuple[str, Callable[[], object]]]:
    """Each kind of write a feed depends on, through the services and through Core."""
    series, other, person, stranger = w["series"], w["other"], w["person"], w["stranger"]
    return [
        ("create a meeting", lambda: factories.create_meeting(session, organiser_person=person)),
        ("edit a meeting", lambda: svc.update_meeting(session, series, title="Renamed")),
        ("invite", lambda: svc.invite(session, other, person=person)),
        ("answer", lambda: svc.record_rsvp(session, series.participants[0], "accepted")),
        (
            "cancel an occurrence",
            lambda: svc.cancel_occurrence(session, series, datetime(2026, 3, 10, 10)),
        ),
        ("rename an invitee", lambda: setattr(person, "name", "New Name")),
        ("rename an organisation", lambda: setattr(w["organisation"], "name", "New Org")),
        ("move a person", lambda: setattr(stranger, "organisation", w["organisation"])),
        (
            "Core: insert a seat",
            lambda: session.execute(
                insert(MeetingParticipant).values(
                    meeting_id=other.id, person_id=stranger.id, role="participant"
                )
            ),
        ),
        (
            "Core: edit a meeting",
            lambda: session.execute(
                update(Meeting)
                .where(Meeting.id == series.id)
                .values(version=Meeting.version + 1, title="Core title")
            ),
        ),
        (
            "Core: move people",
            lambda: session.execute(
                update(Person).where(Person.id == stranger.id).values(organisation_id=None)
            ),
        ),
        (
            "Core: tag a theme",
            lambda: session.execute(
                insert(meeting_theme).values(
                    meeting_id=other.id, theme_id=factories.theme(session).id
                )
            ),
        ),
        (
            "Core: drop seats",
            lambda: session.execute(
                delete(MeetingParticipant).where(MeetingParticipant.meeting_id == other.id)
            ),
        ),
        (
            "ORM bulk insert",
            lambda: session.execute(
                insert(Person), [{"name": "Bulk one", "sex": "female", "version": 1}]
            ),
        ),
        (
            "ORM bulk update by primary key",
            lambda: session.execute(
                update(Meeting),
                [
                    {
                        "id": other.id,
                        "city": "Phnom Penh",
                        "version": session.scalar(
                            select(Meeting.version).where(Meeting.id == other.id)
                        ),
                    }
                ],
            ),
        ),
        (
            "Core on a plain connection",
            lambda: session.connection().execute(
                Organisation.__table__.update()
                .where(Organisation.__table__.c.id == w["organisation"].id)
                .values(name="Core org")
            ),
        ),
    ]


def test_every_kind_of_feed_write_raises_the_revision_once_per_transaction(session):
    w = _world(session)
    for label, write in _writes(session, w):
        before = _value(session)
        write()
        session.flush()
        assert _value(session) == before + 1, label
    # Many writes in one transaction: one raise.
    before = _value(session)
    svc.update_meeting(session, w["series"], title="Again")
    session.flush()
    w["person"].name = "Again"
    session.flush()
    session.execute(update(Meeting).values(city="Dhaka"))
    assert _value(session) == before + 1


def test_writes_feeds_do_not_show_leave_the_revision_alone(session):
    w = _world(session)
    before = _value(session)
    factories.create_body(session, name="A body")
    w["user"].email = "elsewhere@example.org"
    session.execute(update(Body).values(name="Renamed body"))
    session.commit()
    assert _value(session) == before


def test_a_rolled_back_savepoint_does_not_swallow_the_raise(session):
    w = _world(session)
    before = _value(session)
    with session.begin_nested() as nested:
        w["person"].name = "Undone"
        session.flush()
        nested.rollback()
    w["other"].title = "Kept"
    session.flush()
    assert _value(session) == before + 1
    # A rolled back transaction leaves nothing raised either.
    w["other"].title = "Dropped"
    session.flush()
    session.rollback()
    assert _value(session) == before + 1


def test_raw_sql_raises_it_only_when_asked(session):
    w = _world(session)
    before = _value(session)
    session.execute(text("UPDATE meeting SET city = 'Hanoi' WHERE id = :id"), {"id": w["other"].id})
    assert _value(session) == before  # text is not seen: hence bump_calendar_revision
    session.execute(text("UPDATE meeting SET city = 'Hue' WHERE id = :id"), {"id": w["other"].id})
    bump_calendar_revision(session.connection())
    assert _value(session) == before + 1


def _statements(session: Session, call: Callable[[], object]) -> tuple[object, list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return result, statements


@pytest.mark.parametrize("kind", ["person", "organisation"])
def test_feed_state_follows_every_write_made_by_another_process(session, db_url, kind):
    """A reader with a warm memo (this session) sees each write of a second engine:
    remove the raise and the memo would keep answering the old state."""
    w = _world(session)
    token = make_feed_token(w["user"], kind, SECRET)
    writer_engine = make_engine(db_url)
    query = svc.feed_query(**{kind: w[kind]})
    try:
        with Session(writer_engine, expire_on_commit=False) as writer:
            writer.info["actor"] = "other process"
            ours = {
                key: writer.get(type(value), value.id) if hasattr(value, "id") else value
                for key, value in w.items()
            }
            changed = 0
            for label, write in _writes(writer, ours):
                _, state = open_feed(session, token, SECRET)
                session.commit()
                _, statements = _statements(session, lambda: open_feed(session, token, SECRET))
                session.commit()
                assert len(statements) == 1, (label, statements)  # the memo answers
                write()
                writer.commit()
                _, fresh = open_feed(session, token, SECRET)
                truth = feed_state(session, query)
                session.commit()
                assert fresh == truth, label  # never the memoised state of before
                changed += etag_for_state(fresh) != etag_for_state(state)
            assert changed >= 6  # most of these writes change what this feed holds
    finally:
        writer_engine.dispose()


def test_revoked_and_deactivated_tokens_fail_with_a_warm_memo(session):
    w = _world(session)
    user: User = w["user"]
    token = make_feed_token(user, "person", SECRET)
    open_feed(session, token, SECRET)
    open_feed(session, token, SECRET)  # from the memo
    reset_feed_token(session, user)
    session.commit()
    with pytest.raises(FeedTokenError, match="reset"):
        open_feed(session, token, SECRET)
    token = make_feed_token(user, "person", SECRET)
    open_feed(session, token, SECRET)
    user.active = False
    session.commit()
    with pytest.raises(FeedTokenError, match="inactive"):
        open_feed(session, token, SECRET)


def test_a_database_started_afresh_does_not_reuse_memoised_states(session):
    w = _world(session)
    token = make_feed_token(w["user"], "person", SECRET)
    _, state = open_feed(session, token, SECRET)
    assert state.count == 1 and len(FEED_STATES) >= 1
    # Emptied and started again by raw SQL (as the test reset does): revision 0 of a new
    # epoch, and a different feed. The memo of the old epoch is not used.
    from coordination.models.calendar_revision import calendar_revision, start_calendar_revision

    connection = session.connection()
    connection.execute(text("DELETE FROM meeting_participant"))
    connection.execute(delete(calendar_revision))
    start_calendar_revision(connection)
    session.commit()
    _, again = open_feed(session, token, SECRET)
    assert again.count == 0


# -- whole feed bodies stored by revision --------------------------------------------------


def test_a_stored_feed_body_is_served_only_at_its_revision(session):
    from coordination.models.calendar_revision import calendar_revision
    from coordination.services.feed_store import stored_or_rendered

    w = _world(session)
    renders: list[int] = []

    def body_at(shape: str = "person-feed|1") -> bytes:
        revision = read_revision(session.connection())

        def render() -> bytes:
            renders.append(1)
            return f"body {revision.value} {len(renders)}".encode()

        data = stored_or_rendered(session, shape=shape, revision=revision, render=render)
        session.commit()
        return data

    first = body_at()
    assert body_at() == first and len(renders) == 1  # found, not rendered
    assert body_at("organisation-feed|1") != first and len(renders) == 2  # another feed
    w["person"].name = "Renamed"  # anything a feed shows moves the revision
    session.commit()
    second = body_at()
    assert second != first and len(renders) == 3
    assert body_at() == second and len(renders) == 3
    # A database started afresh (new epoch, revision 0 again) finds nothing old.
    connection = session.connection()
    connection.execute(delete(calendar_revision))
    from coordination.models.calendar_revision import start_calendar_revision

    start_calendar_revision(connection)
    session.commit()
    body_at()
    assert len(renders) == 4
    assert stored_or_rendered(session, shape="x", revision=None, render=lambda: b"r") == b"r"


def test_a_warm_process_shows_renamed_people_and_organisations_at_once(session):
    """Entries kept in memory by meeting version are kept by the names revision too."""
    organiser = factories.create_organisation(session, name="ILO Dhaka")
    person = factories.create_person(session, name="Nasrin Akter")
    meeting = factories.create_meeting(session, title="Dialogue", organiser=organiser)
    svc.invite(session, meeting, person=person)
    session.commit()

    def served() -> str:  # no restart: the process's caches stay warm
        data = svc.calendar_for(session, host="calendar.test", meeting=meeting).decode()
        session.commit()
        return data.replace("\r\n ", "")

    assert "Nasrin Akter" in served()
    version = meeting.version
    person.name = "Nasrin Akter Rahman"
    session.commit()
    assert "Nasrin Akter Rahman" in served()
    organiser.name = "ILO Country Office for Bangladesh"
    session.commit()
    assert "ILO Country Office for Bangladesh" in served()
    session.refresh(meeting)
    assert meeting.version == version  # the meeting itself never changed


def test_only_name_tables_raise_the_names_revision(session):
    from coordination.models.calendar_revision import calendar_revision

    w = _world(session)

    def names() -> int:
        session.commit()
        value = session.scalar(select(calendar_revision.c.names))
        session.commit()
        return value

    before = names()
    svc.update_meeting(session, w["series"], title="Meeting only")
    assert names() == before
    svc.update_meeting(session, w["series"], title="And a person")
    session.flush()
    w["person"].name = "Also renamed"
    session.flush()
    w["organisation"].name = "Org renamed"
    assert names() == before + 1


def test_a_long_transaction_does_not_hold_up_other_writers(session, db_url):
    """The raise is the last statement before a commit: a transaction that wrote an
    organisation and is still open does not make another one's meeting edit wait."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time in any case")
    w = _world(session)
    before = _value(session)
    other_engine = make_engine(db_url)
    try:
        with Session(other_engine) as long_running:
            organisation = long_running.get(Organisation, w["organisation"].id)
            organisation.name = "Still importing"
            long_running.flush()  # written, not committed
            session.execute(text("SET LOCAL lock_timeout = '3s'"))
            w["other"].title = "Edited meanwhile"
            session.flush()
            session.commit()  # would time out if the revision row were locked
            assert _value(session) == before + 1
            long_running.commit()
        assert _value(session) == before + 2
    finally:
        other_engine.dispose()


def test_core_writes_committed_as_they_go_raise_it(session, db_url):
    """A plain connection whose first statement is a feed write (the transaction begins
    with it) raises the revision at its commit, and a rolled back one does not."""
    before = _value(session)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            connection.execute(update(Meeting).values(city="Dhaka"))
            connection.commit()
            assert _value(session) == before + 1
            connection.execute(update(Person).values(name=Person.name))
            connection.rollback()
            assert _value(session) == before + 1
            connection.execute(update(Person).values(name=Person.name))
            connection.commit()
        assert _value(session) == before + 2
    finally:
        engine.dispose()
