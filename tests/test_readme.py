"""The commands of README.md's "Using it" block and of docs/tutorial.md run as written.

A new user's first command must work: each line is run by bash (globs expand as in a terminal) in a
temporary folder holding links to ``samples/``, ``examples/`` and ``.venv/``, so the ``out/`` the lines write is
the test's own. ``aas-quantum`` is this checkout's code and ``python`` the interpreter running the
tests. The only change made to a line: the documents' fixed ports (BaSyx 18081, MQTT 1883, OPC UA
4840 and 4841, the service 8090) become free ports, in ``127.0.0.1:<port>`` and ``--port <port>``
only, because a test cannot count on a fixed port being free. A line ending in ``&`` is started as a
process and waited for (bounded) until its port accepts connections; the lines after it use it, and
every such process is stopped at the end. ``export NAME=value`` lines set the environment of the
lines after them.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import free_port
from tests.support.paths import REPO

DOCUMENTED_PORTS = (18081, 1883, 4840, 4841, 8090)  # BaSyx, MQTT, OPC UA server, demo PLC, service
BASYX_PORT, MQTT_PORT = 18081, 1883
LINKED = ("samples", "examples", ".venv")  # .venv: the tutorial sources its activate script
LINE_TIMEOUT_S = 300


def readme_commands(text: str) -> list[str]:
    """The lines of the first fenced block under "## Using it", comments dropped."""
    section = text.split("\n## Using it\n", 1)[1]
    block = section.split("\n```\n", 1)[1].split("\n```", 1)[0]
    return [c for c in map(_command, block.splitlines()) if c]


def tutorial_commands(text: str) -> list[str]:
    """The commands of every ```console (``$ `` lines) and ```sh block, in order."""
    commands = []
    for kind, body in re.findall(r"^```(console|sh)\n(.*?)^```", text, flags=re.M | re.S):
        for line in body.splitlines():
            if kind == "console":
                if not line.startswith("$ "):
                    continue  # output shown in the document
                line = line[2:]
            command = _command(line)
            if command:
                commands.append(command)
    return commands


def _command(line: str) -> str:
    """``line`` without its trailing ``# comment`` ('' for a blank or comment-only line)."""
    return re.sub(r"(^|\s+)#\s.*$|^#.*$", "", line).strip()


DOCUMENTS = {"README.md": readme_commands, "docs/tutorial.md": tutorial_commands}


def test_the_documents_have_commands() -> None:
    """The parser finds the blocks: a renamed heading or fence would otherwise run nothing and pass."""
    for name, parse in DOCUMENTS.items():
        commands = parse((REPO / name).read_text())
        assert len(commands) >= 8, (name, commands)
        assert any(c.startswith("aas-quantum optimize") for c in commands), name


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, line: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"background line exited ({process.returncode}): {line}\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"background line not listening on {port} after {timeout_s} s: {line}\n{log.read_text()[-3000:]}")


def _listen_port(line: str) -> int:
    """The port a background line listens on: its ``--port``, else its first ``opc.tcp://`` URL's."""
    match = re.search(r"--port (\d+)", line) or re.search(r"opc\.tcp://[^:/\s]+:(\d+)", line)
    assert match, f"a background line must name the port it listens on: {line}"
    return int(match.group(1))


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_every_documented_command_runs_as_written(document, tmp_path, basyx_server, mosquitto) -> None:
    commands = DOCUMENTS[document]((REPO / document).read_text())
    ports = {port: free_port() for port in DOCUMENTED_PORTS}
    ports[MQTT_PORT] = mosquitto().port
    basyx_server(*sorted((REPO / "samples").glob("*.aasx")), port=ports[BASYX_PORT])

    work, bin_dir = tmp_path / "work", tmp_path / "bin"
    work.mkdir()
    bin_dir.mkdir()
    for name in LINKED:
        (work / name).symlink_to(REPO / name)
    python = shlex.quote(sys.executable)  # a script, not a link: a link would lose the virtual environment
    for name, script in (
        ("aas-quantum", f'exec {python} -m aas_quantum.cli "$@"'),  # this checkout's code
        ("python", f'exec {python} "$@"'),
    ):
        (bin_dir / name).write_text(f"#!/bin/bash\n{script}\n")
        (bin_dir / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(REPO),
        "COLUMNS": "120",
    }
    for name in [n for n in env if n.startswith("AAS_QUANTUM_")]:
        del env[name]  # the documents' settings only

    background: list[tuple[str, subprocess.Popen]] = []  # (the line as written, its process)
    try:
        for number, written in enumerate(commands, start=1):
            line = written
            for documented, free in ports.items():
                line = line.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{free}")
                line = re.sub(rf"--port {documented}\b", f"--port {free}", line)
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value
                continue
            if line.endswith("&"):
                log = tmp_path / f"background-{number}.log"
                with log.open("w") as sink:
                    process = subprocess.Popen(
                        ["bash", "-c", "exec " + line.rstrip("&").strip()],
                        cwd=work,
                        env=env,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    )
                background.append((written, process))
                _wait_for_port(_listen_port(line), process, log, written)
                continue
            try:
                done = subprocess.run(
                    ["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=LINE_TIMEOUT_S
                )
            except subprocess.TimeoutExpired as exc:
                pytest.fail(
                    f"{document} command {number} ran over {LINE_TIMEOUT_S} s: {written}\n{exc.stdout}{exc.stderr}"
                )
            if done.returncode != 0:
                pytest.fail(
                    f"{document} command {number}: exit {done.returncode}: {written}\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
                )
    finally:
        for _, process in background:
            process.terminate()
        for _, process in background:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
