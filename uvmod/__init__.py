"""uvmod: make uv a first-class citizen on HPC clusters through the module system."""

__version__ = "0.1.0"
