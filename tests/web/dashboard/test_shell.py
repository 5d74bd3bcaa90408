"""The page frame: navigation, who is signed in, the simulator banner, sign-in redirects."""

from __future__ import annotations

from tests.web.apps import app_client
from tests.web.dashboard.conftest import SignedIn

from textcast.models import Role


def test_pages_show_the_user_and_the_navigation(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "(viewer)" in page.text
        assert 'aria-current="page"' in page.text and ">Overview<" in page.text
        for href in ("/campaigns", "/contacts", "/inbox", "/settings"):
            assert f'href="{href}"' in page.text


def test_the_simulator_banner_shows_when_no_sinch_credentials_are_set(
    signed_in: SignedIn,
) -> None:
    with signed_in() as client:
        assert "Simulated Sinch" in client.get("/").text
    credentials = {"sinch_service_plan_id": "plan", "sinch_api_token": "token"}
    with signed_in(**credentials, sinch_webhook_secret="webhook-secret") as client:
        assert "Simulated Sinch" not in client.get("/").text


def test_anonymous_visitors_are_sent_to_sign_in_and_back(database_url: str) -> None:
    with app_client(database_url) as client:
        answer = client.get("/?since=30d", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/%3Fsince%3D30d"
        form = client.get(answer.headers["location"]).text
        assert 'name="next" value="/?since=30d"' in form
