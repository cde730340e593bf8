"""PostgreSQL / TimescaleDB through psycopg 3: the only package that writes SQL."""

from store.migrate import MigrationResult, migrate
from store.rows import Batch, DeadLetterRow, DeviceSeen, ReadingRow, UplinkRow
from store.writer import Writer, WriteResult

__all__ = ["Batch", "DeadLetterRow", "DeviceSeen", "MigrationResult", "ReadingRow", "UplinkRow",
           "WriteResult", "Writer", "migrate"]
