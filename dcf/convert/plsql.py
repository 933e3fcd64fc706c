"""Before/After SQL and per-row PL/SQL of a connector, read statement by statement with sqlglot's tokenizer
(string literals and nesting are the tokenizer's business, never a regular expression's).

    read_statements("BEGIN EXECUTE IMMEDIATE 'TRUNCATE TABLE T'; NULL; END;")
    # [Statement("sql", "TRUNCATE TABLE T"), Statement("null", "NULL")]

An anonymous block's statements are ``EXECUTE IMMEDIATE '<sql>'`` (the SQL inside the literal), ``NULL``,
procedure calls (``DBMS_STATS.GATHER_TABLE_STATS(...)``: kind ``call`` with the procedure's name) and plain
SQL; anything else (declarations, IF, loops, bind variables) is a ConversionError naming it. Text that is not a
block is one or more SQL statements separated by ``;``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from dcf.convert.sql import ConversionError

_ORACLE = Dialect.get_or_raise("oracle")
#: Statements a block may hold that change nothing a warehouse keeps.
_NOTHING = {"NULL", "COMMIT"}
_CONTROL = {TokenType.DECLARE, TokenType.BEGIN, TokenType.CASE}


@dataclass(frozen=True)
class Statement:
    kind: str  # sql / null / call
    text: str
    #: a call's procedure, upper case (``DBMS_STATS.GATHER_TABLE_STATS``)
    name: str = ""


def _tokens(text: str) -> list[Token]:
    try:
        return _ORACLE.tokenize(text)
    except Exception as error:  # sqlglot raises its TokenError (and ValueError on odd input)
        raise ConversionError(f"{text[:80]!r} is not read as Oracle SQL: {error}") from None


def read_statements(text: str) -> list[Statement]:
    tokens = _tokens(text)
    if tokens and tokens[0].token_type == TokenType.DECLARE:
        raise ConversionError("a PL/SQL block with declarations is not converted")
    if tokens and tokens[0].token_type == TokenType.BEGIN:
        if len(tokens) < 2 or tokens[-1].token_type != TokenType.SEMICOLON or tokens[-2].token_type != TokenType.END:
            raise ConversionError(f"{text[:80]!r}: a BEGIN block that does not end with END;")
        tokens = tokens[1:-2]
    return [_statement(part, text) for part in _split(tokens)]


def _split(tokens: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if token.token_type == TokenType.SEMICOLON and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return [part for part in parts if part]


def _statement(tokens: list[Token], text: str) -> Statement:
    source = text[tokens[0].start:tokens[-1].end + 1]
    first = tokens[0]
    if len(tokens) == 1 and first.text.upper() in _NOTHING:
        return Statement("null", first.text.upper())
    if first.token_type == TokenType.EXECUTE:
        return Statement("sql", _immediate(tokens, source))
    if first.token_type in _CONTROL or first.text.upper() in ("IF", "LOOP", "FOR", "WHILE", "RAISE"):
        raise ConversionError(f"PL/SQL {first.text.upper()} ({source[:80]!r}) is not converted")
    if any(t.token_type in (TokenType.COLON, TokenType.PARAMETER) for t in tokens):
        raise ConversionError(f"{source[:80]!r} reads bind variables: not converted")
    name = _procedure(tokens)
    if name:
        return Statement("call", source, name)
    return Statement("sql", source)


def _immediate(tokens: list[Token], source: str) -> str:
    """The SQL of ``EXECUTE IMMEDIATE '<sql>'`` (sqlglot reads what follows EXECUTE as one command string)."""
    rest = _tokens(tokens[1].text) if len(tokens) == 2 and tokens[1].token_type == TokenType.STRING else []
    if len(rest) != 2 or rest[0].text.upper() != "IMMEDIATE" or rest[1].token_type != TokenType.STRING:
        raise ConversionError(f"{source[:80]!r}: only EXECUTE IMMEDIATE of a literal statement is converted")
    return rest[1].text


def _procedure(tokens: list[Token]) -> str:
    """``PKG.PROC`` of a call ``PKG.PROC(...)``; empty when the statement is not a call."""
    names: list[str] = []
    position = 0
    while position < len(tokens) and tokens[position].token_type == TokenType.VAR:
        names.append(tokens[position].text.upper())
        if position + 1 < len(tokens) and tokens[position + 1].token_type == TokenType.DOT:
            position += 2
            continue
        position += 1
        break
    is_call = names and (position == len(tokens) or (tokens[position].token_type == TokenType.L_PAREN
                         and tokens[-1].token_type == TokenType.R_PAREN))
    return ".".join(names) if is_call else ""
