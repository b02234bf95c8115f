#!/usr/bin/env python3
"""Write demo/city/boundaries.geojson: SCHEMATIC outlines of A市's districts and streets.

Usage:  python3 scripts/make-schematic-boundaries.py [--out demo/city/boundaries.geojson]

A市 is anonymised: its real outlines cannot be known, so these are invented, and every
collection says so (`"schematic": true`, read by minhu-config; maps are captioned
"schematic").
The nine districts tile a 3 x 3 grid of 0.2 x 0.25 degree cells around the centre cell,
A3 (112.8-113.0 E, 28.05-28.3 N, kept from the first hand-drawn outline); each
district's streets tile it in two rows. In A3, 洋湖街道 (A3-08) and its two communities
keep their hand-drawn outlines (tests place a pin in 白鹭社区), and A3's other streets
tile the rest around it. Reads demo/city/regions.toml for the districts and streets.
Standard library only (Python 3.11+); deterministic.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Column and row of each district in the 3 x 3 grid (A3 in the middle).
GRID = {
    "A1": (2, 1), "A2": (0, 1), "A3": (1, 1), "A4": (1, 2), "A5": (0, 2),
    "A6": (2, 2), "A7": (1, 0), "A8": (0, 0), "A9": (2, 0),
}
WEST, SOUTH, WIDTH, HEIGHT = 112.6, 27.8, 0.2, 0.25
# 洋湖街道 and its communities, drawn by hand first.
KEPT = {
    "A3-08": (112.9, 28.08, 112.96, 28.13),
    "A3-08-01": (112.9, 28.08, 112.93, 28.105),
    "A3-08-02": (112.93, 28.08, 112.96, 28.105),
}
# A3 around A3-08: columns at 112.8 | 112.9 | 112.96 | 113.0, rows at 28.05 | 28.08 |
# 28.13 | 28.3; the tall north-west cell split in two for the ninth street.
A3_CELLS = [
    (112.8, 28.05, 112.9, 28.08), (112.9, 28.05, 112.96, 28.08), (112.96, 28.05, 113.0, 28.08),
    (112.8, 28.08, 112.9, 28.13), (112.96, 28.08, 113.0, 28.13),
    (112.8, 28.13, 112.9, 28.215), (112.8, 28.215, 112.9, 28.3),
    (112.9, 28.13, 112.96, 28.3), (112.96, 28.13, 113.0, 28.3),
]


def box(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 4), round(y, 4)] for x, y in ring]]}


def feature(region: dict, bounds: tuple) -> dict:
    return {
        "type": "Feature",
        "properties": {"region": region["id"], "name": region["name"]},
        "geometry": box(*bounds),
    }


def streets_of(district: dict, streets: list[dict]) -> list[tuple[dict, tuple]]:
    col, row = GRID[district["id"]]
    west, south = WEST + col * WIDTH, SOUTH + row * HEIGHT
    if district["id"] == "A3":
        others = [s for s in streets if s["id"] not in KEPT]
        return list(zip(others, A3_CELLS, strict=True))
    top = (len(streets) + 1) // 2
    rows = [streets[:top], streets[top:]]
    out = []
    for r, members in enumerate(rows):
        for c, street in enumerate(members):
            w = WIDTH / len(members)
            out.append((street, (west + c * w, south + (1 - r) * HEIGHT / 2,
                                 west + (c + 1) * w, south + (2 - r) * HEIGHT / 2)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "demo/city/boundaries.geojson"))
    args = parser.parse_args()
    regions = tomllib.loads((ROOT / "demo/city/regions.toml").read_text("utf-8"))["region"]
    by_id = {r["id"]: r for r in regions}
    features = []
    for district in (r for r in regions if r["level"] == "district"):
        col, row = GRID[district["id"]]
        west, south = WEST + col * WIDTH, SOUTH + row * HEIGHT
        features.append(feature(district, (west, south, west + WIDTH, south + HEIGHT)))
        streets = [r for r in regions if r["level"] == "street" and r.get("parent") == district["id"]]
        features.extend(feature(street, bounds) for street, bounds in streets_of(district, streets))
    features.extend(feature(by_id[rid], bounds) for rid, bounds in KEPT.items())
    collection = {
        "type": "FeatureCollection",
        "schematic": True,
        "note": "SCHEMATIC outlines: A市 is anonymised, its real boundaries are unknown "
                "(scripts/make-schematic-boundaries.py)",
        "features": features,
    }
    Path(args.out).write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
