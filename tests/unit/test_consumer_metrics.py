"""The consumer's weighted histogram update matches prometheus_client's own observe."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Histogram

from consumer.metrics import observe_many

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def samples(histogram: Histogram) -> dict[str, float]:
    return {
        f"{s.name}{sorted(s.labels.items())}": s.value
        for metric in histogram.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def test_observe_many_equals_observing_one_by_one() -> None:
    rng = random.Random(7)
    values = [0.0, 0.01, 0.0100001, 0.5, 30.0, 31.0, 1e9] + [rng.uniform(0, 40) for _ in range(500)]
    weights = {v: rng.randint(1, 50) for v in values}
    one = Histogram("one", "by observe", buckets=BUCKETS, registry=CollectorRegistry())
    many = Histogram("many", "by observe_many", buckets=BUCKETS, registry=CollectorRegistry())
    for value, n in weights.items():
        for _ in range(n):
            one.observe(value)
    observe_many(many, weights)
    got = {k.replace("many", "one", 1): v for k, v in samples(many).items()}
    expected = samples(one)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert abs(got[key] - value) <= 1e-6 * max(1.0, abs(value)), key
    assert expected["one_count[]"] == sum(weights.values())
