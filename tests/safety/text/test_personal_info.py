"""A child disclosing personal information is found, pointed at, and redacted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kidshield.safety.text import Risk, RiskLevel, assess_message
from kidshield.safety.text.evaluate import evaluate, read_corpus
from kidshield.safety.text.gate import GateIndex
from kidshield.safety.text.lexicon import LexiconError, load_lexicon
from kidshield.safety.text.pii.words import number_words_from
from kidshield.safety.text.signals.base import SignalContext
from tests.safety.text.gate_oracle import literals_in

# hand-written look-alikes the rules pass and the learned whereabouts head (pii/whereabouts.py)
# flags at "low" on the place the gate found: its known cost, listed in docs/safety.md. Every
# other look-alike must stay without any finding.
HEAD_FLAGS_LOW = frozenset(
    {
        "learn it at code academy",
        "The library at 14 Church Street is open from 9 to 5 on weekdays.",
        "im 34 and live in Denver",
        "im at the beach in spain",
        "im at the bank in jailbreak",
        "shes in year 9 at Kingsmead",
        "currently at the mall in brookhaven",
    }
)


def _no_rule_finding(text: str) -> bool:
    """No personal-information finding, or (for HEAD_FLAGS_LOW only) the head's alone at low."""
    finding = assess_message(text).finding(Risk.PERSONAL_INFO)
    if finding is None:
        return True
    learned_only = all(span.label == "learned_whereabouts" for span in finding.spans)
    return text in HEAD_FLAGS_LOW and learned_only and finding.level is RiskLevel.LOW

EVAL_SET = Path(__file__).parents[3] / "data" / "text-synth" / "personal-info"
SECOND_VOICE = EVAL_SET.parent / "personal-info-b"
THIRD_VOICE = EVAL_SET.parent / "personal-info-c"
FOURTH_VOICE = EVAL_SET.parent / "personal-info-d"
FIFTH_VOICE = EVAL_SET.parent / "personal-info-e"
SIXTH_VOICE = EVAL_SET.parent / "personal-info-f"
SEVENTH_VOICE = EVAL_SET.parent / "personal-info-g"


def stage_of(text: str) -> tuple[str, ...]:
    finding = assess_message(text).finding(Risk.PERSONAL_INFO)
    return () if finding is None else finding.stages


def labels_of(text: str) -> list[str]:
    finding = assess_message(text).finding(Risk.PERSONAL_INFO)
    return [] if finding is None else [span.label for span in finding.spans]


@pytest.mark.parametrize(
    ("text", "stage", "redacted"),
    [
        ("my number is 07700 900123", "phone", "my number is [phone]"),
        ("email me at lily_rose@hotmail.co.uk", "email", "email me at [email]"),
        ("i live at 42 Oak Street", "address", "i live at [address]"),
        ("my postcode is SW1A 1AA", "address", "my postcode is [postcode]"),
        ("i go to Riverside High School", "school", "i go to [school]"),
        ("my full name is Emma Johnson", "name", "my full name is [name]"),
        ("im 13 and live in Leeds", "age_location", "im 13 and live in [location]"),
        ("my snap is lily.rose2012", "handle", "my snap is [handle]"),
        ("my discord is gamerkid#4821", "handle", "my discord is [handle]"),
        ("my mums card is 4111 1111 1111 1111", "card", "my mums card is [card]"),
        ("IBAN: DE89 3704 0044 0532 0130 00", "iban", "IBAN: [iban]"),
        ("My SSN is 536-22-1847.", "national_id", "My SSN is [national_id]."),
    ],
)
def test_disclosure_is_found_and_redacted(text: str, stage: str, redacted: str) -> None:
    result = assess_message(text)
    assert stage in stage_of(text)
    assert result.redacted == redacted


# --- phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Call me at (212) 555-0147 after 6pm", "(212) 555-0147"),
        ("my dads number is (718)555-0112 if u need a ride", "(718)555-0112"),
        ("my cell is 415.555.0132 text me", "415.555.0132"),
        ("Phone: +1 (646) 555-0175", "+1 (646) 555-0175"),
        ("Tel. 001-305-555-0177", "001-305-555-0177"),
        ("Please call 1-800-555-0199 ext. 204 for billing", "1-800-555-0199 ext. 204"),
        ("Contact Dana at 202.555.0161 x12 about the lease", "202.555.0161 x12"),
        ("text me 7135550186", "7135550186"),
        ("mobile: +44 (0)7700 900 312", "+44 (0)7700 900 312"),
        ("dial 0044 7700 900 123 from abroad", "0044 7700 900 123"),
        ("Our number is 020 7946 0958.", "020 7946 0958"),
        ("Sie erreichen mich unter +49 30 12345678.", "+49 30 12345678"),
        ("Telefon: 089/12345678", "089/12345678"),
        ("Appelle-moi au 06 12 34 56 78 ce soir", "06 12 34 56 78"),
        ("bel me op 06-12345678", "06-12345678"),
        ("my number is 98765 43210 call after 7", "98765 43210"),
        ("Ph: (02) 9374 4000", "(02) 9374 4000"),
        ("me liga no (11) 98765-4321", "(11) 98765-4321"),
        ("my number in tokyo is 03-1234-5678", "03-1234-5678"),
        ("call 1-800-FLOWERS to order", "1-800-FLOWERS"),
    ],
)
def test_phone_formats_are_found_with_the_whole_number_in_the_span(text: str, phone: str) -> None:
    result = assess_message(text)
    assert "phone" in stage_of(text)
    assert result.redacted is not None
    assert phone not in result.redacted
    assert "[phone]" in result.redacted
    finding = result.finding(Risk.PERSONAL_INFO)
    assert finding is not None
    assert phone in [text[s.start : s.end] for s in finding.spans]


@pytest.mark.parametrize(
    "text",
    [
        "the test is on 12/05/2026",
        "due date 2026-05-12",
        "from 1.10.2025 to 31.10.2025",
        "between 2019-2023 we lived abroad",
        "Chapter 12: The French Revolution (1789-1799)",
        "meet at 14:30 by the gate",
        "[2024-05-12 14:32:07] user joined the server",
        "log: 1715523127 ms=384 status=200",
        "12:30:45.123 ERROR connection refused",
        "we won 3-2!!!",
        "lakers won 112-108 last night",
        "it costs $1,299.99 on sale",
        "€1.234,56 for a laptop is crazy",
        "i got 1 234 567 views on that video",
        "the population is 8,336,817",
        "Your order #112-4567890-1234567 has shipped.",
        "order no. 40218-55190-33 arrived today",
        "case number 123-456-789 was closed",
        "ticket no 20261129-0042",
        "confirmation code 7731 2845 0093",
        "zoom meeting id 812 3456 7890 passcode 4411",
        "kahoot game pin 4821937",
        "serial number 1234 5678 9012 3456",
        "ISBN 978-3-16-148410-0",
        "running windows version 10.0.19045.3803",
        "my router is at 192.168.1.1",
        "i have 12345678 points in cookie clicker",
        # the second voice's set (personal-info-b, DEV): a full date after "no" (Portuguese
        # "no dia" = "on the day"), an RMA number
        "A reunião será no dia 14/01/2027 às 19h, na sala 12.",
        "Your return authorisation number is RMA 7720-4419, write it on the box.",
    ],
)
def test_dates_times_scores_amounts_and_references_are_not_phones(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


def test_a_card_number_is_a_card_not_a_phone() -> None:
    assert labels_of("pay with 5555 5555 5555 4444") == ["card_mastercard"]


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("I live at 4587 Maple Avenue, Springfield, IL 62704.", "I live at [address]."),
        ("my address is 221 N Elm St Apt 3B", "my address is [address]"),
        ("im in apt 4c at 250 West 57th St", "im in apt 4c at [address]"),
        ("I live at Flat 3, 22 Victoria Road, London SW1A 1AA", "I live at [address]"),
        ("come to 8 Millbrook Close, Leeds LS6 2QT", "come to [address]"),
        ("Meine Adresse ist Hauptstraße 12, 10115 Berlin.", "Meine Adresse ist [address]."),
        ("Mariahilfer Straße 120, 1070 Wien", "[address]"),
        ("J'habite au 12 rue de la Paix, 75002 Paris.", "J'habite au [address]."),
        ("Vivo en Calle Mayor 5, 28013 Madrid.", "Vivo en [address]."),
        ("Abito in Via Roma 12, 00184 Roma.", "Abito in [address]."),
        ("Mijn adres is Kalverstraat 92, 1012 PH Amsterdam", "Mijn adres is [address]"),
        ("ul. Marszałkowska 10/12, 00-590 Warszawa", "[address]"),
        ("Moro na Rua Augusta 100, 1100-053 Lisboa", "Moro na [address]"),
        ("Av. Insurgentes Sur 1234, Col. del Valle", "[address], Col. del Valle"),
        ("Mi dirección es Calle 45 #12-30, Bogotá", "Mi dirección es [address], Bogotá"),
        ("Unit 5/12 Beach Road, Bondi NSW 2026", "[address]"),
        ("123 Main St, Toronto, ON M5V 2T6", "[address]"),
        ("my address is H.No. 12-3-45, Banjara Hills", "my address is [address], Banjara Hills"),
        ("Send letters to P.O. Box 1234, Springfield, IL 62701", "Send letters to [address]"),
        ("mail it to my po box 88", "mail it to my [address]"),
        ("Postfach 10 05 23, 20003 Hamburg", "[address]"),
        ("Apartado 3456, 28080 Madrid", "[address]"),
        ("Caixa Postal 1010, Rio de Janeiro", "[address], Rio de Janeiro"),
        ("im home alone at 5 cherry lane until 6", "im home alone at [address] until 6"),
        ("0487 Hopkins Squares Suite 925\nLake Maria, NE 52402", "[address]"),
        ("Flat 3\nSmith lane\nNorth Jane\nW1 2AB", "[address]"),
        ("Hauptstraße 12, 10115 Berlin, call me", "[address], call me"),
    ],
)
def test_address_formats_are_found_and_redacted_whole(text: str, redacted: str) -> None:
    assert "address" in stage_of(text)
    assert assess_message(text).redacted == redacted


@pytest.mark.parametrize(
    "text",
    [
        "Plot 7, Gandhi Nagar, opp. SBI Bank, Jaipur 302015",
        "D-12, Lajpat Nagar II, New Delhi 110024",
        "we live in B-204, Green Park Apartments, near Shiv Mandir, Pune 411038",
    ],
)
def test_indian_addresses_are_found_from_their_pieces(text: str) -> None:
    assert "address" in stage_of(text)


def test_pieces_of_one_address_become_one_placeholder() -> None:
    text = "Plot 7, Gandhi Nagar, opp. SBI Bank, Jaipur 302015 and my email is a.b@example.com"
    assert assess_message(text).redacted == "[address] and my email is [email]"


@pytest.mark.parametrize(
    "text",
    [
        "we're like 2/3 of the way there",
        "about 3/4 of the class failed lol",
        "the screen is 16:9 and the other one is 21:9",
        "its a 50/50 chance",
        "i live on the 3rd floor",
        "we're on floor 12 of the hotel",
        "room 214 is the science lab",
        "platform 9 3/4 is my favourite bit",
        "oak street is closed today because of the parade",
        "i walked 5 miles down the road",
        "there were 5 people in the park",
        "it took 20 minutes to walk there",
        "i ran 10 laps around the court",
        "24 hour drive to florida lol",
        "the 7 bridges walk is 28 km",
        "we drove on route 66 across arizona",
        "we got 2 pizzas and 3 drinks at the mall",
        "is makerspace a 3d printing place?",
        "Ive never seen mulan 2",
        "i love the song 22 by taylor swift",
        "Communication is definitely a 2-way street.",
        "I got 4 wheel drive bro!",
        "I tell myself that but when I'm at 90 I'm like a zombie",
        "if the Lib Dems were at 10% I'd be pretty annoyed",
        "I learned that in r/niceguys 101",
        "Str. 5",
        "The room is 4.2 m by 3.6 m, so about 15 square metres.",
        "Il servizio risponde al 19696, sempre attivo.",
    ],
)
def test_fractions_floors_and_quantities_are_not_addresses(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


# Issue 12: an age given in chat, a chat word or pronoun and a street type that is also an
# ordinary word ("way", "close") were read as a home address at MEDIUM.
@pytest.mark.parametrize(
    "text",
    [
        "im 26. u seem way older",
        "15 haha close",
        "ur 19? thats way older than me",
        "15 yeah close",
        "15 yh close",
        "lvl 50 ok close",
        "got 9 out of 10 pretty close",
        "scored 98 almost close",
        "hes 15 lol way too young for u",
        # a film's title; an article is no street's name
        "Yeah, 15 cloverfield lane",
        "I live in a place where we are all friends",
        "we live in the street behind the school",
        "Place to sell old Engagement Ring? (26F)",
    ],
)
def test_chat_replies_with_a_number_are_not_addresses(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("i live at 14 Holly Close", "i live at [address]"),
        ("14 Holly Close", "[address]"),
        ("26 Water Way", "[address]"),
        ("its 26 Water Way, Exeter", "its [address], Exeter"),
        ("3 Mill View, Leeds LS6 2AB", "[address]"),
        ("im 14. i live at 7 Rose Close", "im 14. i live at [address]"),
        ("how old r u? im 15. my house is 9 Long Way", "how old r u? im 15. my house is [address]"),
        ("we live on Mill Street", "we live on [address]"),
        ("i live at 15 Cloverfield Close", "i live at [address]"),
        ("Hansa Ring 12, 50667 Koeln", "[address]"),
    ],
)
def test_real_streets_named_like_chat_are_still_addresses(text: str, redacted: str) -> None:
    assert "address" in stage_of(text)
    assert assess_message(text).redacted == redacted


# --- payment cards, IBANs, national ids -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("my mums card is 4111 1111 1111 1111", "card_visa"),
        ("Card number: 5555 5555 5555 4444, exp 09/27", "card_mastercard"),
        ("mastercard 2223 0031 2200 3222", "card_mastercard"),
        ("pay with 3782 822463 10005", "card_amex"),
        ("6011111111111117 is the card", "card_discover"),
        ("JCB card 3530 1113 3330 0000", "card_jcb"),
        ("Diners Club 3056 9309 0259 04", "card_diners"),
        ("card 4012-8888-8888-1881 exp 12/28", "card_visa"),
    ],
)
def test_payment_cards_are_recognised_with_their_brand(text: str, label: str) -> None:
    result = assess_message(text)
    assert labels_of(text) == [label]
    assert "[card]" in (result.redacted or "")


def test_a_sixteen_digit_number_failing_luhn_is_not_a_card() -> None:
    assert labels_of("my card is 4111 1111 1111 1112") == []


@pytest.mark.parametrize(
    "text",
    [
        "Please transfer the deposit to GB82 WEST 1234 5698 7654 32.",
        "mon IBAN est FR14 2004 1010 0505 0001 3M02 606",
        "ES9121000418450200051332",
        "pay into NL91ABNA0417164300 please",
        "Refund to BE68 5390 0754 7034",
        "CH93 0076 2011 6238 5295 7",
    ],
)
def test_ibans_are_recognised(text: str) -> None:
    assert labels_of(text) == ["iban"]
    assert "[iban]" in (assess_message(text).redacted or "")


def test_an_iban_with_wrong_check_digits_is_not_one() -> None:
    assert labels_of("IBAN: DE88 3704 0044 0532 0130 00") == []


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("My SSN is 536-22-1847.", "national_id_ssn"),
        ("ssn: 402 81 5563", "national_id_ssn"),
        ("my NI number is AB 12 34 56 C", "national_id_nino"),
        ("National Insurance No: JG103759A", "national_id_nino"),
        ("my aadhaar is 6580 7302 1578", "national_id_aadhaar"),
        ("meu CPF é 585.847.195-12", "national_id_cpf"),
        ("mi DNI es 48291735S", "national_id_dni"),
        ("NIE X1234567L", "national_id_nie"),
        ("my SIN is 312 652 068", "national_id_sin"),
        ("codice fiscale RSSMRA85T10A562S", "national_id_codice_fiscale"),
    ],
)
def test_national_ids_are_recognised_as_what_they_are(text: str, label: str) -> None:
    assert labels_of(text) == [label]
    assert "[national_id]" in (assess_message(text).redacted or "")


@pytest.mark.parametrize(
    "text",
    [
        "the code is 666-12-3456",  # SSNs never start with 666
        "ref 000-12-3456",  # ... or 000
        "QQ 12 34 56 C was on the sheet",  # QQ is not an NI number prefix
        "585.847.195-13 is on the form",  # CPF shape, wrong check digits
    ],
)
def test_id_shapes_that_fail_their_rules_are_not_ids(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


def test_a_named_id_with_a_typo_in_its_check_digit_still_counts() -> None:
    assert labels_of("my aadhaar is 2841 9375 6018") == ["national_id_aadhaar"]
    assert labels_of("2841 9375 6018 was on the poster") == []


@pytest.mark.parametrize(
    "text",
    [
        "my mums card is 4111 1111 1111 1111",
        "IBAN: DE89 3704 0044 0532 0130 00",
        "My SSN is 536-22-1847.",
    ],
)
@pytest.mark.parametrize(("sender", "recipient"), [(None, None), ("child", "child"), (14, 15)])
def test_a_card_bank_account_or_id_from_a_child_is_at_least_medium(
    text: str, sender: str | int | None, recipient: str | int | None
) -> None:
    finding = assess_message(text, sender=sender, recipient=recipient).finding(Risk.PERSONAL_INFO)
    assert finding is not None
    assert finding.level >= RiskLevel.MEDIUM


# --- date of birth ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("DOB: 04/12/2010", "DOB: [date_of_birth]"),
        ("my birthday is 3rd march 2011", "my birthday is [date_of_birth]"),
        ("i was born sept. 8, 2010", "i was born [date_of_birth]"),
        ("born on 2011-03-04", "born on [date_of_birth]"),
    ],
)
def test_a_date_of_birth_with_its_name_is_found(text: str, redacted: str) -> None:
    assert "birth_date" in stage_of(text)
    assert assess_message(text).redacted == redacted


@pytest.mark.parametrize(
    "text",
    ["i was born in 2011", "my birthday is in march", "happy birthday 12/05", "on 04/12/2010"],
)
def test_a_year_or_a_birthday_without_a_year_is_not_a_date_of_birth(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


# --- spans, redaction, context -----------------------------------------------------------------


def test_spans_point_into_the_original_text_through_folding() -> None:
    text = "😊 mÿ nümbér ís ０７７００ ９００１２３ and my IBAN is GB82 WEST 1234 5698 7654 32"
    finding = assess_message(text).finding(Risk.PERSONAL_INFO)
    assert finding is not None
    found = {span.label: text[span.start : span.end] for span in finding.spans}
    assert found["phone"] == "０７７００ ９００１２３"
    assert found["iban"] == "GB82 WEST 1234 5698 7654 32"


def test_redacted_copy_keeps_the_rest_of_the_message() -> None:
    result = assess_message("ok!! my number is 07700 900123, text me after 6 😊")
    assert result.redacted == "ok!! my number is [phone], text me after 6 😊"


def test_every_kind_in_one_message_is_redacted() -> None:
    text = (
        "Jane Doe, jane.doe@example.com, (555) 010-4477, 42 Oak Street, "
        "card 4111 1111 1111 1111, IBAN GB82WEST12345698765432, SSN 536-22-1847"
    )
    assert assess_message(text).redacted == (
        "Jane Doe, [email], [phone], [address], card [card], IBAN [iban], SSN [national_id]"
    )


@pytest.mark.parametrize(
    "text",
    [
        "we won 3-1!!!",
        "the test is on 12.05.2026",
        "i got 100 views on my video",
        "my name is sam lol",
        "i go to bed at 10",
        "i go to school at 8",
        "add me on roblox i'll send you a friend request",
        "my snap is broken lol",
        "i'm at my grandparents house, no wifi lol",
        "im 13 and i love football",
        "someone in my discord server said they're leaving",
        "yo i'll give you my fortnite account if you win",
        "i see you blocked me on snap. cute.",
        "my roblox obby has 1000 visits!!",
    ],
)
def test_numbers_and_names_that_are_not_disclosures_pass(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


def test_a_place_after_an_age_stops_at_the_comma() -> None:
    assert assess_message("i'm 16 from california, do you like me?").redacted == (
        "i'm 16 from [location], do you like me?"
    )


def test_speaker_labels_in_a_chat_log_are_not_handles() -> None:
    log = "user2: i posted it on my insta\nuser1: nice"
    assert assess_message(log).finding(Risk.PERSONAL_INFO) is None


def test_to_dict_never_contains_the_original_text() -> None:
    text = "my number is 07700 900123 and my card is 4111 1111 1111 1111"
    out = assess_message(text).to_dict(include_redacted=False)
    assert "07700" not in str(out)
    assert "4111" not in str(out)
    assert "redacted" not in out


def test_child_telling_an_adult_scores_higher_than_telling_a_friend() -> None:
    text = "i live at 42 oak street"
    to_adult = assess_message(text, sender="child", recipient="adult").finding(Risk.PERSONAL_INFO)
    to_friend = assess_message(text, sender="child", recipient="child").finding(Risk.PERSONAL_INFO)
    assert to_adult is not None
    assert to_friend is not None
    assert to_adult.score > to_friend.score


# --- the evaluation set and the data file -----------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "heldout"])
def test_evaluation_set_scores_stay_above_the_targets(name: str) -> None:
    """In-sample by now (see the set's README); this guards against regressions."""
    report = evaluate(read_corpus(EVAL_SET / f"{name}.jsonl", "text", "labels"))
    scores = next(s for s in report.risks if s.risk is Risk.PERSONAL_INFO)
    assert scores.recall >= 0.95, scores.to_dict()
    assert scores.precision >= 0.95, scores.to_dict()


@pytest.mark.parametrize(
    ("voice", "recall"),
    [
        (SECOND_VOICE, 0.95),
        (THIRD_VOICE, 0.95),
        (FOURTH_VOICE, 0.98),
        (FIFTH_VOICE, 0.97),
        (SIXTH_VOICE, 0.95),
        (SEVENTH_VOICE, 0.95),
    ],
    ids=["second", "third", "fourth", "fifth", "sixth", "seventh"],
)
def test_the_other_voices_dev_halves_stay_above_the_targets(voice: Path, recall: float) -> None:
    """DEV is in-sample (the fixes were read from it); TEST is counted in docs, never tuned on.
    The fourth voice's DEV misses one row now (0.992: a location sticker in a screenshot)."""
    report = evaluate(read_corpus(voice / "dev.jsonl", "text", "labels"))
    scores = next(s for s in report.risks if s.risk is Risk.PERSONAL_INFO)
    assert scores.recall >= recall, scores.to_dict()
    assert scores.precision >= 0.95, scores.to_dict()


@pytest.mark.parametrize(
    "voice", [SECOND_VOICE, THIRD_VOICE, FOURTH_VOICE, FIFTH_VOICE, SIXTH_VOICE, SEVENTH_VOICE],
    ids=["second", "third", "fourth", "fifth", "sixth", "seventh"],
)
def test_the_other_voices_files_are_what_their_sources_build(voice: Path) -> None:
    # a hand edit of dev.jsonl or test.jsonl would be lost on the next build (and could move a
    # row between the halves)
    result = subprocess.run(
        [sys.executable, str(voice / "build.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "name",
    ["dev", "heldout"] + [f"../personal-info-{v}/dev" for v in "bcdefg"],
)
def test_literal_gates_never_skip_a_personal_info_pattern_on_the_evaluation_set(name: str) -> None:
    lexicon = load_lexicon()
    lex = lexicon.for_risk(Risk.PERSONAL_INFO)
    for line in (EVAL_SET / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        message = json.loads(line)["text"]
        ctx = SignalContext(lexicon.normalizer.normalize(message), lexicon)
        chosen = {id(p) for p in ctx.candidates(lex)}
        for pattern in lex.patterns:
            if pattern.regex.search(ctx.norm.light):
                assert id(pattern) in chosen, (message, pattern.cue.id)


def test_a_numbers_table_with_a_missing_list_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "personal_info.toml"
    path.write_text('[numbers]\nphone_words = ["call"]\n', encoding="utf-8")
    with pytest.raises(LexiconError, match=r"personal_info\.toml: \[numbers\]: missing 'id_names'"):
        number_words_from(path)


def test_a_numbers_word_list_of_the_wrong_type_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "personal_info.toml"
    path.write_text(
        '[numbers]\nphone_words = "call"\nother_words = []\nquantity_words = []\n'
        "phone_regions = []\n[numbers.id_names]\n",
        encoding="utf-8",
    )
    with pytest.raises(LexiconError, match="phone_words: expected a list of words"):
        number_words_from(path)


# --- helplines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Worried about a child? Call the NSPCC helpline on 0808 800 5000.",
        "children can call Childline free on 0800 1111",
        "The National Domestic Violence Hotline is 1-800-799-7233.",
        "Kids Helpline is free and confidential: 1800 55 1800, any time, any reason.",
    ],
)
def test_a_helplines_published_number_is_not_personal_information(text: str) -> None:
    """A child sharing a helpline's number is being helped, not exposed (personal-info-b)."""
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


def test_a_phone_after_a_helpline_mention_further_back_is_still_a_phone() -> None:
    text = "the helpline was useless tbh, just text me on 07700 900461 instead"
    assert "phone" in labels_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "Send it to Portland, OR 97201 by Friday",
        "From: Henrik Aaltonen, Mannerheimintie 12 B 7, 00100 Helsinki, Finland.",
        "call 1-800-FLOWERS to order",
    ],
)
def test_the_narrower_rules_still_find_what_they_are_for(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is not None


# --- kinds the second voice's set showed missing (personal-info-b, DEV) --------------------------


@pytest.mark.parametrize(
    ("text", "stage", "redacted"),
    [
        ("my fortnite password is bubbles2013 dont tell", "password",
         "my fortnite password is [password] dont tell"),
        ("Temporary password issued: Tq8#mzR4pL.", "password",
         "Temporary password issued: [password]."),
        ("I reset my password to Sunflower!2026 this morning", "password",
         "I reset my password to [password] this morning"),
        ("Username: amira.haddad, locked out since Monday", "handle",
         "Username: [handle], locked out since Monday"),
        ("He posted my home IP 203.0.113.87 in the server", "ip_address",
         "He posted my home IP [ip_address] in the server"),
        ("his ipv6 is 2001:db8:85a3::8a2e:370:7334 lol", "ip_address",
         "his ipv6 is [ip_address] lol"),
        ("vehicle registration LB07 SEO, silver Ford", "vehicle",
         "vehicle registration [plate], silver Ford"),
        ("the number plate was KM71 RXO", "vehicle", "the number plate was [plate]"),
        ("Passport No: X4927716 (Netherlands)", "national_id",
         "Passport No: [national_id] (Netherlands)"),
        ("BSN: 111222333 voor de huisarts", "national_id", "BSN: [national_id] voor de huisarts"),
        ("Learner's ID number: 1104155009087", "national_id", "Learner's ID number: [national_id]"),
        ("Versichertennummer A123456780", "national_id", "Versichertennummer [national_id]"),
        ("write to sam[at]example[dot]org", "email", "write to [email]"),
        ("mail me: leo_v (at) example.net", "email", "mail me: [email]"),
        ("its jo dot lee at example dot com", "email", "its [email]"),
    ],
)
def test_passwords_user_names_ips_plates_named_ids_and_spelt_out_emails(
    text: str, stage: str, redacted: str
) -> None:
    assert stage in stage_of(text)
    assert assess_message(text).redacted == redacted


@pytest.mark.parametrize(
    "text",
    [
        "The patient was born the twenty-first of July two thousand and eleven.",
        "born on the 4th of October, two thousand and twelve",
        "Versicherte: Anna Schmid, geb. 03.04.2012",
        "Elle est née le 3 avril 2011 à Lyon.",
    ],
)
def test_dates_of_birth_in_words_and_other_languages(text: str) -> None:
    assert "birth_date" in stage_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "the password has to have 8 characters and a number",
        "the wifi password is on the fridge",
        "Can anyone recommend any encrypted password managers? I've seen a few",
        "i couldnt login\nuser1: hi there",
        "oh shoot, is my user name that....Dang it",
        "my username got taken so i added numbers",
        "my router ip is 192.168.1.20, the printer 10.0.0.7",
        "We ate at Aloha plate\nuser2: was it good",
        "please register by friday, registration closes at 5",
        "look at google dot com for the answer",
        "please use meeting ID 842 1937 5520 to join",
        "a reminder that passport photos cost £8",
    ],
)
def test_words_near_those_kinds_are_not_disclosures(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


def test_a_password_or_named_id_is_at_least_medium_between_children() -> None:
    for text in ("my password is bubbles2013", "my passport number is X4927716"):
        result = assess_message(text, sender="child", recipient="child")
        finding = result.finding(Risk.PERSONAL_INFO)
        assert finding is not None
        assert finding.level >= RiskLevel.MEDIUM, text


@pytest.mark.parametrize(
    "text",
    [
        "vi prego di spedire a: Sig. Paolo Esposito, Corso Umberto I 210, 80138 Napoli.",
        "im by the skatepark on Mill Road rn, alone till 6",
    ],
)
def test_a_street_with_a_regnal_number_and_a_place_with_its_street(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is not None


# --- what the third voice's set showed missing (personal-info-c, DEV) ----------------------------


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("ring me on oh eight six double five four three two one nine",
         "ring me on [phone]"),
        ("my mobile is zero seven seven double oh nine double oh six one two",
         "my mobile is [phone]"),
        ("its 086 three four double 5 six 7 eight 9 ok", "its [phone] ok"),
        ("dont screenshot 0 8 6 1 2 3 4 5 6 7 pls", "dont screenshot [phone] pls"),
        ("whatsapp plus two five four seven one two three four five six seven eight",
         "whatsapp [phone]"),
        ("text me on nine one seven five five five oh one six two", "text me on [phone]"),
        ("the card is five five five five five five five five five five five five four four "
         "four four", "the card is [card]"),
    ],
)
def test_numbers_read_out_in_words_or_digit_by_digit(text: str, redacted: str) -> None:
    assert assess_message(text).redacted == redacted


@pytest.mark.parametrize(
    "text",
    [
        "one two three four five six seven eight nine ten coming ready or not",
        "no one two three four five six seven eight",
        "line one two three four five six seven of the poem",
        "set a timer for twenty five minutes and remind me at six thirty",
        "it was two one two one one and we lost on penalties",
        "the combination is one two three four five six seven nine",
        "map seed is 4817265930 the village spawns right there",
        "lobby code 8821937 quick before it fills",
    ],
)
def test_counting_and_game_numbers_are_not_phones(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("we moved, our address is twenty seven ash lane swords now", "address"),
        ("send it to one hundred and four harbour road howth", "address"),
        ("our eircode is H91 K2T6", "address"),
        ("Unit 4, The Granary, Waterford X91 E2P4", "address"),
        ("Blk 9 Lot 14, Brgy. San Isidro, Antipolo", "address"),
        ("〒530-0001 大阪府大阪市北区梅田3丁目1-1", "address"),
        ("上海市徐汇区漕溪北路18号", "address"),
        ("year 8 at Ridgeway Academy Leeds 🏐", "school"),
        ("grade 6 @ Kilimani School 🎨", "school"),
        ("i go to Gaelscoil Eoghain in Cork", "school"),
        ("Holy Cross National School, 4th class", "school"),
        ("Amara Osei | 13 | choir and netball", "name"),
        ("irl im Liam Fitzgerald btw", "name"),
        ("我的名字是 王小明, add me", "name"),
        ("ig @tara.paints • sc tarapaints12 • galway", "handle"),
        ("whats ur roblox? mine is rocket_mango_12", "handle"),
        ("add me on xbox, im SilverFinch2012", "handle"),
        ("Gaming: leo_plays_09 (PSN)", "handle"),
        ("インスタは @mei.drawings11 です", "handle"),
        ("my gamer tag is purple penguin ninety nine no spaces", "handle"),
        ("my acc pass is dolphin2014 dont tell", "password"),
        ("password is pancakes four five six hashtag", "password"),
        ("email me on rosa underscore lim twenty twelve at example dot com", "email"),
        ("write to finn.doyle @ example . ie", "email"),
        ("she was born on june fifth twenty twelve", "birth_date"),
        ("asl? me 13 f dublin", "age_location"),
        ("12 from accra u?", "age_location"),
        ("Kofi | 14 | Kumasi | football", "age_location"),
        ("rn im at Dundrum shopping centre by the fountain", "live_location"),
        ("waiting outside Liffey Valley mall right now", "live_location"),
        ("NIN: 98765432109 for the WAEC form", "national_id"),
        ("PhilSys number 9876-5432-1098-7654", "national_id"),
        ("我的电话 139 1234 5678", "phone"),
    ],
)
def test_bios_game_chat_voice_and_other_scripts(text: str, stage: str) -> None:
    assert stage in stage_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "The Prime Minister spoke outside 10 Downing Street this morning.",
        "we visited 221B Baker Street, the Sherlock Holmes museum",
        "14 | she/her | digital art | no reposts",
        "class of 2030 🎓 | 5'4 | volleyball",
        "im at the park rn lol",
        "there's one main street in our town and it's always busy",
        "the password is the one on the back of the router",
        "my username is the same as on roblox",
        "im in the library rn studying",
        "ig i should go to bed",
    ],
)
def test_look_alikes_in_the_same_registers_are_not_disclosures(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


# --- what the fourth voice's set showed missing (personal-info-d, DEV) ---------------------------


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("my numbr iz 07700 9oo 214 txt me", "my numbr iz [phone] txt me"),
        ("ring me on 0770O9OO119 im bord", "ring me on [phone] im bord"),
        ("ok its\n+44 7700\n900 871", "ok its\n[phone]"),
        ("07700🔥900🔥742 dont leak it", "[phone] dont leak it"),
        ("appelle moi au 06 39 98 12 47 stp", "appelle moi au [phone] stp"),
        ("mój numer to 512 555 038 napisz", "mój numer to [phone] napisz"),
        ("wsp 11 5555-0193 hablame", "wsp [phone] hablame"),
    ],
)
def test_numbers_disguised_by_letters_emoji_line_breaks_or_another_language(
    text: str, redacted: str
) -> None:
    assert assess_message(text).redacted == redacted


@pytest.mark.parametrize(
    "text",
    [
        "Childline's number is 0800 1111 for anyone who needs it",
        "the kids helpline's number is 1800 55 1800",
        "[meme with a fake address: 742 Evergreen Terrace]",
        "lol 10/10\nwould watch again\n2026",
        "score was\n3\n2\nwe won",
        "lol 1on1 me at 10oclock",
        "Rathfarnham ETNS is hosting the regional chess tournament on the 14th",
        "prices are at an all time high",
        "she teaches at a community college",
        "the library closes at 5 on weekdays",
        "je vais au collège demain matin",
        # what the benign chat, Reddit and GoEmotions rows showed the first try flagging
        "how many hours a week at work or school",
        "the bar is at how high?",
        "6k total no school debt",
        "is that sharia approved?\n2 more questions",
        'my nickname is "mad-dog" lol',
        "no college degree\nuser1: same",
        "learn it at code academy",
        "my sister got added to a chat called 'ugly girls of year 8', we told the school",
    ],
)
def test_helplines_fiction_and_public_mentions_in_the_fourth_voices_registers(text: str) -> None:
    assert _no_rule_finding(text)


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("mi nick en free fire es xXValen_07Xx mandame solicitud", "handle"),
        ("add mo ko sa ML, ign ko ay Bebang.Slayer12", "handle"),
        ("insta kullanıcı adım elif.kaya.2012 takip et", "handle"),
        ("seguimi su tiktok @giuli.balla_2012", "handle"),
        ("la clave del insta es Mateo_1234 entra", "password"),
        ("hasło do mojego konta to kubus123 zaloguj sie", "password"),
        ("şifrem kedi2013 girip oyunu sen oyna", "password"),
        ("me llamo Sofia Ramirez Ortega, buscame en face", "name"),
        ("naci el 3 de agosto de 2012 asi q tengo 14", "birth_date"),
        ("ich bin am 14.03.2012 geboren", "birth_date"),
        ("13 ans, de Bruxelles, j'adore le dessin", "age_location"),
        ("ho 12 anni e sono di Bari, tu?", "age_location"),
        ("11 yrs old po ako from Davao hehe", "age_location"),
        ("11 from Swindon 👋", "age_location"),
        ("9 years old and from cape town 😍", "age_location"),
        ("tc kimlik numaram 10000000146 yazdım forma", "national_id"),
        ("voy al colegio San Patricio en 1º de la ESO", "school"),
        ("je suis en 5eme B au collège Jean Moulin à Nantes", "school"),
        ("7-B'deyim Cumhuriyet Ortaokulu'nda", "school"),
        ("hum Kendriya Vidyalaya No. 2 Jaipur me hai", "school"),
        ("our school is Parkside Community College", "school"),
        ("i finish at 3 at Ridgeway Primary and walk home", "school"),
        ("i got moved to 7R at Thornhill Academy lol", "school"),
        ("its Olivia Brennan in 5th class in St Brigid's NS", "school"),
        ("estoy sola en el parque de la calle Alcala ahora mismo, ven", "live_location"),
        ("abhi main Phoenix Mall ke food court me hu akela", "live_location"),
        ("im always at the bus stop outside the Co-op on Mill Lane at 8:05", "live_location"),
        ("every tuesday i'm at Kumon on Station Parade 4:30-5:30", "live_location"),
        ("on sundays i do swimming at Clapham Leisure Centre 9am till 10", "live_location"),
        ("im at the Five Guys in Liverpool ONE rn come find me", "live_location"),
        ("ana sakna fi 15 shar3 el nasr, madinet nasr", "address"),
        ("my email is ellie.mcgrath\n@example.com", "email"),
        ("Kit money to sort code 40-47-84 account 70872490, ref your name", "national_id"),
    ],
)
def test_kid_chat_in_other_languages_schools_and_whereabouts(text: str, stage: str) -> None:
    assert stage in stage_of(text)


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        # whereabouts in kid chat: the writer, a time or "now", a named place
        ("i wait at the stop outside Greggs on Albion Street at 8:10", "live_location"),
        ("we catch the 49 from Brixton station around 4", "live_location"),
        ("netball is wednesdays 5pm at Marlowe Park, mum gets me at 6", "live_location"),
        ("im at the Costa in Meadowhall till 3 if u wanna come", "live_location"),
        ("we sit on the wall by the library on Fore Street at lunch every day", "live_location"),
        ("every sunday im at my grans in Harlow", "live_location"),
        ("i get off at the corner of Pine and 5th at 3:20", "live_location"),
        ("meet me at St Anne's at half 3", "live_location"),
        ("my stop is Elephant and Castle", "live_location"),
        ("/// we're at ///crisp.lamp.ocean by the big tent", "live_location"),
        # other languages
        ("espero el bus en la parada de la calle Toledo a las 8", "live_location"),
        ("ich warte um 7:40 an der Haltestelle Marktplatz", "live_location"),
        ("aku tiap hari di depan Alfamart jl. Melati jam 2", "live_location"),
        ("ich bin 12 und wohne in Linz", "age_location"),
        ("jag är 13 och bor i Uppsala", "age_location"),
        ("am 12 ani si sunt din Brasov", "age_location"),
        ("aku umur 12 dari Medan", "age_location"),
        ("im 13 nd livin in leicester", "age_location"),
        ("hi all 12, from Norwich, i like horses", "age_location"),
        ("11 yo Ballarat, love netball", "age_location"),
        # homes, schools, plates
        ("my house is the one with the blue gate on Rowan Avenue", "address"),
        ("we live in the flat above the chippy on Market Street", "address"),
        ("rumahku di Jl. Mawar No. 12, Bogor", "address"),
        ("mieszkam na ulicy Polnej 4/2 w Gdansku", "address"),
        ("nha minh o so 12 ngo 8 pho Hang Bong", "address"),
        ("i go to Cardinal Heenan, year 9", "school"),
        ("im at Ark Globe, in set 2 for english", "school"),
        ("my school is Sir John Cass in Stepney, im year 8", "school"),
        ("im a 5th grader at Roosevelt Elementary", "school"),
        ("sekolahku SMP Negeri 3 Malang kelas 7", "school"),
        ("merg la scoala gimnaziala nr 5 din Sibiu", "school"),
        ("mrs khan teaches us science at Oakfield High", "school"),
        ("my mums car is the red fiesta BK19 TRW, shes outside", "vehicle"),
    ],
)
def test_whereabouts_homes_schools_and_ages_in_the_fifth_voices_registers(
    text: str, stage: str
) -> None:
    assert stage in stage_of(text)


@pytest.mark.parametrize(
    "text",
    [
        # past, advice, questions to others, no writer, no time, no named place
        "we went to Marlowe Park on saturday it was sick",
        "i was at the Costa in Meadowhall yesterday at 3",
        "dont go to the chippy on Market Street on mondays, its shut",
        "has anyone been to the new Nandos on Castle Street, is it good at 5",
        "the 49 bus is always late at Brixton station",
        "Albion Street is closed till 6 for the parade",
        "i get home at 4 and then fortnite",
        "im at the park rn",
        "lets drop at tilted towers at 3 then go to lazy lake",
        "my base is at x 340 z -1200, come now",
        "the fair is at Marlowe Park on saturday from 11 till 3, all welcome",
        "Oakfield High closed today because of snow",
        "i go to bed at 10, year 9 is tiring",
        "im at home, year 8 maths tonight",
        "i work at a high school now",
        "the bar is at how high now",
        "ich bin 13 lol",
        "we saw a car with the plate NOOB 1 today",
        "url path is ///static/app.js now",
        "10 yo kids, love it",
        "i was 13, from what i remember",
        "never tell anyone where you wait for the bus, like the stop on Albion Street at 8",
    ],
)
def test_look_alikes_of_whereabouts_schools_and_ages_are_not_disclosures(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None


# --- what the sixth voice's set showed missing (personal-info-f, DEV; session 10) -------------
# Forms, e-mails, tickets and bios, as synthetic-PII corpora write them; the lead's four probes
# from the task are the first four rows.


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("I'm 12 and go to St Mary's in Leeds", "I'm 12 and go to [location]"),
        (
            "Please wire it to account 12345678, sort code 20-00-00",
            "Please wire it to account [account], sort code 20-00-00",
        ),
        ("my login is amyk and pw is Hunter2!!", None),
        ("my ip is 192.168.4.20", "my ip is [ip_address]"),
        ("i'm 11 and attend Hillcrest in Dundee", "i'm 11 and attend [location]"),
        ("my pin is 9027", "my pin is [password]"),
        ("locked out after passcode 551903 twice", "locked out after passcode [password] twice"),
        ("the password for my tablet is 77102345", "the password for my tablet is [password]"),
        ("CLABE: 032180000118359719", "CLABE: [account]"),
        ("Medical record number 77120934, Ada Ferris", None),
        ("MRN: 4481290 seen in A&E", "MRN: [national_id] seen in A&E"),
        ("mi CURP es BADD110313HCMLNS09", "mi CURP es [national_id]"),
        ("Grade: 4\nSchool: Pinecrest Elementary, Boise ID", None),
        ("Je suis en CM1 à l'école Paul Bert", "Je suis en CM1 à [school]"),
        ("twitch: lunar_pixie07", "twitch: [handle]"),
        ("me: 12, Hamilton, loves netball", "me: 12, [location], loves netball"),
        ("my home ip is 10.0.0.23", "my home ip is [ip_address]"),
        ("plaque d'immatriculation GH-482-KL", "plaque d'immatriculation [plate]"),
        ("vivo in via Manzoni 7 a Bergamo", "vivo in [address] a Bergamo"),
    ],
)
def test_what_forms_tickets_and_bios_give_away(text: str, redacted: str | None) -> None:
    result = assess_message(text)
    finding = result.finding(Risk.PERSONAL_INFO)
    assert finding is not None and finding.level >= RiskLevel.LOW, text
    if redacted is not None:
        assert result.redacted == redacted


@pytest.mark.parametrize(
    "text",
    [
        # credentials: a quiz's game pin, a meeting's passcode, rules about PINs, a pin badge
        "the kahoot game pin is 4829137",
        "Join Zoom meeting 845 2231 9087, passcode 662410",
        "your PIN must be 4 digits and not 1234",
        "the pin has 4 digits",
        "my pin badge collection is at 57 now",
        "Campus: Kotra Road, Raigarh (C.G.), PIN: 496001. Admissions open.",
        # home-network addresses that are not the writer's, loopback, a router's admin page
        "Set the gateway to 192.168.1.1 in the settings",
        "my router ip is 192.168.0.254, how do i log in",
        "my ip is 127.0.0.1 good luck lol",
        # published places: a home has no opening hours or head office
        "The library at 14 Church Street is open from 9 to 5 on weekdays.",
        "Visit our showroom, 120 Station Road, Reading, opening hours Mon-Sat 9-6.",
        "Our head office moved to 3 Wellington Place, Leeds LS1 4AP last year.",
        # published numbers and references
        "Our customer service line is 0345 300 2211, 8am to 6pm.",
        "Keep your receipt no. 0193-771-402 for returns.",
        # counts are not a street
        "we're at 310 likes on the video already",
        "te lo mando via email 2 volte a settimana",
        "im 12 and go to bed at 9",
    ],
)
def test_look_alikes_in_forms_tickets_and_shops_are_not_disclosures(text: str) -> None:
    finding = assess_message(text).finding(Risk.PERSONAL_INFO)
    assert _no_rule_finding(text), (
        text, finding and [(s.label, s.start, s.end) for s in finding.spans]
    )


# --- an adult's age and town is not a child's disclosure (tenth session) -------------------------
# Adult chat rooms answer "asl" with "29 f chicago": counted as a child's age and place, these
# flagged a third of the benign adult conversations; a child's answer still counts.


@pytest.mark.parametrize(
    "text",
    [
        "28 f uk u?",
        "asl? 24/m/stockholm",
        "33 m houston",
        "19 f rutgers",
        "im 34 and live in Denver",
        "Hola Carmen! I'm Mark, 31, from Leeds. English for Spanish?",
        "Jess | 25 | Bristol | coffee",
        "14 in august",
        "im 13 in september",
    ],
)
def test_an_adults_age_and_town_or_a_month_is_not_a_childs_disclosure(text: str) -> None:
    assert _no_rule_finding(text)


@pytest.mark.parametrize(
    "text",
    [
        "14 f ny u",
        "asl? me 13 f dublin",
        "15/f/ca",
        "im 12 and live in Denver",
        "hi im 17 from leeds",
        "Mia | 14 | Bristol | art",
    ],
)
def test_a_childs_age_and_town_still_counts(text: str) -> None:
    assert "age_location" in stage_of(text)


# --- what the seventh voice's set showed missing (personal-info-g, DEV; session 11) ------------
# Whereabouts in kid chat with no street shape: a place named by what it is, in, on, by or next
# to a named one; a meeting point or a club with a time; a class then its school; ages with
# towns in more languages; a home told by what is next to it. Rows written for the tests, not
# copied from the set.


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        # "rn" (or any word the gate has with a space before it) opening the message or a line
        ("rn we r at the starbucks in Kingston", "live_location"),
        ("hiya\nrn we r at the starbucks in Kingston", "live_location"),
        # the present, no time: a place by what it is, then where it is
        ("im at the Aldi in Bexleyheath for like 20 mins", "live_location"),
        ("im sat at the bus stop by Morrisons in Wigan", "live_location"),
        ("were at the shopping centre in Bluewater by the fountain", "live_location"),
        ("im at my nans in Kirkby all weekend", "live_location"),
        ("omw to the chippy on Dale Street", "live_location"),
        ("my mum drops me at the library in Acton every sat", "live_location"),
        # a meeting point or a club with a time
        ("meet at the war memorial in Ashford at 3", "live_location"),
        ("scouts at the church hall on Vicarage road every tuesday 7pm", "live_location"),
        ("my swimming is at the baths in Hyde every sunday morning", "live_location"),
        ("i do judo at Budokwai in Fulham every thursday", "live_location"),
        # other languages
        ("los jueves tengo basket en el polideportivo de Vallecas a las 5", "live_location"),
        ("ik ben nu bij de Albert Heijn op het Museumplein", "live_location"),
        ("jestem teraz w Galerii Krakowskiej", "live_location"),
        # a class, then its school
        ("12 in year 7 at Westbourne in Ipswich", "school"),
        ("im in 6th grade at Garfield Middle lol", "school"),
        ("i go to St Cuthberts in Hexham, 8C", "school"),
        # ages and towns
        ("13, leeds, u?", "age_location"),
        ("11 from Nagpur lol", "age_location"),
        ("tenho 12 anos e moro em Recife", "age_location"),
        ("mam 12 lat i mieszkam w Lodzi", "age_location"),
        ("im 11 nd i go to st annes in Oldham", "age_location"),
        # a home told by what is next to it
        ("we live in the flats opposite Hulme library", "address"),
        ("the house next to the Co-op on Ivy lane, thats mine", "address"),
    ],
)
def test_whereabouts_without_street_shape_in_the_seventh_voices_registers(
    text: str, stage: str
) -> None:
    assert stage in stage_of(text)


@pytest.mark.parametrize(
    "text",
    [
        # places in games, a notice, the past, a country, nothing named
        "meet at the bank in Jailbreak at 6pm my time",
        "meet at the gas station in Fortnite at 8",
        "theres a drama club at the library in Leeds every tuesday, everyone welcome",
        "we had training at the pitch in Didsbury every week last year",
        "im at the beach in spain",
        "im at the bank in jailbreak",
        "im at the shop on the corner",
        "im at the park in the rain lol",
        "im in the library on my phone",
        "my house is next to the park",
        # ages and classes that are not a child's town or school
        "15, same, u?",
        "5 from me lol",
        "10 in fortnite lol",
        "i got grade 5 at piano",
        "i was in year 6 at the time",
        "im in year 9 at the moment",
        # asked of the reader, told of someone else (a benign conversation row of the bundle)
        "heyy ur in year 10 at cranbrook?",
        "shes in year 9 at Kingsmead",
        # facts and films
        "the Eiffel tower is in Paris",
        "we watched a film about a bus stop",
    ],
)
def test_look_alikes_of_the_seventh_voices_whereabouts_are_not_disclosures(text: str) -> None:
    assert _no_rule_finding(text)


def test_a_gate_word_with_a_space_before_it_opens_at_the_start_and_after_a_line_break() -> None:
    index = GateIndex({" rn", "now"})
    assert " rn" in literals_in(index, "rn at the park", has_digit=False)
    assert " rn" in literals_in(index, "hey\nrn at the park", has_digit=False)
    assert " rn" not in literals_in(index, "turn left", has_digit=False)


# --- voices d, e and g again (DEV; session 12) ------------------------------------------------
# Schools named in passing or asked about, buses and routines, lines that drop the writer, other
# languages' whereabouts, schools and ages. Rows written for the tests, not copied from the sets.


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        # schools named in passing, the writer tied to them
        ("anyone here go to Parkfield High? im in year 9", "school"),
        ("wait ur from Kingsdown academy?? me too", "school"),
        ("anyone from Northgate middle school on here", "school"),
        ("does anyone at St Brendans have the history homework", "school"),
        ("the canteen at Oakmere is so grim today", "school"),
        ("we go to the same school!! Redhill, im in 8B", "school"),
        ("Brookfield academy is making us wear ties in july", "school"),
        ("at St Josephs we have to wear blazers all year", "school"),
        ("our school is St Peters in Derby", "school"),
        ("voy a 2o de la ESO en el IES Miguel Servet", "school"),
        ("faccio la terza media alla Pascoli", "school"),
        ("ik zit in groep 7 op de Regenboog in Zwolle", "school"),
        ("to no 7 ano na EE Castro Alves, de tarde", "school"),
        ("chodze do szkoly nr 12 w Gdansku", "school"),
        # on a bus now, a routine bus, the writer left out, a town centre now
        ("im on the 73 rn, getting off at Stoke Newington", "live_location"),
        ("im sat on the top deck of the 149 bus rn", "live_location"),
        ("i always get on the 12 when it leaves Hexham at 8.05", "live_location"),
        ("i get the bus from Gosport every day at 7.45", "live_location"),
        ("chilling at the cafe in Hove till 5", "live_location"),
        ("rn at the kfc on Mill Road, so bored", "live_location"),
        ("me and amy r at the cinema in Basingstoke rn", "live_location"),
        ("im in Reading town centre rn", "live_location"),
        ("caravan 12 at Sandy Bay all week, come find us", "live_location"),
        ("we play football on the astro at Powerleague in Hoxton every fri 6pm", "live_location"),
        # other languages
        ("jsuis au parc de la Tete d Or tout seul", "live_location"),
        ("ich bin grad am Bahnhof in Bonn", "live_location"),
        ("teraz jestem na przystanku przy Biedronce", "live_location"),
        ("simdi Besiktas iskelesindeyim", "live_location"),
        # ages and names
        ("tengo 12 y soy de Malaga", "age_location"),
        ("im like 12 nearly 13 and i live in Sligo", "age_location"),
        ("jestem Maja Nowak z 5c", "name"),
        ("ma numbr is o7 7oo 9oo 4 6 2", "phone"),
    ],
)
def test_shapes_of_voices_d_e_and_g_that_main_missed(text: str, stage: str) -> None:
    assert stage in stage_of(text)


@pytest.mark.parametrize(
    "text",
    [
        # a notice for everyone at a school (main flagged it)
        "the summer fair is saturday 11-3 at Ashgrove Primary, everyone welcome",
        # schools that are nobody's, or not a school
        "anyone here go to the gym? im in year 9 lol",
        "anyone from harvard here",
        "anyone at work have the maths sheet",
        "the canteen at work is so bad",
        "the canteen at ikea is so good",
        "my brother goes to Oakwood Academy",
        "i go to st james park in newcastle for the match",
        "we go to st ives in cornwall every summer",
        "our school is closed in the snow",
        "my mum is making us wear coats",
        # buses and places with nowhere to find anyone
        "im on the 25th floor rn",
        "im on the 2nd level rn lol",
        "im on the train to brighton lol",
        "he gets the bus from romford every day at 8",
        "i used to get the bus from romford every day at 8",
        "rn at the bank in jailbreak lol",
        "currently at the mall in brookhaven",
        "going to the mall in brookhaven at 6",
        "we stayed in caravan 12 at haven last summer",
        # other languages: home, the past, tomorrow, a number of things
        "je suis au parc de la villette demain",
        "ich bin gerade im bett",
        "main abhi ghar pe hu",
        "su an cok mutluyum",
        "tengo 12 de ellos",
        "jestem bardzo zmeczona z 2a",
    ],
)
def test_look_alikes_of_voices_d_e_and_g_are_not_disclosures(text: str) -> None:
    assert _no_rule_finding(text)


# --- phone shapes the fourth voice still missed (session 13) --------------------------------------
# Emoji between a number's groups, an area code told beside a local number (in the same bubble
# or a later one), a local number after "I'm on" or "hmu", nine digits dialled at home in Spain.
# Rows written for the tests, not copied from the sets; every one fails on main 993747cc.


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("07700 🔥 900 🔥 461", "[phone]"),
        ("new one 07700 ✨ 900 ✨ 872 dont give it out", "new one [phone] dont give it out"),
        ("hmu\n555-0162\nthats my cell, 212 area", "hmu\n[phone]\nthats my cell, 212 area"),
        ("area code 415, 555-0190, dont tell my mom", "area code 415, [phone], dont tell my mom"),
        ("555 0174 (the 917 area) if u wanna talk", "[phone] (the 917 area) if u wanna talk"),
        ("I'm on 555-0139 if anyone needs a lift Saturday",
         "I'm on [phone] if anyone needs a lift Saturday"),
        ("hit me up 555.0121 after practice", "hit me up [phone] after practice"),
        ("my # is 555 0127 ok", "my # is [phone] ok"),
        ("mejor escribeme al 655512034 que el insta no lo miro",
         "mejor escribeme al [phone] que el insta no lo miro"),
        ("pasamelo al 722555019 porfa", "pasamelo al [phone] porfa"),
    ],
)
def test_phone_shapes_the_fourth_voice_still_missed(text: str, redacted: str) -> None:
    result = assess_message(text)
    assert result.redacted == redacted
    finding = result.finding(Risk.PERSONAL_INFO)
    assert finding is not None and [span.label for span in finding.spans] == ["phone"]


@pytest.mark.parametrize(
    "text",
    [
        # digit lists and scores, with and without emoji or a phone word in a game's title
        "lvl 7 rn 4 5 6 7",
        "lvl 7 rn 4 5 6 7 8 9 0",
        "call of duty 2 3 4",
        "call of duty 2 3 4 5 6 7 8",  # flagged on main: "call" read as a phone word
        "3 - 2 - 1",
        "final was 3 - 2 - 1 lol",
        "score 21-18, 25-23, 25-20",
        "won 21 🏆 18 🏆 25 🏆 30",
        "8 ⭐ 9 ⭐ 10 ⭐ 7 ⭐ 9",
        "i got 3 🔥 2 🔥 1 🔥 0",
        "12 🎂 05 🎂 2026 is my bday",
        # "I'm on", "hmu" and "my #" before what is not a local number
        "im on 1234567 points",
        "im on 200-1500 calories a day",
        "im on ep 512-1024",
        "im on page 555-0148",
        "im on level 555-0148",
        "im on 555 0148 xp",
        "im on 10.0.19045",
        "im on 2019-2023 seasons",
        "im on 1000-1500 a month",
        "im on 4 5 6 7 8 9 1",
        "hmu 555-0177 subs",
        "hmu at 14:30 or 15:45",
        "hmu 12/05/2026",
        "my # is 23 on the team, 555 fans",
        # an area code beside what is not a local number
        "the 646 area has 555-0177 people",
        "lobby code 555-0177 area 415",
        "area 415 is 14:30",
        # nine digits that are not a phone: a count, a made-up row, an order, a code
        "its 987654321 lol",
        "600000000 views!!",
        "i have 644555201 coins",
        "gane 655512034 monedas",
        "mi pedido 712345678 no llega",
        "el codigo del juego es 655512034",
        "order 712345678 still not here",
        "my score was 712345678",
        "escribeme al 100 100 100",
    ],
)
def test_look_alikes_of_those_phone_shapes_are_not_phones(text: str) -> None:
    assert assess_message(text).finding(Risk.PERSONAL_INFO) is None
