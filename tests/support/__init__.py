"""What the tests share besides fixtures: paths, AAS file helpers, and the harnesses of the real processes
they run against (BaSyx server, mosquitto, PostgreSQL, ``aas-quantum serve``, a fault-injecting proxy)."""

from .faults import FaultProxy, HeldRead, statuses_first
from .files import Sample, check_file, idta_findings, load_sample, write_catalog, write_product
from .mqtt import Mosquitto, Subscriber, tls_certificates
from .optimum import brute_force
from .paths import DRONE_SHELL, DRONE_STEM, FIXTURE_DIR, LARGE, MEDIUM, MMKP_DIR, REPO, SAMPLES, SMALL
from .processes import SERVICE_KEY, PostgresCluster, ServiceProcess, free_port, start_basyx_server

__all__ = [
    "DRONE_SHELL", "DRONE_STEM", "FIXTURE_DIR", "LARGE", "MEDIUM", "MMKP_DIR", "REPO", "SAMPLES", "SERVICE_KEY",
    "SMALL", "FaultProxy", "HeldRead", "Mosquitto", "PostgresCluster", "Sample", "ServiceProcess", "Subscriber",
    "brute_force", "check_file", "free_port", "idta_findings", "load_sample", "start_basyx_server", "statuses_first",
    "tls_certificates", "write_catalog", "write_product",
]
