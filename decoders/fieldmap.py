"""Field maps: from a decoded object's fields (a JavaScript codec's ``data``, a network server's
``decoded_payload`` / ``object``) to catalog metrics, with an optional scale."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from meetnet.catalog import metric as catalog_metric
from meetnet.records import Reading

FieldMapSpec = Mapping[str, "str | tuple[str, float] | list[Any]"]


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (``"line_1.total_in"``; numbers index lists), or None."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


class FieldMap:
    """``{"distance": ("distance", 0.001), "battery": "battery"}``: path -> metric[, scale].

    A mapped field that is missing, null or not a number gives no reading (decoders say "no
    value" in many ways); two fields mapped to one metric are refused, because readings are keyed
    by ``(device, metric, time)``; a metric outside the catalog is refused when the map is made.
    """

    def __init__(self, spec: FieldMapSpec, *, name: str = "field map") -> None:
        self.fields: dict[str, tuple[str, float]] = {}
        seen: dict[str, str] = {}
        for path, target in spec.items():
            if isinstance(target, str):
                metric_name, scale = target, 1.0
            else:
                metric_name, scale = str(target[0]), float(target[1])
            catalog_metric(metric_name)  # UnknownMetric for a name outside the catalog
            if metric_name in seen:
                raise ValueError(
                    f"{name}: fields {seen[metric_name]!r} and {path!r} both map to {metric_name!r}"
                )
            seen[metric_name] = path
            self.fields[path] = (metric_name, scale)
        self.metrics: tuple[str, ...] = tuple(seen)

    def readings(self, data: Mapping[str, Any]) -> list[Reading]:
        out = []
        for path, (metric_name, scale) in self.fields.items():
            value = lookup(data, path)
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, int | float):
                continue
            try:
                scaled = float(value) * scale
            except OverflowError:  # an integer beyond any float (a codec may return 10**400)
                continue
            if math.isfinite(scaled):
                out.append(Reading(metric_name, scaled))
        return out
