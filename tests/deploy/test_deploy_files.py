"""The files an operator deploys with, checked statically (no container engine here): the
Dockerfile by hadolint, the CI workflow by actionlint, compose.yaml and .env.example against the
CLI and the settings, the pre-commit hooks against the Makefile, and the version's one source."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer.main
import yaml

import conexapi
from conexapi.cli import app
from conexapi.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SETTINGS = {f"CONEXAPI_{name.upper()}" for name in Settings.model_fields}


def _lint(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def assert_runs_in_cli(argv: list[str]) -> None:
    """`conexapi ...` names a command that exists, with options it accepts (parsed, not run)."""
    assert argv[0] == "conexapi", argv
    command: Any = typer.main.get_command(app)
    args = argv[1:]
    while hasattr(command, "commands"):  # a group: the next word names a subcommand
        assert args, f"{argv}: a subcommand is missing"
        assert args[0] in command.commands, f"{argv}: no command {args[0]!r} in the CLI"
        command, args = command.commands[args[0]], args[1:]
    command.make_context("conexapi", list(args))  # raises on an unknown option or a bad value


# ---------------------------------------------------------------------------- Dockerfile


def _stages(dockerfile: str) -> list[list[str]]:
    lines = re.sub(r"\\\n\s*", " ", dockerfile).splitlines()
    stages: list[list[str]] = []
    for line in (x.strip() for x in lines):
        if line.startswith("FROM "):
            stages.append([])
        if stages and line and not line.startswith("#"):
            stages[-1].append(line)
    return stages


def test_hadolint_passes_the_dockerfile() -> None:
    result = _lint("hadolint", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_slim_non_root_and_installs_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    build, final = _stages(text)
    assert any("uv sync --locked" in line for line in build)
    # The final stage only copies the built environment: no compiler, no uv, no sources.
    assert not any(re.search(r"\b(apt-get|apk|gcc|build-essential|uv |pip )", x) for x in final)
    assert any(x.startswith("COPY --from=build /opt/venv /opt/venv") for x in final)
    user = next(x for x in final if x.startswith("USER "))
    assert user.split()[1].split(":")[0] not in {"0", "root"}
    healthcheck = next(x for x in final if x.startswith("HEALTHCHECK "))
    assert "/healthz" in healthcheck
    cmd = next(x for x in final if x.startswith("CMD "))
    assert_runs_in_cli(yaml.safe_load(cmd.removeprefix("CMD ")))


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[next(i for i, x in enumerate(ignore) if not x.startswith("#"))] == "*"
    assert "!.env" not in ignore


# ---------------------------------------------------------------------------- compose.yaml


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_compose_runs_migrate_once_then_two_apis_and_two_workers_on_mariadb() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}
    db = services["db"]
    assert db["image"].startswith("mariadb:")
    assert any(v.endswith(":/var/lib/mysql") for v in db["volumes"])
    assert "healthcheck" in db
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        service = services[name]
        assert service["deploy"]["replicas"] == 2
        assert service["env_file"] == ".env"
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["db"]["condition"] == "service_healthy"
        assert service["restart"] == "unless-stopped"


def test_every_compose_command_exists_in_the_cli() -> None:
    commands = [s["command"] for s in _compose()["services"].values() if "command" in s]
    conexapi_commands = [c for c in commands if c[0] == "conexapi"]
    assert len(conexapi_commands) == 3
    for command in conexapi_commands:
        assert_runs_in_cli(command)


def test_every_variable_compose_sets_is_a_known_setting() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for key in service.get("environment", {}):
            if name == "db":
                assert key.startswith("MARIADB_"), key
            else:
                assert key in SETTINGS, f"{name}: {key} is not a ConexAPI setting"
    # Every variable .env.example offers is known, and covers what compose interpolates.
    example = _env_example()
    for key in example:
        assert key in SETTINGS or key.startswith("MARIADB_"), f".env.example: {key} unknown"
    interpolated = set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text()))
    assert interpolated <= set(example), interpolated - set(example)
    # Production needs these; .env.example asks for them (empty: to be filled in).
    for required in ("CONEXAPI_SECRET_KEY", "CONEXAPI_ENCRYPTION_KEY", "CONEXAPI_PUBLIC_URL"):
        assert required in example


def test_stop_grace_outlasts_the_shutdown_timeout() -> None:
    grace = _compose()["x-conexapi"]["stop_grace_period"]
    assert grace.endswith("s")
    shutdown = Settings.model_fields["shutdown_timeout_seconds"].default
    assert int(grace[:-1]) > shutdown


# ---------------------------------------------------------------------------- CI workflow


def test_actionlint_passes_the_workflow() -> None:
    result = _lint("actionlint", ".github/workflows/ci.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_runs_the_readme_test_command_with_mariadb_and_a_locked_cache() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    [job] = workflow["jobs"].values()
    assert job["services"]["mariadb"]["image"].startswith("mariadb:")
    runs = [step["run"] for step in job["steps"] if "run" in step]
    readme = (ROOT / "README.md").read_text()
    ci_run = (ROOT / ".ci/run").read_text()
    assert "make test" in runs
    assert "make test   #" in readme
    assert ci_run.rstrip().endswith("make test")
    [cache] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/cache@")]
    assert ".venv" in cache["with"]["path"]
    assert "hashFiles('uv.lock'" in cache["with"]["key"]


# ---------------------------------------------------------------------------- installs


def test_pre_commit_runs_the_makefile_checks() -> None:
    result = _lint("pre-commit", "validate-config", ".pre-commit-config.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {
        hook["id"]: hook["entry"]
        for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
        for hook in repo["hooks"]
    }
    makefile = (ROOT / "Makefile").read_text()
    for hook in ("ruff-format", "ruff-check", "import-linter", "mypy"):
        tool_and_args = shlex.split(hooks[hook])
        tool = Path(tool_and_args[0]).name
        assert f"$(BIN)/{' '.join([tool, *tool_and_args[1:]])}" in makefile, hook


def test_the_version_has_one_source() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert conexapi.__version__ == version("conexapi") == pyproject["project"]["version"]
    # Not written in the package: read from the installed metadata.
    assert pyproject["project"]["version"] not in (ROOT / "src/conexapi/__init__.py").read_text()


def test_every_dependency_has_a_major_version_ceiling() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        spec = requirement.split(";")[0]
        assert ">=" in spec, requirement
        # types-* stub packages follow the library they describe; everything else is capped.
        assert "<" in spec or spec.startswith("types-"), requirement


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Configuration") : readme.index("### Command line")]
    missing = sorted(name for name in SETTINGS if f"`{name}`" not in table)
    assert missing == []
