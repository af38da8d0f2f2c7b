"""Piccolo's configuration: the app registry, and the engine bound from Settings.

``DB`` is not created at import time: it is whatever ``offramp.db.bind()`` bound
(the CLI, the app factory and the tests call it with their own Settings).
"""

from piccolo.conf.apps import AppRegistry

APP_REGISTRY = AppRegistry(
    apps=[
        "offramp.forum.piccolo_app",
        "offramp.anonymity.piccolo_app",
        "offramp.surveys.piccolo_app",
        "offramp.stats.piccolo_app",
        "offramp.search.piccolo_app",
        "offramp.feeds.piccolo_app",
        "offramp.moderation.piccolo_app",
    ]
)


def __getattr__(name: str):
    if name == "DB":
        from offramp.db import current_engine

        return current_engine()
    raise AttributeError(name)
