"""What the command line prints for people (--help) and for programs (--json): nothing of it lost to rich
markup, and nothing but JSON on stdout when JSON is asked for."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
from typing import Any

import pytest
import typer

import aas_quantum
from aas_quantum.cli import app
from aas_quantum.errors import EXIT_MEANINGS, AasQuantumError, ExitCode

from tests.support import REPO, SMALL, free_port

WIDE = {"COLUMNS": "200"}  # no wrapping inside a help cell splits the text a check looks for
BOX = re.compile(r"[│╭╮╰╯─]")
# what is left where rich took a bracketed word for markup: "(default from , else ...)", "(TOML, [] tables)"
EATEN = re.compile(r"\(\s*\)|\(\s*,|,\s*\)|\[\s*\]|\w\s+,|\(\s+\w")


def _commands() -> dict[str, Any]:
    """The commands as typer builds them for the command line (its own click Command objects)."""
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _shown(cli, *args: str) -> str:
    done = cli.invoke(app, [*args, "--help"], env=WIDE)
    assert done.exit_code == 0, done.output
    return " ".join(BOX.sub(" ", done.output).split())


@pytest.mark.parametrize("command", sorted(_commands()))
def test_help_shows_every_option_text_as_written(cli, command):
    """Each option's help reaches the screen whole: a bracketed name ([opcua.server], [[scenario]]) is
    text, not rich markup that vanishes."""
    shown = _shown(cli, command)
    assert EATEN.findall(shown) == [], shown
    assert _plain(_commands()[command].help) in shown
    for param in _commands()[command].params:
        written = getattr(param, "help", None)
        if written:
            assert _plain(written) in shown, param.name


def _plain(text: str) -> str:
    """``text`` as rich prints it when nothing of it is markup: escaped brackets unescaped, lines joined."""
    return " ".join(text.replace("\\[", "[").split())


def test_top_level_help_shows_its_text_as_written(cli):
    shown = _shown(cli)
    assert EATEN.findall(shown) == [], shown
    assert all(f" {name} " in shown for name in _commands())  # each one's own help is checked above


def _error_classes() -> list[type[AasQuantumError]]:
    """Every AasQuantumError of the package (its modules imported, so none is missed)."""
    for module in pkgutil.walk_packages(aas_quantum.__path__, "aas_quantum."):
        if module.name not in ("aas_quantum.__main__",):
            importlib.import_module(module.name)
    found, todo = [], [AasQuantumError]
    while todo:
        found.append(todo.pop())
        todo.extend(found[-1].__subclasses__())
    return found


def test_top_level_help_lists_every_exit_code_with_its_meaning(cli):
    shown = _shown(cli)
    codes = {cls.exit_code for cls in _error_classes()}
    assert codes <= set(ExitCode) and {0, 1, 2, 3, 4, 5} <= set(ExitCode)
    for code in ExitCode:
        assert f"{code.value} {_plain(EXIT_MEANINGS[code])}" in shown, code


def _json_error(done: Any) -> dict[str, Any]:
    """The error document --json leaves on stdout; the person's message stays on stderr."""
    error = json.loads(done.stdout)["error"]
    assert error["code"] == done.exit_code and "error:" in done.stderr
    assert " ".join(error["message"].split()) in " ".join(done.stderr.split())
    return error


def test_json_reports_bad_input_as_a_json_error_naming_the_file(cli, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"submodels": [{"idShort": 5}]}')
    done = cli.invoke(app, ["optimize", str(broken), "--json", "--out", str(tmp_path / "out")])
    error = _json_error(done)
    assert error["code"] == ExitCode.BAD_INPUT and error["kind"] == "BomInputError"
    assert error["where"] == {"source": str(broken)} and "not a valid AAS JSON file" in error["message"]
    unknown = _json_error(cli.invoke(app, ["optimize", str(SMALL), "--solver", "nope", "--json"]))
    assert unknown["code"] == ExitCode.BAD_INPUT and "unknown solver 'nope'" in unknown["message"]
    assert unknown["where"] is None


def test_json_reports_an_unreachable_aas_server_as_a_json_error(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("AAS_QUANTUM_RETRIES", "0")  # a refused connection is final: no backoff to wait out
    server = f"http://127.0.0.1:{free_port()}/api/v3.0"
    done = cli.invoke(app, ["optimize", "--all", "--server", server, "--json", "--out", str(tmp_path)])
    error = _json_error(done)
    assert error["code"] == ExitCode.AAS_SERVER and error["kind"] == "AasServerError"
    assert server in error["message"] and "cannot reach the AAS server" in error["message"]


@pytest.mark.slow
@pytest.mark.timeout(240)  # generating and solving 2,500 positions takes about 15 s on a free core
def test_json_stdout_holds_only_the_document_when_highs_prints_on_file_descriptor_1(tmp_path):
    """HiGHS's C++ code writes a debug line to file descriptor 1 while it solves this product (2,500
    positions, seed 1: a solution that needs an LP re-solve after postsolve); piped to jq, stdout must be
    the JSON document and nothing else."""
    package = tmp_path / "p2500.aasx"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "aas_quantum.cli", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=200, env=dict(os.environ))

    assert run("generate", "2500", "--seed", "1", "--out", str(package)).returncode == 0
    done = run("optimize", str(package), "--json", "--solver", "exact", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "optimal" and len(summary["selection"]) == 2500
