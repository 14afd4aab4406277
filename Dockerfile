# syntax=docker/dockerfile:1
# ConexAPI image: one image for every role (`conexapi serve`, `conexapi worker`, `conexapi
# migrate`). Build: docker build -t conexapi . ; run: see compose.yaml and docs/operations.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the locked dependencies and the package into /opt/venv -------------------------
FROM ${PYTHON_IMAGE} AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src
# uv itself, pinned with hashes like everything else.
COPY requirements/uv.txt requirements/uv.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/uv.txt
# The dependencies exactly as uv.lock has them (a layer that changes only with the lock)...
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-install-project --no-editable --python /usr/local/bin/python3.11
# ...then ConexAPI itself, installed (not linked) into the environment.
COPY README.md LICENSE ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-editable --python /usr/local/bin/python3.11

# ---- runtime: Python, the environment, nothing else (no compilers, no uv, no sources) -------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CONEXAPI_ENV=production
RUN groupadd --system --gid 10001 conexapi \
    && useradd --system --uid 10001 --gid conexapi --home-dir /app --shell /usr/sbin/nologin conexapi
COPY --from=build /opt/venv /opt/venv
# /app/data holds what must outlive a process on this machine (CONEXAPI_DATA_DIR: the token
# spool, generated keys): mount a volume there.
RUN mkdir -p /app/data && chown 10001:10001 /app/data
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# SIGTERM: serve finishes its requests in flight, a worker releases its sales (see operations.md).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["conexapi", "serve", "--host", "0.0.0.0", "--port", "8000"]
