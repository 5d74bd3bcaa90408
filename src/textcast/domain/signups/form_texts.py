"""A sign-up form's words: the page's own (labels, button) in English and French, and the
default texts a new form starts with, built from the brand and the help contact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("en", "fr")
HONEYPOT = "company_website"
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "phone": "Mobile number",
        "first_name": "First name",
        "last_name": "Last name",
        "email": "Email",
        "birthday": "Birthday",
        "submit": "Sign up",
        HONEYPOT: "Leave this field empty",
    },
    "fr": {
        "phone": "Numéro de mobile",
        "first_name": "Prénom",
        "last_name": "Nom",
        "email": "E-mail",
        "birthday": "Date de naissance",
        "submit": "S'inscrire",
        HONEYPOT: "Laissez ce champ vide",
    },
}


@dataclass(frozen=True, slots=True)
class FormDefaults:
    """What the default texts are made of: the settings in effect."""

    brand: str
    help_contact: str
    confirm_word: str
    """The first of CONFIRM_KEYWORDS: what the confirmation text asks for."""
    country: str
    """DEFAULT_REGION: the allowed country of a form created without any."""


def default_disclosure(
    defaults: FormDefaults,
    language: str = "en",
    terms_url: str | None = None,
    privacy_url: str | None = None,
) -> str:
    """Who is texting, what, that consent is no condition of purchase, how often, the rates,
    HELP and STOP, and the terms and privacy policy when given: what US carriers expect."""
    brand, contact = defaults.brand, defaults.help_contact
    if language == "fr":
        words = [
            f"En envoyant ce formulaire, vous acceptez de recevoir de {brand} des SMS marketing "
            "récurrents envoyés automatiquement au numéro indiqué. Votre consentement n'est pas "
            "une condition d'achat. La fréquence des messages varie. Des frais de SMS et de "
            "données peuvent s'appliquer. Répondez HELP pour obtenir de l'aide et STOP pour "
            "vous désabonner."
        ]
        if contact:
            words.append(f"Aide : {contact}.")
        if terms_url:
            words.append(f"Conditions : {terms_url}")
        if privacy_url:
            words.append(f"Confidentialité : {privacy_url}")
        return " ".join(words)
    words = [
        f"By submitting this form, you agree to receive recurring automated marketing text "
        f"messages from {brand} at the number provided. Consent is not a condition of "
        "purchase. Message frequency varies. Msg & data rates may apply. Reply HELP for help "
        "and STOP to cancel."
    ]
    if contact:
        words.append(f"Help: {contact}.")
    if terms_url:
        words.append(f"Terms: {terms_url}")
    if privacy_url:
        words.append(f"Privacy: {privacy_url}")
    return " ".join(words)


def default_confirmation(defaults: FormDefaults, language: str = "en") -> str:
    """Says how to confirm (the first CONFIRM_KEYWORDS word) and how to stop."""
    brand, word = defaults.brand, defaults.confirm_word
    if language == "fr":
        return (
            f"{brand} : répondez {word} pour confirmer votre inscription à nos SMS marketing. "
            "Des frais de SMS peuvent s'appliquer. Répondez STOP pour annuler."
        )
    return (
        f"{brand}: reply {word} to confirm you want our recurring marketing texts. "
        "Msg & data rates may apply. Reply STOP to cancel."
    )


def default_welcome(defaults: FormDefaults, language: str = "en") -> str:
    brand = defaults.brand
    if language == "fr":
        return (
            f"{brand} : bienvenue ! Votre inscription est confirmée. Fréquence variable. "
            "Répondez HELP pour de l'aide, STOP pour vous désabonner."
        )
    return (
        f"{brand}: welcome! You are subscribed. Msg frequency varies. "
        "Reply HELP for help, STOP to opt out."
    )


def label_of(spec: Mapping[str, Any], language: str) -> str:
    """A field's label: the operator's, else the page's own words for a known field, else the
    attribute's name made readable (`favourite_store`: "Favourite store")."""
    given = spec.get("label")
    if given:
        return str(given)
    name = str(spec.get("name", ""))
    words = LABELS.get(language, LABELS["en"])
    return words.get(name) or name.replace("_", " ").capitalize()
