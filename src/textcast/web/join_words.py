"""The hosted sign-up page's own words, in each language it speaks. The disclosure, title and
texts are the operator's and are shown as written."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ENGLISH = MappingProxyType(
    {
        "phone": "Mobile phone number",
        "first_name": "First name",
        "last_name": "Last name",
        "email": "Email",
        "birthday": "Birthday",
        "optional": "optional",
        "submit": "Sign up",
        "check_fields": "Please check the fields marked below.",
        "required": "This field is required.",
        "invalid_phone": "This is not a mobile phone number we can text.",
        "country_not_allowed": "Numbers from this country cannot sign up with this form.",
        "invalid_email": "Enter an email address, such as name@example.com.",
        "invalid_date": "Enter a date, such as 1990-05-31.",
        "too_long": "This is too long: {limit} characters at most.",
        "thanks_title": "Thank you!",
        "thanks_double": "Check your phone: we sent you a text to confirm your subscription.",
        "thanks_single": "You are signed up.",
        "try_later": "We cannot send texts right now. Please try again later.",
        "too_many": "Too many sign-ups from here. Please try again later.",
        "too_large": "The form sent too much data.",
        "unreadable": "The form could not be read. Please try again.",
        "wrong_site": "This form cannot be sent from this website.",
        "not_found_title": "Sign-up form not found",
        "not_found": (
            "This sign-up form does not exist, or is closed. Check the address you were given."
        ),
        "honeypot": "Leave this empty",
    }
)
FRENCH = MappingProxyType(
    {
        "phone": "Numéro de téléphone mobile",
        "first_name": "Prénom",
        "last_name": "Nom",
        "email": "E-mail",
        "birthday": "Date de naissance",
        "optional": "facultatif",
        "submit": "S'inscrire",
        "check_fields": "Veuillez vérifier les champs signalés ci-dessous.",
        "required": "Ce champ est obligatoire.",
        "invalid_phone": "Ce numéro n'est pas un numéro de mobile auquel nous pouvons écrire.",
        "country_not_allowed": (
            "Les numéros de ce pays ne peuvent pas s'inscrire avec ce formulaire."
        ),
        "invalid_email": "Saisissez une adresse e-mail, par exemple nom@exemple.fr.",
        "invalid_date": "Saisissez une date, par exemple 1990-05-31.",
        "too_long": "C'est trop long : {limit} caractères au maximum.",
        "thanks_title": "Merci !",
        "thanks_double": (
            "Regardez votre téléphone : nous vous avons envoyé un SMS pour confirmer votre "
            "inscription."
        ),
        "thanks_single": "Votre inscription est enregistrée.",
        "try_later": (
            "Nous ne pouvons pas envoyer de SMS pour le moment. Veuillez réessayer plus tard."
        ),
        "too_many": "Trop d'inscriptions depuis votre connexion. Veuillez réessayer plus tard.",
        "too_large": "Le formulaire a envoyé trop de données.",
        "unreadable": "Le formulaire n'a pas pu être lu. Veuillez réessayer.",
        "wrong_site": "Ce formulaire ne peut pas être envoyé depuis ce site.",
        "not_found_title": "Formulaire d'inscription introuvable",
        "not_found": (
            "Ce formulaire d'inscription n'existe pas, ou il est fermé. "
            "Vérifiez l'adresse qui vous a été donnée."
        ),
        "honeypot": "Laissez ce champ vide",
    }
)
LANGUAGES: Mapping[str, Mapping[str, str]] = MappingProxyType({"en": ENGLISH, "fr": FRENCH})


def words_in(language: str) -> Mapping[str, str]:
    return LANGUAGES.get(language, ENGLISH)


def language_of(*choices: str | None) -> str:
    """The first of `choices` the page speaks (`fr`, `fr-CA`), else English."""
    for choice in choices:
        code = (choice or "").strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def language_from_header(accept_language: str | None) -> str | None:
    """The first language of `Accept-Language` the page speaks (for answers given before the
    form is read, e.g. a rate limit's)."""
    for part in (accept_language or "").split(",")[:10]:
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return None
