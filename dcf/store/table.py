"""How a control table is defined: its columns (logical types, comments) and its MERGE key (see
:mod:`dcf.store.schema` for the tables themselves)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    comment: str = ""
    #: Filled from the table's own sequence when an INSERT leaves it out (surrogate keys).
    identity: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: tuple[Column, ...]
    #: The columns a MERGE matches on. Not enforced by the database (Snowflake does not enforce keys).
    key: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def types(self, names: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
        return [(name, self.column(name).type) for name in names]


def column(name: str, type_: str, comment: str, *, null: bool = True, identity: bool = False) -> Column:
    return Column(name, type_, nullable=null, comment=comment, identity=identity)


#: ``column(..., **NOT_NULL)``.
NOT_NULL = {"null": False}
