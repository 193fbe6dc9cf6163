"""Serve AAS files with the BaSyx Python SDK's HTTP server (AAS API v3.0) on 127.0.0.1.

Runs in its own virtual environment with basyx-python-sdk==1.2.1 (the project itself uses the 2.x
SDK):

    .basyx-server-venv/bin/python tests/basyx/serve.py --port 8081 samples/drone.aasx ...

Prints "ready <url>" once listening; runs until terminated.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.http import WSGIApp
from basyx.aas.adapter.json import read_aas_json_file_into
from werkzeug.serving import make_server


def load(paths: list[Path]) -> tuple[model.DictObjectStore, aasx.DictSupplementaryFileContainer]:
    store: model.DictObjectStore = model.DictObjectStore()
    files = aasx.DictSupplementaryFileContainer()
    for path in paths:
        if path.suffix == ".aasx":
            with aasx.AASXReader(str(path)) as reader:
                reader.read_into(store, files)
        else:
            with path.open(encoding="utf-8-sig") as fh:
                read_aas_json_file_into(store, fh)
    return store, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request log lines
    store, files = load(args.files)
    server = make_server("127.0.0.1", args.port, WSGIApp(store, files), threaded=True)
    print(f"ready http://127.0.0.1:{args.port}/api/v3.0 ({len(store)} objects)", flush=True)
    server.serve_forever()  # until SIGTERM / SIGINT


if __name__ == "__main__":
    main()
