//! Reading a demand's place (属地) from its words.
//!
//! Citizens rarely write the street office that answers for them: they name their
//! estate (小区), the road, the school or the market, sometimes the district, and now
//! and then another city of the province altogether. The [`Gazetteer`] holds every name
//! the city knows - its regions with their aliases, and the places of `places.csv`
//! (estates, roads, schools, hospitals, markets, other points of interest, each with the
//! region it lies in, and the other cities around) - in one Aho-Corasick automaton
//! built once at load, so reading a demand is one pass over its text whatever the
//! number of names.
//!
//! [`Gazetteer::read`] turns the names found into a [`Reading`]: the most specific
//! region the names agree on, the place that gave it, or the other city the demand is
//! about, with the spans of every place word (so that explanations of other readings,
//! such as a category's, can leave place words out).

use crate::ids::RegionId;
use crate::region::{ConfigProblem, Region, RegionLevel, RegionTree};
use crate::ticket::GeoPoint;
use aho_corasick::AhoCorasick;
use std::collections::HashMap;
use std::ops::Range;

code_enum!(
    /// What a named place of `places.csv` is.
    PlaceKind {
        Estate = "estate" / "小区" / "Housing estate",
        Road = "road" / "道路" / "Road",
        School = "school" / "学校" / "School",
        Hospital = "hospital" / "医院" / "Hospital",
        Market = "market" / "市场" / "Market",
        Poi = "poi" / "地点" / "Place",
        /// A community or village that `regions.toml` does not list.
        Community = "community" / "社区村" / "Community or village",
        /// A city (or its districts and counties, as aliases) outside this one: a
        /// demand about it is recognised as such, never placed here.
        City = "city" / "外市" / "Another city",
    }
);

/// A named place: an estate, a road, a school ... in one of the city's regions, or
/// another city.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    pub name: String,
    pub kind: PlaceKind,
    /// The region it lies in, as deep as known (its community); none for another city.
    pub region: Option<RegionId>,
    /// Other spellings and short forms (杜鹃文苑小区 for 杜鹃文苑).
    pub aliases: Vec<String>,
    pub location: Option<GeoPoint>,
}

impl Place {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// What one name of the automaton stands for (a name may stand for several things:
/// two estates of the same name in two districts).
#[derive(Clone, Copy, Debug)]
enum Named {
    Region(usize),
    Place(usize),
}

/// Every name the city knows, matched in one pass.
#[derive(Clone, Debug)]
pub struct Gazetteer {
    places: Vec<Place>,
    regions: Vec<(RegionId, RegionLevel)>,
    automaton: AhoCorasick,
    /// For each pattern of the automaton, what it names.
    named: Vec<Vec<Named>>,
}

/// What a text says about where a demand is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading<'a> {
    /// The most specific region the names agree on below the city; or the city itself
    /// (the root region) when the text names the city, or a place of the city as a
    /// whole, and nothing below it: a city-wide matter (社保, 公积金, a metro line, a city
    /// department), which the city's departments answer. None when nothing is named,
    /// or when the names below the city leave its district open.
    pub region: Option<&'a Region>,
    /// The place that gave the region, when one place did.
    pub place: Option<&'a Place>,
    /// Another city the demand is about (a [`PlaceKind::City`] place).
    pub elsewhere: Option<&'a Place>,
    /// Byte ranges of every place word found (regions, places, other cities), in order.
    pub spans: Vec<Range<usize>>,
}

impl Reading<'_> {
    /// Placed at the city itself: it names the city and nothing below it.
    pub fn is_city_wide(&self) -> bool {
        self.region.is_some_and(|r| r.parent.is_none())
    }

    /// The place's coordinates, when the place that gave the region has them.
    pub fn location(&self) -> Option<GeoPoint> {
        self.place.and_then(|p| p.location)
    }
}

fn is_ascii_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

impl Gazetteer {
    /// Checks the places against the region tree (`item` of a problem is the place's
    /// index) and builds the automaton over every region's and place's names.
    pub fn new(tree: &RegionTree, places: Vec<Place>) -> Result<Self, ConfigProblem> {
        let mut seen: HashMap<(&str, Option<&RegionId>), usize> = HashMap::new();
        for (item, place) in places.iter().enumerate() {
            if place.name.trim().is_empty() {
                return Err(ConfigProblem::new(item, "name", "must not be empty"));
            }
            if place.aliases.iter().any(|a| a.trim().is_empty()) {
                return Err(ConfigProblem::new(
                    item,
                    "aliases",
                    "an alias is empty (separate aliases with |, none at the ends)",
                ));
            }
            match (&place.region, place.kind) {
                (Some(region), PlaceKind::City) => {
                    return Err(ConfigProblem::new(
                        item,
                        "region",
                        format!(
                            "another city lies in no region of this one; leave it empty, not {region}"
                        ),
                    ));
                }
                (None, kind) if kind != PlaceKind::City => {
                    return Err(ConfigProblem::new(
                        item,
                        "region",
                        "is required (the id of the region of regions.toml the place lies in)",
                    ));
                }
                (Some(region), _) if tree.get(region).is_none() => {
                    return Err(ConfigProblem::new(
                        item,
                        "region",
                        format!("{:?} is not a region of regions.toml", region.as_str()),
                    ));
                }
                _ => {}
            }
            if let Some(at) = place.location
                && !((-90.0..=90.0).contains(&at.lat) && (-180.0..=180.0).contains(&at.lon))
            {
                return Err(ConfigProblem::new(
                    item,
                    "lat",
                    "lat must lie in -90..90 and lon in -180..180",
                ));
            }
            if let Some(first) = seen.insert((place.name.as_str(), place.region.as_ref()), item) {
                return Err(ConfigProblem::new(
                    item,
                    "name",
                    format!(
                        "{} in the same region is already place {} of the list",
                        place.name,
                        first + 1
                    ),
                ));
            }
        }
        let mut by_name: HashMap<&str, Vec<Named>> = HashMap::new();
        let regions = tree.all();
        for (index, region) in regions.iter().enumerate() {
            for name in std::iter::once(&region.name).chain(&region.aliases) {
                if !name.trim().is_empty() {
                    by_name
                        .entry(name.as_str())
                        .or_default()
                        .push(Named::Region(index));
                }
            }
        }
        for (index, place) in places.iter().enumerate() {
            for name in place.names() {
                by_name.entry(name).or_default().push(Named::Place(index));
            }
        }
        // Typos: a place's name with two neighbouring characters swapped, or (six
        // characters and more) one inside character left out, stands for the place
        // unless it is itself a name.
        let mut misspelt: HashMap<String, Vec<Named>> = HashMap::new();
        for (index, place) in places.iter().enumerate() {
            if place.kind == PlaceKind::City {
                continue;
            }
            for name in place.names() {
                for variant in misspellings(name) {
                    if !by_name.contains_key(variant.as_str()) {
                        misspelt
                            .entry(variant)
                            .or_default()
                            .push(Named::Place(index));
                    }
                }
            }
        }
        let mut names: Vec<(&str, Vec<Named>)> = by_name.into_iter().collect();
        names.extend(
            misspelt
                .iter()
                .map(|(name, named)| (name.as_str(), named.clone())),
        );
        names.sort_by(|a, b| a.0.cmp(b.0));
        let automaton = AhoCorasick::new(names.iter().map(|(name, _)| name))
            .map_err(|e| ConfigProblem::new(0, "name", format!("cannot index the names: {e}")))?;
        let named = names.into_iter().map(|(_, named)| named).collect();
        Ok(Self {
            regions: regions.iter().map(|r| (r.id.clone(), r.level)).collect(),
            places,
            automaton,
            named,
        })
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The names in `text`, each once: a name inside a longer one ("A3" inside "A3区",
    /// "A1区" inside the road "A1区路") does not count, nor does a Latin-lettered name
    /// glued to more letters or digits ("A1" in the plate "湘A12345").
    /// What each name stands for, in the order of the text, and the names' spans.
    fn mentions(&self, text: &str) -> (Vec<Named>, Vec<Range<usize>>) {
        let mut found: Vec<(Range<usize>, usize)> = self
            .automaton
            .find_overlapping_iter(text)
            .filter(|m| {
                let name = &text[m.range()];
                let glued_before = is_ascii_word(name.chars().next())
                    && is_ascii_word(text[..m.start()].chars().next_back());
                let glued_after = is_ascii_word(name.chars().next_back())
                    && is_ascii_word(text[m.end()..].chars().next());
                !glued_before && !glued_after
            })
            .map(|m| (m.range(), m.pattern().as_usize()))
            .collect();
        // Longest first at each start, so a contained name meets its container first.
        found.sort_by(|a, b| (a.0.start, b.0.end).cmp(&(b.0.start, a.0.end)));
        let mut kept: Vec<(Range<usize>, usize)> = Vec::with_capacity(found.len());
        for (range, pattern) in found {
            let inside = kept
                .iter()
                .any(|(k, _)| k.start <= range.start && range.end <= k.end);
            if !inside {
                kept.push((range, pattern));
            }
        }
        let mentions = kept
            .iter()
            .flat_map(|(_, pattern)| self.named[*pattern].iter().copied())
            .collect();
        (mentions, kept.into_iter().map(|(range, _)| range).collect())
    }

    /// Reads where `text` (address, title and description) says a demand is. `tree` is
    /// the region tree the gazetteer was built with.
    ///
    /// First, which city: the first city or district named (this city, one of its
    /// districts, or another city) decides, so "A市 … 在F市一医院生产" stays here and
    /// "G市社保局 … 跳槽至A市的公司" is about G市; with none of them, the streets,
    /// communities and places named decide. Then, within the city, the most specific
    /// region the names agree on: a name counts for more when its ancestors are named
    /// too (A3区 洋湖街道), a region named above it that is not its ancestor contradicts
    /// it, and when several tie the answer is the deepest region they share (within the
    /// district named first, when one is), so an ambiguous name never places a demand
    /// wrongly. A text that names the city (or a place of the city as a whole) and
    /// nothing below it is placed at the city itself: a city-wide matter.
    pub fn read<'a>(&'a self, tree: &'a RegionTree, text: &str) -> Reading<'a> {
        let (mentions, spans) = self.mentions(text);
        let root = tree.root();
        let decisive = mentions.iter().find(|named| match named {
            Named::Region(r) => self.regions[*r].1 <= RegionLevel::District,
            Named::Place(p) => self.places[*p].kind == PlaceKind::City,
        });
        if let Some(Named::Place(p)) = decisive {
            return Reading {
                elsewhere: Some(&self.places[*p]),
                spans,
                ..Reading::default()
            };
        }
        // Each candidate: its region, whether a place names it, the place.
        let candidates: Vec<(&RegionId, bool, Option<&Place>)> = mentions
            .iter()
            .filter_map(|named| match *named {
                Named::Region(r) => Some((&self.regions[r].0, false, None)),
                Named::Place(p) => {
                    let place = &self.places[p];
                    place
                        .region
                        .as_ref()
                        .map(|region| (region, true, Some(place)))
                }
            })
            .filter(|(region, _, _)| **region != root.id)
            .collect();
        let named: Vec<&RegionId> = mentions
            .iter()
            .filter_map(|named| match *named {
                Named::Region(r) if self.regions[r].0 != root.id => Some(&self.regions[r].0),
                _ => None,
            })
            .collect();
        let level = |id: &RegionId| tree.get(id).map(|r| r.level);
        let score = |&(region, by_place, _): &(&RegionId, bool, Option<&Place>)| {
            let own = level(region);
            let confirmed = tree
                .ancestry(region)
                .filter(|r| named.contains(&&r.id))
                .count() as i64
                + i64::from(by_place);
            let contradicted = named
                .iter()
                .filter(|other| {
                    let above = match by_place {
                        false => level(other) < own,
                        true => level(other) <= own,
                    };
                    above && !tree.is_within(region, other)
                })
                .count() as i64;
            (confirmed - contradicted, own, by_place)
        };
        let Some(best) = candidates.iter().map(score).max() else {
            return self.city_wide(root, &mentions, spans);
        };
        let mut tied: Vec<&(&RegionId, bool, Option<&Place>)> =
            candidates.iter().filter(|c| score(c) == best).collect();
        // Equals in several districts: the district named first decides, as the first
        // city named does ("A4区楚雅路 … 与A1区路交汇" is about A4区).
        if let Some(Named::Region(first)) = decisive {
            let first = &self.regions[*first].0;
            let inside: Vec<_> = tied
                .iter()
                .copied()
                .filter(|(region, _, _)| tree.is_within(region, first))
                .collect();
            if !inside.is_empty() && inside.len() < tied.len() {
                tied = inside;
            }
        }
        let ids: Vec<&RegionId> = tied.iter().map(|(region, _, _)| *region).collect();
        let region = common_ancestor(tree, &ids).filter(|r| r.id != root.id);
        let mut places = tied.iter().filter_map(|(_, _, place)| *place);
        let place = match (places.next(), places.next()) {
            (Some(one), None) if region.is_some_and(|r| Some(&r.id) == one.region.as_ref()) => {
                Some(one)
            }
            _ => None,
        };
        Reading {
            region,
            place,
            elsewhere: None,
            spans,
        }
    }

    /// A text naming nothing below the city: placed at the city when it names the city
    /// (or a place of the city as a whole), with that place when it names one; else
    /// unplaced, as a text naming nothing at all is (no guessing).
    fn city_wide<'a>(
        &'a self,
        root: &'a Region,
        mentions: &[Named],
        spans: Vec<Range<usize>>,
    ) -> Reading<'a> {
        let mut city_places = Vec::new();
        let mut named = false;
        for mention in mentions {
            match *mention {
                Named::Region(r) => named |= self.regions[r].0 == root.id,
                Named::Place(p) if self.places[p].region.as_ref() == Some(&root.id) => {
                    named = true;
                    let place = &self.places[p];
                    if !city_places.contains(&place) {
                        city_places.push(place);
                    }
                }
                Named::Place(_) => {}
            }
        }
        Reading {
            region: named.then_some(root),
            place: match city_places[..] {
                [one] => Some(one),
                _ => None,
            },
            elsewhere: None,
            spans,
        }
    }
}

/// The slips of the pen a name of four characters or more is read through: two
/// neighbouring characters swapped ("晟福兴汝金城" for 福晟兴汝金城), and from six
/// characters one inside character left out. Shorter names, a changed character (a
/// homophone: 银衫路 for 银杉路) and a first or last character left out are not read:
/// they turn one estate's name into another's too easily (时代倾城, 时代新城).
fn misspellings(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let n = chars.len();
    if n < 4 {
        return Vec::new();
    }
    let mut variants = Vec::new();
    for i in 0..n - 1 {
        if chars[i] != chars[i + 1] {
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            variants.push(swapped.into_iter().collect());
        }
    }
    if n >= 6 {
        for i in 1..n - 1 {
            let mut short = chars.clone();
            short.remove(i);
            variants.push(short.into_iter().collect());
        }
    }
    variants.sort();
    variants.dedup();
    variants
}

fn common_ancestor<'a>(tree: &'a RegionTree, ids: &[&RegionId]) -> Option<&'a Region> {
    let (first, rest) = ids.split_first()?;
    tree.ancestry(first)
        .find(|candidate| rest.iter().all(|id| tree.is_within(id, &candidate.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::tests::sample_tree;

    fn place(name: &str, kind: PlaceKind, region: Option<&str>, aliases: &[&str]) -> Place {
        Place {
            name: name.into(),
            kind,
            region: region.map(RegionId::new),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            location: None,
        }
    }

    fn sample() -> (RegionTree, Gazetteer) {
        let tree = sample_tree();
        let mut estate = place("杜鹃文苑", PlaceKind::Estate, Some("A3-01-01"), &[]);
        estate.location = Some(GeoPoint {
            lat: 28.1,
            lon: 112.9,
        });
        let places = vec![
            estate,
            place("书院路", PlaceKind::Road, Some("A3-02"), &[]),
            // Two estates of one name in two districts.
            place("金色家园", PlaceKind::Estate, Some("A3-01"), &[]),
            place("金色家园", PlaceKind::Estate, Some("A5-01"), &[]),
            // A road whose name holds a district's ("A3区大道").
            place("A3区大道", PlaceKind::Road, Some("A3-01"), &[]),
            place("B市", PlaceKind::City, None, &["B2区", "B9市"]),
        ];
        let gazetteer = Gazetteer::new(&tree, places).unwrap();
        (tree, gazetteer)
    }

    fn region_of(text: &str) -> Option<String> {
        let (tree, gazetteer) = sample();
        let reading = gazetteer.read(&tree, text);
        reading.region.map(|r| r.id.as_str().to_owned())
    }

    #[test]
    fn a_place_gives_its_community_and_coordinates() {
        let (tree, gazetteer) = sample();
        let reading = gazetteer.read(&tree, "A市杜鹃文苑小区外的非法汽车检测站要开业了");
        assert_eq!(reading.region.unwrap().id.as_str(), "A3-01-01");
        assert_eq!(reading.place.unwrap().name, "杜鹃文苑");
        assert_eq!(reading.location().unwrap().lat, 28.1);
        // The spans are the place words: A市 and 杜鹃文苑.
        let text = "A市杜鹃文苑小区外的非法汽车检测站要开业了";
        let words: Vec<&str> = reading.spans.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(words, ["A市", "杜鹃文苑"]);
    }

    #[test]
    fn regions_still_place_and_confirm() {
        assert_eq!(
            region_of("A3区洋湖街道洋湖社区3栋楼下路灯不亮").as_deref(),
            Some("A3-01-01")
        );
        assert_eq!(region_of("坪塘街道附近施工噪音").as_deref(), Some("A3-02"));
        // 新村社区 lies in A3 and A5: alone it claims no district ...
        assert_eq!(region_of("新村社区门口垃圾没人清理"), None);
        // ... with the district named, the right one wins.
        assert_eq!(
            region_of("A5区新村社区门口垃圾没人清理").as_deref(),
            Some("A5-01-01")
        );
        // A street named with another district is not believed over that district.
        assert_eq!(
            region_of("A5区的居民反映坪塘街道那边的事").as_deref(),
            Some("A5")
        );
    }

    #[test]
    fn the_city_named_and_nothing_below_is_city_wide() {
        let (tree, gazetteer) = sample();
        let reading = gazetteer.read(&tree, "A市各大医院收停车费");
        assert_eq!(reading.region.unwrap().id.as_str(), "A");
        assert!(reading.is_city_wide());
        assert!(reading.place.is_none());
        // A place below the city is not city-wide.
        let reading = gazetteer.read(&tree, "A市杜鹃文苑小区停车难");
        assert_eq!(reading.region.unwrap().id.as_str(), "A3-01-01");
        assert!(!reading.is_city_wide());
        // Naming nothing at all places nothing: no guessing.
        assert_eq!(region_of("各大医院收停车费"), None);
        // A name below the city that lies in two districts leaves the district open:
        // not placed, a dispatcher chooses (not sent to the city's departments).
        assert_eq!(region_of("A市新村社区门口垃圾没人清理"), None);
        assert_eq!(region_of("A市金色家园停车难"), None);
        // Another city named first is that city's, however often A市 follows.
        let reading = gazetteer.read(&tree, "B9市的企业拖欠A市工人工资，A市劳动监察不管");
        assert_eq!(reading.elsewhere.unwrap().name, "B市");
        assert!(reading.region.is_none());
    }

    /// Real messages (teddycup2020, file and message id), read with the sample's
    /// regions and the other cities they name.
    #[test]
    fn real_messages_naming_the_city_and_nothing_below_are_city_wide() {
        let tree = sample_tree();
        let places = vec![
            place("F市", PlaceKind::City, None, &["F8市"]),
            place("G市", PlaceKind::City, None, &[]),
        ];
        let gazetteer = Gazetteer::new(&tree, places).unwrap();
        let read = |text: &str| {
            let reading = gazetteer.read(&tree, text);
            (
                reading.region.map(|r| r.id.as_str().to_owned()),
                reading.elsewhere.map(|c| c.name.clone()),
            )
        };
        let city_wide = (Some("A".to_owned()), None);
        // hotspots.csv 221153: social insurance, A市 four times, nothing below.
        assert_eq!(
            read(
                "关于在A市工作想买房社保不能补交的咨询 领导：你们好，确实遇到困难了。我在A市工作因为想在A市\
                 买房，就交了社保，以前公司买了一年多后来没在公司做转了个人。办了张A市银行卡他们说自己扣款，\
                 我就没管可是就是当月没扣2018年12月份，后面2019年1月份的扣了，我1月13号来A市想补交他们说\
                 今年起都不能补交，因为外地人买房要连续24个月社保，那照这样买房又要延迟一年多，这样真的好么。"
            ),
            city_wide
        );
        // hotspots.csv 281831: A市 first, then a hospital of F市: about A市, city-wide.
        assert_eq!(
            read(
                "A市普通上班族的生育津贴和医院生产费一分都不能报销吗？ 尊敬的领导：您好！我是一名在A市缴了\
                 5年社保的普通上班族。2019年3月在F市一医院生产分娩。4月份回A市社保局申请报销时被告知生小孩\
                 前未在A市备案，所以生育津贴和医院生产费都不能申领"
            ),
            city_wide
        );
        // validation.csv 151510: G市 first, A市 after: G市's, never placed here.
        assert_eq!(
            read(
                "咨询G市社保局有关社保问题 本人自09年大学毕业就在G市工作，公司也给我买了社保、医保等，后本人\
                 跳槽至一家A市的公司，社保就在A市买到2015年12月，2015年12月又跳槽至现在的工作单位，但是本人\
                 在G市政府网站上查询我的社保，G市的记录完全没有"
            ),
            (None, Some("G市".to_owned()))
        );
        // validation.csv 81060: a county-level city of F市 first, then a hospital of A市.
        assert_eq!(
            read(
                "F8市百姓因结扎手术内出血，计生办还未对事故进行处理 市长您好，我是F8市的一个普通老百姓，我老婆\
                 去年在李塅家做了个结扎手术，当天就内出血，到了F8市人民医院后又转到A市楚雅，经过抢救，保住了\
                 生命。但是计生办到现在还没有对这起事故做个处理，我无奈求帮助"
            ),
            (None, Some("F市".to_owned()))
        );
    }

    #[test]
    fn a_place_of_the_whole_city_places_at_the_city() {
        let tree = sample_tree();
        let places = vec![
            place("地铁2号线", PlaceKind::Poi, Some("A"), &[]),
            place("书院路", PlaceKind::Road, Some("A3-02"), &[]),
        ];
        let gazetteer = Gazetteer::new(&tree, places).unwrap();
        let reading = gazetteer.read(&tree, "地铁2号线早高峰太挤");
        assert_eq!(reading.region.unwrap().id.as_str(), "A");
        assert_eq!(reading.place.unwrap().name, "地铁2号线");
        // With a place below the city, the place below decides.
        let reading = gazetteer.read(&tree, "地铁2号线书院路站出口积水");
        assert_eq!(reading.region.unwrap().id.as_str(), "A3-02");
    }

    #[test]
    fn ambiguous_places_need_their_district() {
        assert_eq!(region_of("金色家园停车难"), None);
        assert_eq!(region_of("A5区金色家园停车难").as_deref(), Some("A5-01"));
        // A road of one district named with another district: the district stands.
        assert_eq!(region_of("A5区书院路井盖缺失").as_deref(), Some("A5"));
        // Two districts alike: the first named decides ...
        assert_eq!(
            region_of("A5区东风街道居民去A3区办事").as_deref(),
            Some("A5-01")
        );
        assert_eq!(region_of("A3区的事，A5区也有").as_deref(), Some("A3"));
        // ... but a name only the later district has still counts for more.
        assert_eq!(
            region_of("A3区居民反映A5区东风街道的事").as_deref(),
            Some("A5-01")
        );
    }

    #[test]
    fn names_inside_longer_names_and_codes_do_not_count() {
        // "A3区大道" is a road of A3-01, not the district A3 followed by "大道".
        assert_eq!(region_of("A3区大道滨江金座4栋").as_deref(), Some("A3-01"));
        // "A5" glued to digits is a plate or a building, not the district's alias.
        let (tree, _) = sample();
        let mut with_alias = tree.all().to_vec();
        with_alias
            .iter_mut()
            .find(|r| r.id.as_str() == "A5")
            .unwrap()
            .aliases = vec!["A5".into()];
        let tree = RegionTree::new(with_alias).unwrap();
        let gazetteer = Gazetteer::new(&tree, Vec::new()).unwrap();
        assert!(gazetteer.read(&tree, "车牌湘A51234乱停").region.is_none());
        assert_eq!(
            gazetteer
                .read(&tree, "A5 新村社区")
                .region
                .unwrap()
                .id
                .as_str(),
            "A5-01-01"
        );
    }

    #[test]
    fn another_city_is_recognised_not_placed() {
        let (tree, gazetteer) = sample();
        let reading = gazetteer.read(&tree, "B9市汤家坪村委书记儿子超生");
        assert_eq!(reading.elsewhere.unwrap().name, "B市");
        assert!(reading.region.is_none());
        // The first city named decides: here, this one.
        let reading = gazetteer.read(&tree, "A3区居民在B市医院生产，回来报销不了");
        assert_eq!(reading.region.unwrap().id.as_str(), "A3");
        assert!(reading.elsewhere.is_none());
        // A street of this city's does not outweigh the other city named first.
        let reading = gazetteer.read(&tree, "B2区洋湖街道的工厂排污");
        assert_eq!(reading.elsewhere.unwrap().name, "B市");
    }

    #[test]
    fn a_slip_of_the_pen_still_names_the_place() {
        let tree = sample_tree();
        let places = vec![
            place("福晟兴汝金城", PlaceKind::Estate, Some("A3-01"), &[]),
            place("时代倾城", PlaceKind::Estate, Some("A5-01"), &[]),
        ];
        let gazetteer = Gazetteer::new(&tree, places).unwrap();
        let region = |text: &str| {
            let reading = gazetteer.read(&tree, text);
            reading.region.map(|r| r.id.as_str().to_owned())
        };
        // Two characters swapped, one left out: still the estate.
        assert_eq!(
            region("晟福兴汝金城二期涉嫌虚假宣传").as_deref(),
            Some("A3-01")
        );
        assert_eq!(region("福晟兴金城二期交房").as_deref(), Some("A3-01"));
        assert_eq!(region("时倾代城小区停车难").as_deref(), Some("A5-01"));
        // A changed character is another name; the first character left out, too.
        assert_eq!(region("时代新城小区停车难"), None);
        assert_eq!(region("晟兴汝金城二期"), None);
    }

    #[test]
    fn refuses_broken_places() {
        let tree = sample_tree();
        let problem = |places: Vec<Place>| Gazetteer::new(&tree, places).unwrap_err();
        let p = problem(vec![place("某小区", PlaceKind::Estate, None, &[])]);
        assert_eq!((p.item, p.field), (0, "region"));
        let p = problem(vec![
            place("书院路", PlaceKind::Road, Some("A3"), &[]),
            place("某小区", PlaceKind::Estate, Some("Z9"), &[]),
        ]);
        assert_eq!((p.item, p.field), (1, "region"));
        let p = problem(vec![place("B市", PlaceKind::City, Some("A3"), &[])]);
        assert_eq!(p.field, "region");
        let p = problem(vec![
            place("书院路", PlaceKind::Road, Some("A3"), &[]),
            place("书院路", PlaceKind::Road, Some("A3"), &[]),
        ]);
        assert_eq!((p.item, p.field), (1, "name"));
        let p = problem(vec![place(" ", PlaceKind::Road, Some("A3"), &[])]);
        assert_eq!(p.field, "name");
        let mut far = place("书院路", PlaceKind::Road, Some("A3"), &[]);
        far.location = Some(GeoPoint {
            lat: 128.0,
            lon: 0.0,
        });
        assert_eq!(problem(vec![far]).field, "lat");
    }
}
