"""The inventory covers every HTML route, and each state is the page it claims to be."""

from __future__ import annotations

from collections import Counter

from offramp.app import create_app
from offramp.config import Settings

from .inventory import NOT_PAGES, STATES, CapturedPage, html_routes, line_to_add


def test_every_html_route_is_in_the_inventory(settings: Settings):
    covered = {(state.method, state.route) for state in STATES}
    missing = sorted(html_routes(create_app(settings)) - covered, key=lambda item: item[1])
    lines = [
        f"  {method} {route}: add to STATES in tests/judges/inventory.py, e.g.\n"
        f"      {line_to_add(method, route)}"
        for method, route in missing
    ]
    assert not missing, (
        "HTML routes with no page state for the judges (name a state a reader meets; "
        "braces in the address name fields of Seeded). If a route answers something "
        "other than HTML, list it in NOT_PAGES with what it answers instead.\n" + "\n".join(lines)
    )


def test_the_inventory_names_only_real_routes(settings: Settings):
    app = create_app(settings)
    routes = {(method, route) for method, route in html_routes(app)}
    stale = [
        f"{state.name}: {state.method} {state.route}"
        for state in STATES
        if state.route is not None and (state.method, state.route) not in routes
    ]
    assert not stale, f"inventory states whose route the app does not have: {stale}"
    paths = {route.path for route in app.routes}
    assert set(NOT_PAGES) <= paths, (
        f"NOT_PAGES names routes that are gone: {set(NOT_PAGES) - paths}"
    )


def test_state_names_are_unique():
    twice = [name for name, count in Counter(s.name for s in STATES).items() if count > 1]
    assert not twice, f"page state names used twice: {twice}"


def test_every_state_answers_as_declared(captured_pages: dict[str, CapturedPage]):
    wrong = [
        f"{page.state.name}: {page.state.method} {page.url} answered {page.status} "
        f"{page.headers.get('content-type')}, expected {page.state.status} text/html"
        for page in captured_pages.values()
        if page.status != page.state.status
        or not page.headers.get("content-type", "").startswith("text/html")
    ]
    assert not wrong, "page states that are not what they claim:\n" + "\n".join(wrong)
