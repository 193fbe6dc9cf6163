"""One precedence for every edge's settings: given value > environment > config file, parsed to the
settings' types, the file read once, the result plain and picklable (worker processes get it as is)."""

from __future__ import annotations

import os
import pickle

import pytest

from aas_quantum import config
from aas_quantum.aas.server import ServerSettings
from aas_quantum.errors import ConfigError
from aas_quantum.publish.mqtt import MqttSettings
from aas_quantum.publish.opcua import OpcUaClientSettings, OpcUaServerSettings

from tests.support import REPO


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("AAS_QUANTUM_CONFIG", str(path))
    for name in [n for n in os.environ if n.startswith("AAS_QUANTUM_") and n != "AAS_QUANTUM_CONFIG"]:
        monkeypatch.delenv(name)
    return path


def test_given_beats_environment_beats_file_for_every_edge(config_file, monkeypatch):
    config_file.write_text('[mqtt]\nurl = "mqtt://file:1883"\nkeepalive_s = 10\n'
                           '[server]\nbase_url = "http://file:8081/api/v3.0"\ntimeout_s = 7\n'
                           '[opcua.client]\nurl = "opc.tcp://file:4840"\nnodes = { TotalCost = "ns=2;s=Cost" }\n'
                           '[opcua.server]\nendpoint = "opc.tcp://127.0.0.1:4841/file"\n[opcua.users]\nop = "pw"\n')
    assert MqttSettings.resolve().keepalive_s == 10 and MqttSettings.resolve().host == "file"
    assert ServerSettings.resolve().timeout_s == 7.0
    assert OpcUaClientSettings.resolve().url == "opc.tcp://file:4840"
    assert OpcUaServerSettings.resolve().endpoint.endswith("/file")

    monkeypatch.setenv("AAS_QUANTUM_MQTT_KEEPALIVE_S", "20")
    monkeypatch.setenv("AAS_QUANTUM_TIMEOUT", "8")
    monkeypatch.setenv("AAS_QUANTUM_OPCUA_URL", "opc.tcp://env:4840")
    monkeypatch.setenv("AAS_QUANTUM_OPCUA_SERVER_ENDPOINT", "opc.tcp://127.0.0.1:4842/env")
    mqtt = MqttSettings.resolve()
    assert mqtt.keepalive_s == 20 and isinstance(mqtt.keepalive_s, int)
    assert ServerSettings.resolve().timeout_s == 8.0
    assert OpcUaClientSettings.resolve().url == "opc.tcp://env:4840"
    assert OpcUaServerSettings.resolve().endpoint.endswith("/env")

    assert MqttSettings.resolve("mqtt://flag:1883", keepalive_s=30).keepalive_s == 30
    assert ServerSettings.resolve("http://flag:8081/api/v3.0", timeout_s=9.0).timeout_s == 9.0
    assert OpcUaClientSettings.resolve("opc.tcp://flag:4840").url == "opc.tcp://flag:4840"
    assert OpcUaServerSettings.resolve("opc.tcp://127.0.0.1:4843/flag").endpoint.endswith("/flag")


def test_values_are_parsed_to_the_settings_types_with_a_message_naming_them(config_file, monkeypatch):
    config_file.write_text('[opcua.server]\nallow_anonymous = "maybe"\n')
    with pytest.raises(ConfigError, match=r"AAS_QUANTUM_OPCUA_SERVER_ALLOW_ANONYMOUS / \[opcua.server\] "
                                          r"allow_anonymous must be true or false"):
        OpcUaServerSettings.resolve()
    monkeypatch.setenv("AAS_QUANTUM_OPCUA_SERVER_ALLOW_ANONYMOUS", "yes")
    assert OpcUaServerSettings.resolve().allow_anonymous is True
    monkeypatch.setenv("AAS_QUANTUM_MQTT_KEEPALIVE_S", "2.5")
    with pytest.raises(ConfigError, match=r"KEEPALIVE_S .* must be a whole number"):
        MqttSettings.resolve("mqtt://h:1883")
    config_file.write_text('[mqtt]\nkeepalive = 5\n')
    with pytest.raises(ConfigError, match=r"\[mqtt\]: unknown setting\(s\) \['keepalive'\]"):
        MqttSettings.resolve("mqtt://h:1883")


def test_the_file_is_read_once_per_version(config_file):
    config_file.write_text('[mqtt]\nkeepalive_s = 11\n')
    config._parsed.cache_clear()
    for _ in range(5):
        MqttSettings.resolve("mqtt://h:1883")
    assert config._parsed.cache_info().misses == 1
    config_file.write_text('[mqtt]\nkeepalive_s = 12\n# changed\n')
    assert MqttSettings.resolve("mqtt://h:1883").keepalive_s == 12


def test_settings_survive_pickling(config_file):
    config_file.write_text('[opcua.users]\nop = "pw"\n')
    for settings in (ServerSettings.resolve("http://user:secret@h:8081/api/v3.0"),
                     MqttSettings.resolve("mqtt://h:1883"),
                     OpcUaServerSettings.resolve(),
                     OpcUaClientSettings.resolve("opc.tcp://h:4840", nodes={"TotalCost": "ns=2;s=Cost"})):
        assert pickle.loads(pickle.dumps(settings)) == settings


@pytest.fixture
def cli_in_process(monkeypatch):
    """CliRunner for commands that may reach `serve`'s JSON logging: the root logger is restored afterwards,
    so later tests' CLI output is not JSON log lines."""
    import logging

    from typer.testing import CliRunner

    for logger in (logging.getLogger(), logging.getLogger("httpx")):
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
        monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("AAS_QUANTUM_SERVICE_API_KEY", "key")
    return CliRunner()


@pytest.mark.parametrize(("args", "named"), [
    (["optimize", "samples/drone.aasx", "--dry-run", "--mqtt", "mqtt://line7:s3cret@127.0.0.1:1883x"],
     "MQTT broker URL 'mqtt://127.0.0.1:1883x' is not a valid URL"),
    (["optimize", "samples/drone.aasx", "--dry-run", "--mqtt", "mqtts://127.0.0.1:99999"],
     "MQTT broker URL 'mqtts://127.0.0.1:99999' is not a valid URL"),
    (["optimize", "samples/drone.aasx", "--dry-run", "--opcua", "opc.tcp://line7:s3cret@127.0.0.1:48x"],
     "OPC UA server URL (--opcua) 'opc.tcp://127.0.0.1:48x' is not a valid URL"),
    (["optimize", "--dry-run", "--server", "http://line7:s3cret@127.0.0.1:80x/api"],
     "AAS server or registry URL 'http://127.0.0.1:80x/api' is not a valid URL"),
    (["optimize", "--dry-run", "--registry", "http://127.0.0.1:99999/api"],
     "AAS server or registry URL 'http://127.0.0.1:99999/api' is not a valid URL"),
    (["serve", "--server", "http://127.0.0.1:9/api", "--events", "mqtt://line7:s3cret@127.0.0.1:1883x", "--watch",
      "mqtt"], "events URL (--events, [service] events_url) 'mqtt://127.0.0.1:1883x' is not a valid URL"),
    (["serve", "--server", "http://127.0.0.1:9/api", "--jobs", "postgresql://line7:s3cret@127.0.0.1:5432x/jobs"],
     "job store 'postgresql://127.0.0.1:5432x/jobs': port '5432x' is not a port number"),
    (["serve", "--server", "http://127.0.0.1:9/api", "--mqtt", "mqtt://127.0.0.1:1883x"],
     "MQTT broker URL 'mqtt://127.0.0.1:1883x' is not a valid URL"),
    (["opcua-server", "samples/drone.aasx", "--endpoint", "opc.tcp://127.0.0.1:48x/p"],
     "OPC UA endpoint (--endpoint) 'opc.tcp://127.0.0.1:48x/p' is not a valid URL"),
    (["install-operation", "--shell", "urn:x", "--server", "http://127.0.0.1:9/api", "--service-url",
      "http://127.0.0.1:80x/operations/optimize"], "--service-url 'http://127.0.0.1:80x/operations/optimize' is not"),
])
def test_a_malformed_url_flag_is_exit_2_naming_it_without_its_password(config_file, cli_in_process, monkeypatch,
                                                                       args, named):
    """`--mqtt mqtt://127.0.0.1:1883x` printed urllib's traceback and exited 1: a port is read only when it
    is used. Every URL-taking flag is parsed, port included, where it is resolved."""
    from aas_quantum.cli import app
    from aas_quantum.sanitize import redact_url

    monkeypatch.setenv("AAS_QUANTUM_OPCUA_SERVER_ALLOW_ANONYMOUS", "true")
    done = cli_in_process.invoke(app, args)
    message = " ".join(done.output.split())
    assert done.exit_code == 2 and named in message, done.output
    assert "s3cret" not in done.output and "Traceback" not in done.output
    assert redact_url("mqtt://line7:s3cret@host:1883x") == "mqtt://host:1883x"  # it used to raise on the port


@pytest.mark.parametrize(("args", "env", "named"), [
    (["serve", "--server", "http://127.0.0.1:9/api", "--port", "99999"], {}, "--port"),
    (["serve", "--server", "http://127.0.0.1:9/api"], {"AAS_QUANTUM_SERVICE_PORT": "70000"},
     "AAS_QUANTUM_SERVICE_PORT / [service] port must be a port number (0-65535), got 70000"),
    (["batch", "samples/drone.aasx", "--workers", "-1"], {}, "--workers"),  # ran with the pool's default
    (["generate", "0"], {}, "positions"),  # wrote a product no command could read
])
def test_an_out_of_range_count_or_port_flag_is_exit_2_before_anything_runs(config_file, cli_in_process, monkeypatch,
                                                                          tmp_path, args, env, named):
    """`serve --port 99999` ended in bind()'s OverflowError traceback (exit 1)."""
    from aas_quantum.cli import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    done = cli_in_process.invoke(app, [*args, "--out", str(tmp_path / "out")] if args[0] != "serve" else args)
    assert done.exit_code == 2 and named in " ".join(done.output.split()), done.output
    assert "Traceback" not in done.output and not (tmp_path / "out").exists()
