"""Words the lesson and workshop pages translate from data values (band and topic labels,
workshop endings): listed here so the catalog extractor finds them."""

from __future__ import annotations


def N_(text: str) -> str:
    return text


WORDS = (
    N_("Under 9"), N_("Ages 9 to 12"), N_("Ages 13 to 18"), N_("Guides for adults"),
    N_("Privacy and personal information"), N_("Strangers and grooming"),
    N_("Bullying and kindness"), N_("When something upsets you"),
    N_("Scams and spending money in apps"), N_("Feeling good and screen time"),
    N_("Is it true? Fake news and tricks"), N_("Nude pictures and private parts"),
    N_("Your rights and being heard"),
    N_("good"), N_("mixed"), N_("poor"), N_("end"),
)
