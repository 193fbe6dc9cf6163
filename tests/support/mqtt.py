"""A real mosquitto broker and a real MQTT subscriber on 127.0.0.1, and TLS certificates for both."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .processes import free_port


class Mosquitto:
    """A real mosquitto broker on 127.0.0.1 with persistence, stoppable and restartable on the same port."""

    def __init__(self, directory: Path, extra_config: str = "", anonymous: bool = True) -> None:
        self.directory = directory
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            f"persistence true\npersistence_location {directory}/\nautosave_interval 1\n"
            f"log_dest file {directory}/mosquitto.log\nlog_type all\n"
            # as root mosquitto would switch to its own user, which cannot write the test directory
            + ("user root\n" if os.geteuid() == 0 else "") + extra_config)
        self.process: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        import socket
        import time

        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is not installed: `make test` installs the Debian package")
        self.process = subprocess.Popen([binary, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        pytest.fail(f"mosquitto did not start: {(self.directory / 'mosquitto.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto writes its persistence file before exiting
            self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class Subscriber:
    """A real paho client collecting (topic, payload, retain) in arrival order."""

    def __init__(self, port: int, topics: list[str], client_id: str = "", persistent: bool = False,
                 tls: dict | None = None, auth: tuple[str, str] | None = None) -> None:
        self.messages: queue.Queue = queue.Queue()
        self.subscribed = threading.Event()  # acknowledged: nothing published from now on is missed
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        if tls:
            self.client.tls_set(**tls)
        if auth:
            self.client.username_pw_set(*auth)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, json.loads(m.payload), m.retain))
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self.subscribed.set()
        self.client.reconnect_delay_set(0.2, 1)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600 if persistent else 0
        self.client.connect("127.0.0.1", port, clean_start=not persistent, properties=props)
        self.client.loop_start()
        if not self.subscribed.wait(30):
            pytest.fail(f"the test subscriber got no SUBACK for {topics}")

    def drain(self, quiet_s: float = 1.0, total_s: float = 30.0, until: int | None = None) -> list:
        """Messages until none arrives for ``quiet_s`` (or ``until`` of them have arrived)."""
        got, deadline = [], time.monotonic() + total_s
        while time.monotonic() < deadline and (until is None or len(got) < until):
            try:
                got.append(self.messages.get(timeout=quiet_s if until is None else deadline - time.monotonic()))
            except queue.Empty:
                if until is None:
                    break
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def tls_certificates(directory: Path) -> dict[str, Path]:
    """A test CA, and a server certificate for 127.0.0.1 and a client certificate signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aas-quantum test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, alt_names in (("server", [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                            ("client", [x509.DNSName("aas-quantum-test")])):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(alt_names[0].value))]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
                .sign(ca_key, hashes.SHA256()))
        paths[name], paths[f"{name}-key"] = directory / f"{name}.pem", directory / f"{name}.key"
        paths[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{name}-key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    for path in paths.values():
        path.chmod(0o644)
    return paths
