"""The Coordination menu: overlap review, gaps, coverage matrix and network pages.

Roles (everyone reads, only managers and admins post), decisions that persist and come
back after an edit, partnerships recorded from a gap, links that really filter the
intervention list, constant query counts, and bad input that never writes or 500s.
"""

from __future__ import annotations

import json
import re
from datetime import date

import networkx as nx
import pytest
from sqlalchemy import event, func, select

from admin.extensions import db
from coordination.models import AuditEntry, OverlapDecision, Partnership
from tests import factories
from tests.web.conftest import csrf_token, post

TODAY = "2025-06-01"
PAGES = ["/admin/overlaps/", "/admin/gaps/", "/admin/coverage/", "/admin/network/"]


@pytest.fixture
def scenario(app, data, users):
    app.config["ANALYSIS_TODAY"] = TODAY
    found = factories.create_overlap_scenario(data)
    data.commit()
    return found


def _decide(client, a="CARE-GE-CTG", b="FWF-GE-CTG", decision="complementary", **extra):
    return post(
        client,
        "/admin/overlaps/decide",
        {"a": a, "b": b, "decision": decision, "note": "talked to both", **extra},
    )


def _decisions(data):
    data.expire_all()
    return data.scalars(select(OverlapDecision)).all()


# --- who may do what ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager", "partner", "donor"])
def test_every_role_reads_every_page(client_as, scenario, role):
    client = client_as(role)
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Coordination" in page.text  # the menu
    overlaps = client.get("/admin/overlaps/").text
    writer = role in ("admin", "manager")
    assert ("Save decision" in overlaps) is writer
    assert ("Record a partnership" in client.get("/admin/gaps/").text) is writer


def test_anonymous_visitors_are_sent_to_login(client, scenario):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["partner", "donor"])
def test_readers_cannot_post(client_as, data, scenario, role):
    client = client_as(role)
    assert _decide(client).status_code == 403
    token = csrf_token(client, "/admin/")
    assert (
        client.post(
            "/admin/overlaps/reopen", data={"a": "X", "b": "Y", "csrf_token": token}
        ).status_code
        == 403
    )
    response = post(client, "/admin/gaps/partnership", {"a": "CARE", "b": "FWF"})
    assert response.status_code == 403
    assert _decisions(data) == []
    assert data.scalar(select(func.count()).select_from(Partnership)) == 0


def test_posts_without_csrf_token_are_refused(client_as, data, scenario):
    client = client_as("manager")
    response = client.post(
        "/admin/overlaps/decide",
        data={"a": "CARE-GE-CTG", "b": "FWF-GE-CTG", "decision": "complementary"},
    )
    assert response.status_code == 400
    response = client.post("/admin/gaps/partnership", data={"a": "CARE", "b": "FWF"})
    assert response.status_code == 400
    assert _decisions(data) == []
    assert data.scalar(select(func.count()).select_from(Partnership)) == 0


# --- the review queue ---------------------------------------------------------------------


def test_queue_shows_pairs_side_by_side_with_their_reasons(client_as, scenario):
    page = client_as("donor").get("/admin/overlaps/").text
    summary = " ".join(page[page.index('id="overlap-summary"') :].split())
    assert "2 overlapping pairs waiting for review (1 likely duplicate) in 2 clusters" in summary
    card = page[page.index('data-pair="CARE-GE-CTG/FWF-GE-CTG"') :]
    card = card[: card.index("</article>")]
    assert 'data-kind="duplicate"' in card
    assert "0.8" in card  # score, from the analysis
    for field in ("Lead organisation", "Type", "Dates", "Themes", "Places", "Target groups"):
        assert f">{field}<" in card
    assert "CARE – CARE Bangladesh" in card and "FWF – Fair Wear Foundation" in card
    assert '<mark title="shared">Women workers</mark>' in card
    assert "shared target groups" in card
    assert "<span data-days>153</span>" in card
    # the plain overlap comes second, as an overlap
    assert page.index("CARE-GE-CTG/FWF-GE-CTG") < page.index('data-pair="IBC-SD-BD/MOLE-SD-DHK"')
    # clusters with their themes and places
    assert 'data-cluster="1"' in page and 'data-cluster="2"' in page
    assert "Chattogram" in page


def test_filters_and_cluster_view(client_as, scenario):
    client = client_as("manager")
    duplicates = client.get("/admin/overlaps/?kind=duplicate").text
    assert "CARE-GE-CTG/FWF-GE-CTG" in duplicates and "IBC-SD-BD/MOLE-SD-DHK" not in duplicates
    plain = client.get("/admin/overlaps/?kind=overlap").text
    assert "CARE-GE-CTG/FWF-GE-CTG" not in plain and 'data-pair="IBC-SD-BD/MOLE-SD-DHK"' in plain
    high = client.get("/admin/overlaps/?min_score=0.8").text
    assert 'data-pair="CARE-GE-CTG/FWF-GE-CTG"' in high and "IBC-SD-BD/MOLE" not in high
    page = client.get("/admin/overlaps/").text
    number = re.search(
        r'data-cluster="(\d)">\s*<td><a[^>]*>\d</a></td>\s*<td>2</td>\s*<td>Social', page
    )
    assert number, "the social dialogue cluster is listed"
    cluster = client.get(f"/admin/overlaps/?cluster={number.group(1)}").text
    assert 'data-pair="IBC-SD-BD/MOLE-SD-DHK"' in cluster
    assert 'data-pair="CARE-GE-CTG/FWF-GE-CTG"' not in cluster


@pytest.mark.parametrize(
    "query",
    [
        "kind=nonsense",
        "min_score=abc",
        "min_score=7",
        "min_score=nan",
        "cluster=99",
        "cluster=-1",
        "cluster=x",
        "page=0",
        "page=999",
        "page=%00",
    ],
)
def test_bad_query_values_never_fail(client_as, scenario, query):
    response = client_as("donor").get(f"/admin/overlaps/?{query}")
    assert response.status_code == 200
    assert "CARE-GE-CTG" in response.text or "No pairs" in response.text


def test_decision_persists_suppresses_the_pair_and_is_audited(client_as, data, scenario):
    client = client_as("manager")
    response = _decide(client, decision="confirmed_duplicate")
    assert response.status_code == 302
    [decision] = _decisions(data)
    assert (decision.a_code, decision.b_code, decision.decision.value) == (
        "CARE-GE-CTG",
        "FWF-GE-CTG",
        "confirmed_duplicate",
    )
    assert decision.note == "talked to both" and decision.decided_by == "manager@example.org"
    audit = data.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "OverlapDecision")
    ).one()
    assert audit.actor == "manager@example.org"

    page = client.get("/admin/overlaps/").text
    assert 'data-pair="CARE-GE-CTG/FWF-GE-CTG" id=' not in page  # out of the queue
    assert '<tr data-pair="CARE-GE-CTG/FWF-GE-CTG">' in page  # listed as decided
    assert "Confirmed duplicate" in page
    assert "1 overlapping pair waiting for review" in " ".join(page.split())
    # a later request (a new analysis run) still leaves it out
    assert '<article class="card mb-4 pair-card" data-pair="CARE-GE-CTG/FWF-GE-CTG"' not in (
        client_as("donor").get("/admin/overlaps/").text
    )


def test_pair_comes_back_when_an_intervention_changes(client_as, data, scenario):
    client = client_as("admin")
    _decide(client, decision="not_related", note="different factories")
    intervention = scenario["interventions"]["FWF-GE-CTG"]
    intervention = data.merge(intervention)
    intervention.target_groups = [factories.target_group(data, "women-workers")]
    data.commit()
    page = client.get("/admin/overlaps/").text
    assert '<article class="card mb-4 pair-card" data-pair="CARE-GE-CTG/FWF-GE-CTG"' in page
    assert "Earlier decision" in page and "different factories" in page


def test_reopen_puts_the_pair_back(client_as, data, scenario):
    client = client_as("manager")
    _decide(client)
    response = post(
        client,
        "/admin/overlaps/reopen",
        {"a": "FWF-GE-CTG", "b": "CARE-GE-CTG", "next": "/admin/overlaps/?kind=duplicate"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/overlaps/?kind=duplicate")
    assert _decisions(data) == []
    page = client.get("/admin/overlaps/").text
    assert '<article class="card mb-4 pair-card" data-pair="CARE-GE-CTG/FWF-GE-CTG"' in page
    again = post(client, "/admin/overlaps/reopen", {"a": "FWF-GE-CTG", "b": "CARE-GE-CTG"})
    assert "There was no decision" in client.get(again.headers["Location"]).text


@pytest.mark.parametrize(
    "values, message",
    [
        ({"decision": "merge them"}, "Not a valid choice"),
        ({"b": "NO-SUCH"}, "unknown intervention"),
        ({"b": "CARE-GE-CTG"}, "two different interventions"),
        ({"a": ""}, "This field is required"),
        ({"note": "x" * 2001}, "2000"),
    ],
)
def test_bad_decisions_write_nothing_and_say_why(client_as, data, scenario, values, message):
    client = client_as("manager")
    response = _decide(client, **values)
    assert response.status_code == 302
    assert message in client.get(response.headers["Location"]).text
    assert _decisions(data) == []


def test_next_must_stay_on_this_site(client_as, scenario):
    response = _decide(client_as("manager"), next="https://evil.example/")
    assert response.headers["Location"].endswith("/admin/overlaps/")


# --- gaps ---------------------------------------------------------------------------------


def test_gaps_page_lists_partnership_constituency_and_brand_gaps(client_as, scenario):
    page = client_as("partner").get("/admin/gaps/").text
    assert 'data-gap="CARE/FWF"' in page
    assert 'data-gap="IBC/MOLE"' not in page  # they sit on a body together
    gap = page[page.index('data-gap="CARE/FWF"') :]
    assert "CARE-GE-CTG / FWF-GE-CTG" in gap[: gap.index("</tr>")]
    # Bangladesh, gender equality: only employers (BGMEA, a partner of FWF) are active
    row = page[page.index('data-constituency-gap="BD/gender-equality"') :]
    row = row[: row.index("</tr>")]
    assert row.count("missing") == 2 and row.count("present") == 1
    assert 'data-constituency-gap="BD/social-dialogue"' in page


def test_record_a_partnership_from_a_gap(client_as, data, scenario):
    client = client_as("manager")
    page = client.get("/admin/gaps/").text
    form = page[page.index('data-gap="CARE/FWF"') :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form))
    fields.update(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert fields["a"] == "CARE" and fields["themes"] == "gender-equality"
    response = client.post("/admin/gaps/partnership", data=fields)
    assert response.status_code == 302
    partnership = data.scalars(select(Partnership)).one()
    assert sorted(o.acronym for o in partnership.members) == ["CARE", "FWF"]
    assert [t.code for t in partnership.themes] == ["gender-equality"]
    assert [c.code for c in partnership.countries] == ["BD"]
    entry = data.scalars(select(AuditEntry).where(AuditEntry.entity_type == "Partnership")).one()
    assert entry.actor == "manager@example.org" and entry.reason == "partnership gap"
    after = client.get(response.headers["Location"]).text
    assert "recorded" in after and 'data-gap="CARE/FWF"' not in after


@pytest.mark.parametrize(
    "values, message",
    [
        ({"a": "CARE", "b": "NOPE"}, "unknown organisation"),
        ({"a": "CARE", "b": "CARE"}, "at least two different organisations"),
        ({"a": "CARE", "b": "FWF", "themes": "not-a-theme"}, "not-a-theme"),
        ({"a": "CARE", "b": "FWF", "partnership_type": "marriage"}, "Not a valid choice"),
        ({"a": "", "b": "FWF"}, "This field is required"),
    ],
)
def test_bad_partnership_writes_nothing(client_as, data, scenario, values, message):
    client = client_as("admin")
    response = post(client, "/admin/gaps/partnership", values)
    assert response.status_code == 302
    assert message in client.get(response.headers["Location"]).text
    assert data.scalar(select(func.count()).select_from(Partnership)) == 0


# --- coverage -----------------------------------------------------------------------------


def test_coverage_matrix_counts_and_links_filter_the_intervention_list(client_as, scenario):
    client = client_as("donor")
    page = client.get("/admin/coverage/").text
    cell = re.search(r'data-cell="gender-equality/BD"[^>]*>\s*<a href="([^"]+)">(\d+)</a>', page)
    assert cell, "the gender-equality x Bangladesh cell links somewhere"
    assert cell.group(2) == "3"  # CARE x2 and FWF, active on 1 June 2025
    listing = client.get(cell.group(1).replace("&amp;", "&"))
    assert listing.status_code == 200
    assert "Invalid Filter Value" not in listing.text
    codes = set(
        re.findall(r"(CARE-GE-CTG|FWF-GE-CTG|CARE-GE-DHK|IBC-SD-BD|HM-PR-CTG)", listing.text)
    )
    assert codes == {"CARE-GE-CTG", "FWF-GE-CTG", "CARE-GE-DHK"}
    # productivity is not in the projects' scope; social dialogue is, and covered
    assert 'data-cell="social-dialogue/BD"' in page
    assert re.search(r'data-cell="social-dialogue/BD"[^>]*class|class="[^"]*in-scope', page)


def test_coverage_gap_is_marked(client_as, data, scenario):
    project = data.merge(scenario["project"])
    project.countries = [factories.country(data, "BD"), factories.country(data, "KH")]
    data.commit()
    page = client_as("donor").get("/admin/coverage/").text
    cell = re.search(r'<td class="([^"]*)" data-cell="gender-equality/KH"', page)
    assert cell and "gap" in cell.group(1).split()
    covered = re.search(r'<td class="([^"]*)" data-cell="gender-equality/BD"', page)
    assert covered and "gap" not in covered.group(1).split()


# --- network ------------------------------------------------------------------------------


def test_network_page_and_data(client_as, scenario):
    client = client_as("partner")
    page = client.get("/admin/network/").text
    assert (
        "vendor/cytoscape/cytoscape.min.js" in page and "<script>" not in page.split("</nav>")[-1]
    )
    data_url = re.search(r'data-url="([^"]+)"', page).group(1)
    graph = client.get(data_url).get_json()
    nodes = {n["data"]["id"]: n["data"] for n in graph["elements"]["nodes"]}
    assert {"CARE", "FWF", "MOLE", "IBC", "BGMEA", "HM", "OWN"} <= set(nodes)
    assert nodes["MOLE"]["type"] == "government" and nodes["MOLE"]["colour"].startswith("#")
    edges = {(e["data"]["source"], e["data"]["target"]) for e in graph["elements"]["edges"]}
    assert ("IBC", "MOLE") in edges
    assert nodes["BGMEA"]["size"] >= nodes["HM"]["size"]
    assert "HM" in graph["summary"]["isolates"]


def test_network_filters(client_as, scenario):
    client = client_as("donor")
    graph = client.get("/admin/network/data.json?theme=gender-equality").get_json()
    nodes = {n["data"]["id"] for n in graph["elements"]["nodes"]}
    assert nodes == {"CARE", "FWF", "BGMEA"}
    graph = client.get("/admin/network/data.json?country=bd&theme=productivity").get_json()
    assert {n["data"]["id"] for n in graph["elements"]["nodes"]} == {"BGMEA", "HM"}
    assert client.get("/admin/network/data.json?theme=nope").status_code == 400
    assert client.get("/admin/network/?country=ZZ").status_code == 400


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json"])
def test_network_downloads(client_as, scenario, fmt):
    client = client_as("donor")
    response = client.get(f"/admin/network/network.{fmt}?theme=social-dialogue")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    if fmt == "graphml":
        graph = nx.parse_graphml(response.data.decode())
        assert set(graph.nodes) >= {"IBC", "MOLE"} and "CARE" not in graph
    elif fmt == "gexf":
        assert b"<gexf" in response.data and b"MOLE" in response.data
    else:
        assert {e["id"] for e in json.loads(response.data)["elements"]} >= {"IBC", "MOLE"}
    assert client.get("/admin/network/network.pdf").status_code == 404


# --- queries ------------------------------------------------------------------------------


def test_pages_cost_the_same_number_of_queries_for_more_rows(app, client_as, data, scenario):
    client = client_as("admin")
    with app.app_context():
        engine = db.engine

    def count(path: str) -> int:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    before = {path: count(path) for path in [*PAGES, "/admin/network/data.json"]}
    for n in range(12):  # more overlapping pairs, organisations and decisions
        organisation = factories.create_organisation(data)
        factories.create_intervention(
            data,
            code=f"MORE-{n}",
            lead_organisation=organisation,
            places=[("BD", "BD-B")],
            target_groups=["women-workers"],
            start_date=date(2025, 3, 1),
            end_date=date(2025, 5, 1),
        )
    data.commit()
    _decide(client, "MORE-1", "MORE-2")
    _decide(client, "CARE-GE-CTG", "FWF-GE-CTG")
    after = {path: count(path) for path in before}
    assert after == before
    assert max(after.values()) <= 40
