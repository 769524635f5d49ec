"""Prometheus text-format metrics for the server: counters, gauges and histograms.

Only what the server records, written by hand (the exposition format is a few lines) so serving
needs no metrics library. Metric objects are updated from the server's event loop only (one
thread): no locks.
"""

from __future__ import annotations

import bisect
import math

#: Latency buckets in seconds (1 ms .. 30 s), roughly x2 apart.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
#: Batch-size buckets (texts per run).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def _labels(names: tuple[str, ...], values: tuple) -> str:
    if not names:
        return ""
    inner = ",".join(
        f'{n}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for n, v in zip(names, values, strict=True)
    )
    return "{" + inner + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    """Monotonic count per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()):
        self.name, self.help, self.label_names = name, help_text, labels
        self.values: dict[tuple, float] = {}

    def inc(self, *labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def get(self, *labels) -> float:
        return self.values.get(labels, 0.0)

    def samples(self):
        for labels, value in sorted(self.values.items()):
            yield self.name + "_total" + _labels(self.label_names, labels), value


class Gauge(Counter):
    """A value that goes up and down (or is read from a callback at scrape time)."""

    kind = "gauge"

    def __init__(self, name, help_text, labels=(), read=None):
        super().__init__(name, help_text, labels)
        self.read = read

    def set(self, *labels, value: float) -> None:
        self.values[labels] = value

    def samples(self):
        if self.read is not None:
            for labels, value in sorted(self.read().items()):
                yield self.name + _labels(self.label_names, labels), value
            return
        for labels, value in sorted(self.values.items()):
            yield self.name + _labels(self.label_names, labels), value


class Histogram:
    """Cumulative buckets, sum and count per label set (Prometheus' histogram type)."""

    kind = "histogram"

    def __init__(self, name, help_text, buckets, labels: tuple[str, ...] = ()):
        self.name, self.help, self.label_names = name, help_text, labels
        self.bounds = tuple(float(b) for b in buckets)
        self.series: dict[tuple, list] = {}  # labels -> [counts per bucket + overflow, sum]

    def observe(self, value: float, *labels) -> None:
        entry = self.series.setdefault(labels, [[0] * (len(self.bounds) + 1), 0.0])
        entry[0][bisect.bisect_left(self.bounds, value)] += 1
        entry[1] += value

    def count(self, *labels) -> int:
        entry = self.series.get(labels)
        return sum(entry[0]) if entry else 0

    def samples(self):
        for labels, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, n in zip((*self.bounds, math.inf), counts, strict=True):
                running += n
                names = (*self.label_names, "le")
                yield self.name + "_bucket" + _labels(names, (*labels, _number(bound))), running
            yield self.name + "_sum" + _labels(self.label_names, labels), total
            yield self.name + "_count" + _labels(self.label_names, labels), running


class Registry:
    """The server's metrics, rendered in the Prometheus text exposition format 0.0.4."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self, prefix: str = "tvmbs_"):
        self.prefix = prefix
        self.metrics: list = []

    def add(self, metric):
        metric.name = self.prefix + metric.name
        self.metrics.append(metric)
        return metric

    def render(self) -> str:
        lines = []
        for m in self.metrics:
            lines.append(f"# HELP {m.name} {m.help}")
            lines.append(f"# TYPE {m.name} {m.kind}")
            lines.extend(f"{name} {_number(value)}" for name, value in m.samples())
        return "\n".join(lines) + "\n"
