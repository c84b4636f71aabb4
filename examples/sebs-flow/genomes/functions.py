"""1000 Genomes' shape: parse individuals' genotypes from many blobs at once (a map with common parameters), then
merge them and sift the variants in parallel, then per population the allele frequency and the mutation overlap in
parallel (two maps over the populations the sifting found). The genotypes are synthetic and seeded."""

import random
from typing import Any

Payload = dict[str, Any]


def individuals(p: Payload) -> dict[str, Any]:
    blob = p["array_element"]
    rng = random.Random(blob)
    people = {}
    for k in range(p["columns"]):
        person = f"p{blob}-{k}"
        people[person] = {
            "population": p["populations"][k % len(p["populations"])],
            "variants": sorted(rng.sample(range(50), 8)),
        }
    return people


def individuals_merge(p: Payload) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in p["blobs"]:
        merged.update(part)
    return {"people": merged}


def sifting(p: Payload) -> dict[str, Any]:
    counts: dict[int, int] = {}
    populations: set[str] = set()
    for part in p["blobs"]:
        for person in part.values():
            populations.add(person["population"])
            for v in person["variants"]:
                counts[v] = counts.get(v, 0) + 1
    return {"populations": sorted(populations), "common": sorted(v for v, n in counts.items() if n >= 3)}


def frequency(p: Payload) -> dict[str, Any]:
    pop, people = p["array_element"], p["merge"]["people"]
    members = [x for x in people.values() if x["population"] == pop]
    counts: dict[int, int] = {}
    for person in members:
        for v in person["variants"]:
            counts[v] = counts.get(v, 0) + 1
    top = max(counts, key=lambda v: (counts[v], -v))
    return {"population": pop, "people": len(members), "top_variant": top, "frequency": counts[top] / len(members)}


def mutation_overlap(p: Payload) -> dict[str, Any]:
    pop, people, common = p["array_element"], p["merge"]["people"], set(p["sifting"]["common"])
    members = [x for x in people.values() if x["population"] == pop]
    shared = sum(len(common.intersection(x["variants"])) for x in members)
    return {"population": pop, "overlap": shared / max(1, len(members))}


def summary(p: Payload) -> dict[str, Any]:
    by_pop = {f["population"]: dict(f) for f in p["frequency"]["sifting"]["populations"]}
    for o in p["overlap"]["sifting"]["populations"]:
        by_pop[o["population"]]["overlap"] = o["overlap"]
    return {"populations": [by_pop[k] for k in sorted(by_pop)]}
