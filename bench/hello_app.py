"""The throughput ceiling for bench/forum_pages.py: a bare Litestar "hello world".

Served exactly like the forum (uvicorn, same worker count, access log off), it
measures what the framework and server cost with no database, templates or
middleware, so the forum's figures can be read as a share of it:

    uvicorn --factory --app-dir bench hello_app:create_app --workers 2 --no-access-log
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> str:
    return "Hello, world!"


def create_app() -> Litestar:
    return Litestar(route_handlers=[hello], logging_config=None, debug=False)
