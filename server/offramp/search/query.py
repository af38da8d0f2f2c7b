"""The search language: parsed here into a small tree, then compiled for each engine.

What people may type (the same on SQLite and PostgreSQL):

- words: ``refund coaching`` finds posts with both words (and their forms: refunds,
  refunded);
- ``"exact phrase"`` in double quotes;
- ``-word`` or ``-"a phrase"`` leaves out posts that contain it;
- ``OR`` (in capitals) between words or phrases: either one.
  ``refund OR chargeback lawsuit`` means (refund or chargeback) and lawsuit.

The user's text never reaches an engine's own query parser as syntax: every word and
phrase becomes a quoted string (FTS5) or a quoted ``websearch_to_tsquery`` argument
bound as a parameter (PostgreSQL), and the AND/OR/NOT structure is built here. Input
that looks like another syntax (``NEAR``, ``AND``, ``NOT``, ``*``, ``^``, braces) or
that cannot be read (an unclosed quote, control characters, too long) is refused with a
message that explains the syntax above.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from offramp.errors import BadRequest

MAX_QUERY_CHARS = 200
MAX_TERMS = 12

SYNTAX = (
    'Search syntax: words (all must appear), "an exact phrase" in double quotes, -word to '
    "leave out posts containing it, and OR in capitals between words for either one. "
    'Example: refund OR chargeback "lack of business experience" -recruiter'
)

# Operators of other query languages (FTS5, Lucene, SQL) that mean nothing here.
_FOREIGN_OPERATOR_WORDS = {
    "AND": "AND is not needed: every word must appear anyway.",
    "NOT": "To leave a word out, put a minus sign before it: -word.",
    "NEAR": "NEAR is not supported: use an exact phrase in double quotes.",
}
_FOREIGN_OPERATOR_CHARS = {
    "*": "* is not needed: a word also finds its other forms (refund finds refunds).",
    "^": "^ is not supported.",
    "{": "Braces are not supported.",
    "}": "Braces are not supported.",
}


class QuerySyntaxError(BadRequest):
    """A search the language cannot read: says why, then how to write one."""

    code = "bad_query"

    def __init__(self, reason: str):
        super().__init__(f"{reason} {SYNTAX}", field="q")
        self.reason = reason


@dataclass(frozen=True)
class Term:
    """A word, or several words that must appear together in this order (a phrase)."""

    text: str
    phrase: bool = False


@dataclass(frozen=True)
class AnyOf:
    """At least one of these terms must appear (terms joined by OR)."""

    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Query:
    """Every group in ``required`` must match, and no term in ``excluded``."""

    required: tuple[AnyOf, ...]
    excluded: tuple[Term, ...] = ()

    def terms(self) -> list[Term]:
        return [term for group in self.required for term in group.terms] + list(self.excluded)


# -- parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "term" | "or"
    term: Term | None = None
    excluded: bool = False


def parse(text: str) -> Query:
    """Read a search; raise :class:`QuerySyntaxError` with a reason when it cannot be."""
    _check_characters(text)
    return _build(_tokens(text.strip()))


def _check_characters(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"A search can be at most {MAX_QUERY_CHARS} characters long.")
    for character in text:
        if unicodedata.category(character) in ("Cc", "Cs") and character not in " \t":
            raise QuerySyntaxError("A search cannot contain control characters.")
        if character in _FOREIGN_OPERATOR_CHARS:
            raise QuerySyntaxError(_FOREIGN_OPERATOR_CHARS[character])


def _tokens(text: str) -> list[_Token]:
    """Split into words, phrases and ORs. Words without a letter or digit are dropped."""
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        character = text[position]
        if character.isspace():
            position += 1
            continue
        following = text[position + 1 : position + 2]
        excluded = character == "-" and bool(following) and not following.isspace()
        if excluded:
            position += 1
        if text[position] == '"':
            end = text.find('"', position + 1)
            if end == -1:
                raise QuerySyntaxError("A quotation mark is not closed.")
            words = " ".join(text[position + 1 : end].split())
            position = end + 1
            if _searchable(words):
                tokens.append(_Token("term", Term(words, phrase=True), excluded))
            continue
        end = position
        while end < len(text) and not text[end].isspace() and text[end] != '"':
            end += 1
        word = text[position:end]
        position = end
        if word == "OR" and not excluded:
            tokens.append(_Token("or"))
        elif word in _FOREIGN_OPERATOR_WORDS or word.startswith("NEAR("):
            raise QuerySyntaxError(_FOREIGN_OPERATOR_WORDS[word.split("(")[0]])
        elif _searchable(word):
            tokens.append(_Token("term", Term(word), excluded))
    return tokens


def _searchable(text: str) -> bool:
    return any(character.isalnum() for character in text)


def _build(tokens: list[_Token]) -> Query:
    """Group ``a OR b`` runs; everything else is required or excluded."""
    required: list[list[Term]] = []
    excluded: list[Term] = []
    joining = False  # the previous token was OR
    for index, token in enumerate(tokens):
        if token.kind == "or":
            if joining or index == 0 or index == len(tokens) - 1 or tokens[index - 1].excluded:
                raise QuerySyntaxError("OR must stand between two words or phrases.")
            if tokens[index + 1].kind == "term" and tokens[index + 1].excluded:
                raise QuerySyntaxError("OR cannot join a left-out -word.")
            joining = True
            continue
        assert token.term is not None
        if token.excluded:
            excluded.append(token.term)
        elif joining:
            required[-1].append(token.term)
        else:
            required.append([token.term])
        joining = False
    if not required:
        if excluded:
            raise QuerySyntaxError("Give at least one word to find, not only words to leave out.")
        raise QuerySyntaxError("Type at least one word to search for.")
    query = Query(tuple(AnyOf(tuple(group)) for group in required), tuple(excluded))
    if len(query.terms()) > MAX_TERMS:
        raise QuerySyntaxError(f"A search can have at most {MAX_TERMS} words and phrases.")
    return query


# -- compiling -------------------------------------------------------------------------


def to_fts5(query: Query) -> str:
    """An FTS5 MATCH expression. Every term is a quoted string, so nothing the user typed
    is read by FTS5 as an operator."""

    def quoted(term: Term) -> str:
        return '"' + term.text.replace('"', '""') + '"'

    def any_of(terms: tuple[Term, ...]) -> str:
        return "(" + " OR ".join(quoted(term) for term in terms) + ")"

    expression = " AND ".join(any_of(group.terms) for group in query.required)
    if query.excluded:
        expression = f"({expression}) NOT {any_of(query.excluded)}"
    return expression


def to_tsquery(query: Query, config: str) -> tuple[str, list[str]]:
    """A PostgreSQL ``tsquery`` expression with ``{}`` placeholders, and its arguments.

    Each word or phrase is one bound argument, read by ``websearch_to_tsquery`` as a
    quoted phrase; the structure is composed with the tsquery operators ``&&``, ``||``
    and ``!!``. ``config`` is a constant of ours, never user input.
    """
    arguments: list[str] = []

    def leaf(term: Term) -> str:
        arguments.append(f'"{term.text}"')
        return f"websearch_to_tsquery('{config}', {{}})"

    def any_of(terms: tuple[Term, ...]) -> str:
        return "(" + " || ".join(leaf(term) for term in terms) + ")"

    expression = " && ".join(any_of(group.terms) for group in query.required)
    for term in query.excluded:
        expression = f"({expression}) && !!{leaf(term)}"
    return expression, arguments
