"""``python -m phalanx`` is the ``phalanx`` command."""

from .cli import main

main()
