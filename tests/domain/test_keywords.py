import pytest

from textcast.config import Settings
from textcast.domain.inbox.keywords import Keyword, KeywordRules

RULES = KeywordRules.from_csv(
    Settings.model_fields["opt_out_keywords"].default,
    Settings.model_fields["opt_in_keywords"].default,
    Settings.model_fields["help_keywords"].default,
)


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        "Stop.",
        " stop ",
        "STOP!",
        "S T O P",
        "StopAll",
        "unsubscribe",
        "Cancel",
        "END",
        "quit",
        "OPTOUT",
        "opt-out",
        "Opt out",
        "REVOKE",
        "remove!!",
    ],
)
def test_opt_out_words_in_any_dress(body: str) -> None:
    assert RULES.classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["START", "start!", "Unstop", "yes", " Yes. "])
def test_opt_in_words(body: str) -> None:
    assert RULES.classify(body) is Keyword.OPT_IN


@pytest.mark.parametrize("body", ["HELP", "help?", "Info", "INFO."])
def test_help_words(body: str) -> None:
    assert RULES.classify(body) is Keyword.HELP


@pytest.mark.parametrize(
    "body", ["please stop texting me", "STOP IT", "stopp", "", "Thanks!", "yes please"]
)
def test_only_the_whole_message_counts(body: str) -> None:
    assert RULES.classify(body) is None


def test_lists_are_configurable_and_opt_out_wins_a_clash() -> None:
    rules = KeywordRules.from_csv("ARRET, stop", "GO,ARRET", "AIDE")
    assert rules.classify("arrêt") is None  # accents are letters too: ARRÊT is not ARRET
    assert rules.classify("Arret") is Keyword.OPT_OUT
    assert rules.classify("aide") is Keyword.HELP
    assert rules.classify("HELP") is None
