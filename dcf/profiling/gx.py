"""Great Expectations 1.x glue: the metrics a profile asks for, the ones we add, and the batch they run on.

GE 1.x has no profiler; metrics come from ``batch.compute_metrics([...])``. GE bundles every aggregate
metric of a table into one SELECT, so the metrics below are chosen to stay in that bundle:

* GE's own ``table.row_count``, ``column.min``/``max`` (they need the two-line ``Metric`` subclasses
  :func:`_metric_class` makes) and ``column.distinct_values.count``.
* Ours, where GE has none or its provider does not fit: null count (GE's is a map metric resolved in a
  later SELECT), approximate distinct count (none in GE), mean (GE's typed result rejects the NULL mean
  of an all-NULL column), standard deviation (GE's waits for the mean: a second SELECT), text lengths
  (GE's filter NULLs: one SELECT per column), quantiles (GE's run one SELECT per column) and bounded
  top values (GE's ``column.value_counts`` has no limit).

Importing this module imports GE (seconds; :mod:`dcf.profiling.deferred_imports` first spares it SciPy's
statistics) and applies the DuckDB persisted-connection setting.
"""

from __future__ import annotations

import dcf.profiling.deferred_imports  # noqa: F401  # isort: skip  (before GE: defers scipy.stats)
import contextlib
import logging
import types
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import great_expectations as gx
import great_expectations.execution_engine.sqlalchemy_execution_engine as _gx_sa_engine
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics.column_aggregate_metric_provider import (
    ColumnAggregateMetricProvider,
    column_aggregate_partial,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.util import get_dbms_compatible_metric_domain_kwargs
from great_expectations.metrics import BatchRowCount, ColumnDistinctValuesCount
from great_expectations.metrics.column import ColumnMetric
from great_expectations.metrics.metric import MetaMetric, Metric
from great_expectations.metrics.metric_results import MetricResult
from great_expectations.validator.metric_configuration import MetricConfiguration
from great_expectations.validator.metrics_calculator import MetricsCalculator

from dcf.errors import DcfError
from dcf.profiling.relation import Relation
from dcf.profiling.source import DuckDBSource, SnowflakeSource, Source


class ProfilingError(DcfError):
    """A metric could not be computed (the database refused the query, a type has no such metric...)."""


class _DuckDBDialect(StrEnum):
    DUCKDB = "duckdb"


def _enable_duckdb_persisted_connection() -> None:
    """Keep GE's DuckDB connection open between metric queries (GE issues 10738, 11579).

    GE runs each query in ``with engine.connect()`` and fetches after the block: closing the
    SQLAlchemy connection rolls back, which on DuckDB discards the pending result, and every metric
    fails with IndexError. GE keeps one persisted connection for the dialects listed here.
    """
    dialects = _gx_sa_engine._PERSISTED_CONNECTION_DIALECTS
    if _DuckDBDialect.DUCKDB not in dialects:
        _gx_sa_engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialect.DUCKDB)


_enable_duckdb_persisted_connection()
# Every ephemeral context logs at INFO that it made (and at once removed) a temporary docs directory.
logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)


# -- metric providers GE lacks (registered with GE when this module is imported) -----------------------
class AnyResult(MetricResult[Any]): ...


def _metric_class(metric_name: str) -> type[Metric]:
    """The two-line ``Metric`` subclass batch.compute_metrics needs for a registered provider."""
    class_name = "Column" + "".join(part.title() for part in metric_name.split(".")[-1].split("_"))
    attributes = {"name": metric_name, "__module__": __name__}
    return types.new_class(class_name, (ColumnMetric[AnyResult],), exec_body=lambda ns: ns.update(attributes))


def _aggregate_metric(metric_name: str, aggregate: Callable[[Any], Any]) -> type[Metric]:
    """Register ``aggregate(column)`` as a GE column aggregate (it joins the table's bundled SELECT)."""

    @column_aggregate_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls: Any, column: Any, **kwargs: Any) -> Any:
        return aggregate(column)

    provider = "_" + metric_name.replace(".", "_")
    type(provider, (ColumnAggregateMetricProvider,), {"metric_name": metric_name, "_sqlalchemy": _sqlalchemy})
    return _metric_class(metric_name)


APPROX_DISTINCT = "dcf.column.approx_distinct_count"
ColumnMin = _metric_class("column.min")  # GE's provider
ColumnMax = _metric_class("column.max")  # GE's provider
ColumnNullCount = _aggregate_metric("dcf.column.null_count", lambda c: sa.func.count() - sa.func.count(c))
#: HyperLogLog on both engines: DuckDB's approx_count_distinct (measured within 6 % here, stated 10 %),
#: Snowflake's APPROX_COUNT_DISTINCT (documented average relative error about 1.6 %).
ColumnApproxDistinctCount = _aggregate_metric(APPROX_DISTINCT, sa.func.approx_count_distinct)
#: GE's column.mean computes the same, but its typed result rejects NULL (the mean of an all-NULL column
#: makes compute_metrics raise instead of returning an error result).
ColumnMean = _aggregate_metric("dcf.column.mean", sa.func.avg)
ColumnStdDev = _aggregate_metric("dcf.column.stddev", sa.func.stddev_samp)
ColumnLengthMin = _aggregate_metric("dcf.column.length_min", lambda c: sa.func.min(sa.func.length(c)))
ColumnLengthMax = _aggregate_metric("dcf.column.length_max", lambda c: sa.func.max(sa.func.length(c)))


def _is_snowflake(dialect: Any) -> bool:
    return dialect.name.lower() == "snowflake"


class _Quantiles(ColumnAggregateMetricProvider):
    """All quantiles of a column as one aggregate, so they join the table's bundled SELECT.

    Exact quantiles are SQL-standard PERCENTILE_DISC (a value of the column). DuckDB takes the list in
    one ``quantile_disc`` (one sort per column); Snowflake gets a JSON array of PERCENTILE_DISCs. Approximate:
    Snowflake's APPROX_PERCENTILE (t-digest); DuckDB keeps the exact list, which measured faster here than
    its approx_quantile sketch. The quantiles are validated floats, rendered as numeric literals because
    both engines want constants there.
    """

    metric_name = "dcf.column.quantiles"
    value_keys = ("quantiles", "approximate")

    @column_aggregate_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column: Any, quantiles: Sequence[float], approximate: bool, _dialect: Any, **kwargs: Any):
        numbers = [repr(round(float(q), 10)) for q in quantiles]
        if not _is_snowflake(_dialect):
            return sa.func.quantile_disc(column, sa.literal_column("[" + ", ".join(numbers) + "]"))
        if approximate:
            parts = [sa.func.approx_percentile(column, sa.literal_column(n)) for n in numbers]
        else:
            parts = [sa.func.percentile_disc(sa.literal_column(n)).within_group(column) for n in numbers]
        # TO_JSON: the connector (and fakesnow's server) hand an ARRAY back as text either way; JSON text is
        # what we parse, whatever the element type.
        return sa.func.to_json(sa.func.array_construct(*parts))


class _TopValues(ColumnAggregateMetricProvider):
    """Most frequent values with their counts, only for columns with fewer than ``max_distinct`` values.

    Depends on the column's distinct count, so GE resolves it after the bundled SELECT; a column at or
    over the limit costs no query at all, and the GROUP BY it runs otherwise is bounded by the limit.
    """

    metric_name = "dcf.column.top_values"
    value_keys = ("max_distinct", "approximate")

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> list[list[Any]] | None:
        limit = int(metric_value_kwargs["max_distinct"])
        distinct = metrics["distinct"]
        if distinct is None or distinct >= limit:
            return None
        domain = get_dbms_compatible_metric_domain_kwargs(
            metric_domain_kwargs, batch_columns_list=metrics["table.columns"]
        )
        selectable, _, accessor = execution_engine.get_compute_domain(domain, domain_type=MetricDomainTypes.COLUMN)
        column = sa.column(accessor["column"])
        frequency = sa.func.count().label("frequency")
        query = (
            sa.select(column.label("value"), frequency)
            .select_from(selectable)
            .where(column.is_not(None))
            .group_by(column)
            .order_by(frequency.desc(), column)
            .limit(limit)
        )
        return [[row[0], int(row[1])] for row in execution_engine.execute_query(query).fetchall()]

    @classmethod
    def _get_evaluation_dependencies(cls, metric: MetricConfiguration, *args: Any, **kwargs: Any) -> dict:
        dependencies = super()._get_evaluation_dependencies(metric, *args, **kwargs)
        distinct = APPROX_DISTINCT if metric.metric_value_kwargs["approximate"] else "column.distinct_values.count"
        dependencies["distinct"] = MetricConfiguration(distinct, metric.metric_domain_kwargs, None)
        return dependencies


# -- Metric classes with value fields (the others are made above) -------------------------------------
class ColumnQuantiles(ColumnMetric[AnyResult]):
    name = "dcf.column.quantiles"
    quantiles: list[float]
    approximate: bool = False


class ColumnTopValues(ColumnMetric[AnyResult]):
    name = "dcf.column.top_values"
    max_distinct: int
    approximate: bool = False


__all__ = [
    "BatchRowCount", "ColumnApproxDistinctCount", "ColumnDistinctValuesCount",
    "ColumnLengthMax", "ColumnLengthMin", "ColumnMax", "ColumnMean", "ColumnMin", "ColumnNullCount",
    "ColumnQuantiles", "ColumnStdDev", "ColumnTopValues", "ProfilingError", "compute", "first_context", "open_batch",
]


# -- batches -------------------------------------------------------------------------------------------
def first_context() -> None:
    """Make (and drop) one ephemeral context: the first one in a process costs a few hundred ms (marshmallow
    copies GE's config schemas on first use), later ones a few ms (see :mod:`dcf.profiling.warm_up`)."""
    gx.get_context(mode="ephemeral")


@contextmanager
def open_batch(source: Source, relation: Relation) -> Iterator[Any]:
    """A GE batch over the whole of ``relation``; its connection is closed when the block ends.

    An ephemeral context per batch: contexts are cheap (a few ms) and not shared between threads.
    """
    context = gx.get_context(mode="ephemeral")
    name = f"dcf-{uuid.uuid4().hex[:12]}"
    if isinstance(source, DuckDBSource):
        datasource = context.data_sources.add_sql(
            name=name, connection_string="duckdb://", kwargs={"creator": _duckdb_creator(source)}
        )
        _rollback_after_errors(datasource.get_execution_engine().engine)
    elif isinstance(source, SnowflakeSource):
        datasource = context.data_sources.add_snowflake(name=name, **_snowflake_details(source, relation))
    else:  # pragma: no cover - Source is a closed union
        raise TypeError(f"unknown source {source!r}")
    # A query asset over the fully qualified relation: GE then learns the columns from the query's result
    # description instead of reflecting the catalog (on DuckDB ~50 ms of pg_catalog queries per profile),
    # and the relation's database and schema need no session defaults. Metrics wrap it as a subquery,
    # exactly as they wrap a table asset.
    asset = datasource.add_query_asset(name="profiled", query=f"SELECT * FROM {relation.sql}")
    batch = asset.add_batch_definition_whole_table("whole-table").get_batch()
    try:
        yield batch
    finally:
        datasource.get_execution_engine().close()


def compute(batch: Any, metrics: Sequence[Metric]) -> list[Any]:
    """Values of ``metrics`` in order; the first metric GE could not compute raises ProfilingError.

    What ``Batch.compute_metrics`` does (the same calculator, configurations and typed results), minus the
    "Calculating Metrics" progress bar it forces on stderr. GE reports a failed dependency of a requested
    metric only among the aborted ones, so that error is the one said.
    """
    engine = batch.data.execution_engine
    engine.batch_manager.load_batch_list(batch_list=[batch])
    values, aborted = MetricsCalculator(execution_engine=engine, show_progress_bars=False).compute_metrics(
        metric_configurations=[metric.config(batch_id=batch.id) for metric in metrics], runtime_configuration=None
    )
    results = []
    for metric in metrics:
        key = metric.metric_id_for_batch(batch_id=batch.id)
        if key not in values:
            column = getattr(metric, "column", None)
            where = f" of column {column}" if column else ""
            cause = aborted.get(key) or next(iter(aborted.values()), None)
            message = (cause["exception_info"].exception_message if cause else None) or "unknown error"
            raise ProfilingError(f"metric {metric.name}{where} failed: {_first_line(message)}")
        result_type = MetaMetric.get_registered_metric_class_from_metric_name(metric.name).get_metric_result_type()
        results.append(result_type(id=key, value=values[key]).value)
    return results


def _first_line(message: str) -> str:
    text = message.strip().removeprefix("An SQL execution Exception occurred.").strip()
    return text.splitlines()[0] if text else "unknown error"


def _duckdb_creator(source: DuckDBSource) -> Any:
    def connect() -> ConnectionWrapper:
        return ConnectionWrapper(source.new_raw_connection())  # duckdb-engine's wrapper, as its connect() does

    return connect


def _rollback_after_errors(engine: sa.Engine) -> None:
    """Roll DuckDB back after a failed statement, so the next metric reports its own error.

    duckdb-engine runs statements in a transaction; one error aborts it, and GE (which retries a failed
    bundle metric by metric on the same persisted connection) would then report "Current transaction is
    aborted" for every metric and hide the real error (a conversion error in a view, say).
    """

    def rollback(context: Any) -> None:
        connection = context.connection
        if connection is None:
            return
        # nothing to roll back when the error came before the transaction began
        with contextlib.suppress(Exception):
            connection.connection.dbapi_connection.rollback()

    sa.event.listen(engine, "handle_error", rollback)


def _snowflake_details(source: SnowflakeSource, relation: Relation) -> dict[str, Any]:
    details: dict[str, Any] = {
        "account": source.account,
        "user": source.user,
        "database": relation.database,
        "schema": relation.schema,
        "warehouse": source.warehouse,
        "role": source.role,
    }
    connect_args = dict(source.connect_args)
    if source.private_key:
        # GE's key-pair model takes the DER key base64-encoded; the connector decodes it.
        import base64

        details["private_key"] = base64.standard_b64encode(source.private_key).decode()
    else:
        details["password"] = source.password
    if connect_args:
        details["kwargs"] = {"connect_args": connect_args}
    return details
