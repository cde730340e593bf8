"""Command groups of the ``meetnet`` CLI, one module per use case (``meetnet/cli.py`` registers
them). Like ``cli.py``, they import heavy modules inside the commands so ``--help`` stays instant."""
