"""What the command line prints for people (--help) and for programs (--json): nothing of it lost to rich
markup, and nothing but JSON on stdout when JSON is asked for."""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import pytest
import typer

import aas_quantum
from aas_quantum.cli import app
from aas_quantum.errors import EXIT_MEANINGS, AasQuantumError, ExitCode

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
