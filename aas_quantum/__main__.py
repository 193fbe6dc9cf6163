"""``python -m aas_quantum``: the ``aas-quantum`` command, for a venv whose scripts are not on PATH."""

from aas_quantum.cli import main

main()
