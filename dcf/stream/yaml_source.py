"""Untrusted YAML, read safely: size- and structure-limited, strict about keys, errors with their line.

    document = read_yaml(path)            # ConfigError: one line naming the file, what is wrong and where
    document.data, document.node          # the plain data, and the composed nodes (for line numbers)

A stream YAML is a few kB. Refused before anything is built from it: a file over 1 MB, text that is not
UTF-8 (with the byte offset), more than 50 aliases or nesting deeper than 30 (an "alias bomb" expands to
gigabytes from a few lines: aliases are counted on the parser's events, before any expansion), and a key
given twice in one mapping (YAML would keep the last one silently; both lines are named).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dcf.errors import ConfigError

MAX_BYTES = 1_000_000
MAX_ALIASES = 50
MAX_DEPTH = 30

#: Words that name a secret, as whole words of a key (``db_pwd``, ``credentials``, ``api-key``); a key that
#: names a Prefect block (``..._block``) holds a block's name, not a secret.
_SECRET_WORDS = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token",
                           "credential", "credentials", "auth", "apikey"})
#: ``key`` is a secret alone or after these (``private_key``); ``primary_key`` or ``unique_key`` are not.
_SECRET_KEY_PREFIXES = frozenset({"private", "api", "access", "secret", "signing", "encryption", "ssh"})


@dataclass(frozen=True)
class YamlDocument:
    data: Any
    node: yaml.Node | None
    text: str
    sha256: str


def shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_yaml(path: Path) -> YamlDocument:
    """Read ``path`` as untrusted YAML (see the module docstring)."""
    shown = shown_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{shown}: {size:,} bytes; a stream YAML may be at most {MAX_BYTES:,} bytes")
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{shown}: cannot read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{shown}: not UTF-8 text (byte {error.start} is {raw[error.start:error.start + 1]!r})") \
            from None
    try:
        _check_structure(text, shown)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_duplicate_keys(node, shown)
        data = yaml.SafeLoader("").construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{shown}: not valid YAML: {problem}{where}") from None
    return YamlDocument(data, node, text, hashlib.sha256(raw).hexdigest())


def _check_structure(text: str, shown: str) -> None:
    aliases, depth = 0, 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(f"{shown}: more than {MAX_ALIASES} aliases (*{event.anchor}, line "
                                  f"{event.start_mark.line + 1}): refused before expanding them")
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(f"{shown}: nested deeper than {MAX_DEPTH} levels (line {event.start_mark.line + 1})")
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _check_duplicate_keys(node: yaml.Node | None, shown: str, seen: set[int] | None = None) -> None:
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else id(key)
            if name in lines:
                raise ConfigError(f"{shown}: key {name!r} is given twice in one mapping (lines {lines[name]} and "
                                  f"{key.start_mark.line + 1}); keep one")
            lines[name] = key.start_mark.line + 1
            _check_duplicate_keys(value, shown, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, shown, seen)


def looks_secret(key: str) -> bool:
    """Whether a config key names a secret (see ``_SECRET_WORDS``)."""
    if key.endswith("_block"):
        return False
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", key).lower()) if w]
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(word == "key" and (i == 0 or words[i - 1] in _SECRET_KEY_PREFIXES) for i, word in enumerate(words))


_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def _join_key(parent: str, key: str, value: Any) -> bool:
    """A compare's join key names columns, not a credential: ``key: [ACCOUNT_ID, DAY]`` anywhere, or
    ``compare: {key: ACCOUNT_ID}`` (a single string only under ``compare``, where it cannot be a credential)."""
    if key.lower() not in ("key", "keys"):
        return False
    if isinstance(value, list):
        return bool(value) and all(isinstance(n, str) and _COLUMN.match(n) for n in value)
    return parent.rsplit(".", 1)[-1] == "compare" and isinstance(value, str) and bool(_COLUMN.match(value))


def _secret_reference(value: Any) -> bool:
    """Where a secret comes from, not the secret: a parameter naming the Prefect Secret block that holds it
    (``{secret_block: name}``), or a value that is one ``#reference#`` to such a parameter."""
    if isinstance(value, str):
        return re.fullmatch(r"#[^#]+#", value.strip()) is not None
    return isinstance(value, dict) and "secret_block" in value and set(value) <= {"secret_block", "prompt"}


def find_secret_key(data: Any, prefix: str = "") -> str | None:
    """The dotted path of the first key in ``data`` that names a secret, or None."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if looks_secret(str(key)) and not _secret_reference(value) and not _join_key(prefix, str(key), value):
                return path
            if found := find_secret_key(value, path):
                return found
    elif isinstance(data, list):
        for index, item in enumerate(data):
            if found := find_secret_key(item, f"{prefix}.{index}"):
                return found
    return None


def describe_validation_error(error: dict[str, Any], node: yaml.Node | None) -> str:
    """One pydantic error as ``field.path: message (line N)``."""
    loc = [str(part) for part in error["loc"]]
    field = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = error["msg"].removeprefix("Value error, ")
        if "input" in error and kind not in ("model_type", "dict_type") and not isinstance(error["input"], dict):
            message += f" (got {error['input']!r})"
    return f"{field}: {message}{line_suffix(node, loc)}"


def line_suffix(node: yaml.Node | None, loc: list[str]) -> str:
    line = line_of(node, loc)
    return f" (line {line})" if line else ""


def line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """The 1-based line of the deepest YAML node along ``loc`` (the key itself when it exists)."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line
