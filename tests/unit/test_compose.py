"""Structure of docker-compose.yml and the Dockerfile: no Docker engine needed, only parsing.

These guard the production topology against regressions that only show once someone runs it:
an unpinned image, a misspelled setting, a worker that cannot scale, a dependency on a
healthcheck that does not exist, a search attribute the workflows upsert but nobody registered.
"""

from __future__ import annotations

import difflib
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_PATH = ROOT / "docker-compose.yml"
DOCKERFILE_PATH = ROOT / "Dockerfile"

# `python -m pytest` from the root puts it on sys.path; a bare `pytest` may not.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from settings import Settings  # noqa: E402
from workflows import search_attributes  # noqa: E402

REQUIRED_SERVICES = {"postgres", "temporal", "temporal-ui", "api", "worker", "migrate"}
APP_SERVICES = ("api", "worker", "migrate")
# What the workflows use is what compose must register.
SEARCH_ATTRIBUTES = {
    key.name: key.indexed_value_type.name.capitalize() for key in search_attributes.ALL
}
# An explicit version: at least major.minor (`16.14-bookworm`, `1.31.0`), not `16` or `stable`.
VERSION_TAG = re.compile(r"^v?\d+\.\d+")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_PATH.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict) and found, "docker-compose.yml has no services"
    return found


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as a mapping, whichever of the two compose forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): None if v is None else str(v) for k, v in env.items()}
    result: dict[str, str | None] = {}
    for item in env:
        name, sep, value = str(item).partition("=")
        result[name] = value if sep else None
    return result


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency name -> condition (the short list form means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _command_text(service: dict[str, Any]) -> str:
    parts: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value is not None:
            parts.append(str(value))
    return " ".join(parts)


def _image_tag(image: str) -> str | None:
    """The tag of an image reference, or None; a registry port is not a tag."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _settings_env_names() -> set[str]:
    names = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add((alias if isinstance(alias, str) else field_name).upper())
    return names


def test_required_services_exist(services: dict[str, dict[str, Any]]) -> None:
    missing = REQUIRED_SERVICES - services.keys()
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    problems = []
    for name, service in services.items():
        image = service.get("image")
        if image is None:
            if "build" not in service:
                problems.append(f"{name}: neither image nor build")
            continue
        image = str(image)
        if "@sha256:" in image:
            continue
        tag = _image_tag(image)
        if tag is None:
            problems.append(f"{name}: {image} has no tag")
        elif tag == "latest" or "$" in tag or not VERSION_TAG.match(tag):
            problems.append(f"{name}: {image} is not pinned to an explicit version")
    assert not problems, "\n".join(problems)


def test_dockerfile_base_image_is_pinned() -> None:
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases = []
    for raw in DOCKERFILE_PATH.read_text().splitlines():
        line = raw.strip()
        if line.upper().startswith("ARG ") and "=" in line:
            key, _, value = line[4:].strip().partition("=")
            args[key.strip()] = value.strip().strip("\"'")
        elif line.upper().startswith("FROM "):
            words = [w for w in shlex.split(line)[1:] if not w.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2])
            if image not in stages:
                bases.append(image)
    assert bases, "the Dockerfile has no FROM line"
    for image in bases:
        if "@sha256:" in image:
            continue
        tag = _image_tag(image)
        assert tag and tag != "latest", f"base image {image} is not pinned"
        # Python images: the full patch version, e.g. python:3.11.15-slim-bookworm.
        assert re.match(r"^\d+\.\d+\.\d+", tag), f"base image {image} is not pinned to a patch"


def test_dockerfile_runs_the_api_as_a_non_root_user() -> None:
    text = DOCKERFILE_PATH.read_text()
    users = re.findall(r"^\s*USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users, "the Dockerfile never switches away from root"
    assert users[-1] not in {"root", "0", "0:0"}, f"the image runs as {users[-1]}"
    cmds = re.findall(r"^\s*CMD\s+(.+)$", text, flags=re.MULTILINE)
    assert cmds and '"-m", "api"' in cmds[-1], "the image's default command is not the API"
    assert "pip install" in text and re.search(r"pip install[^\n]*\s\.\s*$", text, re.M), (
        "the project is not installed with `pip install .`"
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_is_spelled_as_settings_expects(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    expected = _settings_env_names()
    wrong = []
    for var in _environment(services[name]):
        if var in expected:
            continue
        # The app reads its environment only through Settings: anything else is a typo or dead.
        hint = difflib.get_close_matches(var.upper(), expected, n=1)
        wrong.append(f"{var}" + (f" (did you mean {hint[0]}?)" if hint else ""))
    assert not wrong, f"{name}: environment names Settings does not read: {wrong}"


@pytest.mark.parametrize("name", ["api", "worker"])
def test_api_and_worker_point_at_the_compose_services(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = _environment(services[name])
    for var in ("DATABASE_URL", "TEMPORAL_ADDRESS"):
        assert env.get(var), f"{name} does not set {var}; it would start embedded services"

    url = re.match(
        r"^postgresql\+psycopg://[^@/]+@(?P<host>[\w.-]+):(?P<port>\d+)/(?P<db>\w+)$",
        env["DATABASE_URL"] or "",
    )
    assert url, f"{name}: DATABASE_URL is not a postgresql+psycopg URL: {env['DATABASE_URL']}"
    assert url["host"] in services, f"{name}: DATABASE_URL host {url['host']} is not a service"
    assert url["db"] not in {"temporal", "temporal_visibility"}, (
        f"{name}: the app database must be separate from Temporal's"
    )

    host, _, port = (env["TEMPORAL_ADDRESS"] or "").partition(":")
    assert host in services and port.isdigit(), (
        f"{name}: TEMPORAL_ADDRESS {env['TEMPORAL_ADDRESS']} is not host:port of a service"
    )


@pytest.mark.parametrize("name", ["api", "worker", "migrate"])
def test_app_services_build_from_the_project_dockerfile(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    build = services[name].get("build")
    assert build is not None, f"{name} does not build the project image"
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (
            build.get("context", "."),
            build.get("dockerfile", "Dockerfile"),
        )
    )
    assert (COMPOSE_PATH.parent / context).resolve() == ROOT, f"{name} builds from {context}"
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE_PATH, (
        f"{name} builds from {dockerfile}, not the project's Dockerfile"
    )


def test_worker_can_scale(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker, "a fixed container_name breaks --scale worker=N"
    assert not worker.get("ports"), "host ports on the worker clash on --scale worker=N"
    assert "python worker.py" in _command_text(worker)


def test_dependencies_exist_and_their_conditions_can_be_met(
    services: dict[str, dict[str, Any]],
) -> None:
    problems = []
    for name, service in services.items():
        for dep, condition in _depends_on(service).items():
            if dep not in services:
                problems.append(f"{name} depends on unknown service {dep}")
                continue
            target = services[dep]
            if condition == "service_healthy":
                check = target.get("healthcheck") or {}
                if not check.get("test") or check.get("disable"):
                    problems.append(f"{name} waits for {dep} to be healthy; it has no healthcheck")
            elif condition == "service_completed_successfully" and target.get("restart") in {
                "always",
                "unless-stopped",
            }:
                problems.append(f"{name} waits for {dep} to finish; it restarts forever")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["api", "worker"])
def test_app_starts_after_migrations_and_temporal(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    deps = _depends_on(services[name])
    assert deps.get("migrate") == "service_completed_successfully"
    assert deps.get("temporal") == "service_healthy"


def test_migrate_runs_alembic_after_postgres(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert "alembic upgrade head" in _command_text(migrate)
    assert _depends_on(migrate).get("postgres") == "service_healthy"


def test_api_healthcheck_calls_health(services: dict[str, dict[str, Any]]) -> None:
    check = services["api"].get("healthcheck") or {}
    test = check.get("test")
    text = " ".join(test) if isinstance(test, list) else str(test)
    assert re.search(r"http://localhost:8000/health(?![\w/])", text), f"api healthcheck: {text}"
    assert "urllib" in text, "the slim image has no curl: the check should use python's urllib"
    assert any(str(p).endswith(":8000") for p in services["api"].get("ports", []))


def test_postgres_is_healthchecked_and_persistent(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    postgres = services["postgres"]
    check = postgres.get("healthcheck") or {}
    assert "pg_isready" in str(check.get("test"))
    named = compose.get("volumes") or {}
    sources = [str(v).split(":", 1)[0] for v in postgres.get("volumes", [])]
    assert any(s in named for s in sources), "postgres data is not on a named volume"


def test_temporal_ui_is_on_8233(services: dict[str, dict[str, Any]]) -> None:
    ui = services["temporal-ui"]
    assert any(str(p).endswith("8233:8080") for p in ui.get("ports", []))
    assert _environment(ui).get("TEMPORAL_ADDRESS") == "temporal:7233"


def test_search_attributes_are_registered_exactly(services: dict[str, dict[str, Any]]) -> None:
    registering = {
        name: _command_text(service)
        for name, service in services.items()
        if "search-attribute create" in _command_text(service)
    }
    assert len(registering) == 1, f"expected one registering service: {sorted(registering)}"
    ((name, text),) = registering.items()
    command = text[text.index("search-attribute create") :].replace("\\\n", " ")
    # Up to the end of this command: a later line must not add to it.
    command = re.split(r"\n(?!\s*--)", command, maxsplit=1)[0]
    assert re.search(r"--namespace[ =]default\b", command), f"{name}: not in namespace default"
    pairs = re.findall(r"--name[ =](\S+)\s+--type[ =](\S+)", command)
    assert len(pairs) == len(dict(pairs)), f"{name}: a search attribute is registered twice"
    assert dict(pairs) == SEARCH_ATTRIBUTES
    # Every --name has its --type: a stray one would be silently dropped by the regex above.
    names = re.findall(r"--name[ =]", command)
    types = re.findall(r"--type[ =]", command)
    assert len(names) == len(types) == len(SEARCH_ATTRIBUTES)


def test_the_image_holds_every_module_the_app_imports() -> None:
    """Each top-level module and package of the app is copied in and installed: one left out
    imports fine from the work tree and fails only in the container."""
    copied = {
        part.rstrip("/")
        for line in DOCKERFILE_PATH.read_text().splitlines()
        if line.startswith("COPY ")
        for part in shlex.split(line)[1:-1]
    }
    app = {path.name for path in ROOT.glob("*.py")} | {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in ("tests", "bench")
    }
    assert app - copied == set()
    pyproject = (ROOT / "pyproject.toml").read_text()
    for name in app:
        listed = f'"{name.removesuffix(".py")}' + ('"' if name.endswith(".py") else '*"')
        assert listed in pyproject, f"{name} is not installed by pyproject.toml"
