"""Running a measured circuit on a Qiskit Sampler V2 primitive.

Backend names:
- ``statevector``: ``qiskit.primitives.StatevectorSampler`` (exact, noise-free);
- ``aer``: ``qiskit_aer.primitives.SamplerV2`` (noise-free simulator);
- ``fake:<Name>``: a fake IBM device of ``qiskit_ibm_runtime.fake_provider`` (e.g. ``fake:FakeBrisbane``):
  transpiled to the device's ISA and sampled on Aer with the device's noise model;
- ``ibm:<backend>``: IBM Quantum hardware through a Runtime session. Needs a configured account
  (``QiskitRuntimeService.save_account`` or ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE`` in the
  environment); the token is never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from aas_quantum.errors import ConfigError


@dataclass(frozen=True)
class SampleRun:
    counts: dict[int, int]  # basis index (sum_i x_i 2^i) -> shots
    backend: str
    depth: int
    two_qubit_gates: int


def _two_qubit_gates(circuit: QuantumCircuit) -> int:
    return sum(1 for item in circuit.data if item.operation.num_qubits == 2 and item.operation.name != "barrier")


def _fake_backend(name: str) -> Any:
    from qiskit_ibm_runtime import fake_provider

    cls = getattr(fake_provider, name, None)
    if cls is None:
        raise ConfigError(f"unknown fake backend {name!r} "
                                  "(see qiskit_ibm_runtime.fake_provider, e.g. FakeBrisbane)")
    return cls()


def sample(circuit: QuantumCircuit, backend: str, shots: int, seed: int) -> SampleRun:
    """Sample a circuit whose only classical register is the measurement of every qubit."""
    if backend == "statevector":
        from qiskit.primitives import StatevectorSampler

        sampler, isa = StatevectorSampler(seed=seed), circuit.decompose(reps=3)
        label = "qiskit StatevectorSampler"
    elif backend == "aer":
        from qiskit_aer.primitives import SamplerV2 as AerSampler

        isa = generate_preset_pass_manager(optimization_level=1, basis_gates=["rz", "sx", "x", "cx"]).run(circuit)
        sampler, label = AerSampler(seed=seed), "qiskit-aer SamplerV2"
    elif backend.startswith("fake:"):
        from qiskit_aer import AerSimulator
        from qiskit_aer.primitives import SamplerV2 as AerSampler

        device = _fake_backend(backend.split(":", 1)[1])
        isa = generate_preset_pass_manager(optimization_level=1, backend=device, seed_transpiler=seed).run(circuit)
        simulator = AerSimulator.from_backend(device, seed_simulator=seed)
        sampler = AerSampler.from_backend(simulator, seed=seed)
        label = f"{device.name} noise model on qiskit-aer"
    elif backend.startswith("ibm:"):
        from qiskit_ibm_runtime import QiskitRuntimeService, Session
        from qiskit_ibm_runtime import SamplerV2 as RuntimeSampler

        token = os.environ.get("QISKIT_IBM_TOKEN")
        service = QiskitRuntimeService(token=token, instance=os.environ.get("QISKIT_IBM_INSTANCE")) if token \
            else QiskitRuntimeService()
        device = service.backend(backend.split(":", 1)[1])
        isa = generate_preset_pass_manager(optimization_level=1, backend=device, seed_transpiler=seed).run(circuit)
        with Session(backend=device) as session:
            result = RuntimeSampler(mode=session).run([isa], shots=shots).result()
        return SampleRun(_counts(result), f"IBM Quantum {device.name}", isa.depth(), _two_qubit_gates(isa))
    else:
        raise ConfigError(f"unknown backend {backend!r} (local, statevector, aer, fake:<Name>, ibm:<backend>)")
    result = sampler.run([isa], shots=shots).result()
    return SampleRun(_counts(result), label, isa.depth(), _two_qubit_gates(isa))


def _counts(result: Any) -> dict[int, int]:
    data = result[0].data
    register = next(iter(data.keys()))
    return {int(bits, 2): count for bits, count in getattr(data, register).get_counts().items()}
