"""ML training's shape: generate a data set and a list of training schedules (learning rate, epochs), train one
model per schedule at once (a map whose body is two states: fit, then score on held-out data), select the best.
The model is a line fitted by gradient descent, in pure Python."""

import random
from typing import Any

Payload = dict[str, Any]


def generate(p: Payload) -> Payload:
    rng = random.Random(p.get("seed", 1))
    xs = [rng.uniform(-1, 1) for _ in range(p.get("samples", 200))]
    data = [[x, 3.0 * x + 0.5 + rng.gauss(0, 0.1)] for x in xs]
    rates = p.get("rates", [0.01, 0.05, 0.1, 0.3])
    return {"data": data, "schedules": [{"rate": r, "epochs": p.get("epochs", 30)} for r in rates]}


def fit(p: Payload) -> Payload:
    schedule, data = p["array_element"], p["data"]
    train = data[: len(data) * 3 // 4]
    w = b = 0.0
    for _ in range(schedule["epochs"]):
        gw = sum((w * x + b - y) * x for x, y in train) * 2 / len(train)
        gb = sum(w * x + b - y for x, y in train) * 2 / len(train)
        w, b = w - schedule["rate"] * gw, b - schedule["rate"] * gb
    return {"schedule": schedule, "w": w, "b": b, "test": data[len(data) * 3 // 4 :]}


def score(p: Payload) -> Payload:
    test = p["test"]
    mse = sum((p["w"] * x + p["b"] - y) ** 2 for x, y in test) / len(test)
    return {"schedule": p["schedule"], "w": round(p["w"], 4), "b": round(p["b"], 4), "mse": mse}


def select(p: Payload) -> Payload:
    best = min(p["schedules"], key=lambda m: m["mse"])
    return {"best": best, "tried": len(p["schedules"])}
