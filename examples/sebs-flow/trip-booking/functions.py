"""Trip booking as a saga: reserve a hotel, a car and a flight, then confirm; a step that fails leads to the
cancellation of what was reserved before it (the definition's failure states). `fail_at` in the payload names the
step that fails, so both paths can be run."""

from typing import Any

Payload = dict[str, Any]


def _reserve(p: Payload, what: str) -> Payload:
    if p.get("fail_at") == what:
        raise RuntimeError(f"no {what} available")
    booked = {**p.get("booked", {}), what: f"{what}-{len(p.get('trip', ''))}-{p.get('nights', 1)}"}
    return {**p, "booked": booked}


def reserve_hotel(p: Payload) -> Payload:
    return _reserve(p, "hotel")


def reserve_car(p: Payload) -> Payload:
    return _reserve(p, "car")


def reserve_flight(p: Payload) -> Payload:
    return _reserve(p, "flight")


def confirm(p: Payload) -> Payload:
    if p.get("fail_at") == "confirm":
        raise RuntimeError("payment declined")
    return {**p, "status": "confirmed"}


def _cancel(p: Payload, what: str) -> Payload:
    booked = {k: v for k, v in p.get("booked", {}).items() if k != what}
    return {**p, "booked": booked, "cancelled": [*p.get("cancelled", []), what], "status": "cancelled"}


def cancel_flight(p: Payload) -> Payload:
    return _cancel(p, "flight")


def cancel_car(p: Payload) -> Payload:
    return _cancel(p, "car")


def cancel_hotel(p: Payload) -> Payload:
    return _cancel(p, "hotel")
