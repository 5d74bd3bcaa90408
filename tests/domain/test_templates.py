import pytest

from textcast.domain.content import templates
from textcast.domain.content.templates import TemplateError


def test_fields_render_with_values_or_their_defaults() -> None:
    template = templates.parse('Hi {{ first_name | default("there") }}, {{code}} is yours')
    assert [f.name for f in template.fields] == ["first_name", "code"]
    values = template.values_for({"first_name": "Ann", "code": "X1"})
    assert values is not None and template.render(values) == "Hi Ann, X1 is yours"
    fallback = template.values_for({"first_name": "  ", "code": 7})
    assert fallback is not None and template.render(fallback) == "Hi there, 7 is yours"


def test_a_field_without_value_or_default_is_missing() -> None:
    template = templates.parse("Hi {{ first_name }}")
    assert template.values_for({"first_name": None}) is None
    assert template.values_for({}) is None


def test_the_sinch_body_has_placeholders_and_one_key_per_field() -> None:
    template = templates.parse("{{ a }} {{ a }} {{ b|default('x') }}")
    assert template.sinch_body() == "${a} ${a} ${b}"
    assert [f.key for f in template.fields] == ["a", "b"]


def test_long_names_get_sinch_safe_keys() -> None:
    template = templates.parse("{{ a_very_long_field_name_indeed }}")
    assert template.fields[0].key == "f.0"


@pytest.mark.parametrize(
    "body",
    ["Hi {{ first name }}", "Hi {{ name | upper }}", "Hi {{ name", "Hi }} there", "{{}}"],
)
def test_malformed_placeholders_name_their_position(body: str) -> None:
    with pytest.raises(TemplateError) as caught:
        templates.parse(body)
    assert caught.value.problems[0].field == "body"
    assert "malformed merge field at character" in caught.value.problems[0].message


def test_sinch_placeholder_syntax_cannot_appear_beside_fields() -> None:
    with pytest.raises(TemplateError, match=r"\$\{"):
        templates.parse("Pay ${amount} {{ first_name }}")


def test_unknown_fields_are_named() -> None:
    template = templates.parse("{{ first_name }} {{ shoe_size }}")
    problems = templates.unknown_fields(template, {"first_name", "phone"})
    assert [p.message.split(";")[0] for p in problems] == ["unknown merge field 'shoe_size'"]


def test_urls_become_link_fields() -> None:
    template = templates.parse("See https://a.example/x and https://b.example now")
    linked = template.with_fields_for(["https://a.example/x", "https://b.example"])
    assert linked.sinch_body() == "See ${link.0} and ${link.1} now"
