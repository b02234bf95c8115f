#!/usr/bin/env python3
"""Generate minhu's demo data (the anonymised "A市" of the 2020 Teddy Cup task).

Usage:  python3 scripts/make-demo-data.py ../shared/data [--out demo]

Reads <data>/teddycup2020/{validation,replies,hotspots,taxonomy}.csv and writes

    demo/city/city.toml       city settings and deadline tiers
    demo/city/regions.toml    city > district > street > community > grid
    demo/city/places.csv      estates, roads, schools, hospitals, markets, places and other cities
    demo/city/units.toml      property companies, committees, street offices, departments
    demo/city/taxonomy.csv    the 3-level category taxonomy, with the first level's English names
    demo/city/duties.toml     the duty list: category -> level (and department role)
    demo/messages.csv         real messages (validation.csv + a sample of replies.csv)

Place names (streets/towns, communities/villages) and property company names are
mined from the messages; where the data gives too few, plausible names are invented
(marked with a comment in the TOML).  Populations are invented.  Everything is
deterministic (fixed seeds), so re-running gives identical files.
Standard library only (Python 3.11+); the outputs are validated with tomllib at the end.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import random
import re
import sys
import tomllib
from pathlib import Path

SEED = 12345
HAN = r"[\u4e00-\u9fa5]"

# --------------------------------------------------------------------------- input



# The taxonomy's first levels in English (the optional `english` column of taxonomy.csv).
FIRST_LEVEL_EN = {
    "城乡建设": "Urban and rural construction", "农村农业": "Agriculture and rural affairs",
    "政法": "Law and public security", "教育文体": "Education, culture and sports",
    "劳动和社会保障": "Labour and social security", "民政": "Civil affairs",
    "党务政务": "Party and government affairs", "经济管理": "Economic management",
    "卫生计生": "Health and family planning", "商贸旅游": "Commerce and tourism",
    "环境保护": "Environmental protection", "交通运输": "Transport",
    "纪检监察": "Discipline inspection", "国土资源": "Land and resources",
    "科技与信息产业": "Science, technology and IT",
}


def write_taxonomy(source, target):
    """Copies the taxonomy's three levels and adds the first level's English name."""
    with source.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    with target.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        for i, row in enumerate(rows):
            levels = (row[:3] + [""] * 3)[:3]
            out.writerow(levels + (["english"] if i == 0 else [FIRST_LEVEL_EN[levels[0]]]))

def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [{k: (v or "") for k, v in row.items()} for row in csv.DictReader(f)]


def message_text(row: dict[str, str]) -> str:
    return "\n".join(row.get(k, "") for k in ("留言主题", "留言详情", "答复意见"))


# --------------------------------------------------------------------------- mining

DIST_RE = re.compile(r"A([1-9])([区县市])")
# "A3区洋湖街道", "A8县市双凫铺镇" (the anonymiser turned 宁乡市 into "A8县市")
STREET_RE = re.compile(rf"A([1-9])[区县市]市?({HAN}{{2,5}}?)(街道|镇|乡)")
STREET_SUFFIXES = ("街道", "镇", "乡")
LEADING_NOISE = set("的在去和与及县市原到于系是")
STREET_BAD = ("住房", "城乡", "各", "个", "某", "第", "大街", "最", "之", "部", "已", "完成",
              "交通", "局", "社区", "小区")
STREET_BAD_ENDINGS = ("小镇", "古镇", "集镇", "新镇", "家乡")
# spelling variants / typos in the messages -> canonical base name
STREET_MERGE = {
    "雨厂坪": "雨敞坪", "白若铺": "白箬铺", "大托": "大托铺", "坡子": "坡子街",
    "樃梨": "榔梨", "榔犁": "榔梨", "黄星": "黄兴",
}
# artefacts of the anonymisation ("芙蓉北路街道" became "A1区北路街道")
STREET_REJECT = {"北路", "中路", "南路"}
MAX_STREETS, MIN_STREETS, MIN_STREET_COUNT = 10, 4, 2

COMMUNITY_BAD = ("组织", "当地", "联合", "牵头", "和", "及", "将", "各", "的", "某", "每", "个",
                 "该", "本", "我", "在", "与", "到", "等", "所", "辖", "区内", "附近", "一名",
                 "政府", "街道", "镇", "乡", "小区", "这", "那", "们", "有", "了", "为", "被",
                 "第", "村村", "居委", "党", "是", "对", "从", "向", "由", "于", "也", "已",
                 "依托", "组")
MAX_COMMUNITIES, MIN_COMMUNITIES = 6, 3
GENERIC_PLACE_WORDS = {"植物园", "商贸城", "火车站", "汽车站", "体育馆", "科技园", "工业园"}

# Property companies named in the messages ("…物业"), checked by hand; the script
# keeps only those that really occur as "<name>物业" and places each in the district
# (and, where possible, the community) mentioned with it.
PROPERTY_NAMES = [
    "美顺", "文兴", "长城", "馨鑫", "电京", "家名", "盛凯", "奥林", "雅华", "鸿润", "万厦园丁",
    "达博", "金科", "程明", "万科", "环天", "大邦", "鑫润梓", "佳兆业", "天君", "运鸿", "庆德",
    "鲲鹏", "嘉盛", "彩虹", "航天", "富钧", "洁美", "润潜", "诚华", "乐馨",
]

INVENTED_COMMUNITY_WORDS = [
    "和平", "新华", "建设", "光明", "友谊", "幸福", "民主", "文昌", "东风", "向阳", "长青", "桃园",
    "荷花", "枫林", "金桥", "红星", "团结", "胜利", "新民", "兴隆", "安居", "丰收", "映山", "青松",
    "梅岭", "杨柳", "石桥", "双塘", "白沙", "龙泉", "楠竹", "花园", "樟树", "柏树", "牌楼", "清泉",
]
INVENTED_STREET_WORDS = ["新城", "滨江", "东湖", "龙山", "金霞", "凤凰", "清水", "白云", "麓山", "洪塘"]
INVENTED_PROPERTY_A = list("华金恒嘉宏信润瑞鼎安盛荣志佳中天")
INVENTED_PROPERTY_B = list("泰达源祥和兴邦晟诚隆丰远业居")


def clean_street_base(base: str) -> str | None:
    while len(base) > 2 and base[0] in LEADING_NOISE:
        base = base[1:]
    base = STREET_MERGE.get(base, base)
    if base in STREET_REJECT or any(b in base for b in STREET_BAD):
        return None
    if len(base) < 2:
        return None
    return base


def mine_streets(texts: list[str]):
    """-> {district_no: [(base, full_name, variants, count)]} (best first)."""
    per_base_dist = collections.defaultdict(collections.Counter)   # base -> district -> n
    per_base_suffix = collections.defaultdict(collections.Counter)  # base -> suffix -> n
    per_base_variants = collections.defaultdict(collections.Counter)  # base -> raw full name -> n
    first_seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        for m in STREET_RE.finditer(t):
            full = m.group(2) + m.group(3)
            if any(full.endswith(e) for e in STREET_BAD_ENDINGS):
                continue
            base = clean_street_base(m.group(2))
            if base is None:
                continue
            per_base_dist[base][m.group(1)] += 1
            per_base_suffix[base][m.group(3)] += 1
            raw = m.group(2)
            while len(raw) > 2 and raw[0] in LEADING_NOISE:
                raw = raw[1:]
            per_base_variants[base][raw + m.group(3)] += 1
            first_seen.setdefault(base, i)
    out = collections.defaultdict(list)
    for base, dists in per_base_dist.items():
        total = sum(dists.values())
        if total < MIN_STREET_COUNT:
            continue
        dist = max(sorted(dists), key=lambda d: dists[d])  # deterministic tie-break
        suffixes = per_base_suffix[base]
        suffix = max(STREET_SUFFIXES, key=lambda s: (suffixes[s], s == "街道"))
        full = base + suffix
        variants = sorted(v for v in per_base_variants[base] if v != full)
        out[dist].append((base, full, variants, total, first_seen[base]))
    for d in out:
        out[d].sort(key=lambda x: (-x[3], x[4]))
        out[d] = [x[:4] for x in out[d]]
    return out


def mine_communities(texts, street_names: list[str], district_mention: str):
    """Communities/villages written right after one of the street's names
    ("西湖街道茶场村"), in messages that also mention the street's district."""
    alts = "|".join(re.escape(n) for n in sorted(set(street_names), key=len, reverse=True))
    rx = re.compile(rf"(?:{alts})(?:办事处|办)?({HAN}{{2,5}}?)(社区|村)")
    counts: collections.Counter[str] = collections.Counter()
    first: dict[str, int] = {}
    for i, t in enumerate(texts):
        if district_mention not in t:
            continue
        for m in rx.finditer(t):
            base = m.group(1)
            if base.startswith("行政") or base.endswith("行政"):
                base = base.replace("行政", "")
            if len(base) < 2 or any(b in base for b in COMMUNITY_BAD):
                continue
            if base in ("社区", "乡村", "农村", "新农"):
                continue
            name = base + m.group(2)
            counts[name] += 1
            first.setdefault(name, i)
    names = sorted(counts, key=lambda n: (-counts[n], first[n]))
    kept: list[str] = []
    for n in names:
        # drop one-character spelling variants of a more frequent name ("之字港村"/"芝字港村")
        if any(len(k) == len(n) >= 4 and k[-1] == n[-1] and sum(a != b for a, b in zip(k, n)) == 1
               for k in kept):
            continue
        kept.append(n)
    return kept


# --------------------------------------------------------------------------- TOML


def tq(s: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML escapes)."""
    return json.dumps(s, ensure_ascii=False)


def tlist(xs: list[str]) -> str:
    return "[" + ", ".join(tq(x) for x in xs) + "]"


def toml_tables(header: str, name: str, rows: list[dict], comments: dict[int, str] | None = None) -> str:
    out = [header.rstrip() + "\n"]
    for i, row in enumerate(rows):
        out.append("")
        if comments and i in comments:
            out.append(f"# {comments[i]}")
        out.append(f"[[{name}]]")
        for k, v in row.items():
            if v is None:
                continue
            if isinstance(v, bool):
                out.append(f"{k} = {'true' if v else 'false'}")
            elif isinstance(v, int):
                out.append(f"{k} = {v}")
            elif isinstance(v, list):
                out.append(f"{k} = {tlist(v)}")
            else:
                out.append(f"{k} = {tq(v)}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- city.toml

CITY_TOML = '''\
[city]
name = "A市"
name_en = "City A"
region = "A"            # id of the root region in regions.toml
timezone = "Asia/Shanghai"
default_tier = "15d"

[[tier]]
code = "2h"
label = "紧急 Urgent"
resolve_within = "2h"     # humantime-like: "30m", "2h", "24h", "7d", "15d"
respond_within = "30m"
[[tier]]
code = "24h"
label = "加急 Priority"
resolve_within = "24h"
respond_within = "2h"
[[tier]]
code = "7d"
label = "一般 Normal"
resolve_within = "7d"
respond_within = "4h"
[[tier]]
code = "15d"
label = "普通 Standard"
resolve_within = "15d"
respond_within = "24h"
'''

# --------------------------------------------------------------------------- regions


def build_regions(texts: list[str]):
    rng = random.Random(SEED)
    # districts and their suffix (区/县/市), as written in the messages
    suffix_count = collections.defaultdict(collections.Counter)
    for t in texts:
        for n, suf in DIST_RE.findall(t):
            suffix_count[n][suf] += 1
    districts = sorted(suffix_count)
    streets_by_dist = mine_streets(texts)

    regions: list[dict] = []
    comments: dict[int, str] = {}
    regions.append({"id": "A", "name": "A市", "level": "city", "parent": None, "population": 0})
    used_street_names: set[str] = set()
    street_bases: set[str] = set()
    for n in districts:
        for base, *_ in streets_by_dist.get(n, []):
            street_bases.add(base)
    community_plan = []  # (street_region, district_name, names_real)
    city_pop = 0
    for n in districts:
        suf = suffix_count[n].most_common(1)[0][0]
        dname = f"A{n}{suf}"
        did = f"A{n}"
        # no bare "A3" alias: in the messages it is a building ("A3栋"), not the district
        dregion = {"id": did, "name": dname, "level": "district", "parent": "A",
                   "population": 0}
        regions.append(dregion)
        comments[len(regions) - 1] = f"{dname}: district-level unit ({ {'区': 'urban district', '县': 'county', '市': 'county-level city'}[suf] })"
        mined = streets_by_dist.get(n, [])[:MAX_STREETS]
        streets = []
        for base, full, variants, count in mined:
            streets.append((base, full, variants, f"mined: {count} mentions"))
            used_street_names.add(full)
        words = [w for w in INVENTED_STREET_WORDS if w not in street_bases]
        while len(streets) < MIN_STREETS:
            w = words.pop(0)
            street_bases.add(w)
            full = w + "街道"
            streets.append((w, full, [], "name invented (too few in the data)"))
            used_street_names.add(full)
        street_regions = []
        for si, (base, full, variants, why) in enumerate(streets, start=1):
            sid = f"{did}-{si:02d}"
            if full.endswith("街道"):
                pop = rng.randrange(400, 1500) * 100
            elif full.endswith("镇"):
                pop = rng.randrange(300, 900) * 100
            else:
                pop = rng.randrange(300, 500) * 100
            aliases = [base] + [v for v in variants if v != full]
            r = {"id": sid, "name": full, "level": "street", "parent": did,
                 "population": pop, "aliases": aliases}
            street_regions.append((r, why))
        total = sum(r["population"] for r, _ in street_regions)
        if total > 1_150_000:  # keep districts within 300k..1.2M
            f = 1_100_000 / total
            for r, _ in street_regions:
                r["population"] = max(30_000, round(r["population"] * f / 100) * 100)
            total = sum(r["population"] for r, _ in street_regions)
        dpop = round(total * rng.uniform(1.02, 1.12) / 1000) * 1000
        dregion["population"] = min(1_200_000, max(300_000, dpop))
        city_pop += dregion["population"]
        for r, why in street_regions:
            regions.append(r)
            comments[len(regions) - 1] = why
            community_plan.append((r, dname))

    regions[0]["population"] = city_pop

    # communities and grids
    street_alias_set = set(street_bases) | {r["name"] for r, _ in community_plan}
    n_real = n_invented = 0
    for r, dname in community_plan:
        names = [r["name"]] + [a for a in r["aliases"] if a.endswith(STREET_SUFFIXES)]
        real = mine_communities(texts, names, dname)[:MAX_COMMUNITIES]
        chosen = [(c, True) for c in real]
        rural = not r["name"].endswith("街道")
        pool = INVENTED_COMMUNITY_WORDS[:]
        rng.shuffle(pool)
        while len(chosen) < MIN_COMMUNITIES:
            w = pool.pop()
            name = w + ("村" if rural else "社区")
            if name in {c for c, _ in chosen}:
                continue
            chosen.append((name, False))
        for ci, (cname, is_real) in enumerate(chosen, start=1):
            cid = f"{r['id']}-{ci:02d}"
            base = cname[:-2] if cname.endswith("社区") else cname[:-1]
            aliases = None
            # two-character bases ("光明", "花园") are too common to be safe gazetteer aliases
            if (is_real and len(base) >= 3 and not base.endswith("新")
                    and base not in street_alias_set and base not in GENERIC_PLACE_WORDS):
                aliases = [base]
            regions.append({"id": cid, "name": cname, "level": "community", "parent": r["id"],
                            "aliases": aliases})
            if is_real:
                n_real += 1
            else:
                n_invented += 1
                comments[len(regions) - 1] = "name invented (too few in the data)"
            for g in (1, 2):
                regions.append({"id": f"{cid}-{g}", "name": f"第{g}网格", "level": "grid",
                                "parent": cid})
    return regions, comments, (n_real, n_invented)


# --------------------------------------------------------------------------- units

# role -> (district unit suffix, city unit name, English)
DEPARTMENTS = [
    ("housing", "住房和城乡建设局", "A市住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("urban", "城市管理和综合执法局", "A市城市管理和综合执法局", "Urban Management and Law Enforcement Bureau"),
    ("hrss", "人力资源和社会保障局", "A市人力资源和社会保障局", "Human Resources and Social Security Bureau"),
    ("education", "教育局", "A市教育局", "Education Bureau"),
    ("health", "卫生健康局", "A市卫生健康委员会", "Health Commission"),
    ("environment", "生态环境分局", "A市生态环境局", "Ecology and Environment Bureau"),
    ("transport", "交通运输局", "A市交通运输局", "Transport Bureau"),
    ("commerce", "商务局", "A市商务局", "Commerce Bureau"),
    ("police", "公安分局", "A市公安局", "Public Security Bureau"),
    ("market", "市场监督管理局", "A市市场监督管理局", "Market Regulation Administration"),
    # not in the first brief, needed so that every first-level category has an owner:
    ("civil", "民政局", "A市民政局", "Civil Affairs Bureau"),
    ("resources", "自然资源局", "A市自然资源和规划局", "Natural Resources and Planning Bureau"),
    ("agriculture", "农业农村局", "A市农业农村局", "Agriculture and Rural Affairs Bureau"),
    ("justice", "司法局", "A市司法局", "Justice Bureau"),
    ("emergency", "应急管理局", "A市应急管理局", "Emergency Management Bureau"),
    ("culture", "文化旅游广电体育局", "A市文化旅游广电局", "Culture, Tourism and Sports Bureau"),
    ("development", "发展和改革局", "A市发展和改革委员会", "Development and Reform Bureau"),
    ("industry", "工业和信息化局", "A市工业和信息化局", "Industry and Information Technology Bureau"),
    ("discipline", "纪委监委", "A市纪委监委", "Commission for Discipline Inspection and Supervision"),
    ("general", "人民政府办公室", "A市人民政府办公厅", "General Office of the People's Government"),
]
CITY_ONLY = [("water", "A市水务局", "Water Affairs Bureau")]


def build_units(regions: list[dict], texts: list[str]):
    rng = random.Random(SEED + 1)
    by_id = {r["id"]: r for r in regions}
    units: list[dict] = []
    comments: dict[int, str] = {}

    streets = [r for r in regions if r["level"] == "street"]
    communities = [r for r in regions if r["level"] == "community"]
    for s in streets:
        name = s["name"]
        office = name + ("办事处" if name.endswith("街道") else "人民政府")
        units.append({"id": f"street-{s['id']}", "name": office, "level": "street",
                      "region": s["id"]})
    for c in communities:
        name = c["name"] + ("居委会" if c["name"].endswith("社区") else "村委会")
        units.append({"id": f"cc-{c['id']}", "name": name, "level": "community",
                      "region": c["id"], "parent": f"street-{c['parent']}"})

    # property companies: real names first, placed by co-mention, then invented ones
    district_of = {}
    for c in communities:
        district_of[c["id"]] = by_id[by_id[c["parent"]]["parent"]]
    target = round(len(communities) / 2)
    taken: dict[str, tuple[str, bool]] = {}
    urban = [c for c in communities if c["name"].endswith("社区")]
    for pname in PROPERTY_NAMES:
        key = pname + "物业"
        hits = [t for t in texts if key in t]
        if not hits:
            continue
        dcount = collections.Counter()
        ccount = collections.Counter()
        for t in hits:
            for n, suf in DIST_RE.findall(t):
                dcount[f"A{n}"] += 1
            for c in communities:
                if c["name"] in t and district_of[c["id"]]["name"] in t:
                    ccount[c["id"]] += 1
        choice = None
        for cid, _ in sorted(ccount.items(), key=lambda kv: (-kv[1], kv[0])):
            if cid not in taken:
                choice = cid
                break
        if choice is None:  # else a 社区 of the street/town named with it
            scount = collections.Counter()
            for t in hits:
                for s in streets:
                    if any(n in t for n in [s["name"]] + s.get("aliases", [])[1:]) \
                            and by_id[s["parent"]]["name"] in t:
                        scount[s["id"]] += 1
            for sid, _ in sorted(scount.items(), key=lambda kv: (-kv[1], kv[0])):
                cands = [c for c in urban if c["parent"] == sid and c["id"] not in taken]
                if cands:
                    choice = cands[0]["id"]
                    break
        if choice is None:
            dists = [d for d, _ in sorted(dcount.items(), key=lambda kv: (-kv[1], kv[0]))]
            cands = [c for c in urban if district_of[c["id"]]["id"] in dists[:1] and c["id"] not in taken]
            if not cands:
                cands = [c for c in urban if c["id"] not in taken]
            choice = rng.choice(cands)["id"]
        taken[choice] = (key, True)
    invented = [a + b + "物业" for a in INVENTED_PROPERTY_A for b in INVENTED_PROPERTY_B]
    invented = [n for n in invented if n[:-2] not in PROPERTY_NAMES]
    rng.shuffle(invented)
    rest = [c for c in urban if c["id"] not in taken]
    rng.shuffle(rest)
    rural = [c for c in communities if not c["name"].endswith("社区") and c["id"] not in taken]
    rng.shuffle(rural)
    for c in rest + rural:
        if len(taken) >= target:
            break
        taken[c["id"]] = (invented.pop(), False)
    for c in communities:
        if c["id"] not in taken:
            continue
        name, real = taken[c["id"]]
        units.append({"id": f"prop-{c['id']}", "name": name, "level": "property",
                      "region": c["id"], "parent": f"cc-{c['id']}"})
        comments[len(units) - 1] = ("company named in the messages" if real
                                    else "name invented")

    # district and city departments
    for d in (r for r in regions if r["level"] == "district"):
        dname = d["name"]
        den = f"{d['id']} " + {"区": "District", "县": "County", "市": "City"}[dname[-1]]
        for role, suffix, _city, en in DEPARTMENTS:
            if role == "police" and not dname.endswith("区"):
                suffix = "公安局"
            if role == "environment" and not dname.endswith("区"):
                suffix = "生态环境分局"
            units.append({"id": f"dept-{d['id']}-{role}", "name": dname + suffix,
                          "name_en": f"{den} {en}", "level": "district_department",
                          "region": d["id"], "role": role})
    for role, _suffix, city, en in DEPARTMENTS:
        units.append({"id": f"dept-A-{role}", "name": city, "name_en": f"City A {en}",
                      "level": "city_department", "region": "A", "role": role})
    for role, city, en in CITY_ONLY:
        units.append({"id": f"dept-A-{role}", "name": city, "name_en": f"City A {en}",
                      "level": "city_department", "region": "A", "role": role})
    return units, comments


# --------------------------------------------------------------------------- duties

# Each rule: (category path, steps, note).  Steps, in the order a ticket should try
# them (lowest level first): "property", "community", "street", "D:<role>" (district
# department), "C:<role>" (city department), "U:<unit id>:<role>" (one specific city
# unit), or "D:<role>@<region>" (a district department rule limited to a region).
COUNTY_SEATS = ("A7", "A8", "A9")
RULES: list[tuple[str, list[str], str | None]] = [
    # 城乡建设
    ("城乡建设", ["D:housing", "C:housing"], None),
    ("城乡建设/住房保障与房地产", ["D:housing", "C:housing"], None),
    ("城乡建设/住房保障与房地产/物业服务", ["property", "community", "street", "D:housing", "C:housing"],
     "微事村社办: the property company first, the community committee supervises it"),
    ("城乡建设/住房保障与房地产/修缮装修", ["property", "community", "D:housing", "C:housing"], None),
    ("城乡建设/住房保障与房地产/住房公积金", ["U:dept-A-housing:housing"],
     "the housing provident fund is run city-wide (住房公积金管理中心)"),
    ("城乡建设/城市建设和市政管理", ["street", "D:urban", "C:urban"], None),
    ("城乡建设/城市建设和市政管理/小区管理", ["property", "community", "street", "D:housing", "C:housing"], None),
    ("城乡建设/城市建设和市政管理/环境卫生", ["community", "street", "D:urban", "C:urban"],
     "small sanitation matters to the community, bigger ones to the street"),
    ("城乡建设/城市建设和市政管理/园林绿化环卫", ["community", "street", "D:urban", "C:urban"], None),
    ("城乡建设/城市建设和市政管理/居民服务设施", ["community", "street", "D:urban", "C:urban"],
     "small public facilities in the neighbourhood"),
    ("城乡建设/城市建设和市政管理/城管执法", ["street", "D:urban", "C:urban"],
     "street-level comprehensive law enforcement (综合执法队)"),
    ("城乡建设/城市建设和市政管理/公园管理", ["D:urban", "C:urban"], None),
    ("城乡建设/城市建设和市政管理/燃气供应", ["D:urban", "C:urban"], None),
    ("城乡建设/城市建设和市政管理/自来水供应", ["C:water"], "water supply is run city-wide"),
    ("城乡建设/城市建设和市政管理/电力供应", ["D:development", "C:development"],
     "power supply is overseen by development and reform (energy)"),
    ("城乡建设/城市建设和市政管理/公共汽车", ["D:transport", "C:transport"], None),
    ("城乡建设/城市建设和市政管理/地铁城铁", ["C:transport"], None),
    ("城乡建设/城乡规划", [f"D:resources@{d}" for d in COUNTY_SEATS] + ["C:resources"],
     "planning is centralised in the city bureau; the counties have their own"),
    ("城乡建设/城乡规划/违章建筑", ["street", "D:urban", "C:urban"],
     "illegal building: the street finds and stops it, urban management enforces"),
    ("城乡建设/村镇建设", ["street", "D:housing", "C:housing"], None),
    ("城乡建设/安全生产", ["street", "D:emergency", "C:emergency"], None),
    ("城乡建设/工程质量", ["D:housing", "C:housing"], None),
    ("城乡建设/建筑市场", ["D:housing", "C:housing"], None),
    ("城乡建设/国有土地上房屋征收与补偿", ["street", "D:housing", "C:housing"], None),
    ("城乡建设/集体土地上房屋拆迁与补偿", ["street", "D:resources", "C:resources"], None),
    # 劳动和社会保障
    ("劳动和社会保障", ["D:hrss", "C:hrss"], "labour, wages, social insurance"),
    ("劳动和社会保障/城镇居民社会保险", ["street", "D:hrss", "C:hrss"],
     "residents' insurance is enrolled at the street's service centre"),
    ("劳动和社会保障/工资福利/住房公积金", ["U:dept-A-housing:housing"], None),
    # 教育文体
    ("教育文体", ["D:education", "C:education"], None),
    ("教育文体/文化", ["D:culture", "C:culture"], None),
    ("教育文体/体育", ["D:culture", "C:culture"], None),
    ("教育文体/文物管理", ["D:culture", "C:culture"], None),
    # 商贸旅游
    ("商贸旅游", ["D:commerce", "C:commerce"], None),
    ("商贸旅游/市场监管", ["D:market", "C:market"], None),
    ("商贸旅游/质监检验检疫", ["D:market", "C:market"], None),
    ("商贸旅游/旅游管理", ["D:culture", "C:culture"], None),
    # 卫生计生
    ("卫生计生", ["D:health", "C:health"], None),
    ("卫生计生/人口计生", ["street", "D:health", "C:health"], None),
    ("卫生计生/食品药品监管", ["D:market", "C:market"], "food and drug safety is market regulation"),
    # 环境保护
    ("环境保护", ["D:environment", "C:environment"], None),
    ("环境保护/建设项目审批", ["C:environment"], "environmental impact approval is a city matter"),
    # 交通运输
    ("交通运输", ["D:transport", "C:transport"], None),
    ("交通运输/出租车管理", ["C:transport"], "taxis are regulated city-wide"),
    # 政法
    ("政法", ["D:police", "C:police"], None),
    ("政法/社会治安/消防安全", ["street", "D:emergency", "C:emergency"], None),
    ("政法/法律服务", ["D:justice", "C:justice"], None),
    ("政法/法制建设", ["D:justice", "C:justice"], None),
    ("政法/行政复议", ["D:justice", "C:justice"], None),
    ("政法/刑罚执行", ["D:justice", "C:justice"], None),
    ("政法/诉讼", ["D:justice", "C:justice"], None),
    ("政法/仲裁与调解", ["community", "D:justice", "C:justice"], "people's mediation starts in the community"),
    ("政法/仲裁与调解/劳动仲裁", ["D:hrss", "C:hrss"], None),
    ("政法/仲裁与调解/人事仲裁", ["D:hrss", "C:hrss"], None),
    # 民政
    ("民政", ["D:civil", "C:civil"], None),
    ("民政/社会救助", ["street", "D:civil", "C:civil"], "subsistence allowances are applied for at the street"),
    ("民政/基层选举和社区建设", ["street", "D:civil", "C:civil"], None),
    ("民政/基层选举和社区建设/社区建设", ["community", "street", "D:civil", "C:civil"], None),
    # 国土资源
    ("国土资源", ["D:resources", "C:resources"], None),
    ("国土资源/土地征收", ["street", "D:resources", "C:resources"], None),
    # 农村农业
    ("农村农业", ["D:agriculture", "C:agriculture"], None),
    ("农村农业/村务管理", ["street", "D:agriculture", "C:agriculture"],
     "village affairs are overseen by the township"),
    ("农村农业/土地承包经营", ["community", "street", "D:agriculture", "C:agriculture"], None),
    ("农村农业/扶贫开发", ["street", "D:agriculture", "C:agriculture"], None),
    ("农村农业/林业管理", ["D:resources", "C:resources"], None),
    ("农村农业/野生资源管理", ["D:resources", "C:resources"], None),
    ("农村农业/水利水电", ["street", "C:water"], None),
    ("农村农业/水库移民", ["C:water"], None),
    # 科技与信息产业
    ("科技与信息产业", ["D:industry", "C:industry"], None),
    ("科技与信息产业/知识产权", ["D:market", "C:market"], None),
    ("科技与信息产业/电信", ["C:industry"], None),
    # 纪检监察
    ("纪检监察", ["D:discipline", "C:discipline"], None),
    # 党务政务
    ("党务政务", ["D:general", "C:general"], None),
    # 经济管理
    ("经济管理", ["D:development", "C:development"], None),
    ("经济管理/安全生产", ["street", "D:emergency", "C:emergency"], None),
]

LEVEL_OF = {"D": "district_department", "C": "city_department", "U": "city_department"}


def build_duties():
    duties = []
    comments = {}
    for cat, steps, note in RULES:
        first = True
        for step in steps:
            d: dict = {"category": cat}
            if step in ("property", "community", "street"):
                d["level"] = step
            else:
                kind, rest = step.split(":", 1)
                d["level"] = LEVEL_OF[kind]
                if kind == "U":
                    unit, role = rest.split(":")
                    d["role"] = role
                    d["unit"] = unit
                else:
                    role, _, region = rest.partition("@")
                    d["role"] = role
                    if region:
                        d["region"] = region
            if first and note:
                d["note"] = note
            if first:
                comments[len(duties)] = cat
            first = False
            duties.append(d)
    return duties, comments


# --------------------------------------------------------------------------- places

# The held-out messages of bench/places-sample.csv never feed the gazetteer, so the
# place reader is measured on messages it has not seen.
HELD_OUT = Path(__file__).resolve().parent.parent / "bench" / "places-sample.csv"

# Another city of the province, as the anonymiser wrote it: "B市", "B2区", "B9市", "B6县".
OTHER_CITY_RE = re.compile(r"(?<![A-Za-z0-9])([B-Z])(\d{0,2})(市|县|区)")
# A county or town of another city written in full right after the city's code
# ("E市邵冬县", "K8县白牙市"; not 市场, 市民, 县委 ...).
OTHER_PLACE_IN_FULL_RE = re.compile(
    rf"(?<![A-Za-z0-9])([B-Z])\d{{0,2}}[市县区]({HAN}{{2}}(?:县(?![委政城里级长])|市(?![场民委政区级长内中里])))")
OTHER_IN_FULL_MIN = 5
# A district of A市 as written, not inside a longer name ("A1区路" is a road, "A9市河" a river).
A_DISTRICT_RE = re.compile(r"(?<![A-Za-z0-9])A([1-9])[区县市](?![路河大山华中北南东西])")
# What a place name ends with, per kind, the longest base (characters before the suffix)
# a name may have, and whether the name keeps its suffix (an estate is "杜鹃文苑", not
# "杜鹃文苑小区").
PLACE_SUFFIXES = [
    ("estate", "小区", 8, False),
    ("estate", "花园|家园|新村|山庄|公寓|华庭|名苑|雅苑", 6, True),
    ("road", "大道|路|街|巷", 4, True),
    ("school", "小学|中学|学校|幼儿园|大学|学院", 6, True),
    ("hospital", "医院|卫生院", 6, True),
    ("market", "农贸市场|批发市场|市场|商贸城", 4, True),
    ("poi", "公园|广场|地铁站|汽车站|火车站|高铁站|商场|购物中心", 6, True),
    # a community or village that regions.toml does not list (it lists those named
    # after their street)
    ("community", "社区|村", 4, True),
]
# A name starts after these: a region's suffix, a phrase that introduces a place
# ("住在A3区杜鹃文苑小区", "位于书院路"), or 的.
NAME_BREAKS = re.compile(
    r".*(?:[区县市省镇乡村]|街道|社区|位于|住在|家住|居住在|地处|就在|靠近|旁边|附近|对面|"
    r"门口|我们|我是|本人|请问|关于|反映|投诉|举报|咨询|建议|希望|要求|请求|号|栋|的)"
)
# A name never starts with these (function words, time words, pronouns, numbers) ...
NAME_BAD_FIRST = set("不也且但而并或及与和同以从在对向被把将就都还又再才只仅很更最太已曾正所该本这那"
                     "其此每各某些个们的了着过是有无没今明昨现当目如因为即若虽则便可能会要应需让使"
                     "一二三四五六七八九十几多少全整部其它另凡诸我你他她它咱您请望恳求谢")
# ... nor holds these (connectors: "井湾子至洞井路" is two places, "同时" no place).
NAME_BAD_PART = ("至", "到", "和", "与", "及", "或", "等", "往", "向", "从", "以", "由", "经", "因",
                 "导致", "造成", "影响", "问题", "情况", "现象", "业主", "居民", "政府", "部门",
                 "公司", "物业", "开发", "建设", "规划", "管理", "服务", "违规", "违法", "文明",
                 "市场", "房地产", "医院", "学校", "线路", "道路", "马路", "公路", "铁路",
                 *"在了将把被给说是要能会让使请对为该此这那其却仍又还也都就才只很更最已曾正所可如若即则便而但并且着过们您你我他她它")
NAME_STOP = {"城市", "农村", "城区", "市区", "老城", "乡村", "城乡", "中心", "社区", "街道", "小区"}
# ... nor starts with a verb or preposition ("去金鹰小学", "距离商学院", "促进洞井街") ...
NAME_BAD_START = ("包括", "去", "读", "距", "离", "紧临", "按照", "根据", "沿线", "月份", "顺利", "肄业",
                  "唯有", "大力", "开办", "教育", "小孩", "内", "外", "促进", "提高", "据", "原来",
                  "开阔", "指", "接", "玩", "墙壁", "年", "建", "域", "共同", "名", "引起", "拟", "直接",
                  "觉得", "称", "越权", "土地", "商业", "平层", "设立", "异地", "跟", "宜居", "红包",
                  "入户", "境内", "出口", "地面", "公共", "电力", "高速", "高铁", "坡道", "晚上",
                  "进入", "属于", "属", "住进", "选举", "重点", "深化", "修")
# ... nor ends its base with the first half of a common word ("出口道路", "高铁线路").
NAME_BAD_END = ("道", "线", "马", "铁", "公", "配套", "公办", "公立", "私立", "民办", "系")
PLACE_MIN_VOTES, PLACE_MIN_SHARE = 2, 0.8


def held_out_ids() -> set[str]:
    if not HELD_OUT.exists():
        return set()
    with HELD_OUT.open(encoding="utf-8", newline="") as f:
        return {row["id"] for row in csv.DictReader(f)}


# 路灯, 路面, 路线 ... are not the end of a road's name.
NOT_AFTER_ROAD = re.compile(r"[灯面线费况径人过途程子基]")
# 村民, 村干部, 村级 ... are not the end of a village's name.
NOT_AFTER_VILLAGE = re.compile(r"[民干级里庄子落镇寨头口]")
# A name's base must be written with its suffix in this share of the messages that have
# the base at all: "期间小区" once among hundreds of "期间" is no estate.
PLACE_MIN_BOUND, PLACE_MIN_BOUND_OFTEN = 0.4, 3


def place_candidates(text: str):
    """(kind, name, base) of every place-like name in a message, each once: the run of
    Chinese characters before a place suffix, cut after its last break, when what is
    left looks like a name."""
    found = set()
    for kind, suffixes, longest, keep in PLACE_SUFFIXES:
        for m in re.finditer(rf"(?:{suffixes})", text):
            if kind == "road" and NOT_AFTER_ROAD.match(text, m.end()):
                continue
            if kind == "community" and NOT_AFTER_VILLAGE.match(text, m.end()):
                continue
            start = m.start()
            while start > 0 and re.match(HAN, text[start - 1]) and m.start() - start < 12:
                start -= 1
            run = text[start:m.start()]
            cut = NAME_BREAKS.match(run)
            base = run[cut.end():] if cut else run
            if not 2 <= len(base) <= longest or base in NAME_STOP or base[0] in NAME_BAD_FIRST:
                continue
            if any(part in base for part in NAME_BAD_PART) or base.startswith(NAME_BAD_START):
                continue
            if base.endswith(NAME_BAD_END) or (kind == "community" and base.endswith("农")):
                continue  # "出口道路", "新改建农村"
            found.add((kind, base + m.group() if keep else base, base))
    return found


class Names:
    """The places found in the full texts, looked up in a text by their first two
    characters."""

    def __init__(self, found):
        self.by_start = collections.defaultdict(list)
        for candidate in found:
            self.by_start[candidate[1][:2]].append(candidate)

    def within(self, text: str) -> set:
        """The (kind, name, base) of every place whose name occurs in `text`."""
        return {c for i in range(len(text) - 1) for c in self.by_start.get(text[i:i + 2], ())
                if text.startswith(c[1], i)}


def build_places(regions: list[dict], rows: list[dict], segmented: list[dict] = ()):
    """Places named in the messages (estates, roads, schools, hospitals, markets, other
    places) placed where the messages naming them agree, and the province's other
    cities with the districts and counties written with their letter.

    `segmented` are messages whose text lost its punctuation and small words (train.csv,
    jieba tokens joined again): without the words that end a name's run ("住在", "的")
    they would make names such as "点半左右晟通城", so they only vote for where the names
    found in at least two full texts lie."""
    by_id = {r["id"]: r for r in regions}

    def district_of(rid):
        while by_id[rid]["level"] not in ("district", "city"):
            rid = by_id[rid]["parent"]
        return rid

    names = []  # (name, region id) of streets and communities, longest first
    for r in regions:
        if r["level"] in ("street", "community"):
            for n in [r["name"]] + (r.get("aliases") or []):
                if len(n) >= 2:
                    names.append((n, r["id"]))
    names.sort(key=lambda x: -len(x[0]))
    region_names = {n for n, _ in names} | {r["name"] for r in regions}

    # the same message is often in two files (replies.csv and hotspots.csv)
    unique_rows, seen_texts = [], set()
    for row in rows:
        key = message_text(row)[:200]
        if key not in seen_texts:
            seen_texts.add(key)
            unique_rows.append(row)
    rows = unique_rows
    found_in = collections.Counter()  # the full texts each name is found in
    for row in rows:
        found_in.update(place_candidates(message_text(row)))
    # Every message naming a place votes, with its suffix or without ("江山帝景" is found
    # as "江山帝景小区" once and named bare in most messages).
    named = Names(found_in)
    votes = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    other_codes = collections.defaultdict(collections.Counter)  # letter -> code -> n
    in_full = collections.defaultdict(collections.Counter)  # "邵冬县" -> letter -> n
    for full_text, row in [*((True, r) for r in rows), *((False, r) for r in segmented)]:
        text = message_text(row)
        for m in OTHER_CITY_RE.finditer(text):
            letter, digits, suffix = m.groups()
            if suffix == "区" and not digits:
                continue  # "C区", "D区": a block of an estate, not a city
            other_codes[letter][f"{letter}{digits}{suffix}"] += 1
        for m in OTHER_PLACE_IN_FULL_RE.finditer(text):
            in_full[m.group(2)][m.group(1)] += 1
        districts = {f"A{d}" for d in A_DISTRICT_RE.findall(text)}
        first_other = OTHER_CITY_RE.search(text)
        first_a = re.search(r"A市|A[1-9][区县市]", text)
        if first_other and (not first_a or first_other.start() < first_a.start()):
            continue  # about another city: its places are not A市's
        streets = {rid for n, rid in names if n in text and by_id[rid]["level"] == "street"}
        communities = {rid for n, rid in names if n in text and by_id[rid]["level"] == "community"}
        districts |= {district_of(rid) for rid in streets | communities} if not districts else set()
        if len(districts) != 1:
            continue
        (district,) = districts
        streets = {s for s in streets if district_of(s) == district}
        communities = {c for c in communities if district_of(c) == district}
        for kind, name, base in named.within(text):
            if name in region_names or base in region_names:
                continue
            if not full_text and found_in[(kind, name, base)] < 2:
                continue
            v = votes[(kind, name, base)]
            v["district"][district] += 1
            if len(streets) == 1:
                v["street"][next(iter(streets))] += 1
            if len(communities) == 1:
                v["community"][next(iter(communities))] += 1

    texts = [message_text(row) for row in rows]
    bases = collections.Counter()
    for base in sorted({base for _, _, base in votes}):
        bases[base] = sum(1 for t in texts if base in t)
    bound = collections.Counter()
    for t in texts:
        for kind, _, base in place_candidates(t):
            bound[(kind, base)] += 1
    places = []
    found_name = collections.Counter()
    for (_, name, _), n in found_in.items():
        found_name[name] += n
    for (kind, name, base), v in sorted(votes.items()):
        # A long base written with its suffix three times is a name, however often it
        # is also named bare ("江山帝景小区" 4 times, "江山帝景" 11).
        bound_often = len(base) >= 4 and bound[(kind, base)] >= PLACE_MIN_BOUND_OFTEN
        if bound[(kind, base)] < PLACE_MIN_BOUND * bases[base] and not bound_often:
            continue
        # Words before a name found far more often are not part of it ("晚上太平路",
        # "属于洞井街").
        if any(found_name[name[i:]] >= 2 * found_name[name] for i in range(1, len(name) - 2)):
            continue
        if len(name) < 3:
            continue  # "联邦", "金岭": named bare, two characters are inside too many words
        region = None
        for level in ("district", "street", "community"):
            counter = v[level]
            total = sum(counter.values())
            if total < PLACE_MIN_VOTES:
                break
            best, n = counter.most_common(1)[0]
            # deeper levels must agree with the district chosen
            if n / total < PLACE_MIN_SHARE or (region and not best.startswith(region)):
                break
            region = best
        if region:
            places.append({"name": name, "kind": kind, "region": region, "aliases": ""})
    # a name kept under two kinds ("xx广场" estate and poi) keeps its first; a name that
    # ends with another kept name is that name with words before it ("穿过景致雅苑")
    names_kept = {p["name"] for p in places}
    seen, unique = set(), []
    for p in places:
        longer = any(other != p["name"] and p["name"].endswith(other) for other in names_kept)
        if p["name"] not in seen and not longer:
            seen.add(p["name"])
            unique.append(p)
    cities = []
    for letter in sorted(other_codes):
        codes = other_codes[letter]
        name = f"{letter}市"
        aliases = sorted(c for c, n in codes.items() if c != name and n >= 2)
        # counties and towns written in full after the city's code ("E市邵冬县"), always
        # after this city's
        aliases += sorted(full for full, letters in in_full.items()
                          if letters[letter] >= OTHER_IN_FULL_MIN and len(letters) == 1)
        if codes[name] + sum(codes[a] for a in aliases) >= 2:
            cities.append({"name": name, "kind": "city", "region": "", "aliases": "|".join(aliases)})
    return unique + cities


def hold_out(share: float, sources: list[list[dict]], target: Path) -> list[list[dict]]:
    """Draws `share` of the distinct messages naming A市 or a district (not those of
    bench/places-sample.csv), writes them to `target` once each and returns the sources
    without them (a message in two files leaves both)."""
    def key(row):
        return (row["留言主题"] + row["留言详情"]).replace(" ", "")[:200]
    sample = held_out_ids()
    naming = {}
    for rows in sources[:3]:  # the full texts; train.csv's are not readable as posted
        for row in rows:
            if row["留言编号"].strip() not in sample and A_CITY_RE.search(row["留言主题"] + row["留言详情"]):
                naming.setdefault(key(row), row)
    keys = sorted(naming)
    drawn = set(random.Random(SEED + 19).sample(keys, round(share * len(keys))))
    with target.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["留言编号", "留言主题", "留言详情"], lineterminator="\n",
                           extrasaction="ignore")
        w.writeheader()
        for k in sorted(drawn):
            w.writerow(naming[k])
    return [[r for r in rows if key(r) not in drawn] for rows in sources]


def write_places(places: list[dict], target: Path):
    with target.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["name", "kind", "region", "aliases", "lat", "lon"],
                           lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for p in places:
            w.writerow({**p, "lat": "", "lon": ""})


# --------------------------------------------------------------------------- messages

MSG_COLUMNS = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "一级分类", "答复意见", "答复时间"]
N_REPLIES = 2000
MAX_BYTES = 6_000_000
A_CITY_RE = re.compile(r"A市|A[1-9][区县市]")


def truncate(text: str, limit: int = 1500) -> str:
    if len(text) <= limit:
        return text
    cut = max(text.rfind(p, 0, limit) for p in "。！？!?；;\n")
    if cut < limit // 2:
        return text[:limit] + "…"
    return text[:cut + 1]


def build_messages(validation, replies):
    rows = []
    for r in validation:
        row = {k: r.get(k, "").strip() for k in MSG_COLUMNS}
        if row["留言详情"]:
            rows.append(row)
    ids = {r["留言编号"] for r in rows}
    pool = [r for r in replies if r["留言编号"].strip() not in ids and r["留言详情"].strip()]
    a_city = [i for i, r in enumerate(pool) if A_CITY_RE.search(r["留言主题"] + r["留言详情"])]
    other = [i for i, r in enumerate(pool) if not A_CITY_RE.search(r["留言主题"] + r["留言详情"])]
    rng = random.Random(SEED)
    if len(a_city) >= N_REPLIES:
        pick = rng.sample(a_city, N_REPLIES)
    else:
        pick = a_city + rng.sample(other, min(len(other), N_REPLIES - len(a_city)))
    for i in sorted(pick):
        r = pool[i]
        row = {k: r.get(k, "").strip() for k in MSG_COLUMNS}
        row["一级分类"] = ""
        rows.append(row)

    def size(rs):
        return sum(len(",".join(r.values()).encode()) + 20 for r in rs)

    truncated = 0
    if size(rows) > MAX_BYTES:
        for r in rows:
            for k in ("留言详情", "答复意见"):
                t = truncate(r[k])
                if t != r[k]:
                    truncated += 1
                    r[k] = t
    return rows, len(a_city), truncated


# --------------------------------------------------------------------------- validate


def validate(city_dir: Path, messages: Path) -> list[str]:
    errs = []
    city = tomllib.loads((city_dir / "city.toml").read_text(encoding="utf-8"))
    regions = tomllib.loads((city_dir / "regions.toml").read_text(encoding="utf-8"))["region"]
    units = tomllib.loads((city_dir / "units.toml").read_text(encoding="utf-8"))["unit"]
    duties = tomllib.loads((city_dir / "duties.toml").read_text(encoding="utf-8"))["duty"]
    tiers = {t["code"] for t in city["tier"]}
    if city["city"]["default_tier"] not in tiers:
        errs.append("default_tier not a tier")

    levels = ["city", "district", "street", "community", "grid"]
    seen = {}
    for r in regions:
        if r["id"] in seen:
            errs.append(f"duplicate region {r['id']}")
        if not r["id"].isascii():
            errs.append(f"non-ASCII region id {r['id']}")
        if r["level"] not in levels:
            errs.append(f"bad level {r}")
        if r["level"] == "city":
            if "parent" in r:
                errs.append("root has a parent")
        else:
            p = seen.get(r.get("parent"))
            if p is None:
                errs.append(f"region {r['id']}: parent {r.get('parent')} missing or listed later")
            elif levels.index(p["level"]) != levels.index(r["level"]) - 1:
                errs.append(f"region {r['id']}: parent level {p['level']}")
        if r["level"] in ("district", "street") and not isinstance(r.get("population"), int):
            errs.append(f"region {r['id']}: population missing")
        seen[r["id"]] = r
    if city["city"]["region"] not in seen or seen[city["city"]["region"]]["level"] != "city":
        errs.append("city.region is not the root region")
    kids = collections.defaultdict(list)
    for r in regions:
        kids[r.get("parent")].append(r["name"])
    for p, names in kids.items():
        if len(names) != len(set(names)):
            errs.append(f"duplicate names under {p}")
    street_names = [r["name"] for r in regions if r["level"] == "street"]
    if len(street_names) != len(set(street_names)):
        errs.append("street names not globally unique")

    ulevels = ["property", "community", "street", "district_department", "city_department"]
    uids = {}
    for u in units:
        if u["id"] in uids:
            errs.append(f"duplicate unit {u['id']}")
        if not u["id"].isascii():
            errs.append(f"non-ASCII unit id {u['id']}")
        uids[u["id"]] = u
        if u["level"] not in ulevels:
            errs.append(f"bad unit level {u}")
        if u["region"] not in seen:
            errs.append(f"unit {u['id']}: region {u['region']} missing")
        if u["level"].endswith("department") and not u.get("role"):
            errs.append(f"unit {u['id']}: department without role")
    want_region_level = {"property": "community", "community": "community", "street": "street",
                         "district_department": "district", "city_department": "city"}
    for u in units:
        if "parent" in u and u["parent"] not in uids:
            errs.append(f"unit {u['id']}: parent {u['parent']} missing")
        if u["region"] in seen and seen[u["region"]]["level"] != want_region_level[u["level"]]:
            errs.append(f"unit {u['id']}: serves a {seen[u['region']]['level']}")
    for lvl, rlvl in (("street", "street"), ("community", "community")):
        served = {u["region"] for u in units if u["level"] == lvl}
        for r in regions:
            if r["level"] == rlvl and r["id"] not in served:
                errs.append(f"no {lvl} unit for {r['id']}")
    roles = collections.defaultdict(set)
    for u in units:
        if u.get("role"):
            roles[u["level"]].add(u["role"])

    with (city_dir / "taxonomy.csv").open(encoding="utf-8", newline="") as f:
        tax = list(csv.DictReader(f))
    paths = set()
    for t in tax:
        a, b, c = t["一级分类"], t["二级分类"], t["三级分类"]
        paths |= {a, f"{a}/{b}", f"{a}/{b}/{c}"}
    firsts = {t["一级分类"] for t in tax}
    has_city = set()
    for d in duties:
        if d["category"] not in paths:
            errs.append(f"duty category {d['category']} not in taxonomy")
        if d["level"] not in ulevels:
            errs.append(f"duty bad level {d}")
        if d["level"].endswith("department"):
            if d.get("role") not in roles[d["level"]]:
                errs.append(f"duty {d['category']}: role {d.get('role')} not at {d['level']}")
        if "region" in d and d["region"] not in seen:
            errs.append(f"duty {d['category']}: region {d['region']} missing")
        if "unit" in d:
            u = uids.get(d["unit"])
            if u is None or u["level"] != d["level"] or u.get("role") != d.get("role"):
                errs.append(f"duty {d['category']}: unit {d['unit']} mismatch")
        if d["level"] == "city_department":
            has_city.add(d["category"])
    for cat in {d["category"] for d in duties}:
        if cat not in has_city:
            errs.append(f"category {cat} has no city_department fallback")
    for f1 in firsts:
        if f1 not in {d["category"] for d in duties}:
            errs.append(f"first-level category {f1} has no rule")

    with messages.open(encoding="utf-8", newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        body = list(rd)
    if header != MSG_COLUMNS:
        errs.append(f"messages header {header}")
    ids = [r[0] for r in body]
    if len(ids) != len(set(ids)):
        errs.append("duplicate message ids")
    if any(len(r) != len(MSG_COLUMNS) or not r[4] for r in body):
        errs.append("malformed message row")
    if messages.stat().st_size > MAX_BYTES:
        errs.append("messages.csv too big")
    return errs


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path, help="the shared data folder (holds teddycup2020/)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "demo")
    ap.add_argument("--hold-out-share", type=float, default=0.0,
                    help="leave this share of the messages naming A市 or a district (fixed seed) "
                         "out of all mining and write them to OUT/held-out.csv: the place reader "
                         "measured on messages it has never seen (minhu-bench places --messages)")
    args = ap.parse_args()
    src = args.data / "teddycup2020"
    city_dir = args.out / "city"
    city_dir.mkdir(parents=True, exist_ok=True)

    validation = read_csv(src / "validation.csv")
    replies = read_csv(src / "replies.csv")
    hotspots = read_csv(src / "hotspots.csv")
    # train.csv lost its punctuation and small words (jieba tokens): only the places
    # found in the full texts take its votes.
    segmented = [{**r, "留言详情": r["留言详情"].replace(" ", "")} for r in read_csv(src / "train.csv")]
    if args.hold_out_share > 0:
        validation, replies, hotspots, segmented = hold_out(
            args.hold_out_share, [validation, replies, hotspots, segmented], args.out / "held-out.csv")
    texts = [message_text(r) for r in validation + replies + hotspots]

    (city_dir / "city.toml").write_text(CITY_TOML, encoding="utf-8")

    regions, rcomments, (n_real, n_inv) = build_regions(texts)
    header = ("# Regions of the demo city A市, parent before child.\n"
              "# Generated by scripts/make-demo-data.py from the 2020 Teddy Cup messages:\n"
              "# district, street/town and community/village names are mined from the messages\n"
              "# (a few invented where the data has too few, marked below); populations are invented.")
    (city_dir / "regions.toml").write_text(toml_tables(header, "region", regions, rcomments), encoding="utf-8")

    held_out = held_out_ids()
    places = build_places(regions, [r for r in validation + replies + hotspots
                                    if r["留言编号"].strip() not in held_out], segmented)
    write_places(places, city_dir / "places.csv")

    units, ucomments = build_units(regions, texts)
    header = ("# Handling units of A市. Generated by scripts/make-demo-data.py.\n"
              "# street offices (towns: 人民政府), community/village committees, property companies\n"
              "# (about half the communities; names from the messages where possible), district\n"
              "# departments for every district/county, and city departments (region \"A\").")
    (city_dir / "units.toml").write_text(toml_tables(header, "unit", units, ucomments), encoding="utf-8")

    write_taxonomy(src / "taxonomy.csv", city_dir / "taxonomy.csv")

    duties, dcomments = build_duties()
    header = ("# Duty list (职责清单): which level, and for departments which role, answers a category.\n"
              "# category is a taxonomy path prefix (levels joined by \"/\"); the most specific path wins.\n"
              "# Within one category the rules are listed lowest level first (微事村社办, 小事镇街办,\n"
              "# 难事联动办); every category ends with a city_department fallback for tickets whose\n"
              "# district is unknown. Generated by scripts/make-demo-data.py.")
    (city_dir / "duties.toml").write_text(toml_tables(header, "duty", duties, dcomments), encoding="utf-8")

    rows, n_a, n_trunc = build_messages(validation, replies)
    msg_path = args.out / "messages.csv"
    with msg_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MSG_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)

    errs = validate(city_dir, msg_path)
    lv = collections.Counter(r["level"] for r in regions)
    ul = collections.Counter(u["level"] for u in units)
    print(f"regions: {dict(lv)} (communities mined {n_real}, invented {n_inv})")
    print(f"units: {dict(ul)}")
    print(f"duties: {len(duties)}")
    pk = collections.Counter(p["kind"] for p in places)
    print(f"places: {dict(pk)} (mined from the messages, {len(held_out)} held-out messages left out)")
    print(f"messages: {len(rows)} (replies mentioning A市 available: {n_a}; fields truncated: {n_trunc}; "
          f"{msg_path.stat().st_size} bytes)")
    for e in errs:
        print("INVALID:", e, file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
