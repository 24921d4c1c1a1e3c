"""The image, checked from its Dockerfile (no Docker engine runs here to build it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions()


def index_of(dockerfile, keyword: str, contains: str) -> int:
    for position, (instruction, argument) in enumerate(dockerfile):
        if instruction == keyword and contains in argument:
            return position
    raise AssertionError(f"no {keyword} with {contains!r}")


def test_it_is_multi_stage_on_python_311_slim(dockerfile):
    bases = [argument for instruction, argument in dockerfile if instruction == "FROM"]
    assert len(bases) >= 2
    assert all(base.startswith("python:3.11-slim") for base in bases)
    assert any("--from=build" in argument for instruction, argument in dockerfile if instruction == "COPY")


def test_dependencies_are_installed_before_the_code_is_copied(dockerfile):
    install = index_of(dockerfile, "RUN", "pip install")
    assert index_of(dockerfile, "COPY", "requirements.lock") < install
    assert install < index_of(dockerfile, "COPY", "combat_app")


def test_static_files_are_collected_at_build(dockerfile):
    assert index_of(dockerfile, "RUN", "collectstatic") > index_of(dockerfile, "COPY", "static")


def test_it_runs_as_a_numeric_non_root_user(dockerfile):
    users = [argument for instruction, argument in dockerfile if instruction == "USER"]
    assert users, "no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_python_output_is_unbuffered_and_the_port_is_exposed(dockerfile):
    env = " ".join(argument for instruction, argument in dockerfile if instruction == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    assert ("EXPOSE", "8081") in dockerfile


def test_the_command_is_exec_form_uvicorn_on_all_interfaces_port_8081(dockerfile):
    command = [argument for instruction, argument in dockerfile if instruction == "CMD"][-1]
    argv = json.loads(command)  # exec form: a JSON array, so SIGTERM reaches the server itself
    assert argv[:3] == ["python", "-m", "combat_app.serving"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--port") + 1] == "8081"
    serving = (ROOT / "combat_app" / "serving.py").read_text()
    assert "import uvicorn" in serving and "uvicorn.Server" in serving


def test_the_image_leaves_out_what_it_does_not_run():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", ".sandbox", "tests"):
        assert path in ignored
