"""Phalanx: collective cyber defense. Share STIX 2.1 threat intelligence in real time, under clear rules,
with proof.

Public packages: ``phalanx.stix`` (STIX 2.1 core), ``phalanx.store`` (object store), ``phalanx.identity``,
``phalanx.policy``, ``phalanx.service`` (the service layer), ``phalanx.web`` (HTTP), ``phalanx.cli``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
