"""DataStage trigger and user-variable expressions: a small grammar of ours, never ``eval``.

>>> expression = parse_expression("load.$JobStatus = RUNOK And Not check.$ReturnValue <> 0")
>>> sorted(expression.activities())
['check', 'load']
>>> expression.evaluate(lambda ref: {"load.$JobStatus": 1, "check.$ReturnValue": 0}.get(".".join(ref)))
True

Grammar (keywords case-insensitive)::

    expr    := and (Or and)*
    and     := not (And not)*
    not     := Not not | compare
    compare := concat [(= | <> | < | > | <= | >=) concat]
    concat  := sum (':' sum)*                    -- DataStage's string concatenation
    sum     := term ((+ | -) term)*
    term    := unary ((* | /) unary)*
    unary   := - unary | atom [ '[' expr [, expr] ']' ]
    atom    := number | 'string' | "string" | reference | ( expr ) | If expr Then expr Else expr
             | function ( expr [, expr] )           -- Left, Right, Len, Trim, Upcase, Downcase
    reference := name | name.name | name.$Name   -- an activity's $JobStatus / $ReturnValue / $CommandOutput /
                                                    $UserStatus, a user variable, a loop variable, a parameter

Constants: RUNOK 1, RUNWARN 2, RUNFAILED 3 (also as DSJS.RUNOK ...). Values compare as numbers when both
sides are numbers, as strings otherwise. ``#reference#`` inside a parameter string is replaced by the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dcf.errors import ConfigError
from dcf.stream.basic_functions import FUNCTIONS, number_value, text_value

#: DataStage job status constants (DSJS.*) as the triggers use them.
STATUS_CONSTANTS = {"RUNOK": 1, "RUNWARN": 2, "RUNFAILED": 3}
#: What ``activity.$Name`` may read.
ACTIVITY_FIELDS = ("$JobStatus", "$ReturnValue", "$CommandOutput", "$UserStatus", "$JobName")
MAX_LENGTH = 2000

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|<=|>=|=|<|>)
  | (?P<arith>[-+*/])
  | (?P<punct>[().:,\[\]])
""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "if", "then", "else"}
#: ``resolve(reference_parts) -> value``; raise ConfigError for an unknown reference.
Resolver = Callable[[tuple[str, ...]], Any]


_ARITHMETIC: dict[str, Callable[[float, float], float | None]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else None}


class ExpressionError(ConfigError):
    """An expression that does not parse, or names something unknown."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int


@dataclass(frozen=True)
class Literal:
    value: Any

    def evaluate(self, resolve: Resolver) -> Any:
        return self.value


@dataclass(frozen=True)
class Reference:
    parts: tuple[str, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return resolve(self.parts)


@dataclass(frozen=True)
class Not:
    operand: Any

    def evaluate(self, resolve: Resolver) -> Any:
        return not truthy(self.operand.evaluate(resolve))


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any

    def evaluate(self, resolve: Resolver) -> Any:
        if self.op == "and":
            return truthy(self.left.evaluate(resolve)) and truthy(self.right.evaluate(resolve))
        if self.op == "or":
            return truthy(self.left.evaluate(resolve)) or truthy(self.right.evaluate(resolve))
        left, right = self.left.evaluate(resolve), self.right.evaluate(resolve)
        if self.op == ":":
            return f"{text_value(left)}{text_value(right)}"
        if self.op in _ARITHMETIC:
            a, b = number_value(left), number_value(right)
            if a is None or b is None:
                return None  # NULL (or text that is no number) in arithmetic: NULL, as in the transformer
            return _ARITHMETIC[self.op](a, b)
        return _compare(self.op, left, right)


@dataclass(frozen=True)
class IfThenElse:
    condition: Any
    then: Any
    otherwise: Any

    def evaluate(self, resolve: Resolver) -> Any:
        branch = self.then if truthy(self.condition.evaluate(resolve)) else self.otherwise
        return branch.evaluate(resolve)


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple[Any, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return FUNCTIONS[self.function][1](*(argument.evaluate(resolve) for argument in self.arguments))


@dataclass(frozen=True)
class Expression:
    """A parsed expression and its source text."""

    text: str
    tree: Any

    def evaluate(self, resolve: Resolver) -> Any:
        return self.tree.evaluate(resolve)

    def references(self) -> Iterator[tuple[str, ...]]:
        yield from _references(self.tree)

    def activities(self) -> set[str]:
        """Names of the activities this expression reads (``name.$Field`` / ``name.variable``)."""
        return {ref[0] for ref in self.references() if len(ref) == 2 and ref[0].upper() != "DSJS"}


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip() not in ("", "0")
    return bool(value)


def _compare(op: str, left: Any, right: Any) -> bool:
    a, b = number_value(left), number_value(right)
    if a is None or b is None:
        a, b = text_value(left), text_value(right)  # type: ignore[assignment]
    return {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def _references(node: Any) -> Iterator[tuple[str, ...]]:
    if isinstance(node, Reference):
        yield node.parts
    elif isinstance(node, Not):
        yield from _references(node.operand)
    elif isinstance(node, Binary):
        yield from _references(node.left)
        yield from _references(node.right)
    elif isinstance(node, IfThenElse):
        for part in (node.condition, node.then, node.otherwise):
            yield from _references(part)
    elif isinstance(node, Call):
        for argument in node.arguments:
            yield from _references(argument)


def _tokens(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"unexpected {text[position]!r} at column {position + 1}")
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup or "", match.group(), position + 1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, *, any_field: bool = False) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.any_field = any_field

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token.kind == "name" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def take(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.peek()
        if token and token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def fail(self, wanted: str) -> ExpressionError:
        token = self.peek()
        found = f"{token.text!r} at column {token.column}" if token else "the end"
        return ExpressionError(f"expected {wanted}, found {found}")

    def parse(self) -> Any:
        tree = self.expr()
        if self.peek() is not None:
            raise self.fail("And, Or or the end")
        return tree

    def expr(self) -> Any:
        tree = self.conjunction()
        while self.keyword("or"):
            tree = Binary("or", tree, self.conjunction())
        return tree

    def conjunction(self) -> Any:
        tree = self.negation()
        while self.keyword("and"):
            tree = Binary("and", tree, self.negation())
        return tree

    def negation(self) -> Any:
        if self.keyword("not"):
            return Not(self.negation())
        left = self.concat()
        op = self.take("op")
        return Binary(op.text, left, self.concat()) if op else left

    def concat(self) -> Any:
        tree = self.sum()
        while self.take("punct", ":"):
            tree = Binary(":", tree, self.sum())
        return tree

    def sum(self) -> Any:
        tree = self.term()
        while (op := self.take("arith", "+") or self.take("arith", "-")) is not None:
            tree = Binary(op.text, tree, self.term())
        return tree

    def term(self) -> Any:
        tree = self.unary()
        while (op := self.take("arith", "*") or self.take("arith", "/")) is not None:
            tree = Binary(op.text, tree, self.unary())
        return tree

    def unary(self) -> Any:
        if self.take("arith", "-"):
            operand = self.unary()
            if isinstance(operand, Literal) and isinstance(operand.value, int | float):
                return Literal(-operand.value)
            return Binary("-", Literal(0), operand)
        return self.postfix()

    def postfix(self) -> Any:
        """An atom and its substrings: BASIC ``x[start, length]`` (or ``x[n]``, the last n characters)."""
        tree = self.atom()
        while self.take("punct", "["):
            arguments = [tree, self.expr()]
            if self.take("punct", ","):
                arguments.append(self.expr())
            if not self.take("punct", "]"):
                raise self.fail("']'")
            tree = Call("substring", tuple(arguments))
        return tree

    def atom(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.fail("a value")
        if self.take("punct", "("):
            tree = self.expr()
            if not self.take("punct", ")"):
                raise self.fail("')'")
            return tree
        if self.keyword("if"):
            return self.conditional()
        if self.take("number"):
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if self.take("string"):
            return Literal(token.text[1:-1])
        if token.kind == "name" and token.text.lower() not in _KEYWORDS:
            self.index += 1
            following = self.peek()
            if following and following.text == "(" and token.text.lower() in FUNCTIONS:
                return self.call(token)
            return self.reference(token)
        raise self.fail("a value")

    def conditional(self) -> Any:
        condition = self.expr()
        if not self.keyword("then"):
            raise self.fail("Then")
        then = self.expr()
        if not self.keyword("else"):
            raise self.fail("Else")
        return IfThenElse(condition, then, self.expr())

    def call(self, name: _Token) -> Any:
        self.take("punct", "(")
        arguments = [] if self.peek() is not None and self.peek().text == ")" else [self.expr()]
        while arguments and self.take("punct", ","):
            arguments.append(self.expr())
        if not self.take("punct", ")"):
            raise self.fail("')'")
        fewest, most = FUNCTIONS[name.text.lower()][0]
        if not fewest <= len(arguments) <= most:
            wanted = fewest if fewest == most else f"{fewest} to {most}"
            raise ExpressionError(f"{name.text}() at column {name.column} takes {wanted} argument(s), "
                                  f"got {len(arguments)}")
        return Call(name.text.lower(), tuple(arguments))

    def reference(self, first: _Token) -> Any:
        if self.take("punct", "."):
            field = self.take("name")
            if field is None:
                raise self.fail("a name after '.'")
            if first.text.upper() == "DSJS":
                return _constant(field)
            if field.text.startswith("$") and field.text not in ACTIVITY_FIELDS and not self.any_field:
                raise ExpressionError(f"{first.text}{'.'}{field.text} at column {field.column}: an activity "
                                      f"has {', '.join(ACTIVITY_FIELDS)}")
            return Reference((first.text, field.text))
        if first.text.upper() in STATUS_CONSTANTS:
            return Literal(STATUS_CONSTANTS[first.text.upper()])
        return Reference((first.text,))


def _constant(token: _Token) -> Literal:
    if token.text.upper() not in STATUS_CONSTANTS:
        raise ExpressionError(f"DSJS.{token.text} at column {token.column}: known are "
                              + ", ".join(f"DSJS.{name}" for name in STATUS_CONSTANTS))
    return Literal(STATUS_CONSTANTS[token.text.upper()])


def parse_expression(text: str, *, any_field: bool = False) -> Expression:
    """Parse ``text``; raise :class:`ExpressionError` (a one-line reason with the column) if it is not valid.
    ``any_field``: read DataStage's own text, where an activity has more ``$`` fields (``$Counter``,
    ``$ErrSource``) than a stream reads."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"an expression may be at most {MAX_LENGTH} characters")
    return Expression(text, _Parser(text, any_field=any_field).parse())


# -- #reference# parameters --------------------------------------------------------------------------------
_PARAMETER = re.compile(r"#([^#]*)#")


def template_references(text: str) -> list[Expression]:
    """The ``#...#`` parts of a parameter string, each parsed (``##`` is a literal ``#``)."""
    return [parse_expression(inner) for inner in _PARAMETER.findall(text) if inner]


def render_template(text: str, resolve: Resolver) -> str:
    """``text`` with every ``#expression#`` replaced by its value."""
    return _PARAMETER.sub(lambda m: text_value(parse_expression(m.group(1)).evaluate(resolve)) if m.group(1) else "#",
                          text)
