#!/usr/bin/env python3
"""Writes the demo province (demo/province) around the demo city A市 (demo/city).

The real messages come from a province's board: most concern cities other than A市.
scripts/make-demo-data.py mined those cities and their districts and counties from the
messages into demo/city/places.csv (its `city` rows: "B市" with aliases B1区|B5县|B9市 ...).
This script makes each of them a city of the province in minhu's city format:

  demo/province/province.toml          the province, its cities (A first), its desk
  demo/province/calendar.toml          -> ../city/calendar.toml (shared by every city)
  demo/province/taxonomy.csv           -> ../city/taxonomy.csv  (shared by every city)
  demo/province/open311.toml           -> ../city/open311.toml  (the services of every city
                                          without its own, under its own taxonomy)
  demo/province/cities/A               -> ../../city (A市 in full, as the demo city)
  demo/province/cities/<X>/city.toml   A市's tiers, rules and settings under X's name
  demo/province/cities/<X>/regions.toml  X市 and its districts and counties (mined)
  demo/province/cities/<X>/units.toml  X's 12345 desk and its main city departments
  demo/province/cities/<X>/duties.toml A市's city-department duty rules (the other
                                       cities have no streets or communities yet)
  crates/minhu/src/demo_province.rs    the list `minhu demo` embeds

Run from the repository root: python3 scripts/make-province.py
"""

import csv
import os
import re
import subprocess
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CITY = os.path.join(ROOT, "demo", "city")
OUT = os.path.join(ROOT, "demo", "province")

PROVINCE_ID = "XD"
PROVINCE_NAME = "西地省"
PROVINCE_NAME_EN = "Xidi Province"

LEVEL_NAMES = {"区": "district", "县": "county", "市": "county-level city"}


def district_key(code: str):
    """B1区 < B2区 < B10县: by number."""
    number = re.search(r"\d+", code)
    return (int(number.group()) if number else 0, code)


def other_cities():
    with open(os.path.join(CITY, "places.csv"), encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "city"]
    cities = []
    for row in rows:
        letter = row["name"].removesuffix("市")
        districts = sorted({a for a in row["aliases"].split("|") if a}, key=district_key)
        cities.append((letter, row["name"], districts))
    return cities


def city_toml(letter: str, name: str) -> str:
    with open(os.path.join(CITY, "city.toml"), encoding="utf-8") as f:
        text = f.read()
    section = re.search(r"^\[city\]\n(?:[^\[].*\n|\n)*", text, re.M)
    own = (
        "[city]\n"
        f'name = "{name}"\n'
        f'name_en = "City {letter}"\n'
        f'region = "{letter}"            # id of the root region in regions.toml\n'
        'timezone = "Asia/Shanghai"\n'
        'default_tier = "15d"\n\n'
    )
    rest = text[section.end():]
    # A市's public numbers are its offices'; another city's are its own hotline only.
    rest = re.sub(
        r"^\[privacy\]\n(?:[^\[].*\n|\n)*",
        '[privacy]\npublic_numbers = ["12345"]\nmask_plates = false\n',
        rest,
        flags=re.M,
    )
    header = (
        f"# {name}: a city of the demo province, written by scripts/make-province.py.\n"
        "# Its tiers, urgency words, handling rules, timers and analytics are A市's.\n\n"
    )
    return header + own + rest


def regions_toml(letter: str, name: str, districts) -> str:
    out = [
        f"# {name} and its districts and counties, as the real messages write them\n"
        "# (mined by scripts/make-demo-data.py into demo/city/places.csv; written by\n"
        "# scripts/make-province.py). Streets and communities are not known yet.\n",
        f'[[region]]\nid = "{letter}"\nname = "{name}"\nlevel = "city"\n',
    ]
    taken = set()
    for n, code in enumerate(districts, 1):
        # C3区 and C3县 both exist: the second keeps its kind in its id. A county
        # written in full (邵冬县) is numbered after the city's letter.
        rid = code[:-1] if re.fullmatch(r"[A-Z]\d+[区县市]", code) else f"{letter}-n{n}"
        if rid in taken:
            rid += {"区": "-district", "县": "-county", "市": "-city"}.get(code[-1], "-place")
        taken.add(rid)
        out.append(
            f"# a {LEVEL_NAMES.get(code[-1], 'district')}\n"
            f'[[region]]\nid = "{rid}"\nname = "{code}"\nlevel = "district"\nparent = "{letter}"\n'
        )
    return "\n".join(out)


def a_departments():
    with open(os.path.join(CITY, "units.toml"), "rb") as f:
        units = tomllib.load(f)["unit"]
    return [u for u in units if u["level"] == "city_department"]


def units_toml(letter: str, name: str, departments) -> str:
    out = [
        f"# {name}'s 12345 desk and its main city departments (A市's, under {name}'s name),\n"
        "# written by scripts/make-province.py.\n",
        f'[[unit]]\nid = "desk-{letter}"\nname = "{name}12345政务服务便民热线"\n'
        f'name_en = "City {letter} 12345 hotline"\nlevel = "city_department"\n'
        f'region = "{letter}"\nrole = "hotline"\n',
    ]
    for unit in departments:
        role = unit["role"]
        out.append(
            f'[[unit]]\nid = "dept-{letter}-{role}"\n'
            f'name = "{unit["name"].replace("A市", name, 1)}"\n'
            f'name_en = "{unit["name_en"].replace("City A", f"City {letter}", 1)}"\n'
            f'level = "city_department"\nregion = "{letter}"\nrole = "{role}"\n'
        )
    return "\n".join(out)


def duties_toml(name: str) -> str:
    with open(os.path.join(CITY, "duties.toml"), "rb") as f:
        duties = tomllib.load(f)["duty"]
    out = [
        f"# {name}'s duty list: A市's rules for city departments (the city has no streets\n"
        "# or communities configured yet). Written by scripts/make-province.py.\n"
    ]
    seen = set()
    for duty in duties:
        if duty["level"] != "city_department" or "unit" in duty or "region" in duty:
            continue
        key = (duty["category"], duty.get("role"))
        if key in seen:
            continue
        seen.add(key)
        role = f'role = "{duty["role"]}"\n' if "role" in duty else ""
        out.append(
            f'[[duty]]\ncategory = "{duty["category"]}"\nlevel = "city_department"\n{role}'
        )
    return "\n".join(out)


def province_toml(cities) -> str:
    ids = ", ".join(f'"{letter}"' for letter in ["A"] + [c[0] for c in cities])
    return (
        "# The demo province: A市 (demo/city) and every other city the real messages name,\n"
        "# written by scripts/make-province.py (README, \"City configuration\").\n"
        "[province]\n"
        f'id = "{PROVINCE_ID}"\n'
        f'name = "{PROVINCE_NAME}"\n'
        f'name_en = "{PROVINCE_NAME_EN}"\n'
        f"cities = [{ids}]\n"
        'desk = "desk-XD"\n\n'
        "[[unit]]\n"
        'id = "desk-XD"\n'
        f'name = "{PROVINCE_NAME}12345政务服务便民热线"\n'
        f'name_en = "{PROVINCE_NAME_EN} 12345 hotline"\n'
        'role = "hotline"\n\n'
        "[[unit]]\n"
        'id = "supervision-XD"\n'
        f'name = "{PROVINCE_NAME}人民政府督查室"\n'
        f'name_en = "{PROVINCE_NAME_EN} Government Supervision Office"\n'
        'role = "supervision"\n'
    )


def link(target: str, path: str):
    if os.path.islink(path) or os.path.exists(path):
        os.remove(path)
    os.symlink(target, path)


EMBEDDED = os.path.join(ROOT, "crates", "minhu", "src", "demo_province.rs")


def write_embedded_list(letters):
    """`minhu demo` carries the province's own files in the binary, as it does A市's."""
    lines = [
        "//! The demo province's own files (A市's are the demo city's), embedded in the",
        "//! binary so that `minhu demo` writes the province wherever it runs. Written by",
        "//! scripts/make-province.py with the files themselves: run it again after a change.",
        "",
        "/// (path under the province directory, text)",
        "pub(crate) const PROVINCE_FILES: &[(&str, &str)] = &[",
        '    ("province.toml", include_str!("../../../demo/province/province.toml")),',
    ]
    for letter in letters:
        for file in ["city.toml", "regions.toml", "units.toml", "duties.toml"]:
            lines.append(
                f'    ("cities/{letter}/{file}", '
                f'include_str!("../../../demo/province/cities/{letter}/{file}")),'
            )
    lines.append("];")
    with open(EMBEDDED, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    # As `cargo fmt` leaves it, so that regenerating changes nothing.
    subprocess.run(["rustfmt", "--edition", "2024", EMBEDDED], check=True)


def main():
    cities = other_cities()
    departments = a_departments()
    os.makedirs(os.path.join(OUT, "cities"), exist_ok=True)
    with open(os.path.join(OUT, "province.toml"), "w", encoding="utf-8") as f:
        f.write(province_toml(cities))
    link("../city/calendar.toml", os.path.join(OUT, "calendar.toml"))
    link("../city/taxonomy.csv", os.path.join(OUT, "taxonomy.csv"))
    link("../city/open311.toml", os.path.join(OUT, "open311.toml"))
    link("../../city", os.path.join(OUT, "cities", "A"))
    for letter, name, districts in cities:
        d = os.path.join(OUT, "cities", letter)
        os.makedirs(d, exist_ok=True)
        for file, text in [
            ("city.toml", city_toml(letter, name)),
            ("regions.toml", regions_toml(letter, name, districts)),
            ("units.toml", units_toml(letter, name, departments)),
            ("duties.toml", duties_toml(name)),
        ]:
            with open(os.path.join(d, file), "w", encoding="utf-8") as f:
                f.write(text)
    write_embedded_list([c[0] for c in cities])
    print(f"{len(cities) + 1} cities written to {OUT}")


if __name__ == "__main__":
    main()
