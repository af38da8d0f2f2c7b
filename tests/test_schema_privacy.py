"""No column anywhere can hold a client address, user agent, e-mail, phone or real name."""

from __future__ import annotations

import re

from offramp.db import all_tables

FORBIDDEN = re.compile(
    r"(^|_)(ip|addr|address|host|agent|ua|email|mail|phone|tel|first_name|"
    r"last_name|full_name|real_name|referer|referrer|cookie|fingerprint)(_|$)"
)
# Names of organisations, categories and migrations, not of people.
ALLOWED = {("forum_entity", "name"), ("forum_category", "name"), ("migration", "name")}


def test_no_column_can_hold_identifying_metadata():
    checked = 0
    for table in all_tables():
        for column in table._meta.columns:
            name = column._meta.db_column_name
            checked += 1
            if (table._meta.tablename, name) in ALLOWED:
                continue
            assert not FORBIDDEN.search(name), f"{table._meta.tablename}.{name}"
            assert name not in {"name", "ip", "user", "author_name"}, name
    assert checked > 20
