"""Identifying-detail warnings (SPEC §3.6): find what could unmask a poster.

Looks for e-mail addresses, phone numbers, NPI numbers (10 digits passing the
Luhn check over the 80840 prefix), DEA numbers (with their checksum), street
addresses and social-media handles or profile links. It errs on the side of
few false alarms: ordinary clinical prose — dosages, dates, years, prices,
"PGY-3", CPT and ICD codes — must not trigger (see tests/anonymity/test_detector.py).
Nothing is stored or logged: the text is only scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["email", "phone", "npi", "dea", "address", "handle"]

MESSAGES: dict[str, str] = {
    "email": "an e-mail address",
    "phone": "a phone number",
    "npi": "an NPI number (it identifies one physician)",
    "dea": "a DEA registration number (it identifies one prescriber)",
    "address": "a street address",
    "handle": "a social-media handle or profile link",
}


@dataclass(frozen=True)
class Finding:
    kind: Kind
    start: int
    end: int
    text: str

    @property
    def message(self) -> str:
        return f"This looks like {MESSAGES[self.kind]}: “{self.text}”."


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

_PROFILE_LINK = re.compile(
    r"\b(?:https?://)?(?:www\.)?(?:linkedin\.com/in|twitter\.com|x\.com|instagram\.com|"
    r"facebook\.com|tiktok\.com/@|doximity\.com/pub|threads\.net/@|bsky\.app/profile|"
    r"mastodon\.social/@)/?[A-Za-z0-9_.%-]{2,}",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@./])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{1,28}[A-Za-z0-9_])?\b")

# Ten digits in a row, or a North-American number written with separators, or an
# international number starting with +. Separated forms need the separators a
# phone number has, so that dates (2024-03-15) and codes (99213) do not match.
_PHONE = re.compile(
    r"(?<![\w.])(?:"
    r"\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){2,4}"
    r"|(?:1[\s.-])?\(\d{3}\)\s?\d{3}[\s.-]\d{4}"
    r"|(?:1[\s.-])?\d{3}[\s.-]\d{3}[\s.-]\d{4}"
    r"|\d{10}"
    r")(?![\w-])"
)

_DEA = re.compile(r"\b[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}\b")

_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Ter|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Trail|Trl"
)
_ADDRESS = re.compile(
    r"\b\d{1,6}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z]+\.?\s+){1,4}(?:" + _STREET_TYPES + r")\b\.?"
    r"|\bP\.?\s?O\.?\s+Box\s+\d+\b",
)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_npi(digits: str) -> bool:
    """An NPI: 10 digits starting with 1 or 2 whose Luhn check over 80840 + digits holds."""
    return len(digits) == 10 and digits[0] in "12" and _luhn_valid("80840" + digits)


def is_dea(text: str) -> bool:
    """A DEA number: two letters and seven digits; the last digit is the checksum."""
    if not _DEA.fullmatch(text):
        return False
    d = [int(c) for c in text[2:]]
    total = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])
    return total % 10 == d[6]


def find_identifying_details(text: str) -> list[Finding]:
    """Every finding in ``text``, in order, without overlaps (the first kind wins)."""
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: Kind, match: re.Match[str]) -> None:
        start, end = match.span()
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            return
        taken.append((start, end))
        findings.append(Finding(kind, start, end, match.group()))

    for match in _EMAIL.finditer(text):
        add("email", match)
    for match in _PROFILE_LINK.finditer(text):
        add("handle", match)
    for match in re.finditer(r"(?<!\d)\d{10}(?!\d)", text):
        if is_npi(match.group()):
            add("npi", match)
    for match in _DEA.finditer(text):
        if is_dea(match.group()):
            add("dea", match)
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 10 <= len(digits) <= 15:
            add("phone", match)
    for match in _ADDRESS.finditer(text):
        add("address", match)
    for match in _HANDLE.finditer(text):
        add("handle", match)
    return sorted(findings, key=lambda finding: finding.start)
