"""meetnet core: settings, shared record types, the metric catalog, CLI and embedded runtime.

Every other package imports from here; this package imports from none of them at module level
(the CLI imports lazily so that `meetnet --help` stays fast and the import graph stays one-way).
"""

__version__ = "0.1.0"
