import pytest

from textcast.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in (
        "SINCH_SERVICE_PLAN_ID",
        "SINCH_API_TOKEN",
        "SINCH_REGION",
        "SINCH_BASE_URL",
        "DATABASE_URL",
        "PORT",
    ):
        monkeypatch.delenv(name, raising=False)


def test_tutorial_variable_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", "plan123")
    monkeypatch.setenv("SINCH_API_TOKEN", "tok")
    monkeypatch.setenv("SINCH_NUMBER", "+12015550100")
    monkeypatch.setenv("BASE_URL", "https://sms.example.com/")
    monkeypatch.setenv("PORT", "3000")
    settings = load_settings()
    assert settings.sinch_service_plan_id == "plan123"
    assert settings.sinch_number == "+12015550100"
    assert settings.public_url == "https://sms.example.com"
    assert settings.port == 3000
    assert not settings.uses_simulator


def test_region_picks_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINCH_REGION", "EU")
    assert load_settings().sinch_api_url == "https://eu.sms.api.sinch.com"
    monkeypatch.setenv("SINCH_BASE_URL", "http://127.0.0.1:9090")
    assert load_settings().sinch_api_url == "http://127.0.0.1:9090"


@pytest.mark.parametrize("region", ["us", "eu", "au", "br", "ca"])
def test_each_region_has_its_own_host(region: str) -> None:
    assert load_settings(sinch_region=region).sinch_api_url == (
        f"https://{region}.sms.api.sinch.com"
    )


def test_region_names_ignore_case_and_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINCH_REGION", " Eu ")
    assert load_settings().sinch_api_url == "https://eu.sms.api.sinch.com"


def test_defaults_to_sqlite_and_the_simulator() -> None:
    settings = load_settings()
    assert settings.is_sqlite
    assert settings.uses_simulator


def test_dotenv_file_is_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(".env", "w") as env:
        env.write("SEND_RATE=12.5\nDATABASE_URL=postgres://u@h/db\n")
    settings = load_settings()
    assert settings.send_rate == 12.5
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SINCH_REGION", "mars", "SINCH_REGION: must be one of us, eu, au, br, ca"),
        ("SEND_RATE", "fast", "SEND_RATE"),
        ("PORT", "70000", "PORT"),
        ("BATCH_SIZE", "1001", "BATCH_SIZE"),
        ("DELIVERY_REPORT", "sometimes", "DELIVERY_REPORT"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: must be a sqlite"),
        ("SINCH_API_TOKEN", "only-the-token", "SINCH_SERVICE_PLAN_ID must be set"),
        ("HELP_REPLY", "{brand} at {phone}", "HELP_REPLY: only {brand} and {contact}"),
        ("OPT_OUT_KEYWORDS", " , ", "OPT_OUT_KEYWORDS: must list at least one keyword"),
        ("KEYWORD_REPLIES_PER_HOUR", "500/hour", "KEYWORD_REPLIES_PER_HOUR: must be a whole"),
        ("KEYWORD_REPLIES_PER_HOUR", "-1", "KEYWORD_REPLIES_PER_HOUR: must be a whole"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_keyword_replies_are_capped_per_hour_by_default() -> None:
    assert load_settings().keyword_replies_per_hour == 500
