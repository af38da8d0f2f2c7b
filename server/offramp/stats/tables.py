"""Published statistics: what the last rebuild computed, and the rollups it used.

Pages and exports read only these tables, so a page costs the same at 100 or
1,000,000 surveys, and nobody can learn one survey by diffing two page loads:
figures change only when the batch rebuild runs.
"""

from __future__ import annotations

from piccolo.columns import Boolean, Float, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from offramp.ids import new_id


class StatsRebuild(Table, tablename="stats_rebuild"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    as_of = Timestamptz()  # to the hour
    surveys_used = Integer()
    surveys_held_out = Integer()  # flagged or excluded
    seconds = Float()


class StatsRollup(Table, tablename="stats_rollup"):
    """Per scope and month since the search began: hires, competing exits, censorings."""

    id = Varchar(length=12, primary_key=True, default=new_id)
    scope_kind = Varchar(length=20)  # all | program | employer | role | training | paid
    scope = Varchar(length=140)
    month = Integer()
    hires = Integer()
    competing = Integer()
    censored = Integer()


class StatsFigure(Table, tablename="stats_figure"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    scope_kind = Varchar(length=20, index=True)
    scope = Varchar(length=140, index=True)
    metric = Varchar(length=80)
    label = Text()
    n = Integer(null=True, default=None)
    value = Float(null=True, default=None)
    ci_low = Float(null=True, default=None)
    ci_high = Float(null=True, default=None)
    suppressed = Boolean(default=False)
    unit = Varchar(length=20, default="")  # share | months | usd | count | p_value
    definition = Varchar(length=80)  # anchor in /stats/methodology
    position = Integer(default=0)


class StatsCurve(Table, tablename="stats_curve"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    scope_kind = Varchar(length=20, index=True)
    scope = Varchar(length=140)
    curve = Varchar(length=40)  # e.g. offer, offer_paid, offer_unpaid
    month = Integer()
    value = Float()
    ci_low = Float()
    ci_high = Float()
    at_risk = Integer()
