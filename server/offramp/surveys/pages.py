"""HTML pages for surveys: start tracking a search, and update a survey with a key."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from pydantic import ValidationError

from offramp.anonymity.abuse import AbuseControl
from offramp.errors import OfframpError
from offramp.forum.entities import UnknownEntity
from offramp.forum.pages import author_of, form_errors, read_form
from offramp.forum.service import Author, Forum
from offramp.surveys import schemas
from offramp.surveys.forms import OPTIONS, survey_from_form
from offramp.surveys.service import Surveys
from offramp.web import page


def _errors_of(exc: Exception) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return {
            f"survey.{k}" if not k.startswith("survey") else k: v
            for k, v in form_errors(exc).items()
        }
    assert isinstance(exc, OfframpError)
    return {exc.field or "form": exc.message}


def _new_entities(form) -> bool:
    return form.get("new_entities") == "yes"


class SurveyPages(Controller):
    path = "/surveys"
    include_in_schema = False

    @get("/track", name="track")
    async def track_form(self, forum: NamedDependency[Forum]) -> Any:
        return page(
            "surveys/track.html",
            values={"status": "still_searching"},
            errors={},
            survey_options=OPTIONS,
            entities=await forum.entities(),
        )

    @post("/track", name="start_tracking")
    async def start_tracking(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        surveys: NamedDependency[Surveys],
        guard: NamedDependency[AbuseControl],
    ) -> Any:
        form = await read_form(request)
        values = survey_from_form(form) or {}
        try:
            await guard.limit(request, "survey")
            data = schemas.SurveyV1(**values)
            created = await surveys.start_tracking(
                data, author_of(request).persona_id, new_entities=_new_entities(form)
            )
        except (ValidationError, OfframpError) as exc:
            status = getattr(exc, "status_code", 422)
            return page(
                "surveys/track.html",
                status_code=status,
                personal=True,
                values={**values, "new_entities": _new_entities(form)},
                errors=_errors_of(exc),
                unknown_entity=isinstance(exc, UnknownEntity),
                survey_options=OPTIONS,
                entities=await forum.entities(),
            )
        return page(
            "surveys/saved.html",
            status_code=201,
            personal=True,
            edit_key=created.edit_key,
            survey=created.survey,
            created=True,
        )

    @get("/update", name="survey_update_form")
    async def update_form(self) -> Any:
        return page("surveys/update_key.html", errors={})

    @post("/update", name="survey_update")
    async def update(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        surveys: NamedDependency[Surveys],
        guard: NamedDependency[AbuseControl],
    ) -> Any:
        """With a key: show the survey to change (or a new one for a post); with
        answers too: save them as a new revision."""
        form = await read_form(request)
        key = str(form.get("edit_key") or "")
        await guard.limit(request, "edit_key")
        try:
            survey_id, post_id = await surveys.find_by_key(key)
        except OfframpError as exc:
            return page(
                "surveys/update_key.html",
                status_code=exc.status_code,
                personal=True,
                errors={"edit_key": exc.message},
            )
        author = Author(key=key, persona_id=author_of(request).persona_id)
        context = {"key": key, "survey_options": OPTIONS, "entities": await forum.entities()}
        if "survey.status" not in form:
            current = await surveys.read(survey_id, author) if survey_id else None
            values = current.data.model_dump(exclude_none=True) if current else {}
            return page(
                "surveys/update.html",
                personal=True,
                values=values,
                errors={},
                current=current,
                **context,
            )
        values = survey_from_form(form) or {}
        try:
            await guard.limit(request, "survey")
            data = schemas.SurveyV1(**values)
            new = _new_entities(form)
            if survey_id:
                saved = await surveys.update(survey_id, author, data, new)
            else:
                saved = await surveys.update_for_post(post_id, author, data, new)
        except (ValidationError, OfframpError) as exc:
            status = getattr(exc, "status_code", 422)
            return page(
                "surveys/update.html",
                status_code=status,
                personal=True,
                values={**values, "new_entities": _new_entities(form)},
                errors=_errors_of(exc),
                unknown_entity=isinstance(exc, UnknownEntity),
                current=None,
                **context,
            )
        return page("surveys/saved.html", personal=True, edit_key=None, survey=saved, created=False)
