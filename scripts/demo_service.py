"""The service path of ``make demo``: the AAS server extension next to a running BaSyx server.

Starts a mosquitto broker and ``aas-quantum serve`` on 127.0.0.1, installs the Optimize operation
on the e-bike's AAS, invokes it the way BaSyx Java delegates it, and prints the output variables,
the result read back from the server and the MQTT result message; then stops what it started.

    .venv/bin/python scripts/demo_service.py http://127.0.0.1:18081/api/v3.0
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parent.parent
PRODUCT = "urn:aas-quantum:sample:ebike-drive:aas"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.TransportError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


def main() -> None:
    server = sys.argv[1]
    work = REPO / "out" / "demo" / "service"  # job store, result files, the service's log
    work.mkdir(parents=True, exist_ok=True)
    broker_port, service_port, key = free_port(), free_port(), secrets.token_hex(16)
    (work / "mosquitto.conf").write_text(f"listener {broker_port} 127.0.0.1\nallow_anonymous true\n"
                                         + ("user root\n" if os.geteuid() == 0 else ""))
    broker = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(work / "mosquitto.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "AAS_QUANTUM_SERVICE_API_KEY": key}
    service = subprocess.Popen([str(BIN / "aas-quantum"), "serve", "--server", server, "--port", str(service_port),
                                "--data-dir", str(work / "data"), "--mqtt", f"mqtt://127.0.0.1:{broker_port}"],
                               env=env, stdout=(work / "service.log").open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{service_port}"
    try:
        wait_for("mosquitto", lambda: socket.create_connection(("127.0.0.1", broker_port), timeout=1).close() or True)
        wait_for("the service", lambda: httpx.get(f"{url}/health", timeout=1).status_code == 200)
        print(f"aas-quantum serve at {url} (job log: {work / 'service.log'})")
        subprocess.run([str(BIN / "aas-quantum"), "install-operation", "--server", server, "--shell", PRODUCT,
                        "--service-url", f"{url}/operations/optimize"], check=True)

        messages: queue.Queue = queue.Queue()
        subscriber = paho.Client(CallbackAPIVersion.VERSION2)
        subscriber.on_connect = lambda c, u, f, r, p: c.subscribe("aas-quantum/+/result", qos=1)
        subscriber.on_message = lambda c, u, m: messages.put((m.topic, json.loads(m.payload)))
        subscriber.connect("127.0.0.1", broker_port)
        subscriber.loop_start()
        time.sleep(0.5)

        body = [{"value": {"modelType": "Property", "idShort": name, "valueType": "xs:string", "value": value}}
                for name, value in (("ProductId", PRODUCT), ("Solver", "exact"))]
        print(f"\nPOST {url}/operations/optimize (the body BaSyx Java sends when Optimize is invoked):")
        answer = httpx.post(f"{url}/operations/optimize", json=body, headers={"X-API-Key": key}, timeout=120)
        answer.raise_for_status()
        for variable in answer.json():
            print(f"  {variable['value']['idShort']:28} {variable['value'].get('value', '')}")
        topic, payload = messages.get(timeout=30)
        print(f"\nMQTT {topic}: run {payload['run_id']}, total cost {payload['kpis']['total_cost']:.2f} "
              f"{payload['currency']}, {len(payload['selection'])} positions")
        subscriber.loop_stop()
        subscriber.disconnect()
        print("\nResult read back from the server:")
        subprocess.run([str(BIN / "aas-quantum"), "result", "--server", server, "--shell", PRODUCT], check=True)
    finally:
        service.terminate()
        service.wait(timeout=60)
        broker.terminate()
        broker.wait(timeout=10)


if __name__ == "__main__":
    main()
