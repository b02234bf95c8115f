"""Joins the hand-labelled sample (bench/categories-sample.csv: 留言编号, 留言主题 and
the three levels labelled by hand against demo/city/taxonomy.csv) with the messages'
text in validation.csv, writing a Teddy Cup file that `minhu eval --config` scores at
every level:

    python3 bench/sample-texts.py bench/categories-sample.csv ../shared/data/teddycup2020/validation.csv /tmp/sample.csv
"""

import csv
import sys

sample, validation, out = sys.argv[1:4]
with open(validation, encoding="utf-8-sig", newline="") as f:
    texts = {row["留言编号"]: row for row in csv.DictReader(f)}
with open(sample, encoding="utf-8", newline="") as f, open(out, "w", encoding="utf-8", newline="") as o:
    writer = csv.writer(o)
    writer.writerow(["留言编号", "留言主题", "留言详情", "一级分类", "二级分类", "三级分类"])
    for row in csv.DictReader(f):
        text = texts[row["留言编号"]]
        writer.writerow([row["留言编号"], text["留言主题"], text["留言详情"], row["一级分类"], row["二级分类"], row["三级分类"]])
