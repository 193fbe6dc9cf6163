"""IDTA conformance check of the local BaSyx test server (Submodel Repository profile).

    python benchmarks/conformance.py

Starts the BaSyx Python server (SDK 1.2.1, .basyx-server-venv) with the drone sample on a free
127.0.0.1 port, runs `aas_test_engines check_server <url> SubmodelRepositoryServiceSpecification/SSP-002`
and writes the plain-text report and a per-operation summary to benchmarks/results/conformance.txt,
so it is on record how far the server the client is tested against follows the specification.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVER_PYTHON = REPO / ".basyx-server-venv" / "bin" / "python"
SUITE = "https://admin-shell.io/aas/API/3/0/SubmodelRepositoryServiceSpecification/SSP-002"
STATUS = {"91": "FAIL", "92": "pass", "93": "skipped", "94": "not implemented"}


def main() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([str(SERVER_PYTHON), str(REPO / "tests" / "basyx" / "serve.py"), "--port", str(port),
                               str(REPO / "samples" / "drone.aasx")], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        server.stdout.readline()
        tool = shutil.which("aas_test_engines") or str(Path(sys.executable).parent / "aas_test_engines")
        run = subprocess.run([tool, "check_server", f"http://127.0.0.1:{port}/api/v3.0", SUITE],
                             capture_output=True, text=True, timeout=600)
    finally:
        server.terminate()
        server.wait()
    operations = re.findall(r"^   \x1b\[(\d+)mChecking (\S+)\x1b\[0m", run.stdout, flags=re.M)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout)
    summary = [line.strip() for line in plain.splitlines() if "tests passed" in line]
    out = REPO / "benchmarks" / "results" / "conformance.txt"
    out.parent.mkdir(exist_ok=True)
    lines = [f"aas_test_engines check_server ... {SUITE}", f"exit code {run.returncode}", *summary, "",
             *(f"{STATUS.get(code, code):16} {name}" for code, name in operations), "", "full report:", plain]
    out.write_text("\n".join(lines))
    print("\n".join(lines[: 4 + len(operations) + 1]))
    print("written", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
