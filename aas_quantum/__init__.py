"""aas-quantum: choose component variants and suppliers for AAS bills of material."""

__version__ = "0.1.0"

__all__ = ["__version__"]
