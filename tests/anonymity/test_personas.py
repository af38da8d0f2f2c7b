"""Personas: argon2id passphrases, server-side sessions, posts managed without keys,
and pseudonyms that stay unlinkable across threads."""

from __future__ import annotations

import re

import pytest
from argon2 import extract_parameters
from litestar.testing import TestClient

from offramp.anonymity.personas import Personas
from offramp.anonymity.tables import Persona, PersonaSession
from offramp.app import create_app
from offramp.errors import Conflict, Invalid, Unauthorized
from offramp.forum import schemas
from offramp.forum.service import Author, Forum
from offramp.forum.tables import Post

from ..conftest import ORIGIN, submit

PASSPHRASE = "correct horse battery staple"


async def test_passphrases_are_argon2id_at_owasp_strength_or_more(forum: Forum):
    personas = Personas()
    await personas.create("quiet-radiologist", PASSPHRASE)
    row = await Persona.select().first()
    assert PASSPHRASE not in str(row)
    parameters = extract_parameters(row["passphrase_hash"])
    assert parameters.type.name == "ID"
    # OWASP: at least 19 MiB with 2 passes (or 46 MiB with 1) and one lane.
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2


async def test_handles_and_passphrases_are_checked(forum: Forum):
    personas = Personas()
    with pytest.raises(Invalid) as short:
        await personas.create("ok-handle", "too short")
    assert short.value.field == "passphrase"
    with pytest.raises(Invalid):
        await personas.create("x", PASSPHRASE)
    with pytest.raises(Invalid):
        await personas.create("ok-handle", "p" * 257)
    await personas.create("Taken.Handle", PASSPHRASE)
    with pytest.raises(Conflict):
        await personas.create("taken.handle", PASSPHRASE)


async def test_login_logout_and_sessions_stored_as_hashes(forum: Forum):
    personas = Personas()
    persona_id, first_token = await personas.create("night-owl", PASSPHRASE)
    with pytest.raises(Unauthorized):
        await personas.login("night-owl", "not the passphrase")
    with pytest.raises(Unauthorized):
        await personas.login("nobody-here", PASSPHRASE)
    same, token = await personas.login("NIGHT-OWL", PASSPHRASE)
    assert same == persona_id
    stored = [row["token_hash"] for row in await PersonaSession.select()]
    assert token not in stored and first_token not in stored
    assert await personas.session_persona(token) == persona_id
    await personas.logout(token)
    assert await personas.session_persona(token) is None
    assert await personas.session_persona(first_token) == persona_id


async def test_persona_posts_are_managed_without_keys_and_named_per_thread(forum: Forum):
    personas = Personas()
    persona_id, _ = await personas.create("pathologist-22", PASSPHRASE)
    other_id, _ = await personas.create("someone-else", PASSPHRASE)
    me = Author(persona_id=persona_id)
    first = await forum.create_thread(
        schemas.ThreadCreate(title="My first thread", category="coaching", body="a"), me
    )
    second = await forum.create_thread(
        schemas.ThreadCreate(title="My second thread", category="coaching", body="b"), me
    )
    stranger = await forum.create_reply(first.thread.id, schemas.ReplyCreate(body="hi"))
    mine = await forum.create_reply(first.thread.id, schemas.ReplyCreate(body="me again"), me)
    elsewhere = await forum.create_reply(
        second.thread.id, schemas.ReplyCreate(body="hi"), Author(persona_id=other_id)
    )
    assert mine.post.author == "OP" and stranger.post.author != "OP"
    # The other persona's name in thread two says nothing about thread one.
    assert elsewhere.post.author not in ("OP", stranger.post.author)

    edited = await forum.edit_post(first.post.id, me, schemas.PostUpdate(body="changed"))
    assert edited.edited
    with pytest.raises(Unauthorized):
        await forum.edit_post(
            first.post.id, Author(persona_id=other_id), schemas.PostUpdate(body="hijack")
        )
    listed = await personas.posts(persona_id)
    assert {p.id for p in listed} == {first.post.id, second.post.id, mine.post.id}


async def test_deleting_a_persona_keeps_its_posts_unlinked(forum: Forum):
    personas = Personas()
    persona_id, token = await personas.create("leaving-soon", PASSPHRASE)
    created = await forum.create_thread(
        schemas.ThreadCreate(title="Stays after I go", category="coaching", body="a"),
        Author(persona_id=persona_id),
    )
    with pytest.raises(Unauthorized):
        await personas.delete(persona_id, "wrong passphrase!")
    await personas.delete(persona_id, PASSPHRASE)
    assert await Persona.count() == 0 and await PersonaSession.count() == 0
    row = await Post.select(Post.persona).where(Post.id == created.post.id).first()
    assert row["persona"] is None
    page = await forum.thread_page(created.thread.id)
    assert page.posts[0].author == "OP" and page.posts[0].body_html == "<p>a</p>\n"
    assert await personas.session_persona(token) is None


def test_the_persona_flow_in_html(client: TestClient):
    created = client.post(
        "/personas/new",
        data={
            "handle": "web-persona",
            "passphrase": PASSPHRASE,
            "passphrase_again": PASSPHRASE,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"] == "/personas/me"
    cookie = created.headers["set-cookie"]
    assert "offramp_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/personas/me")
    assert "Your persona: web-persona" in home.text
    assert home.headers["cache-control"] == "no-store"

    published = submit(
        client,
        "/new",
        {
            "title": "Posted as a persona",
            "category": "coaching",
            "body": "persona text",
            "action": "publish",
        },
    )
    assert "You are logged in as your persona" in client.get("/new").text
    assert published.status_code == 201
    post_id = re.search(r'href="/threads/[^"#]+#p1"', published.text)
    assert post_id
    listing = client.get("/personas/me").text
    assert "Posted as a persona" in listing
    manage_url = re.search(r'href="(/posts/[^/]+/manage)"', listing).group(1)
    assert "no key needed" in client.get(manage_url).text
    post = manage_url.split("/")[2]
    saved = client.post(
        f"/posts/{post}/edit",
        data={"edit_key": "", "body": "edited by persona", "action": "publish"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "edited by persona" in client.get(saved.headers["location"].split("#")[0]).text

    # A thread page seen while logged in is personal: not from or into the page cache.
    thread_url = saved.headers["location"].split("#")[0]
    assert client.get(thread_url).headers["cache-control"] == "no-store"

    out = client.post("/personas/logout", follow_redirects=False)
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/personas/me", follow_redirects=False).status_code == 303


def test_login_errors_are_shown_on_the_form(client: TestClient):
    response = client.post(
        "/personas/login", data={"login_handle": "nobody", "login_passphrase": "whatever at all"}
    )
    assert response.status_code == 401
    assert 'id="login_passphrase-error">That handle and passphrase do not match.' in response.text


def test_production_cookie_is_host_prefixed_and_secure(settings):
    production = settings.model_copy(update={"env": "production"})
    with TestClient(create_app(production), base_url="https://testserver.local") as client:
        client.headers["Origin"] = "https://testserver.local"
        created = client.post(
            "/personas/new",
            data={
                "handle": "secure-one",
                "passphrase": PASSPHRASE,
                "passphrase_again": PASSPHRASE,
            },
            follow_redirects=False,
        )
        cookie = created.headers["set-cookie"]
        assert cookie.startswith("__Host-offramp_session=") and "; Secure" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie


def test_login_is_limited_per_handle(settings):
    limited = settings.model_copy(update={"rate_limits": "persona_login=3/900"})
    with TestClient(create_app(limited), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        codes = [
            client.post(
                "/personas/login",
                data={"login_handle": "target", "login_passphrase": "guess number one"},
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
