"""Personal data in texts: find emails, phone numbers, payment cards, IBANs, IP addresses and
URLs, count them per column, and replace them with a placeholder of their kind.

Each kind is a candidate pattern and a validation, so look-alikes are not flagged: a card is
13-19 digits that pass the Luhn check and start like a card scheme (a 16-digit order number
fails one or the other), an IBAN passes its country's length, format and mod-97 check
(``python-stdnum``), an IP address is what ``ipaddress`` accepts (``1.2.3`` and ``10.0.19041.1``
are not), a phone number is one Google's libphonenumber (``phonenumbers``) calls valid, written
internationally or as a number of :data:`PHONE_REGIONS` (dates and timestamps it refuses).
Emails and URLs are small patterns. Every kind has a cheap pre-check, so a text without digits,
``@``, ``://`` or ``www.`` costs a few string scans: the detector runs over whole data files and
every logged request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    import pandas as pd

PII_KINDS = ("email", "phone", "card", "iban", "ip", "url")
PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}
# National numbers are read as numbers of these regions; "+CC" and "00CC" numbers of any. The
# US must stay: its pass finds the "+CC" numbers (see _phone_regions).
PHONE_REGIONS = ("US", "GB", "DE", "FR")
# Counting per column reads this much of each cell, as the data check measures lengths: a
# 15 MB cell (an unclosed quote) need not be scanned whole to count as holding personal data.
COUNTED_CHARS = 100_000

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)
_URL = re.compile(r"\b(?:[a-z][a-z0-9+.-]{1,15}://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\""  # sentence punctuation after a URL is not part of it
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)")
# An IPv4 tail first ("::ffff:10.0.0.1"), else a last group; never followed by ".digit".
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
    r"(?![\w:]|\.\d)"
)
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}(?![\w])", re.IGNORECASE)
_SEVEN_DIGITS = re.compile(r"(?:\d\D{0,3}){7}")
_TEN_DIGITS = re.compile(r"(?:\d[\s().-]{0,2}){10}")
_LEADING_ZERO = re.compile(r"(?<![\d.,])0\d")  # a trunk prefix 0, or 00 before a country code


@dataclass(frozen=True)
class PiiSpan:
    """One finding: its kind (one of :data:`PII_KINDS`) and where it is, ``text[start:end]``."""

    kind: str
    start: int
    end: int


def _emails(text: str) -> Iterator[tuple[int, int]]:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield m.span()


def _urls(text: str) -> Iterator[tuple[int, int]]:
    if "://" in text or "www." in text.lower():
        for m in _URL.finditer(text):
            start, end = m.span()
            while end > start and text[end - 1] in _URL_TRAILING:
                end -= 1
            if end - start > 4:
                yield start, end


def _ips(text: str) -> Iterator[tuple[int, int]]:
    # IPv6 first: an IPv4-mapped address holds an IPv4 one, which must not win the overlap.
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            value = m.group()
            if any(c.isalnum() for c in value) and _is_ip(value):
                yield m.span()
    if text.count(".") >= 3:
        for m in _IPV4.finditer(text):
            if _is_ip(m.group()):
                yield m.span()


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a string of digits (the last one is the check digit)."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_scheme_ok(digits: str) -> bool:
    """Whether the digits start and are as long as a card of a major scheme (Visa,
    Mastercard, American Express, Discover, JCB, Diners, UnionPay, Maestro): Luhn alone
    passes one random number in ten."""
    n, two, four = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649 or 3528 <= four <= 3589:
        return 16 <= n <= 19
    if two == 62 or two in (50, 56, 57, 58) or digits[0] == "6":
        return 16 <= n <= 19
    return False


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        value = m.group()
        if "  " in value or "--" in value:
            continue
        digits = value.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and card_scheme_ok(digits) and luhn_ok(digits):
            yield m.span()


def _library(module: str, package: str):
    """A validating library, imported on first use, or an error that says what to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise DataError(
            f"Finding personal data needs the '{package}' package.",
            hint=f"Install it: pip install {package}",
        ) from None


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    iban = _library("stdnum.iban", "python-stdnum")

    for m in _IBAN.finditer(text):
        start, parts = m.start(), m.group().split(" ")
        # A greedy match can run on into the next words ("... 0130 00 AB12"): the longest
        # run of whole groups that is a valid IBAN wins.
        for n in range(len(parts), 0, -1):
            candidate = " ".join(parts[:n])
            if len(candidate.replace(" ", "")) < 15:
                break
            if iban.is_valid(candidate):
                yield start, start + len(candidate)
                break


def _phone_regions(text: str) -> list[str]:
    """The regions worth a pass of libphonenumber's matcher (a few hundred µs each): the US
    one finds "+CC" numbers and US numbers, which have ten digits; the others' national
    numbers, and "00CC" numbers, start with a 0."""
    regions = []
    if "+" in text or _TEN_DIGITS.search(text):
        regions.append("US")
    if _LEADING_ZERO.search(text):
        regions += [r for r in PHONE_REGIONS if r != "US"]
    return regions


def _phones(text: str) -> Iterator[tuple[int, int]]:
    if not _SEVEN_DIGITS.search(text):
        return
    phonenumbers = _library("phonenumbers", "phonenumbers")
    valid = phonenumbers.Leniency.VALID
    for region in _phone_regions(text):
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=valid):
            yield m.start, m.end


# In order of precedence: a span overlapping one found before it is dropped (the IP address
# in a URL is part of the URL; digits of an IBAN are no phone number).
_FINDERS: tuple[tuple[str, Callable[[str], Iterator[tuple[int, int]]]], ...] = (
    ("url", _urls),
    ("email", _emails),
    ("iban", _ibans),
    ("card", _cards),
    ("ip", _ips),
    ("phone", _phones),
)


def check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    """``kinds`` as a tuple, every name one of :data:`PII_KINDS` (None: all of them)."""
    if kinds is None:
        return PII_KINDS
    chosen = tuple(kinds)
    unknown = [k for k in chosen if k not in PII_KINDS]
    if unknown:
        raise DataError(
            f"Unknown kind(s) of personal data: {', '.join(unknown)}.",
            hint=f"Choose from {', '.join(PII_KINDS)}.",
        )
    return chosen


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[PiiSpan]:
    """Every piece of personal data in ``text``, in text order, no two overlapping."""
    wanted = set(check_kinds(kinds))
    found: list[PiiSpan] = []
    for kind, finder in _FINDERS:
        if kind not in wanted:
            continue
        for start, end in finder(text):
            if not any(start < s.end and s.start < end for s in found):
                found.append(PiiSpan(kind, start, end))
    return sorted(found, key=lambda s: s.start)


def redact(text: str, kinds: Iterable[str] | None = None) -> str:
    """``text`` with each piece of personal data replaced by its placeholder (``[EMAIL]``)."""
    spans = find_pii(text, kinds)
    if not spans:
        return text
    parts, at = [], 0
    for span in spans:
        parts += [text[at : span.start], PLACEHOLDERS[span.kind]]
        at = span.end
    parts.append(text[at:])
    return "".join(parts)


def count_pii(texts: Iterable[str]) -> dict[str, int]:
    """How many of ``texts`` contain each kind (a text with two emails counts once); kinds
    none contains are left out."""
    counts: dict[str, int] = {}
    for text in texts:
        for kind in {s.kind for s in find_pii(text)}:
            counts[kind] = counts.get(kind, 0) + 1
    return {k: counts[k] for k in PII_KINDS if k in counts}


def pii_by_column(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per column of a table, how many rows hold each kind of personal data (columns
    without any are left out). Every column is read, numbers as their digits too: a card
    number is often a column of integers. Each cell counts by its first COUNTED_CHARS."""
    out: dict[str, dict[str, int]] = {}
    for column in frame.columns:
        values = (str(v)[:COUNTED_CHARS] for v in frame[column].dropna().tolist())
        counts = count_pii(v for v in values if v.strip())
        if counts:
            out[str(column)] = counts
    return out


def _kinds_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items())


def pii_message(path: str | Path, by_column: dict[str, dict[str, int]]) -> str:
    """The data check's warning: which columns hold personal data, and what follows."""
    columns = "; ".join(f"'{c}' ({_kinds_text(k)})" for c, k in by_column.items())
    return (
        f"{path}: rows hold personal data (rows per kind) in {columns}. A model can memorise "
        "it and reports can show it: remove or replace it (tuneforge.data.pii.redact) before "
        "training unless it is needed."
    )


def pii_lines(by_column: dict[str, dict[str, int]]) -> list[str]:
    """The data check's lines: one per column with personal data, rows per kind."""
    if not by_column:
        return ["personal   none found (emails, phones, cards, IBANs, IPs, URLs)"]
    lines = ["personal   rows with personal data, per column"]
    width = min(max(len(c) for c in by_column), 40)
    for column, counts in by_column.items():
        name = column if len(column) <= width else column[: width - 3] + "..."
        lines.append(f"  {name:<{width}} {_kinds_text(counts)}")
    return lines
