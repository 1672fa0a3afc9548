"""The PII detector: per kind, texts it must find (positives) and look-alikes it must leave
alone (negatives); redaction with placeholders; counts per text."""

from __future__ import annotations

import pytest

from tuneforge.data.pii import (
    PII_KINDS,
    card_scheme_ok,
    count_pii,
    find_pii,
    luhn_ok,
    redact,
)
from tuneforge.errors import DataError

# kind → (texts holding one of that kind, with the exact value; look-alikes holding none)
CASES: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "email": (
        [
            ("write to jane.doe@example.com today", "jane.doe@example.com"),
            ("cc: j_o+tag@mail.co.uk.", "j_o+tag@mail.co.uk"),
            ("<ANNA-92@Bank-Example.de>", "ANNA-92@Bank-Example.de"),
        ],
        [
            "meet me @ the branch",
            "user@localhost has no domain",
            "the handle @janedoe",
            "price 5@10 each",
            "email at example dot com",
        ],
    ),
    "phone": (
        [
            ("call me on +44 20 7946 0958 please", "+44 20 7946 0958"),
            ("my number is (415) 555-2671", "(415) 555-2671"),
            ("ring 020 7946 0958 after six", "020 7946 0958"),
            ("tel: +1-415-555-2671", "+1-415-555-2671"),
            ("Festnetz 030 12345678", "030 12345678"),
            ("from abroad 0044 20 7946 0958", "0044 20 7946 0958"),
            ("ligne 01 23 45 67 89 le soir", "01 23 45 67 89"),
        ],
        [
            "paid on 2024-01-15 at 10:30",
            "due 15/01/2024",
            "ref 12345678",
            "the year 1999-2024 range",
            "version 10.0.19041.1",
            "order 1234567890123456 arrived",
            "£1,250.00 for order 88213409",
        ],
    ),
    "card": (
        [
            ("card 4111 1111 1111 1111 was charged", "4111 1111 1111 1111"),
            ("mc 5555-5555-5555-4444", "5555-5555-5555-4444"),
            ("amex 378282246310005 expired", "378282246310005"),
            ("visa 4012888888881881.", "4012888888881881"),
        ],
        [
            "order 1234567890123456 arrived",  # fails Luhn
            "order 4111 1111 1111 1112",  # one digit off: fails Luhn
            "tracking 1000000000000008",  # passes Luhn, no card scheme starts with 1
            "4111 1111 1111",  # too short
            "on 2024-01-15 and 2024-02-15",
        ],
    ),
    "iban": (
        [
            ("IBAN DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00"),
            ("to GB82WEST12345698765432 please", "GB82WEST12345698765432"),
            ("FR1420041010050500013M02606", "FR1420041010050500013M02606"),
            ("nl91abna0417164300 lower case", "nl91abna0417164300"),
        ],
        [
            "DE89 3704 0044 0532 0130 01",  # wrong check digits
            "GB82WEST1234569876543",  # a character short
            "XX89370400440532013000",  # no such country
            "model AB12 CDEF GHIJ KLMN",
        ],
    ),
    "ip": (
        [
            ("from 192.168.10.254 at night", "192.168.10.254"),
            ("client 8.8.8.8.", "8.8.8.8"),
            ("v6 2001:db8::ff00:42:8329 seen", "2001:db8::ff00:42:8329"),
            ("loopback ::1 only", "::1"),
            ("mapped ::ffff:10.0.0.1 here", "::ffff:10.0.0.1"),
        ],
        [
            "version 1.2.3",
            "build 10.0.19041.1",
            "1.2.3.4.5 is a section number",
            "v1.2.3.4",
            "meeting at 12:30:45",
            "octets 300.1.1.1",
        ],
    ),
    "url": (
        [
            ("see https://example.com/reset?id=42.", "https://example.com/reset?id=42"),
            ("www.bank-example.co.uk/help", "www.bank-example.co.uk/help"),
            ("(ftp://files.example.org/a)", "ftp://files.example.org/a"),
        ],
        [
            "the web is big",
            "e.g. this and i.e. that",
            "file report.pdf attached",
        ],
    ),
}


@pytest.mark.parametrize(
    "kind,text,value",
    [(k, t, v) for k, (pos, _) in CASES.items() for t, v in pos],
)
def test_finds_each_kind_with_its_exact_span(kind, text, value):
    """A positive is found as its kind, spanning exactly the value (no surrounding words or
    punctuation), and nothing else is found in it."""
    spans = find_pii(text)
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [(kind, value)]


@pytest.mark.parametrize(
    "kind,text",
    [(k, t) for k, (_, neg) in CASES.items() for t in neg],
)
def test_leaves_look_alikes_alone(kind, text):
    """A look-alike of a kind (order numbers, dates, versions, invalid IBANs…) is not that
    kind."""
    assert kind not in {s.kind for s in find_pii(text)}


def test_every_kind_has_positives_and_negatives():
    """The per-kind test set covers every kind the detector knows."""
    assert set(CASES) == set(PII_KINDS)
    assert all(len(pos) >= 3 and len(neg) >= 3 for pos, neg in CASES.values())


def test_redact_replaces_each_finding_with_its_placeholder():
    """Redaction keeps the text around the findings and names each kind."""
    text = (
        "I'm jane@example.com, card 4111 1111 1111 1111, IBAN GB82WEST12345698765432, "
        "phone +44 20 7946 0958, from 10.0.0.7 via https://x.example/a"
    )
    assert redact(text) == (
        "I'm [EMAIL], card [CARD], IBAN [IBAN], phone [PHONE], from [IP] via [URL]"
    )
    assert redact("nothing personal here") == "nothing personal here"


def test_overlaps_go_to_the_kind_of_higher_precedence():
    """An IP address inside a URL is part of the URL; an email inside a URL too."""
    assert redact("go to http://10.0.0.1/admin now") == "go to [URL] now"
    assert redact("http://user@example.com/x") == "[URL]"


def test_redact_can_be_limited_to_some_kinds():
    """Only the kinds asked for are replaced; an unknown kind is an error naming the choices."""
    text = "jane@example.com from 10.0.0.7"
    assert redact(text, kinds=["ip"]) == "jane@example.com from [IP]"
    with pytest.raises(DataError, match="emial"):
        redact(text, kinds=["emial"])


def test_count_pii_counts_texts_not_findings():
    """A text with two emails counts once; kinds no text has are left out."""
    texts = ["a@example.com and b@example.com", "c@example.org", "no data", "from 8.8.8.8"]
    assert count_pii(texts) == {"email": 2, "ip": 1}


def test_luhn_and_card_schemes():
    """Luhn's check digit and the schemes' prefixes and lengths decide what is a card."""
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert card_scheme_ok("378282246310005") and not card_scheme_ok("1000000000000009")
    assert not card_scheme_ok("41111111111111111")  # Visa has 13, 16 or 19 digits


def test_a_missing_library_says_what_to_install(monkeypatch):
    """Without phonenumbers, a text that needs it is a DataError naming the package."""
    import sys

    monkeypatch.setitem(sys.modules, "phonenumbers", None)  # import raises ModuleNotFoundError
    with pytest.raises(DataError, match="phonenumbers") as info:
        find_pii("call +44 20 7946 0958")
    assert "pip install phonenumbers" in info.value.hint
