"""Outcome surveys: one per post (or standalone, for "start tracking"), every
submission kept as an append-only revision; the current values are kept in
columns too, so the statistics rebuild aggregates in SQL instead of parsing JSON.

Months are stored as whole numbers (year * 12 + month - 1). Nothing here says who
answered: no persona handle, no address; a standalone survey holds only the
SHA-256 of its own edit key.
"""

from __future__ import annotations

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from offramp.forum.tables import Entity
from offramp.ids import new_id


class Survey(Table, tablename="survey"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    post = Varchar(length=12, null=True, default=None, unique=True)  # forum post, if any
    key_hash = Varchar(length=64, null=True, default=None, unique=True)  # standalone only
    persona = Varchar(length=12, null=True, default=None, index=True)
    schema_version = Integer(default=1)
    revision_count = Integer(default=1)
    prospective = Boolean(default=False)  # first submitted while still searching
    flagged = Boolean(default=False)  # part of an unusual burst: left out until reviewed
    excluded = Boolean(default=False)  # a moderator excluded it from the figures
    reviewed = Boolean(default=False)  # a moderator decided on it: never flagged again
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Current values (from the latest revision).
    status = Varchar(length=30)
    search_started = Integer()
    outcome_month = Integer(null=True, default=None)
    as_of_month = Integer()  # month of status_as_of
    status_as_of = Date()
    duration = Integer()  # whole months from search_started to the outcome or as_of
    paid_any = Boolean(default=False)
    paid_by_month_3 = Boolean(default=False)  # a program started within 3 months (landmark)
    spend = Integer(null=True, default=None)  # programs + other costs, dollars (rounded)
    employment_type = Varchar(length=20, null=True, default=None)
    role_category = Varchar(length=40, null=True, default=None)
    channel = Varchar(length=40, null=True, default=None)
    employer = Varchar(length=12, null=True, default=None, index=True)
    training = Varchar(length=30, null=True, default=None)
    comp_before = Varchar(length=20, null=True, default=None)
    comp_after = Varchar(length=20, null=True, default=None)
    applications = Integer(null=True, default=None)
    interviews = Integer(null=True, default=None)
    offers = Integer(null=True, default=None)
    counts_inconsistent = Boolean(default=False)


class SurveyRevision(Table, tablename="survey_revision"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    survey = ForeignKey(references=Survey, null=False)
    number = Integer()
    schema_version = Integer(default=1)
    data = Text()  # the submitted survey as JSON
    status_as_of = Date()
    created_at = Timestamptz()


class SurveyProgram(Table, tablename="survey_program"):
    """Programs named in a survey's latest revision."""

    id = Varchar(length=12, primary_key=True, default=new_id)
    survey = ForeignKey(references=Survey, null=False)
    entity = ForeignKey(references=Entity, null=False)
    start_month = Integer(null=True, default=None)
    cost = Integer(null=True, default=None)
    helped = Integer(null=True, default=None)
    would_recommend = Boolean(null=True, default=None)
    refund = Varchar(length=10, null=True, default=None)
    promised_placement = Boolean(null=True, default=None)
    income_claims = Boolean(null=True, default=None)


class InterviewReport(Table, tablename="interview_report"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    post = Varchar(length=12, unique=True)
    employer = ForeignKey(references=Entity, null=False)
    role_category = Varchar(length=40)
    stage_reached = Varchar(length=20)
    outcome = Varchar(length=20)
    reason_given = Varchar(length=40, null=True, default=None)
    weeks_to_response = Integer(null=True, default=None)
    difficulty = Integer(null=True, default=None)
    created_at = Timestamptz()
