"""MQTT publishing against a real mosquitto broker started by the fixture on 127.0.0.1."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from aas_quantum.cli import app
from aas_quantum.publish.mqtt import MqttPublisher, MqttSettings, PublishError, topic
from aas_quantum.publish.payload import result_payload, schema
from aas_quantum.service.events import Change, EventSubscriber
from aas_quantum.summary import RunSummary

from tests.support import SMALL, Subscriber, tls_certificates

PRODUCT = "urn:aas-quantum:sample:drone:QX5-Inspect"
RUN_ID = "6f1c2b7e-0d4a-4a57-9d55-3f3c8e1b2a90"


def test_cli_run_publishes_ordered_status_and_a_valid_retained_result(mosquitto, cli, tmp_path):
    broker = mosquitto()
    watcher = Subscriber(broker.port, [topic("aas-quantum", PRODUCT, "status")])
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "exact", "--mqtt", broker.url, "--json",
                              "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    statuses = [payload for _, payload, _ in watcher.drain()]
    watcher.close()
    for status in statuses:
        jsonschema.validate(status, schema("status"))
    states = [s["state"] for s in statuses]
    assert states[0] == "queued" and states[-1] == "done" and set(states[1:-1]) == {"solving"}
    progress = [s["progress"] for s in statuses]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert [s["stage"] for s in statuses[1:-1]] == ["exact baseline", "greedy baseline", "exact", "report",
                                                    "writing results"]

    late = Subscriber(broker.port, [topic("aas-quantum", PRODUCT, "#")])  # joins after the run
    retained = {t.rsplit("/", 1)[1]: (payload, flag) for t, payload, flag in late.drain()}
    late.close()
    payload, retain_flag = retained["result"]
    assert retain_flag and retained["status"][0]["state"] == "done"
    jsonschema.validate(payload, schema("result"))
    assert payload["kpis"]["total_cost"] == pytest.approx(summary["kpis"]["total_cost"])
    assert [s["part_number"] for s in payload["selection"]] == [s["part_number"] for s in summary["selection"]]
    assert payload["result_submodel_id"].endswith("/sm/BomOptimizationResult")


def test_schema_rejects_a_payload_without_kpis(tmp_path, cli):
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--json", "--out", str(tmp_path)])
    payload = result_payload(RunSummary.from_json(json.loads(result.output)), "urn:x/sm/BomOptimizationResult")
    jsonschema.validate(payload, schema("result"))
    del payload["kpis"]["total_cost"]
    with pytest.raises(jsonschema.ValidationError, match="total_cost"):
        jsonschema.validate(payload, schema("result"))


def test_result_published_while_broker_is_down_arrives_after_restart_once(mosquitto, tmp_path, cli):
    broker = mosquitto()
    run = cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--json", "--out", str(tmp_path)])
    payload = result_payload(RunSummary.from_json(json.loads(run.output)), "urn:x/sm/BomOptimizationResult")
    result_topic = topic("aas-quantum", PRODUCT, "result")
    subscriber = Subscriber(broker.port, [result_topic], client_id="plant-dashboard", persistent=True)
    publisher = MqttPublisher(MqttSettings.resolve(broker.url, client_id="aas-quantum-test",
                                                   reconnect_max_s=1.0)).connect()
    publisher.status(PRODUCT, "solving", 0.5, run_id=RUN_ID)
    publisher.flush(10)
    broker.stop()
    publisher.result(PRODUCT, payload)  # the broker is away: queued in the client
    with pytest.raises(PublishError, match="not acknowledged"):
        publisher.flush(1.0)
    broker.start()  # same port, same persistence file
    publisher.flush(30)
    publisher.close()
    received = [p for _, p, _ in subscriber.drain(quiet_s=2.0)]
    subscriber.close()
    assert received and all(p["run_id"] == payload["run_id"] for p in received)
    fresh = Subscriber(broker.port, [result_topic])
    retained = fresh.drain(quiet_s=1.5)
    fresh.close()
    assert len(retained) == 1 and retained[0][2] is True
    assert retained[0][1]["run_id"] == payload["run_id"]


def test_protocol_311_is_used_when_configured(mosquitto):
    broker = mosquitto()
    publisher = MqttPublisher(MqttSettings.resolve(broker.url, protocol="3.1.1")).connect()
    assert publisher.protocol == "3.1.1"
    publisher.status("urn:p", "queued", run_id=RUN_ID)
    publisher.close()
    late = Subscriber(broker.port, ["aas-quantum/#"])
    assert [p["state"] for _, p, _ in late.drain()] == ["queued"]
    late.close()


def _client_certificate_and_password_broker(mosquitto: Callable[..., Any], certs: dict[str, Path], directory: Path
                                            ) -> Any:
    """A TLS broker that lets in only user line7 (password s3cret) with a client certificate of ``certs``' CA."""
    passwords = directory / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "line7", "s3cret"], check=True)
    passwords.chmod(0o644)
    return mosquitto(f"cafile {certs['ca']}\ncertfile {certs['server']}\nkeyfile {certs['server-key']}\n"
                     f"require_certificate true\npassword_file {passwords}\n", anonymous=False)


def test_tls_client_certificate_and_password_from_config(mosquitto, tmp_path, monkeypatch):
    certs = tls_certificates(tmp_path)
    broker = _client_certificate_and_password_broker(mosquitto, certs, tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(f'[mqtt]\nusername = "line7"\npassword = "s3cret"\nca_file = "{certs["ca"]}"\n'
                      f'cert_file = "{certs["client"]}"\nkey_file = "{certs["client-key"]}"\n')
    monkeypatch.setenv("AAS_QUANTUM_CONFIG", str(config))
    url = f"mqtts://127.0.0.1:{broker.port}"
    settings = MqttSettings.resolve(url)
    assert "s3cret" not in repr(settings)
    publisher = MqttPublisher(settings).connect()
    publisher.status("urn:p", "done", 1.0, run_id=RUN_ID)
    publisher.close()
    tls = {"ca_certs": str(certs["ca"]), "certfile": str(certs["client"]), "keyfile": str(certs["client-key"])}
    reader = Subscriber(broker.port, ["aas-quantum/#"], tls=tls, auth=("line7", "s3cret"))
    assert [p["state"] for _, p, _ in reader.drain()] == ["done"]
    reader.close()
    with pytest.raises(PublishError, match="refused"):
        MqttPublisher(MqttSettings.resolve(url, password="wrong")).connect()
    without_client_cert = MqttPublisher(MqttSettings.resolve(url, cert_file="", key_file="",
                                                             connect_timeout_s=2)).connect()
    without_client_cert.status("urn:p", "failed", None, "", "must not arrive", run_id=RUN_ID)
    with pytest.raises(PublishError, match="not acknowledged"):
        without_client_cert.close(timeout_s=2)


@pytest.mark.timeout(120)
def test_a_tls_failure_is_named_at_connect_not_30_s_later_as_unacknowledged(mosquitto, tmp_path):
    """A CA that did not sign the broker's certificate, or TLS to a plain port, waited 10 s for the connection
    and 30 s for acknowledgements, then said "not acknowledged" without naming TLS: paho's loop retries a
    failed handshake silently. Both are now refused by connect, naming the TLS failure."""
    (tmp_path / "other").mkdir()
    certs, stranger = tls_certificates(tmp_path), tls_certificates(tmp_path / "other")  # stranger: another CA
    broker = mosquitto(f"cafile {certs['ca']}\ncertfile {certs['server']}\nkeyfile {certs['server-key']}\n")
    plain = mosquitto()
    cases = [(MqttSettings.resolve(f"mqtts://127.0.0.1:{broker.port}", ca_file=str(stranger["ca"])),
              "TLS handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
             (MqttSettings.resolve(f"mqtts://127.0.0.1:{plain.port}", ca_file=str(certs["ca"])),
              "closed the connection during the TLS handshake: is it a TLS port?")]
    for settings, named in cases:
        with pytest.raises(PublishError, match=re.escape(named)) as refused:
            MqttPublisher(settings).connect()
        assert settings.endpoint in str(refused.value)
    publisher = MqttPublisher(MqttSettings.resolve(f"mqtts://127.0.0.1:{broker.port}", ca_file=str(certs["ca"])))
    publisher.connect().status("urn:p", "done", 1.0, run_id=RUN_ID)  # the right CA still connects and delivers
    assert publisher.close(timeout_s=30) == [f"MQTT {topic('aas-quantum', 'urn:p', 'status')}: 1 message(s) "
                                             f"acknowledged by 127.0.0.1:{broker.port}"]


@pytest.mark.timeout(120)
def test_the_event_subscriber_gets_the_publishers_tls_and_credentials(mosquitto, tmp_path):
    """The publisher and the BaSyx event subscriber built their paho clients apart, with TLS arguments that
    differed; both now come from one factory. The same settings connect both to a broker that requires a
    client certificate and a password, and a CA that did not sign the broker's certificate connects neither."""
    (tmp_path / "other").mkdir()
    certs, stranger = tls_certificates(tmp_path), tls_certificates(tmp_path / "other")
    broker = _client_certificate_and_password_broker(mosquitto, certs, tmp_path)
    url = f"mqtts://line7:s3cret@127.0.0.1:{broker.port}"
    settings = MqttSettings.resolve(url, ca_file=str(certs["ca"]), cert_file=str(certs["client"]),
                                    key_file=str(certs["client-key"]), reconnect_min_s=0.1, reconnect_max_s=0.5)
    changes: queue.Queue = queue.Queue()
    subscriber = EventSubscriber(replace(settings, client_id="events"), changes.put).connect()
    subscriber.start()
    try:
        _until(subscriber.connected, 30)
        publisher = MqttPublisher(replace(settings, client_id="decisions")).connect()
        publisher.publish("sm-repository/repo/submodels/created", {"id": "urn:sm"}, retain=False)
        publisher.close()
        assert changes.get(timeout=30) == Change("submodel", "urn:sm", "created")
    finally:
        subscriber.stop()
    wrong_ca = replace(settings, ca_file=str(stranger["ca"]))
    with pytest.raises(PublishError, match="TLS handshake failed"):
        MqttPublisher(wrong_ca).connect()
    refused = EventSubscriber(wrong_ca, changes.put)
    with pytest.raises(PublishError, match=re.escape(f"{settings.endpoint}: TLS handshake failed")):
        refused.connect()  # it used to start, retry the handshake silently and say only "not connected"


@pytest.mark.timeout(120)
def test_the_event_subscribers_readiness_says_why_it_is_not_connected(mosquitto):
    broker = mosquitto()
    settings = MqttSettings.resolve(broker.url, reconnect_min_s=0.1, reconnect_max_s=0.5)
    subscriber = EventSubscriber(replace(settings, client_id="events"), lambda change: None).connect()
    subscriber.start()
    try:
        _until(subscriber.connected, 30)
        subscriber.check()
        broker.stop()

        def named() -> bool:
            try:
                subscriber.check()
            except ConnectionError as exc:
                return "ConnectionRefusedError" in str(exc)
            return False

        _until(named, 30)  # each reconnect attempt is refused: readiness names that, not only "not connected"
    finally:
        subscriber.stop()


def _until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s")
        time.sleep(0.05)


def test_many_publishes_from_two_threads_never_deadlock(mosquitto):
    """20,000 QoS 1 publishes from two threads while PUBACKs stream in: with a lock held across
    paho's publish (which the PUBACK callback also needed) this hung within seconds on a busy machine."""
    broker = mosquitto()
    publisher = MqttPublisher(MqttSettings.resolve(broker.url)).connect()
    errors: list[BaseException] = []

    def burst(product: str) -> None:
        try:
            for i in range(10_000):
                publisher.status(product, "solving", i / 10_000, "stress", run_id=RUN_ID)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=burst, args=(f"urn:stress:{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads), "publishing threads hung"
    assert not errors, errors
    lines = publisher.close(timeout_s=120)
    assert sorted(lines) == sorted(f"MQTT {topic('aas-quantum', f'urn:stress:{n}', 'status')}: 10000 message(s) "
                                   f"acknowledged by 127.0.0.1:{broker.port}" for n in range(2))


def test_two_runs_on_one_host_keep_their_own_connection(mosquitto, tmp_path):
    """Each process (and each publisher) has its own client id, so the broker never disconnects one run in
    favour of another; both finish with every message acknowledged."""
    broker = mosquitto()
    first, second = (MqttPublisher(MqttSettings.resolve(broker.url)) for _ in range(2))
    assert first.settings.client_id != second.settings.client_id
    assert first.settings.client_id.startswith(f"aas-quantum-{socket.gethostname()[:32]}-{os.getpid()}-")
    first.connect()
    second.connect()
    for n in range(50):
        first.status(PRODUCT, "solving", n / 50, run_id=RUN_ID)
        second.status(PRODUCT, "solving", n / 50, run_id=RUN_ID)
    assert first.close(timeout_s=30) and second.close(timeout_s=30)
    log = (broker.directory / "mosquitto.log").read_text()
    assert "already connected, closing old connection" not in log


def test_a_run_says_what_each_sink_acknowledged(mosquitto, cli, tmp_path):
    broker = mosquitto()
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--mqtt", broker.url, "--out",
                              str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for kind, count in (("status", 7), ("result", 1)):
        assert f"MQTT {topic('aas-quantum', PRODUCT, kind)}: {count} message(s) acknowledged" in text


def test_a_publish_the_broker_refuses_is_not_reported_as_acknowledged(mosquitto, cli, tmp_path):
    """An ACL that denies publishing answers each PUBACK with 'Not authorized' (MQTT 5): the messages were
    settled but never delivered, so the run fails (exit 4) naming the refusal instead of reporting them
    acknowledged with exit 0."""
    passwords, acl = tmp_path / "passwords", tmp_path / "acl"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "reader", "r3ad-only"], check=True)
    acl.write_text("user reader\ntopic read #\n")
    passwords.chmod(0o644)
    broker = mosquitto(f"password_file {passwords}\nacl_file {acl}\n", anonymous=False)
    result = cli.invoke(app, ["optimize", str(SMALL), "--solver", "greedy", "--out", str(tmp_path / "out"),
                              "--mqtt", f"mqtt://reader:r3ad-only@127.0.0.1:{broker.port}"])
    text = " ".join(result.output.split())
    assert result.exit_code == 4, text
    assert "refused by" in text and "Not authorized (135)" in text and "acknowledged by" not in text
    assert "r3ad-only" not in text


def test_a_message_larger_than_the_broker_accepts_is_named_not_resent_forever(mosquitto):
    """A broker announcing a Maximum Packet Size gets no message above it (sent, it drops the connection and
    paho resends it at every reconnect); mosquitto's message_size_limit, which announces nothing, ends each
    connection instead, and the flush stops after a few such drops naming the cause instead of waiting
    out its timeout with 'not acknowledged'."""
    announced = mosquitto("max_packet_size 600\n")
    publisher = MqttPublisher(MqttSettings.resolve(announced.url)).connect()
    with pytest.raises(PublishError, match=r"is \d+ bytes, more than the 600 bytes broker .* accepts"):
        publisher.status(PRODUCT, "failed", None, "", "x" * 1000, run_id=RUN_ID)
    publisher.status(PRODUCT, "queued", run_id=RUN_ID)  # a message that fits still goes
    assert publisher.close(timeout_s=30)

    silent = mosquitto("message_size_limit 100\n")
    publisher = MqttPublisher(MqttSettings.resolve(silent.url, reconnect_min_s=0.1, reconnect_max_s=0.2)).connect()
    publisher.status(PRODUCT, "failed", None, "", "x" * 400, run_id=RUN_ID)
    with pytest.raises(PublishError, match=r"closed the connection 5 times in a row .* message_size_limit"):
        publisher.close(timeout_s=120)
