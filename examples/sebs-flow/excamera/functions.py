"""ExCamera's shape: split a video into segments, encode them all at once, re-encode them all at once against a
key frame, rebase them one after another (a loop: serial by nature, results dropped as SeBS-Flow does), and
assemble. Encoding is run-length coding of a synthetic signal."""

from typing import Any

Payload = dict[str, Any]


def split(p: Payload) -> Payload:
    n, size = p.get("segments", 6), p.get("size", 40)
    signal = [(i // 5) % 4 for i in range(n * size)]
    return {"segments": [{"id": k, "samples": signal[k * size : (k + 1) * size]} for k in range(n)]}


def encode(segment: dict[str, Any]) -> dict[str, Any]:
    runs: list[list[int]] = []
    for v in segment["samples"]:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    return {"id": segment["id"], "runs": runs, "raw": len(segment["samples"])}


def reencode(segment: dict[str, Any]) -> dict[str, Any]:
    key = segment["runs"][0][0]
    deltas = [[v - key, n] for v, n in segment["runs"]]
    return {"id": segment["id"], "key": key, "deltas": deltas, "raw": segment["raw"]}


def rebase(segment: dict[str, Any]) -> dict[str, Any]:
    return {"id": segment["id"], "rebased": sum(n for _, n in segment["deltas"]) == segment["raw"]}


def assemble(p: Payload) -> Payload:
    segments = p["segments"]
    size = sum(2 * len(s["deltas"]) + 1 for s in segments)
    raw = sum(s["raw"] for s in segments)
    return {"segments": len(segments), "raw": raw, "encoded": size, "ratio": round(raw / size, 3)}
