# One image for the API, the worker and the migrations; docker-compose.yml picks the command:
#   API (default)  python -m api  (API_HOST, API_PORT)
#   worker         python worker.py
#   migrations     alembic upgrade head
#   first admin    python -m api.cli create-admin --email EMAIL
# Only the core dependencies are installed: the `embedded` extra (dev server binary, embedded
# PostgreSQL) is for `make run`, and the container always gets DATABASE_URL and TEMPORAL_ADDRESS.
FROM python:3.11.15-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, exactly the locked versions, so that a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# Explicit paths rather than `COPY . .`: the work tree also holds .venv/, .data/ and .git/.
COPY pyproject.toml README.md settings.py logs.py links.py worker.py alembic.ini ./
COPY sequences/ sequences/
COPY workflows/ workflows/
COPY activities/ activities/
COPY enrolling/ enrolling/
COPY store/ store/
COPY api/ api/
COPY web/ web/
COPY devstack/ devstack/
RUN pip install --no-deps .
# PYTHONDONTWRITEBYTECODE keeps the running containers from writing; the bytecode is written
# here instead, once, or the workflow sandbox would compile the workflow's module for every run.
RUN python -m compileall -q /app

# The source stays in /app as well: alembic.ini points at store/migrations relative to it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app --shell /usr/sbin/nologin app
USER app

EXPOSE 8000
# No HEALTHCHECK here: the worker runs from this image too and serves no HTTP. The API's check
# lives in docker-compose.yml.
ENV API_HOST=0.0.0.0
CMD ["python", "-m", "api"]
