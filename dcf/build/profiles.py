"""Which dbt profile a stream builds with: the stream's warehouse's own, unless the stream names a profiles dir.

A dbt project's ``profiles.yml`` may point anywhere (a relative DuckDB file, another account): dbt would then
"succeed" into a stray database. So a stream that names no ``dbt.profiles_dir`` gets a profile written for
its warehouse, and one that does name it is checked against the warehouse before anything runs::

    folder = warehouse_profiles_dir(work / "profiles", project_dir, "local", warehouse.dbt_profile_output())
    credentials = rendered_credentials(project_dir, profiles_dir, "local", env=warehouse.dbt_env())
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import yaml

from dcf.errors import ConfigError


def profile_name(project_dir: Path) -> str:
    """The ``profile:`` a dbt project asks for (its name when it names none)."""
    path = project_dir / "dbt_project.yml"
    try:
        project = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"no readable dbt project at {project_dir}: {error}") from None
    name = project.get("profile") or project.get("name")
    if not name:
        raise ConfigError(f"{path} names no profile and no project name")
    return str(name)


def warehouse_profiles_dir(folder: Path, project_dir: Path, target: str, output: Mapping[str, Any]) -> Path:
    """``folder`` holding a profiles.yml whose only target ``target`` is ``output`` (the warehouse's).

    The file is rewritten only when its content changes, so dbt's partial parse keeps working.
    """
    text = yaml.safe_dump({profile_name(project_dir): {"target": target, "outputs": {target: dict(output)}}},
                          sort_keys=True)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "profiles.yml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return folder


def rendered_credentials(project_dir: Path, profiles_dir: Path, target: str, *,
                         env: Mapping[str, str]) -> SimpleNamespace:
    """Where the project's profile would connect for ``target``: ``type`` and ``path`` / ``database``.

    Rendered as dbt renders a profile's strings (Jinja with ``env_var``), without dbt's global flags, so the
    check runs before dbt has run in this process.
    """
    path = profiles_dir / "profiles.yml"
    name = profile_name(project_dir)
    try:
        profiles = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the dbt profiles ({error})") from None
    outputs = (profiles.get(name) or {}).get("outputs") or {}
    if target not in outputs:
        raise ConfigError(f"{path}: profile {name} has no target {target} (it has: {', '.join(outputs) or 'none'})")
    output = outputs[target]
    return SimpleNamespace(**{key: _render(output.get(key), env) for key in ("type", "path", "database")})


def _render(value: Any, env: Mapping[str, str]) -> Any:
    if not isinstance(value, str) or "{{" not in value:
        return value

    def env_var(name: str, default: str | None = None) -> str:
        found = env.get(name, os.environ.get(name, default))
        if found is None:
            raise ConfigError(f"the dbt profile reads env_var('{name}'), which is not set")
        return found

    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value).render(env_var=env_var)


@contextmanager
def dbt_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables while dbt runs (its ``env_var()`` reads os.environ) and restore them after.

    dbt has no other way in for them; callers hold the dbt lock, so no other invocation sees them.
    """
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update({key: str(value) for key, value in values.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
