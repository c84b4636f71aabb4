"""Video analysis: decode a clip into frames, detect bright objects in every frame at once (a map over one
function), summarize. The clip is synthetic: an 8x8 grey image per frame with a bright square that moves."""

from typing import Any

Payload = dict[str, Any]


def decode(p: Payload) -> Payload:
    frames = []
    for t in range(p.get("frames", 12)):
        image = [[20 + (x * y) % 7 for x in range(8)] for y in range(8)]
        x0 = t % 6
        for y in range(2, 4):
            for x in range(x0, x0 + 2):
                image[y][x] = 250
        frames.append({"index": t, "pixels": image})
    return {"clip": p.get("clip", "synthetic"), "frames": frames}


def detect(frame: dict[str, Any]) -> dict[str, Any]:
    bright = [(x, y) for y, row in enumerate(frame["pixels"]) for x, v in enumerate(row) if v > 200]
    if not bright:
        return {"index": frame["index"], "object": None}
    cx = sum(x for x, _ in bright) / len(bright)
    cy = sum(y for _, y in bright) / len(bright)
    return {"index": frame["index"], "object": [cx, cy], "area": len(bright)}


def summarize(p: Payload) -> Payload:
    seen = [f for f in p["frames"] if f["object"] is not None]
    path = [f["object"][0] for f in seen]
    return {"clip": p["clip"], "frames": len(p["frames"]), "with_object": len(seen), "x_range": [min(path), max(path)]}
