# The DCF Flows image a Kubernetes work pool runs (scripts/work_pool.py, prefect.kubernetes.yaml):
# the locked environment (uv.lock, no dev tools) and the project in /app, as a Prefect flow-run container.
#
#   docker build -t dcf-flows:latest .
#   docker run --rm dcf-flows:latest python -m dcf.config     # validates the stream YAMLs baked in
FROM python:3.11-slim

# The uv the lock was written with; the environment is installed from uv.lock only (--frozen: never re-resolved).
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
ENV UV_PROJECT_ENVIRONMENT=/app/.venv UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-cache

COPY . .
# Prefect's worker runs `prefect flow-run execute` in /app (the deployments' pull step); DCF_HOME holds dbt's
# targets and, on Snowflake, nothing that must outlive the pod. Telemetry off: no calls out of the cluster.
ENV PATH=/app/.venv/bin:$PATH PYTHONPATH=/app DCF_PROJECT_DIR=/app DCF_HOME=/var/dcf \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1
RUN mkdir -p /var/dcf && useradd --uid 10001 --home-dir /var/dcf dcf && chown -R dcf /var/dcf
USER 10001
CMD ["prefect", "--help"]
