"""Entry point for uvicorn workers: ``uvicorn --factory offramp.asgi:app``."""

from litestar import Litestar

from offramp.app import create_app
from offramp.config import Settings


def app() -> Litestar:
    return create_app(Settings.load())
