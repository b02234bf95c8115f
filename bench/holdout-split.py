"""Splits a labelled training file 90/10 (seed 7) into OUT/train90.csv and OUT/holdout10.csv,
the split on which minhu's classifier settings were chosen (never on validation.csv).

    python3 bench/holdout-split.py ../shared/data/teddycup2020/train.csv /tmp/split
"""

import csv
import random
import sys
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
with source.open(encoding="utf-8", newline="") as f:
    header, *rows = list(csv.reader(f))
random.Random(7).shuffle(rows)
cut = int(len(rows) * 0.9)
for name, part in [("train90.csv", rows[:cut]), ("holdout10.csv", rows[cut:])]:
    with (out / name).open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(part)
