"""What a marketing text lacks: opt-out wording and the brand name, as the editor and plan say."""

from __future__ import annotations

import pytest

from textcast.domain.content import compliance
from textcast.domain.content.compliance import Lack
from textcast.vocabulary import campaign_display_name, reply_campaign_names

RULES = compliance.Rules.of("Bloom", ["STOP", "STOPALL", "UNSUBSCRIBE", "END", "OPT-OUT"])


@pytest.mark.parametrize(
    ("body", "lacks"),
    [
        ("Spring sale today", [Lack.OPT_OUT, Lack.BRAND]),
        ("Bloom: spring sale! Reply STOP to opt out", []),
        ("bloom sale, reply stop", []),  # after "reply", any case
        ("Bloom sale. Text “END” to quit", []),
        ("Bloom sale. To unsubscribe, write to us", []),
        ("Bloom: sale. STOP to end", []),  # a keyword in capitals is an instruction
        ("Don't stop shopping at Bloom", [Lack.OPT_OUT]),  # "stop" in a sentence is not
        ("Spring sale. Reply STOP to opt out", [Lack.BRAND]),
        ("BLOOMING sale. Reply STOP", [Lack.BRAND]),  # the brand as a word, not inside one
        ("", []),
    ],
)
def test_what_a_marketing_text_lacks(body: str, lacks: list[Lack]) -> None:
    assert [hint.lack for hint in compliance.missing(body, RULES)] == lacks


def test_the_hints_say_what_to_add_and_name_the_brand() -> None:
    opt_out, brand = compliance.missing("Sale today", RULES)
    assert '"Reply STOP to opt out"' in opt_out.message
    assert '"Bloom"' in brand.message


def test_without_a_brand_only_the_opt_out_is_checked() -> None:
    rules = compliance.Rules.of(None, ["STOP"])
    assert [h.lack for h in compliance.missing("Sale", rules)] == [Lack.OPT_OUT]


def test_the_one_click_wording_satisfies_the_check() -> None:
    assert compliance.missing("Bloom sale." + compliance.OPT_OUT_SUFFIX, RULES) == ()


def test_keyword_reply_campaigns_have_readable_names_old_ones_read_the_same() -> None:
    assert reply_campaign_names("opt_out") == ("Automatic replies: STOP", "Reply: opt_out")
    assert campaign_display_name("Reply: opt_out", "reply") == "Automatic replies: STOP"
    assert campaign_display_name("Reply: help", "reply") == "Automatic replies: HELP"
    assert campaign_display_name("Reply: opt_in", "reply") == "Automatic replies: START"
    assert campaign_display_name("Reply: tomorrow", "reply") == "Reply: tomorrow"
    # A marketing campaign keeps the name its author gave it.
    assert campaign_display_name("Reply: opt_out", "marketing") == "Reply: opt_out"
