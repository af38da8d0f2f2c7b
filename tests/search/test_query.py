"""The search language: what it reads, what it refuses, and what each engine is given."""

from __future__ import annotations

import pytest

from offramp.search.query import (
    AnyOf,
    Query,
    QuerySyntaxError,
    Term,
    parse,
    to_fts5,
    to_tsquery,
)


def test_words_phrases_exclusions_and_or():
    query = parse('refund OR chargeback "lack of  business experience" -recruiter -"cold call"')
    assert query == Query(
        required=(
            AnyOf((Term("refund"), Term("chargeback"))),
            AnyOf((Term("lack of business experience", phrase=True),)),
        ),
        excluded=(Term("recruiter"), Term("cold call", phrase=True)),
    )


def test_punctuation_is_part_of_words_and_lone_symbols_are_dropped():
    assert parse("$6,500 & e-mail (PA) title:x") == Query(
        (AnyOf((Term("$6,500"),)), AnyOf((Term("e-mail"),)), AnyOf((Term("(PA)"),)),
         AnyOf((Term("title:x"),)))
    )  # fmt: skip
    assert parse("refund - lawsuit").required == (
        AnyOf((Term("refund"),)),
        AnyOf((Term("lawsuit"),)),
    )
    assert parse("refund or lawsuit").required[1] == AnyOf((Term("or"),))  # only OR joins


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('"unclosed phrase', "quotation mark is not closed"),
        ('refund "a" "b', "quotation mark is not closed"),
        ("a\x00b", "control characters"),
        ("refund\x1b[31m", "control characters"),
        ("x" * 10_000, "at most 200 characters"),
        ("", "at least one word"),
        ("   ", "at least one word"),
        ('"" - & ""', "at least one word"),
        ("-refund", "not only words to leave out"),
        ("OR refund", "OR must stand between"),
        ("refund OR", "OR must stand between"),
        ("refund OR OR lawsuit", "OR must stand between"),
        ("refund OR -lawsuit", "OR cannot join"),
        ("-refund OR lawsuit", "OR must stand between"),
        ("refund AND lawsuit", "AND is not needed"),
        ("refund NOT lawsuit", "minus sign"),
        ("NEAR(refund lawsuit)", "NEAR is not supported"),
        ("refund NEAR lawsuit", "NEAR is not supported"),
        ("refund*", "* is not needed"),
        ("^refund", "^ is not supported"),
        ("{title}: refund", "Braces"),
        (" ".join(f"w{n}" for n in range(13)), "at most 12 words"),
    ],
)
def test_unreadable_searches_are_refused_with_the_syntax(text, reason):
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    assert reason in caught.value.message
    assert "Search syntax:" in caught.value.message
    assert caught.value.status_code == 400 and caught.value.field == "q"


def test_fts5_gets_only_quoted_strings():
    assert to_fts5(parse('refund OR chargeback "lack of" -x')) == (
        '(("refund" OR "chargeback") AND ("lack of")) NOT ("x")'
    )
    assert to_fts5(parse("NEARLY title:x OR (c) AND_NOT")) == (
        '("NEARLY") AND ("title:x" OR "(c)") AND ("AND_NOT")'
    )


def test_postgres_gets_bound_arguments_composed_with_tsquery_operators():
    expression, arguments = to_tsquery(parse('refund OR chargeback "lack of" -x'), "cfg")
    leaf = "websearch_to_tsquery('cfg', {})"
    assert expression == f"(({leaf} || {leaf}) && ({leaf})) && !!{leaf}"
    assert arguments == ['"refund"', '"chargeback"', '"lack of"', '"x"']
