"""axe-core judges every page state of the inventory: 0 WCAG 2.x A/AA violations,
in light and dark color schemes, on a phone (375 px) and a desktop (1280 px).

One Debian Chromium serves every state. The browser asks for each state's address
on the app's own origin; the navigation is answered with the page as captured (so a
POST's answer shows at its real address), and everything else the page loads (CSS,
icons) comes from the app itself, through a Litestar test client. axe-core is added
to every document before it loads, and run four times per page: once per scheme and
width, switched in place.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from ..conftest import ORIGIN, Backend
from .inventory import STATES, CapturedPage, page_client, page_settings
from .tools import CHROMIUM_ARGS, axe_source, chromium_path

pytestmark = pytest.mark.e2e

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCHEMES = ("light", "dark")
VIEWPORTS = ({"width": 375, "height": 812}, {"width": 1280, "height": 900})
SKIPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}

RUN_AXE = """tags => axe.run(document, {
  runOnly: {type: 'tag', values: tags},
  resultTypes: ['violations'],
}).then(results => results.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
})))"""

# Contrast is only judged right with the site's CSS applied.
STYLED = "() => [...document.styleSheets].some(sheet => sheet.cssRules.length > 0)"


@pytest.fixture(scope="module")
def asset_client(backend: Backend, tmp_path_factory) -> Iterator[TestClient]:
    """The app on a database of its own, serving what the pages load."""
    url = backend.fresh_url()
    try:
        with page_client(page_settings(url, tmp_path_factory.mktemp("axe"))) as client:
            yield client
    finally:
        backend.drop(url)


class Documents:
    """Answers the browser: the current state's page for navigations, the app for the rest."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.current: CapturedPage | None = None

    def handle(self, route) -> None:
        request = route.request
        if request.is_navigation_request() and self.current is not None:
            page = self.current
            route.fulfill(status=page.status, headers=_headers(page.headers), body=page.html)
            return
        answer = self.client.get(request.url.removeprefix(ORIGIN))
        route.fulfill(
            status=answer.status_code, headers=_headers(answer.headers), body=answer.content
        )


def _headers(headers) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in SKIPPED_HEADERS}


@pytest.fixture(scope="module")
def documents(asset_client: TestClient) -> Documents:
    return Documents(asset_client)


@pytest.fixture(scope="module")
def browser_page(documents: Documents) -> Iterator[object]:
    """One headless Chromium page with axe-core in every document, closed with the module."""
    executable = chromium_path()
    axe = axe_source()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context()
            context.add_init_script(script=axe)
            context.route(f"{ORIGIN}/**", documents.handle)
            yield context.new_page()
        finally:
            browser.close()


def violations_in_every_view(page) -> dict[tuple[str, str, str], list[str]]:
    """axe's violations, by (rule, element, what to fix): the views it fails in."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        for viewport in VIEWPORTS:
            page.set_viewport_size(viewport)
            view = f"{scheme} {viewport['width']} px"
            for violation in page.evaluate(RUN_AXE, AXE_TAGS):
                rule = f"{violation['id']} ({violation['impact']}): {violation['help']}"
                for node in violation["nodes"]:
                    found.setdefault((rule, node["target"], node["summary"]), []).append(view)
    return found


def describe(found: dict[tuple[str, str, str], list[str]]) -> str:
    return "\n".join(
        f"  {rule}\n    at {target} ({', '.join(views)})\n    " + summary.replace("\n", "\n    ")
        for (rule, target, summary), views in found.items()
    )


@pytest.mark.parametrize("state", STATES, ids=lambda state: state.name)
def test_page_has_no_axe_violations(state, captured_pages, documents, browser_page):
    captured = captured_pages[state.name]
    documents.current = captured
    browser_page.goto(ORIGIN + captured.url)
    assert browser_page.evaluate(STYLED), f"{state.name}: the stylesheet did not load"
    found = violations_in_every_view(browser_page)
    assert not found, f"{state.name} ({state.method} {captured.url}):\n" + describe(found)
