"""Word count as map-reduce: split a text into chunks, count words per chunk (map), group the counts by word
(shuffle), add each group up (a second map), collect the totals."""

from typing import Any

Payload = dict[str, Any]
TEXT = (
    "the quick brown fox jumps over the lazy dog while the dog sleeps and the fox runs "
    "a workflow of functions maps and reduces and the payload flows from state to state "
)


def split(p: Payload) -> Payload:
    words = (p.get("text") or TEXT * p.get("repeat", 20)).split()
    n = p.get("mappers", 4)
    return {"chunks": [" ".join(words[i::n]) for i in range(n)]}


def count_words(chunk: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in chunk.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def shuffle(p: Payload) -> Payload:
    by_word: dict[str, list[int]] = {}
    for counts in p["chunks"]:
        for word, n in counts.items():
            by_word.setdefault(word, []).append(n)
    return {"groups": [{"word": w, "counts": c} for w, c in sorted(by_word.items())]}


def add_up(group: dict[str, Any]) -> dict[str, Any]:
    return {"word": group["word"], "count": sum(group["counts"])}


def collect(p: Payload) -> Payload:
    totals = {g["word"]: g["count"] for g in p["groups"]}
    top = sorted(totals, key=lambda w: (-totals[w], w))[:3]
    return {"words": len(totals), "total": sum(totals.values()), "top": top}
