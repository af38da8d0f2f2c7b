"""JSON API for outcome surveys: start tracking, read and update with the key."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from offramp.anonymity.abuse import AbuseControl
from offramp.anonymity.personas import Personas
from offramp.forum.api import (
    PRIVATE,
    PathText,
    PersonaSessionHeader,
    api_author,
    errors,
    require_json,
)
from offramp.surveys import schemas
from offramp.surveys.service import Surveys

EditKey = Annotated[
    str | None,
    HeaderParameter(
        name="Authorization",
        description="`Bearer <edit_key>`: the survey's own key (tracking surveys) or its "
        "post's key.",
        required=False,
    ),
]
NewEntities = Annotated[
    bool,
    QueryParameter(
        name="new_entities",
        description="Add an employer or program named here that is not in the directory as "
        "a new entry, pending until named again elsewhere or confirmed by a moderator. "
        "Without it, an unknown name is a 422 (code `unknown_entity`) that suggests close "
        "names.",
    ),
]


class SurveysApi(Controller):
    path = "/api/v1"
    tags = ["surveys"]
    before_request = require_json

    @post(
        "/surveys",
        status_code=201,
        cache_control=PRIVATE,
        responses=errors(400, 401, 413, 415, 422, 429),
    )
    async def start_tracking(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        surveys: NamedDependency[Surveys],
        guard: NamedDependency[AbuseControl],
        data: JSONBody[schemas.SurveyV1],
        new_entities: NewEntities = False,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.SurveyCreated:
        """Start tracking a search: a survey of its own (no post), usually while still
        searching, updated later with the key it returns (shown once)."""
        await guard.limit(request, "survey")
        return await surveys.start_tracking(
            data,
            (await api_author(personas, persona_session)).persona_id,
            new_entities=new_entities,
        )

    @get("/surveys/{survey_id:str}", cache_control=PRIVATE, responses=errors(400, 401, 403, 404))
    async def read_survey(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        surveys: NamedDependency[Surveys],
        survey_id: PathText,
        authorization: EditKey = None,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.SurveyRead:
        """Your survey's latest answers (with its key)."""
        return await surveys.read(
            survey_id, await api_author(personas, persona_session, authorization)
        )

    @put(
        "/surveys/{survey_id:str}",
        cache_control=PRIVATE,
        responses=errors(400, 401, 403, 404, 413, 415, 422, 429),
    )
    async def update_survey(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        surveys: NamedDependency[Surveys],
        guard: NamedDependency[AbuseControl],
        survey_id: PathText,
        data: JSONBody[schemas.SurveyV1],
        authorization: EditKey = None,
        new_entities: NewEntities = False,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.SurveyRead:
        """Update a survey (e.g. "hired after 9 months"): a new revision; figures use the
        latest one from the next statistics rebuild on."""
        await guard.limit(request, "survey")
        return await surveys.update(
            survey_id,
            await api_author(personas, persona_session, authorization),
            data,
            new_entities,
        )

    @put(
        "/posts/{post_id:str}/survey",
        cache_control=PRIVATE,
        responses=errors(400, 401, 403, 404, 413, 415, 422, 429),
    )
    async def update_post_survey(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        surveys: NamedDependency[Surveys],
        guard: NamedDependency[AbuseControl],
        post_id: PathText,
        data: JSONBody[schemas.SurveyV1],
        authorization: EditKey = None,
        new_entities: NewEntities = False,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.SurveyRead:
        """Attach or update the outcome survey of a post, with the post's edit key."""
        await guard.limit(request, "survey")
        return await surveys.update_for_post(
            post_id, await api_author(personas, persona_session, authorization), data, new_entities
        )
