"""The identifying-detail detector: catches what unmasks, stays quiet on clinical prose."""

from __future__ import annotations

import pytest

from offramp.anonymity.detector import find_identifying_details, is_dea, is_npi


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_identifying_details(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "write to jane.doe+work@example-hospital.org today",
            [("email", "jane.doe+work@example-hospital.org")],
        ),
        ("call me at (555) 123-4567", [("phone", "(555) 123-4567")]),
        (
            "cell 555-123-4567 or 555.123.4567",
            [("phone", "555-123-4567"), ("phone", "555.123.4567")],
        ),
        ("UK: +44 20 7946 0958", [("phone", "+44 20 7946 0958")]),
        ("my NPI is 1234567893", [("npi", "1234567893")]),
        ("DEA AB1234563 on file", [("dea", "AB1234563")]),
        ("office at 1200 North Maple Street, suite 4", [("address", "1200 North Maple Street")]),
        ("mail to P.O. Box 4411", [("address", "P.O. Box 4411")]),
        ("find me @dr_kim_md on there", [("handle", "@dr_kim_md")]),
        ("see linkedin.com/in/jane-doe-md", [("handle", "linkedin.com/in/jane-doe-md")]),
        ("https://x.com/someone_md posted", [("handle", "https://x.com/someone_md")]),
    ],
)
def test_finds_identifying_details(text, expected):
    assert kinds(text) == expected


def test_positions_point_at_the_text():
    text = "Reach me: a.b@example.com."
    (finding,) = find_identifying_details(text)
    assert text[finding.start : finding.end] == "a.b@example.com"
    assert "e-mail address" in finding.message


CLINICAL_PROSE = [
    "Started metformin 500 mg twice daily, titrated to 1000 mg BID after 2 weeks.",
    "I was a PGY-3 in 2019 and finished residency in June 2021.",
    "Billed 99213 and 99214 mostly; the ICD-10 codes were E11.65, F32.9 and I10.",
    "Base salary went from $285,000 to $240,000, plus a 10% bonus.",
    "The interview was on 2024-03-15 at 10:30, then 03/22/2024 for the panel.",
    "Troponin 0.04 ng/mL, BP 142/88, HR 96, SpO2 97% on 2 L.",
    "Four rounds over 6 weeks; about 120 applications, 9 interviews, 2 offers.",
    "Dr Smith said the UM role needs 25 reviews per day at 7.5 hours.",
    "Paid $12,500 in 2023 for the program; refund denied after 30 days.",
    "Email them through the careers page; phone screens last 30 minutes.",
    "Ratio 1:4 and 1:1000 dilution, 0.9% saline at 125 mL/h.",
    "Board certified in 2015, 11-20 years in practice, 2 kids.",
    "Look for ABIM MOC points and the 2025 CME cycle; 3 Dr visits.",
    "We used the 4 Ps model; case 1234 of 5678 in the queue.",
    "The @-mention feature in Slack and user@ notation are fine.",
]


@pytest.mark.parametrize("text", CLINICAL_PROSE)
def test_ordinary_clinical_prose_raises_no_alarm(text):
    assert kinds(text) == []


def test_npi_and_dea_checksums():
    assert is_npi("1234567893")
    assert not is_npi("1234567890")  # fails the Luhn check
    assert not is_npi("3234567893")  # NPIs start with 1 or 2
    assert is_dea("AB1234563")
    assert not is_dea("AB1234567")
    assert not is_dea("AB123456")


def test_ten_digits_that_are_not_an_npi_are_still_a_phone_number():
    assert kinds("call 5551234567") == [("phone", "5551234567")]
