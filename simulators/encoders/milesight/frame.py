"""What every Milesight encoder shares: the port (decoders/milesight/tlv.py has the layout)."""

from __future__ import annotations

PORT = 85
