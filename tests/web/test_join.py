"""`/join/{slug}`: the public sign-up form and its defences against abuse (SMS pumping),
driven over ASGI on both databases: limits per address and per number, one confirmation text
per number, countries, the honeypot, the caps, CORS, framing, body size, languages, and the
evidence each sign-up keeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from tests.factories import authorize, make_form

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.audience import lists
from textcast.domain.signups import CAP_REACHED, ONE_PER_DAY
from textcast.models import (
    AuditEntry,
    Campaign,
    CampaignKind,
    Message,
    Role,
    Signup,
    SignupForm,
    utcnow,
)
from textcast.web.app import create_app

SHOP = "https://shop.example.com"
PHONE = "+12015550123"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"


@contextmanager
def _client(database_url: str, **settings: Any) -> Iterator[TestClient]:
    """The app as `textcast serve` runs it; leaving the block flushes the forms' counters."""
    config = load_settings(database_url=database_url, secret_key="join-tests", **settings)
    with TestClient(create_app(config, dispatch=False, simulator=False)) as client:
        yield client


def _form(database: Database, **changes: Any) -> SignupForm:
    with database.write() as session:
        list_id = lists.create_list(session, f"List {changes.get('slug', 'vip')}").id
    return make_form(database, list_id, **{"slug": "vip", **changes})


def _post(client: TestClient, data: dict[str, str], slug: str = "vip", **kwargs: Any) -> Any:
    return client.post(f"/join/{slug}", data=data, follow_redirects=False, **kwargs)


def _count(database: Database, model: Any) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _confirmation_texts(database: Database) -> int:
    with database.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(Campaign.kind == CampaignKind.CONFIRMATION)
            )
            or 0
        )


def _counters(database: Database, slug: str = "vip") -> tuple[int, int]:
    with database.read() as session:
        row = session.execute(
            select(SignupForm.views, SignupForm.blocked).where(SignupForm.slug == slug)
        ).one()
    return row[0], row[1]


def _audit(database: Database, action: str) -> list[AuditEntry]:
    with database.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _field_error(page: str, name: str) -> str:
    found = re.search(rf'id="join-{name}-error">([^<]*)<', page)
    assert found is not None, f"no error shown next to {name}"
    return found[1]


def test_1000_submissions_from_one_address_are_throttled_after_the_limit(
    database: Database, database_url: str
) -> None:
    _form(database, confirmations_per_hour=0)
    answers: list[int] = []
    with _client(database_url, signup_limit_per_ip="20/hour") as client:
        for n in range(1000):
            answer = _post(client, {"phone": f"+1201555{n:04d}"})
            answers.append(answer.status_code)
            if answer.status_code == 429:
                last = answer
        assert int(last.headers["retry-after"]) > 0
        assert "Too many sign-ups from here. Please try again later." in last.text
    assert answers[:20] == [303] * 20
    assert answers[20:] == [429] * 980
    assert _count(database, Signup) == 20
    assert _confirmation_texts(database) == 20
    assert _counters(database) == (0, 980)
    throttled = _audit(database, "signup.throttled")
    assert len(throttled) == 1 and throttled[0].target == "form:vip"


def test_the_same_number_ten_times_gets_one_confirmation_text(
    database: Database, database_url: str
) -> None:
    _form(database)
    with _client(database_url, signup_limit_per_number="100/day") as client:
        answers = [_post(client, {"phone": "(201) 555-0123"}).status_code for _ in range(10)]
    assert answers == [303] * 10
    with database.read() as session:
        held = list(session.scalars(select(Signup.confirmation_held).order_by(Signup.id)))
    assert held == [None] + [ONE_PER_DAY] * 9
    assert _confirmation_texts(database) == 1


def test_the_per_number_limit_refuses_the_same_number_from_any_address(
    database: Database, database_url: str
) -> None:
    _form(database)
    with _client(database_url, signup_limit_per_number="5/day") as client:
        answers = [
            _post(TestClient(client.app, client=(f"198.51.100.{n}", 5000)), {"phone": PHONE})
            for n in range(7)
        ]
        other = _post(client, {"phone": "+12015550124"})
    assert [a.status_code for a in answers] == [303] * 5 + [429] * 2
    assert "Too many sign-ups" in answers[-1].text and answers[-1].headers["retry-after"]
    assert other.status_code == 303
    assert _count(database, Signup) == 6
    assert _confirmation_texts(database) == 2


def test_a_number_from_a_country_not_allowed_is_refused_with_a_message_and_no_text(
    database: Database, database_url: str
) -> None:
    _form(database, allowed_countries=["US", "CA"])
    with _client(database_url) as client:
        answer = _post(client, {"phone": "+33 6 12 34 56 78", "first_name": "Zoé"})
    assert answer.status_code == 422
    assert _field_error(answer.text, "phone") == (
        "Numbers from this country cannot sign up with this form."
    )
    assert 'value="+33 6 12 34 56 78"' in answer.text and 'value="Zoé"' in answer.text
    assert _count(database, Signup) == 0 and _count(database, Campaign) == 0
    assert _counters(database) == (0, 1)


def test_a_number_without_country_code_is_read_in_the_forms_first_country(
    database: Database, database_url: str
) -> None:
    _form(database, allowed_countries=["FR"])
    with _client(database_url) as client:
        assert _post(client, {"phone": "06 12 34 56 78"}).status_code == 303
    with database.read() as session:
        assert session.scalar(select(Signup.phone)) == "+33612345678"


def test_the_honeypot_drops_bots_silently(database: Database, database_url: str) -> None:
    _form(database)
    with _client(database_url) as client:
        answer = _post(client, {"phone": PHONE, "company_website": "http://spam.example"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/join/vip/thanks"
        answer = client.post(
            "/join/vip", json={"phone": PHONE, "company_website": "x"}, follow_redirects=False
        )
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert _count(database, Signup) == 0 and _count(database, Campaign) == 0
    assert _counters(database) == (0, 2)


def test_with_the_daily_quota_reached_no_confirmation_goes_and_the_page_says_try_later(
    database: Database, database_url: str
) -> None:
    _form(database)
    with _client(database_url, daily_recipient_quota=1) as client:
        assert _post(client, {"phone": PHONE}).status_code == 303
        answer = _post(client, {"phone": "+12015550124"})
        assert answer.status_code == 429
        assert int(answer.headers["retry-after"]) > 0
        assert "We cannot send texts right now. Please try again later." in answer.text
        assert '<form method="post"' in answer.text  # the form is there to try again
        as_json = client.post(
            "/join/vip", json={"phone": "+12015550125"}, headers={"accept": "application/json"}
        )
        assert as_json.status_code == 429
        assert as_json.json()["status"] == "too_many_requests"
    assert _count(database, Signup) == 1
    assert _confirmation_texts(database) == 1
    assert _counters(database) == (0, 2)


def test_the_forms_hourly_cap_refuses_and_its_alert_is_committed_once(
    database: Database, database_url: str
) -> None:
    form = _form(database, confirmations_per_hour=2)
    with _client(database_url) as client:
        answers = [_post(client, {"phone": f"+1201555{n:04d}"}).status_code for n in range(5)]
    assert answers == [303, 303, 429, 429, 429]
    assert _count(database, Signup) == 2
    alerts = _audit(database, CAP_REACHED)
    assert [(a.target, a.actor) for a in alerts] == [(f"form:{form.id}", "sign-ups")]
    assert "cap of 2 per hour" in alerts[0].detail["reason"]
    assert _counters(database) == (0, 3)


def test_cors_allows_only_the_origins_the_form_names(database: Database, database_url: str) -> None:
    _form(database, allowed_origins=[SHOP])
    preflight = {"access-control-request-method": "POST"}
    with _client(database_url) as client:
        allowed = client.options("/join/vip", headers={"origin": SHOP, **preflight})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == SHOP
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in allowed.headers
        refused = client.options("/join/vip", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in refused.headers

        answer = client.post("/join/vip", json={"phone": PHONE}, headers={"origin": SHOP})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == SHOP
        assert answer.json() == {
            "status": "ok",
            "message": "Check your phone: we sent you a text to confirm your subscription.",
            "errors": {},
            "redirect": "/join/vip/thanks",
        }
        elsewhere = client.post(
            "/join/vip", json={"phone": "+12015550124"}, headers={"origin": "https://evil.example"}
        )
        assert elsewhere.status_code == 403
        assert "access-control-allow-origin" not in elsewhere.headers
        hosted = _post(client, {"phone": "+12015550125"}, headers={"origin": "http://testserver"})
        assert hosted.status_code == 303
    assert _count(database, Signup) == 2


def test_a_body_over_the_cap_gets_413_and_stores_nothing(
    database: Database, database_url: str
) -> None:
    _form(database)
    big = {"phone": PHONE, "first_name": "x" * 3000}
    with _client(database_url, form_max_body_bytes=2048) as client:
        assert _post(client, big).status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
            yield b"phone=%2B12015550123&first_name="
            for _ in range(10):
                yield b"x" * 500

        streamed = client.post(
            "/join/vip",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert streamed.status_code == 413
        assert "The form sent too much data." in streamed.text
    assert _count(database, Signup) == 0


def test_the_page_and_its_errors_speak_the_forms_language(
    database: Database, database_url: str
) -> None:
    _form(
        database,
        language="fr",
        fields=[{"name": "first_name", "required": True}, {"name": "email"}],
    )
    with _client(database_url) as client:
        page = client.get("/join/vip")
        assert '<html lang="fr">' in page.text
        assert "Numéro de téléphone mobile" in page.text and "S&#39;inscrire" in page.text
        answer = _post(client, {"phone": "12", "email": "pas-une-adresse"})
        assert answer.status_code == 422
        assert "Veuillez vérifier les champs signalés" in answer.text
        assert _field_error(answer.text, "phone") == (
            "Ce numéro n&#39;est pas un numéro de mobile auquel nous pouvons écrire."
        )
        assert _field_error(answer.text, "first_name") == "Ce champ est obligatoire."
        assert _field_error(answer.text, "email").startswith("Saisissez une adresse e-mail")
        english = client.get("/join/vip?lang=en")
        assert "Mobile phone number" in english.text
        thanks = _post(client, {"phone": PHONE, "first_name": "Zoé"})
        assert thanks.status_code == 303
        assert "nous vous avons envoyé un SMS" in client.get(thanks.headers["location"]).text


def test_json_answers_name_each_field_at_fault(database: Database, database_url: str) -> None:
    _form(
        database,
        fields=[
            {"name": "first_name", "required": True},
            {"name": "birthday"},
            {"name": "store", "label": "Favourite store"},
        ],
    )
    with _client(database_url) as client:
        answer = client.post(
            "/join/vip",
            json={"phone": "", "birthday": "31/05/1990", "store": "y" * 201},
        )
    assert answer.status_code == 422
    assert answer.json() == {
        "status": "invalid",
        "message": "Please check the fields marked below.",
        "errors": {
            "phone": "This field is required.",
            "first_name": "This field is required.",
            "birthday": "Enter a date, such as 1990-05-31.",
            "store": "This is too long: 200 characters at most.",
        },
    }


def test_no_cookie_is_needed_or_set(database: Database, database_url: str) -> None:
    _form(database)
    with _client(database_url) as client:
        answers = [
            client.get("/join/vip"),
            _post(client, {"phone": PHONE}),
            _post(client, {"phone": "nope"}),
            client.get("/join/vip/thanks"),
            client.get("/join/missing"),
        ]
        assert [a.status_code for a in answers] == [200, 303, 422, 200, 404]
        assert all("set-cookie" not in a.headers for a in answers)
        assert not client.cookies


def test_the_browser_is_sent_to_the_redirect_url_only_when_its_site_is_allowed(
    database: Database, database_url: str
) -> None:
    _form(database, allowed_origins=[SHOP], redirect_url=f"{SHOP}/merci")
    _form(database, slug="open", redirect_url="https://elsewhere.example/thanks")
    with _client(database_url) as client:
        answer = _post(client, {"phone": PHONE})
        assert answer.status_code == 303 and answer.headers["location"] == f"{SHOP}/merci"
        policy = client.get("/join/vip").headers["content-security-policy"]
        assert f"form-action 'self' {SHOP}" in policy
        other = _post(client, {"phone": "+12015550124"}, slug="open")
        assert other.headers["location"] == "/join/open/thanks"


def test_the_hosted_page_may_be_framed_only_by_the_forms_sites(
    database: Database, database_url: str
) -> None:
    _form(database, allowed_origins=[SHOP, "https://bad.example; script-src *"])
    with _client(database_url) as client:
        page = client.get("/join/vip")
        dashboard = client.get("/login")
    assert "x-frame-options" not in page.headers
    policy = page.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {SHOP};" in policy
    assert "script-src" not in policy and "bad.example" not in policy
    assert dashboard.headers["x-frame-options"] == "DENY"


def test_each_sign_up_keeps_its_evidence(database: Database, database_url: str) -> None:
    form = _form(
        database,
        fields=[{"name": "first_name", "required": True}, {"name": "store"}],
        disclosure_version=4,
        allowed_origins=[SHOP],
    )
    with _client(database_url) as client:
        answer = _post(
            client,
            {"phone": " (201) 555-0123 ", "first_name": "Ana", "store": "Lyon", "extra": "no"},
            headers={
                "user-agent": BROWSER + " x" * 400,
                "referer": f"{SHOP}/newsletter",
                "origin": SHOP,
            },
        )
        assert answer.status_code == 303
    with database.read() as session:
        signup = session.scalars(select(Signup)).one()
    assert signup.phone == PHONE and signup.form_id == form.id
    assert signup.disclosure == form.disclosure and signup.disclosure_version == 4
    assert signup.page_url == "http://127.0.0.1:8000/join/vip"
    assert (signup.referer, signup.origin) == (f"{SHOP}/newsletter", SHOP)
    assert signup.ip == "testclient"
    assert signup.user_agent is not None and len(signup.user_agent) == 500
    assert signup.user_agent.startswith(BROWSER)
    assert signup.language == "en"
    assert signup.fields == {"phone": "(201) 555-0123", "first_name": "Ana", "store": "Lyon"}
    assert signup.submitted_at <= utcnow()


def test_a_framed_page_passes_on_the_page_that_framed_it(
    database: Database, database_url: str
) -> None:
    _form(database, allowed_origins=[SHOP])
    with _client(database_url) as client:
        page = client.get("/join/vip", headers={"referer": f"{SHOP}/join-us"})
        hidden = re.search(r'name="embedded_in" value="([^"]+)"', page.text)
        assert hidden is not None and hidden[1] == f"{SHOP}/join-us"
        _post(client, {"phone": PHONE, "embedded_in": hidden[1]})
    with database.read() as session:
        assert session.scalar(select(Signup.referer)) == f"{SHOP}/join-us"


def test_multipart_forms_are_read_too(database: Database, database_url: str) -> None:
    _form(database)
    with _client(database_url) as client:
        answer = client.post(
            "/join/vip",
            files={"phone": (None, PHONE), "first_name": (None, "Ana")},
            follow_redirects=False,
        )
    assert answer.status_code == 303
    with database.read() as session:
        assert session.scalar(select(Signup.fields))["first_name"] == "Ana"


def test_views_are_counted_but_not_previews_and_unknown_or_archived_forms_are_404(
    database: Database, database_url: str
) -> None:
    _form(database)
    _form(database, slug="old", archived_at=utcnow())
    with _client(database_url) as client:
        for _ in range(3):
            assert client.get("/join/vip").status_code == 200
        assert client.get("/join/vip?preview=1").status_code == 200
        for path in ("/join/old", "/join/none", "/join/old/thanks"):
            missing = client.get(path)
            assert missing.status_code == 404
            assert "Sign-up form not found" in missing.text
        assert _post(client, {"phone": PHONE}, slug="old").status_code == 404
    assert _counters(database) == (3, 0)
    assert _count(database, Signup) == 0


def test_a_flood_of_page_views_reads_the_form_once_not_once_a_view(
    database: Database, database_url: str
) -> None:
    _form(database)
    with _client(database_url) as client:
        engine = client.app.state.runtime.database.engine  # type: ignore[attr-defined]
        reads: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "FROM signup_forms" in statement:
                reads.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            for _ in range(50):
                assert client.get("/join/vip").status_code == 200
                assert client.options("/join/vip").status_code == 403  # no Origin
                assert client.get("/join/nobody").status_code == 404
        finally:
            event.remove(engine, "before_cursor_execute", count)
    # One read per slug per second at most (the forms' cache); 50 views took well under 5 s.
    assert len(reads) <= 10, len(reads)


def test_the_editors_preview_renders_the_page_and_stores_nothing(
    database: Database, database_url: str
) -> None:
    body = {
        "title": "Rejoignez-nous",
        "description": "Des offres chaque semaine.",
        "fields": [{"name": "first_name", "required": True}],
        "disclosure": "En vous inscrivant, vous acceptez...",
        "language": "fr",
        "double_opt_in": True,
    }
    with _client(database_url) as client:
        authorize(client, database_url, Role.EDITOR)
        answer = client.post("/api/v1/forms/preview", json=body)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert "Rejoignez-nous" in answer.text and "Prénom" in answer.text
        assert "En vous inscrivant, vous acceptez..." in answer.text
        assert '<button type="button"' in answer.text  # a preview submits nothing
        authorize(client, database_url, Role.VIEWER)
        assert client.post("/api/v1/forms/preview", json=body).status_code == 403
    assert _count(database, SignupForm) == 0


def test_the_public_post_is_documented_with_its_fields(database_url: str) -> None:
    with _client(database_url) as client:
        authorize(client, database_url)
        document = client.get("/openapi.json").json()
    operation = document["paths"]["/join/{slug}"]["post"]
    assert operation["tags"] == ["public"]
    assert "security" not in operation
    schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert schema["required"] == ["phone"]
    assert {"phone", "first_name", "email", "birthday", "company_website"} <= set(
        schema["properties"]
    )
    assert {"303", "413", "422", "429"} <= set(operation["responses"])
    assert "get" not in document["paths"]["/join/{slug}"]
