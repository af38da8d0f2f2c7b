"""Outcome survey, schema version 1 (SPEC §4), and interview reports (SPEC §2).

Enum codes are never reused: a change of meaning is a new major version with a
migration map. Coarse buckets wherever a precise value could identify someone.
Errors name the field and the allowed values.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Status = Literal["hired_nonclinical", "still_searching", "stopped_searching", "returned_clinical"]
EmploymentType = Literal["full_time", "part_time", "contract", "founder"]
RoleCategory = Literal[
    "utilization_management",
    "medical_affairs",
    "clinical_development",
    "medical_writing",
    "consulting",
    "health_tech",
    "informatics",
    "payer_medical_director",
    "policy_public_health",
    "leadership_administration",
    "education_content",
    "other",
]
Channel = Literal[
    "networking_referral",
    "mentor",
    "internal_move",
    "job_board_direct",
    "recruiter",
    "coaching_program_placement",
    "conference",
    "other",
]
Refund = Literal["none", "asked", "received"]
SpecialtyGroup = Literal[
    "primary_care",
    "im_subspecialty",
    "surgery",
    "pediatrics",
    "psychiatry",
    "emergency",
    "anesthesiology",
    "radiology",
    "pathology",
    "ob_gyn",
    "neurology",
    "other",
]
Training = Literal["board_certified", "residency_completed", "left_residency", "no_residency"]
YearsInPractice = Literal["<3", "3-5", "6-10", "11-20", ">20"]
CompBand = Literal[
    "under_100k",
    "100k_150k",
    "150k_200k",
    "200k_250k",
    "250k_300k",
    "300k_350k",
    "350k_400k",
    "400k_450k",
    "450k_500k",
    "500k_plus",
]
COMP_BANDS = get_args(CompBand)  # in order, lowest first
ConflictOfInterest = Literal[
    "none",
    "affiliate_referral_income",
    "ambassador_alum_staff",
    "discount_or_refund_for_reviewing",
    "works_for_entity",
]

LABELS: dict[str, str] = {
    "hired_nonclinical": "Hired into a non-clinical role",
    "still_searching": "Still searching",
    "stopped_searching": "Stopped searching",
    "returned_clinical": "Returned to clinical work",
    "full_time": "Full time",
    "part_time": "Part time",
    "contract": "Contract",
    "founder": "Founder",
    "utilization_management": "Utilization management / physician advisor",
    "medical_affairs": "Medical affairs / MSL",
    "clinical_development": "Clinical development / drug safety",
    "medical_writing": "Medical writing & communications",
    "consulting": "Consulting",
    "health_tech": "Health tech / startup",
    "informatics": "Informatics / CMIO",
    "payer_medical_director": "Payer medical director",
    "policy_public_health": "Policy / government / public health",
    "leadership_administration": "Leadership / administration",
    "education_content": "Education & content",
    "other": "Other",
    "networking_referral": "Networking / referral",
    "mentor": "Mentor",
    "internal_move": "Internal move",
    "job_board_direct": "Job board / direct application",
    "recruiter": "Recruiter",
    "coaching_program_placement": "Coaching program placement",
    "conference": "Conference",
    "none": "None",
    "asked": "Asked for a refund",
    "received": "Received a refund",
    "primary_care": "Primary care",
    "im_subspecialty": "IM subspecialty",
    "surgery": "Surgery",
    "pediatrics": "Pediatrics",
    "psychiatry": "Psychiatry",
    "emergency": "Emergency medicine",
    "anesthesiology": "Anesthesiology",
    "radiology": "Radiology",
    "pathology": "Pathology",
    "ob_gyn": "OB/GYN",
    "neurology": "Neurology",
    "board_certified": "Board-certified",
    "residency_completed": "Residency completed, not certified",
    "left_residency": "Left residency",
    "no_residency": "No residency",
    "under_100k": "Under $100k",
    "100k_150k": "$100k–150k",
    "150k_200k": "$150k–200k",
    "200k_250k": "$200k–250k",
    "250k_300k": "$250k–300k",
    "300k_350k": "$300k–350k",
    "350k_400k": "$350k–400k",
    "400k_450k": "$400k–450k",
    "450k_500k": "$450k–500k",
    "500k_plus": "$500k or more",
    "affiliate_referral_income": "I earn affiliate or referral income from it",
    "ambassador_alum_staff": "I am an ambassador, alum staff or mentor for it",
    "discount_or_refund_for_reviewing": "I got a discount or refund for reviewing it",
    "works_for_entity": "I work for it",
}

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def month_index(text: str) -> int:
    """``YYYY-MM`` as a whole number of months, for arithmetic."""
    match = _MONTH.fullmatch(text)
    if not match:
        raise ValueError("must be a month written YYYY-MM, e.g. 2025-03")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def current_month(today: date | None = None) -> int:
    today = today or date.today()
    return today.year * 12 + today.month - 1


def _valid_month(value: str) -> str:
    index = month_index(value)
    if index > current_month():
        raise ValueError("must not be in the future")
    if index < 1950 * 12:
        raise ValueError("must be 1950 or later")
    return value


Month = Annotated[str, AfterValidator(_valid_month)]


def round_to_100(value: int | None) -> int | None:
    """To the nearest $100, halves up (2,450 → 2,500; Python's round() would say 2,400)."""
    return None if value is None else (value + 50) // 100 * 100


Dollars = Annotated[int, Field(ge=0, le=2_000_000), AfterValidator(round_to_100)]


class ProgramEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(
        max_length=140,
        description="The coaching program, course, board or certification, by slug or name.",
    )
    start_month: Month | None = None
    cost_usd: Dollars | None = Field(None, description="What you paid, rounded to $100.")
    helped: int | None = Field(None, ge=1, le=5, description="1 (not at all) to 5 (very much).")
    would_recommend: bool | None = None
    refund: Refund | None = None
    promised_placement: bool | None = Field(None, description="Were you promised placement?")
    income_claims: bool | None = Field(None, description="Did they make income claims?")


class SurveyV1(BaseModel):
    """What a respondent submits; the server adds status_as_of and prospective."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    search_started: Month = Field(description="When the search began, YYYY-MM.")
    outcome_month: Month | None = Field(
        None, description="When the status was reached, YYYY-MM; not for still_searching."
    )
    employment_type: EmploymentType | None = None
    role_category: RoleCategory | None = None
    channel: Channel | None = None
    employer: str | None = Field(None, max_length=140, description="Employer, by slug or name.")
    paid_any: bool = Field(
        description="Paid for any coaching, course, certification or board for this move."
    )
    programs: list[ProgramEntry] = Field(default_factory=list, max_length=10)
    other_costs_usd: Dollars | None = None
    applications: int | None = Field(None, ge=0, le=1000)
    interviews: int | None = Field(None, ge=0, le=1000)
    offers: int | None = Field(None, ge=0, le=1000)
    specialty_group: SpecialtyGroup | None = None
    training: Training | None = None
    years_in_practice: YearsInPractice | None = None
    comp_before: CompBand | None = None
    comp_after: CompBand | None = None
    satisfaction: int | None = Field(None, ge=1, le=5)
    conflict_of_interest: ConflictOfInterest | None = Field(
        None, description="Required when an employer or program is named."
    )

    def rule_errors(self) -> list[tuple[str, str]]:
        """Rules across fields, as (field, what is allowed). Checked by the service so
        each error names its field (pydantic would only name the whole survey)."""
        errors: list[tuple[str, str]] = []
        searching = self.status == "still_searching"
        if searching and self.outcome_month:
            errors.append(("outcome_month", "must be empty while still searching"))
        if not searching and not self.outcome_month:
            errors.append(("outcome_month", f"is required when status is {self.status}"))
        if self.outcome_month and month_index(self.outcome_month) < month_index(
            self.search_started
        ):
            errors.append(("outcome_month", "must not be before search_started"))
        if self.status == "hired_nonclinical":
            for name in ("employment_type", "role_category", "channel"):
                if getattr(self, name) is None:
                    errors.append((name, "is required when status is hired_nonclinical"))
        if (self.employer or self.programs) and self.conflict_of_interest is None:
            errors.append(
                (
                    "conflict_of_interest",
                    "is required when an employer or program is named: none, "
                    "affiliate_referral_income, ambassador_alum_staff, "
                    "discount_or_refund_for_reviewing or works_for_entity",
                )
            )
        if self.programs and not self.paid_any and any(p.cost_usd for p in self.programs):
            errors.append(("paid_any", "must be true when a program has a cost"))
        return errors

    @property
    def counts_inconsistent(self) -> bool:
        """Offers > interviews > applications is possible to type, not to live: flag it."""
        values = [self.applications, self.interviews, self.offers]
        known = [v for v in values if v is not None]
        return any(a < b for a, b in zip(known, known[1:], strict=False))


class SurveyRead(BaseModel):
    """A survey as its owner sees it (never shown publicly one by one)."""

    id: str
    schema_version: int
    revision: int
    prospective: bool
    status_as_of: date
    data: SurveyV1


class SurveyCreated(BaseModel):
    survey: SurveyRead
    edit_key: str | None = Field(
        None, description="For a standalone tracking survey: its own key, shown once."
    )


# -- interview reports -----------------------------------------------------------

Stage = Literal["application", "screen", "panel", "final", "offer"]
InterviewOutcome = Literal["offer", "rejected", "withdrew", "ghosted"]
Reason = Literal[
    "fit",
    "lack_of_business_experience",
    "needs_certification_or_degree",
    "overqualified",
    "no_reason_given",
    "other",
]

LABELS.update(
    {
        "application": "Application",
        "screen": "Screen",
        "panel": "Panel",
        "final": "Final round",
        "offer": "Offer",
        "rejected": "Rejected",
        "withdrew": "Withdrew",
        "ghosted": "Ghosted",
        "fit": "“Fit”",
        "lack_of_business_experience": "Lack of business experience",
        "needs_certification_or_degree": "Needs a certification or degree",
        "overqualified": "Overqualified",
        "no_reason_given": "No reason given",
    }
)


class InterviewReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer: str = Field(max_length=140, description="The employer, by slug or name.")
    role_category: RoleCategory
    stage_reached: Stage
    outcome: InterviewOutcome
    reason_given: Reason | None = None
    weeks_to_response: int | None = Field(None, ge=0, le=104)
    difficulty: int | None = Field(None, ge=1, le=5)
