"""Moderation in HTML: logging in with a password and TOTP, who may enter moderator
pages, reports and takedown requests by plain forms, the queue, the actions and the
public log."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings
from offramp.moderation.sessions import moderators_only

from ..conftest import ORIGIN, submit
from .conftest import (
    PASSWORD,
    LoggedIn,
    add_moderator,
    log_in,
    new_thread,
    next_code,
    password_login,
    reply,
)

HIDE_REASON = "Advertising for a paid program"


def moderator_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route guarded as moderators-only, from the app itself."""
    routes = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            layers = handler.ownership_layers
            if any(moderators_only in (layer.guards or ()) for layer in layers):
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    routes.append((method, route.path))
    return routes


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "someid123456", path)


def assert_refused(client: TestClient, method: str, path: str) -> None:
    kwargs = {"json": {}} if path.startswith("/api/") and method == "POST" else {}
    response = client.request(method, concrete(path), follow_redirects=False, **kwargs)
    if path.startswith("/api/"):
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "moderator_login_required"
    else:
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"] == "/moderation/login"
    assert response.headers["cache-control"] == "no-store"


def test_moderator_routes_refuse_readers_personas_and_half_logged_in(
    client: TestClient, settings: Settings
):
    routes = moderator_routes(client.app)
    paths = {path for _, path in routes}
    assert {"/moderation/queue", "/api/v1/moderation/queue"} <= paths
    assert len(routes) >= 10
    for method, path in routes:  # an anonymous reader
        assert_refused(client, method, path)

    persona = client.post(
        "/personas/new",
        data={"handle": "a-persona", "passphrase": PASSWORD, "passphrase_again": PASSWORD},
        follow_redirects=False,
    )
    assert persona.status_code == 303
    for method, path in routes:  # a persona
        assert_refused(client, method, path)

    add_moderator(client, settings, "half-way")
    assert password_login(client, "half-way").status_code == 303
    for method, path in routes:  # a password without the second factor
        assert_refused(client, method, path)


def test_every_moderator_page_is_no_store(moderator: LoggedIn, reader: TestClient):
    post_id = new_thread(reader)["post"]["id"]
    client = moderator.client
    for path in ("/moderation/queue", f"/moderation/posts/{post_id}", "/moderation/account"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
    for path in ("/moderation/login", "/moderation/login/code", "/moderation/enrol"):
        response = client.get(path, follow_redirects=False)
        assert response.headers["cache-control"] == "no-store", path


def test_login_with_password_then_totp(client: TestClient, settings: Settings):
    logged = log_in(client, settings, "mod-web")
    assert len(logged.recovery_codes) == 10
    assert client.get("/moderation/queue").status_code == 200
    assert client.get("/moderation/login", follow_redirects=False).headers["location"] == (
        "/moderation/queue"
    )
    out = client.post("/moderation/logout", follow_redirects=False)
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/moderation/queue", follow_redirects=False).status_code == 303

    wrong = password_login(client, "mod-web", "not the right password")
    assert wrong.status_code == 401 and 'id="password-error"' in wrong.text
    step = password_login(client, "mod-web")
    assert step.headers["location"] == "/moderation/login/code"
    assert "HttpOnly" in step.headers["set-cookie"] and "SameSite=Lax" in step.headers["set-cookie"]
    assert client.get("/moderation/queue", follow_redirects=False).status_code == 303
    refused = client.post("/moderation/login/code", data={"code": "123"})
    assert refused.status_code == 401 and 'id="code-error"' in refused.text
    done = client.post(
        "/moderation/login/code",
        data={"code": next_code(logged.totp, 1)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/moderation/queue"
    assert client.get("/moderation/queue").status_code == 200


def test_a_recovery_code_logs_in_once(client: TestClient, settings: Settings):
    logged = log_in(client, settings, "mod-lost-phone")
    client.post("/moderation/logout")
    password_login(client, "mod-lost-phone")
    code = logged.recovery_codes[0]
    assert client.post("/moderation/login/code", data={"code": code}).status_code == 200
    assert "Moderation queue" in client.get("/moderation/queue").text
    account = client.get("/moderation/account").text
    assert "Recovery codes left</dt><dd>9" in account
    client.post("/moderation/logout")
    password_login(client, "mod-lost-phone")
    assert client.post("/moderation/login/code", data={"code": code}).status_code == 401


def test_log_out_everywhere_ends_other_sessions(moderator: LoggedIn):
    client = moderator.client
    first = client.cookies.get("offramp_moderator")
    client.cookies.clear()  # a second device
    password_login(client, moderator.handle)
    client.post("/moderation/login/code", data={"code": next_code(moderator.totp, 1)})
    second = client.cookies.get("offramp_moderator")
    assert second and second != first

    def queue_as(token: str) -> int:
        cookie = {"Cookie": f"offramp_moderator={token}"}
        return client.get("/moderation/queue", headers=cookie, follow_redirects=False).status_code

    assert (queue_as(first), queue_as(second)) == (200, 200)
    client.post(
        "/moderation/account/logout-everywhere",
        headers={"Cookie": f"offramp_moderator={first}"},
    )
    assert (queue_as(first), queue_as(second)) == (303, 303)


def test_login_is_limited_per_connection(settings: Settings):
    limited = settings.model_copy(update={"rate_limits": "moderator_login=3/900"})
    with TestClient(create_app(limited), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        add_moderator(client, limited, "target-mod")
        codes = [password_login(client, "target-mod", "guess number one").status_code]
        codes += [password_login(client, "target-mod", "guess number two").status_code]
        codes += [password_login(client, "target-mod", "guess number three").status_code]
        limited_response = password_login(client, "target-mod")  # even the right password
        assert codes == [401, 401, 401] and limited_response.status_code == 429
        assert "Too many moderator log-in attempts" in limited_response.text

    # One connection guessing at many accounts is limited too.
    with TestClient(create_app(limited), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        statuses = [password_login(client, f"other-{n}", "guess").status_code for n in range(4)]
        assert statuses == [401, 401, 401, 429]  # per connection, across accounts


def test_login_is_limited_per_account_across_connections(settings: Settings):
    limited = settings.model_copy(update={"rate_limits": "moderator_login=3/900"})
    app = create_app(limited)

    class FromAddress:
        """Presents each request as coming from ``address`` (changed between guesses)."""

        address = "192.0.2.1"

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                scope = {**scope, "client": (self.address, 40000)}
            await app(scope, receive, send)

    wrapper = FromAddress()
    with TestClient(wrapper, base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        add_moderator(client, limited, "target-mod")
        statuses = []
        for number in range(4):
            wrapper.address = f"192.0.2.{number + 1}"
            statuses.append(password_login(client, "target-mod", "a wrong guess").status_code)
        assert statuses == [401, 401, 401, 429]


def test_report_a_post_without_javascript(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader)
    post_id = thread["post"]["id"]
    page = reader.get(thread["thread"]["url"]).text
    assert f'href="/posts/{post_id}/report"' in page
    form = reader.get(f"/posts/{post_id}/report")
    assert form.status_code == 200 and 'type="radio"' in form.text
    assert "<script" not in form.text.split("<main", 1)[1]
    missing = submit(reader, f"/posts/{post_id}/report", {"note": "no reason given"})
    assert missing.status_code == 422
    sent = submit(
        reader,
        f"/posts/{post_id}/report",
        {"reason": "identifies_person", "note": "It names the clinic's only neurologist."},
    )
    assert sent.status_code == 200 and "your report is received" in sent.text
    assert "set-cookie" not in sent.headers
    submit(reader, f"/posts/{post_id}/report", {"reason": "harassment"})

    queue = moderator.client.get("/moderation/queue").text
    assert "It identifies a person · Harassment" in queue
    review = moderator.client.get(f"/moderation/posts/{post_id}").text
    assert "the clinic&#39;s only neurologist" in review
    assert "2 open reports" in review


def test_a_bot_filling_the_honeypot_is_thanked_and_ignored(moderator, reader: TestClient):
    post_id = new_thread(reader)["post"]["id"]
    sent = submit(reader, f"/posts/{post_id}/report", {"reason": "spam", "website": "x"})
    assert sent.status_code == 200 and "your report is received" in sent.text
    assert "Nothing is waiting" in moderator.client.get("/moderation/queue").text


def test_reports_are_rate_limited(settings: Settings):
    limited = settings.model_copy(update={"rate_limits": "report=2/3600"})
    with TestClient(create_app(limited), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        post_id = new_thread(client)["post"]["id"]
        # Without proof-of-work a writing limit is halved: 1 per hour here.
        first = submit(client, f"/posts/{post_id}/report", {"reason": "spam"})
        second = submit(client, f"/posts/{post_id}/report", {"reason": "spam"})
        assert (first.status_code, second.status_code) == (200, 429)
        assert "Too many reports" in second.text


def test_hide_from_the_review_page_then_log_and_thread_show_it(
    moderator: LoggedIn, reader: TestClient
):
    thread = new_thread(reader)
    post_id = thread["post"]["id"]
    reply(reader, thread["thread"]["id"], "A reply that stays.")
    review = moderator.client.get(f"/moderation/posts/{post_id}").text
    assert 'action="/moderation/posts/' + post_id + '/actions"' in review
    refused = moderator.client.post(
        f"/moderation/posts/{post_id}/actions", data={"action": "hide", "reason": ""}
    )
    assert refused.status_code == 422 and 'id="hide-reason-error"' in refused.text
    done = moderator.client.post(
        f"/moderation/posts/{post_id}/actions",
        data={"action": "hide", "reason": HIDE_REASON},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/moderation/posts/{post_id}?done=hide"
    assert "Done: post hidden" in moderator.client.get(done.headers["location"]).text

    log = reader.get("/moderation/log").text
    assert "Post hidden" in log and HIDE_REASON in log and "a moderator" in log
    assert moderator.handle not in log
    shown = reader.get(thread["thread"]["url"]).text
    assert f"[hidden by a moderator: {HIDE_REASON}]" in shown
    assert "An opening post." not in shown and "A reply that stays." in shown


def test_lock_from_the_review_page(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader)
    post_id, thread_id = thread["post"]["id"], thread["thread"]["id"]
    done = moderator.client.post(
        f"/moderation/threads/{thread_id}/actions",
        data={"action": "lock", "reason": "Settled", "post_id": post_id},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/moderation/posts/{post_id}?done=lock"
    assert "This thread is locked" in reader.get(f"/threads/{thread_id}").text
    refused = reader.post(f"/api/v1/threads/{thread_id}/posts", json={"body": "hello"})
    assert refused.status_code == 409
    again = moderator.client.post(
        f"/moderation/threads/{thread_id}/actions",
        data={"action": "lock", "reason": "Twice", "post_id": post_id},
    )
    assert again.status_code == 409 and "locked already" in again.text


def test_takedown_request_and_the_authors_answer(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader)
    post_id, key = thread["post"]["id"], thread["edit_key"]
    form = reader.get(f"/posts/{post_id}/takedown")
    assert form.status_code == 200 and 'name="organisation"' in form.text
    sent = submit(
        reader,
        f"/posts/{post_id}/takedown",
        {"organisation": "Physician Exit Academy", "claim": "We never promised placements."},
    )
    assert sent.status_code == 200 and "takedown request is received" in sent.text
    shown = reader.get(thread["thread"]["url"]).text
    assert "[under review after a takedown request: requested by Physician Exit Academy]" in (shown)
    assert "Takedown request received" in reader.get("/moderation/log").text
    assert "never promised" not in reader.get("/moderation/log").text

    manage = reader.get(f"/posts/{post_id}/manage").text
    assert f'href="/posts/{post_id}/takedown/answer"' in manage
    wrong = reader.post(f"/posts/{post_id}/takedown/answer", data={"edit_key": "wrong"})
    assert wrong.status_code == 403
    opened = reader.post(f"/posts/{post_id}/takedown/answer", data={"edit_key": key})
    assert opened.status_code == 200 and "We never promised placements." in opened.text
    answered = reader.post(
        f"/posts/{post_id}/takedown/answer",
        data={"edit_key": key, "response": "Their sales call promised a placement."},
    )
    assert "Your answer is saved" in answered.text
    edit = reader.post(f"/posts/{post_id}/edit", data={"edit_key": key}).text
    assert "under review after a takedown request" in edit

    review = moderator.client.get(f"/moderation/posts/{post_id}").text
    assert "Their sales call promised a placement." in review
    assert "Takedown request</li>" not in review  # the queue's words are on the queue
    assert "Takedown request" in moderator.client.get("/moderation/queue").text
    moderator.client.post(
        f"/moderation/posts/{post_id}/actions",
        data={"action": "reject", "reason": "An account of a sales call, not a false claim"},
    )
    assert "An opening post." in reader.get(thread["thread"]["url"]).text
    assert "Takedown request rejected" in reader.get("/moderation/log").text


def test_the_author_of_a_hidden_post_sees_why(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader)
    post_id = thread["post"]["id"]
    moderator.client.post(
        f"/moderation/posts/{post_id}/actions", data={"action": "hide", "reason": HIDE_REASON}
    )
    edit = reader.post(f"/posts/{post_id}/edit", data={"edit_key": thread["edit_key"]})
    assert edit.status_code == 200
    assert "hidden by a moderator" in edit.text and HIDE_REASON in edit.text
    assert "An opening post." in edit.text  # its author still has the text


def test_approve_a_held_post_from_the_queue(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader)
    held = reply(
        reader,
        thread["thread"]["id"],
        "Mail me: jane.doe@example.com",
        confirm_identifying_details=True,
    )
    queue = moderator.client.get("/moderation/queue").text
    assert "Held: identifying details" in queue
    review = moderator.client.get(f"/moderation/posts/{held['post']['id']}").text
    assert "<strong>email</strong>" in review and "Approve and publish" in review
    moderator.client.post(
        f"/moderation/posts/{held['post']['id']}/actions", data={"action": "approve"}
    )
    assert "jane.doe@example.com" in reader.get(thread["thread"]["url"]).text
    assert "Held post approved" in reader.get("/moderation/log").text


def test_redact_from_the_review_page(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader, "Dr Roe told me this.")
    post_id = thread["post"]["id"]
    moderator.client.post(
        f"/moderation/posts/{post_id}/actions",
        data={"action": "redact", "revision": "1", "reason": "Named a doctor"},
    )
    shown = reader.get(thread["thread"]["url"]).text
    assert "[redacted by a moderator]" in shown and "Dr Roe" not in shown
    review = moderator.client.get(f"/moderation/posts/{post_id}").text
    assert "Revision 1 (current) (redacted)" in review


def test_the_log_as_json_and_atom(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader)
    moderator.client.post(
        f"/moderation/posts/{thread['post']['id']}/actions",
        data={"action": "hide", "reason": HIDE_REASON},
    )
    data = reader.get("/moderation/log.json").json()
    assert data["next"] is None
    entry = data["entries"][0]
    assert entry["action"] == "hide" and entry["role"] == "moderator"
    assert entry["reason"] == HIDE_REASON and entry["url"].endswith("#p1")
    assert set(entry) == {
        "id",
        "day",
        "action",
        "label",
        "role",
        "reason",
        "detail",
        "target",
        "url",
    }
    atom = reader.get("/moderation/log.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert "<summary>Advertising for a paid program (by a moderator)</summary>" in atom.text
    assert "/moderation/log.json" in reader.get("/schema/openapi.json").text


def test_production_cookie_is_host_prefixed_secure_and_separate(settings: Settings):
    production = settings.model_copy(update={"env": "production"})
    with TestClient(create_app(production), base_url="https://testserver.local") as client:
        client.headers["Origin"] = "https://testserver.local"
        add_moderator(client, production, "prod-mod")
        step = password_login(client, "prod-mod")
        cookie = step.headers["set-cookie"]
        assert cookie.startswith("__Host-offramp_moderator=") and "; Secure" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie
        assert f"Max-Age={8 * 3600}" in cookie


@pytest.mark.parametrize("path", ["/moderation/login", "/moderation/log"])
def test_public_moderation_pages_need_no_login(client: TestClient, path: str):
    response = client.get(path)
    assert response.status_code == 200 and "set-cookie" not in response.headers
