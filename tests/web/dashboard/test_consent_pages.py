"""A contact's page shows the proof of its consent: the disclosure shown (quoted), where, when,
from which address and browser, the confirming reply, and the sign-ups still waiting."""

from __future__ import annotations

from sqlalchemy import select
from tests.factories import SIGNUP_POLICY, form_signup, make_form, reply_y
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import section

from textcast.db import Database
from textcast.domain import signups
from textcast.domain.audience import lists
from textcast.models import Contact, Role, SignupForm

PHONE = "+12015550123"
DISCLOSURE = "By signing up you agree to receive <b>recurring</b> texts from Shop. Reply STOP."


def _request(form: SignupForm) -> signups.SignupRequest:
    return form_signup(
        form,
        PHONE,
        fields={"phone": "201-555-0123", "first_name": "Ana"},
        user_agent="Mozilla/5.0 (Macintosh) Safari/17",
    )


def test_the_contact_page_shows_the_evidence_of_a_sign_up(
    signed_in: SignedIn, database: Database
) -> None:
    with database.write() as session:
        spring = lists.create_list(session, "Spring").id
        autumn = lists.create_list(session, "Autumn").id
    form = make_form(database, spring, name="Spring form", disclosure=DISCLOSURE)
    other = make_form(database, autumn, name="Autumn form", disclosure_version=4)
    policy = SIGNUP_POLICY
    with database.write() as session:
        confirmed = signups.start_signup(session, policy, _request(form))
        reply = reply_y(session, policy, PHONE, "mo-y")
        waiting = signups.start_signup(session, policy, _request(other))
        ids = (confirmed.id, waiting.id, reply.id)
        contact_id = session.scalars(select(Contact.id)).one()

    with signed_in(Role.VIEWER) as viewer:
        page = viewer.get(f"/contacts/{contact_id}").text
    assert "confirmed" in section(page, "contact-marketing-consent")
    assert "1 sign-up waiting" in section(page, "contact-marketing-consent")
    assert "given" in section(page, "contact-transactional-consent")

    evidence = section(page, f"consent-evidence-{ids[0]}")
    assert "Form “Spring form”" in evidence and 'signup-status-confirmed">confirmed<' in evidence
    assert (
        "<blockquote>By signing up you agree to receive &lt;b&gt;recurring&lt;/b&gt; texts "
        "from Shop. Reply STOP.</blockquote>"
    ) in evidence  # verbatim, and escaped
    assert "(version 1)" in evidence
    for shown in (
        "https://shop.example.com/deals",
        "https://shop.example.com",
        "203.0.113.9",
        "Mozilla/5.0 (Macintosh) Safari/17",
        "first_name: Ana; phone: 201-555-0123",
        f"by the person's reply #{ids[2]}, received",
    ):
        assert shown in evidence, shown

    pending = section(page, f"signup-{ids[1]}")
    assert "Form “Autumn form”" in pending and "(version 4)" in pending
    assert 'signup-status-pending">pending<' in pending and "Waiting until" in pending
    assert "a confirmation text went to this number less than 24 hours ago" in pending

    history = section(page, "consent-history")
    assert f'sign-up form <span class="mono">{form.slug}</span>' in history
    downloads = section(page, "consent-downloads")
    for format in ("csv", "json"):
        assert f'href="/api/v1/contacts/{contact_id}/consent?format={format}" download' in downloads


def test_a_contact_without_sign_ups_shows_no_evidence_section(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as editor:
        contact = editor.post("/api/v1/contacts", json={"phone": PHONE}).json()
        editor.patch(f"/api/v1/contacts/{contact['id']}", json={"transactional_consent": False})
        page = editor.get(f"/contacts/{contact['id']}").text
    assert 'id="consent-evidence"' not in page
    assert "not given" in section(page, "contact-transactional-consent")
    assert 'id="consent-downloads"' in page
