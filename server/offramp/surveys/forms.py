"""The survey and interview report as plain HTML form fields, and back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from litestar.datastructures import FormMultiDict

from offramp.surveys import schemas

BOOLEAN_FIELDS = {"paid_any", "would_recommend", "promised_placement", "income_claims"}
NUMBER_FIELDS = {
    "cost_usd",
    "other_costs_usd",
    "applications",
    "interviews",
    "offers",
    "satisfaction",
    "helped",
    "weeks_to_response",
    "difficulty",
}
PROGRAM_ROWS = 2


@dataclass(frozen=True)
class Options:
    """The allowed values, in order, for the form's selects."""

    status = get_args(schemas.Status)
    employment_type = get_args(schemas.EmploymentType)
    role_category = get_args(schemas.RoleCategory)
    channel = get_args(schemas.Channel)
    comp = schemas.COMP_BANDS
    conflict = get_args(schemas.ConflictOfInterest)
    specialty = get_args(schemas.SpecialtyGroup)
    training = get_args(schemas.Training)
    years = get_args(schemas.YearsInPractice)
    stage = get_args(schemas.Stage)
    interview_outcome = get_args(schemas.InterviewOutcome)
    reason = get_args(schemas.Reason)
    labels = schemas.LABELS


OPTIONS = Options()


def _value(name: str, raw: str):
    """A field's text as the schema expects it; None for an empty field. Numbers that do
    not parse are passed on as text, so validation names the field."""
    text = raw.strip()
    if not text:
        return None
    if name in BOOLEAN_FIELDS:
        return {"yes": True, "no": False}.get(text, text)
    if name in NUMBER_FIELDS:
        try:
            return int(text)
        except ValueError:
            return text
    return text


def _collect(form: FormMultiDict, prefix: str) -> dict:
    values = {}
    for key in form:
        if key.startswith(prefix) and ".programs." not in key:
            name = key[len(prefix) :]
            value = _value(name, str(form.get(key) or ""))
            if value is not None:
                values[name] = value
    return values


def survey_from_form(form: FormMultiDict) -> dict | None:
    """The survey a form carries, or None when its fields were left empty."""
    survey = _collect(form, "survey.")
    programs = []
    for row in range(PROGRAM_ROWS):
        program = {
            name: value
            for key in form
            if key.startswith(f"survey.programs.{row}.")
            for name in [key.rsplit(".", 1)[1]]
            if (value := _value(name, str(form.get(key) or ""))) is not None
        }
        if program:
            programs.append(program)
    if programs:
        survey["programs"] = programs
    return survey or None


def interview_from_form(form: FormMultiDict) -> dict | None:
    return _collect(form, "interview.") or None
