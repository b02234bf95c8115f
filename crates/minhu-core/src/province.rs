//! The province: the cities one deployment serves (省级平台). Each city keeps its own
//! configuration ([`City`]: regions, units, taxonomy, duty lists, tiers); the province
//! adds its own desk and units and the calendar its cities share unless they have their
//! own. A deployment that serves one city is a province of that one city, so every
//! single-city rule stays as it was.

use crate::City;
use crate::calendar::BusinessCalendar;
use crate::ids::{CityId, RegionId, UnitId};
use std::sync::Arc;

/// One city of the province, with its id ([`City::id`]).
#[derive(Clone, Debug)]
pub struct ProvinceCity {
    pub id: CityId,
    pub city: Arc<City>,
}

/// A unit of the province itself (its 12345 desk, its supervision office): it serves
/// every city, so it has no region in any city's tree.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvinceUnit {
    pub id: UnitId,
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// What it does ("hotline", "supervision"), as a city department's role.
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Province {
    /// The province's id (`province.toml`), or its only city's id.
    pub id: String,
    pub name: String,
    pub name_en: String,
    /// The province's business calendar; a city without its own `calendar.toml` has a
    /// copy of it.
    pub calendar: BusinessCalendar,
    /// The province's own units; empty for a province of one city.
    pub units: Vec<ProvinceUnit>,
    /// The province's desk (省12345), one of `units`: it sees every city's demands.
    pub desk: Option<UnitId>,
    /// At least one; the first is the home city, where a demand that names no city
    /// goes when it cannot be placed elsewhere.
    cities: Vec<ProvinceCity>,
}

/// Why a province's parts do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvinceProblem {
    #[error("a province needs at least one city")]
    NoCity,
    #[error("city {0} is listed twice")]
    CityTwice(CityId),
    #[error("city {city}: its name {name:?} is also city {other}'s")]
    NameTwice {
        city: CityId,
        other: CityId,
        name: String,
    },
    #[error(
        "city {city}: region {region} is also a region of city {other}; region ids must be unique in the province"
    )]
    RegionTwice {
        city: CityId,
        other: CityId,
        region: RegionId,
    },
    #[error(
        "city {city}: unit {unit} is also a unit of {other}; unit ids must be unique in the province"
    )]
    UnitTwice {
        city: CityId,
        other: String,
        unit: UnitId,
    },
    #[error("desk: {0} is not one of the province's [[unit]]s")]
    UnknownDesk(UnitId),
}

impl Province {
    /// A deployment of one city: the province is that city, with its calendar.
    pub fn single(city: Arc<City>) -> Self {
        let id = city.id();
        Self {
            id: id.as_str().to_owned(),
            name: city.name.clone(),
            name_en: city.name_en.clone(),
            calendar: city.calendar.clone(),
            units: Vec::new(),
            desk: None,
            cities: vec![ProvinceCity { id, city }],
        }
    }

    /// A province of several cities, checked: ids of cities, regions and units unique
    /// across the province (a ticket's region or unit then names its city), city names
    /// unique, the desk one of the province's units.
    pub fn new(
        id: String,
        name: String,
        name_en: String,
        calendar: BusinessCalendar,
        units: Vec<ProvinceUnit>,
        desk: Option<UnitId>,
        cities: Vec<Arc<City>>,
    ) -> Result<Self, ProvinceProblem> {
        if cities.is_empty() {
            return Err(ProvinceProblem::NoCity);
        }
        let mut region_city = std::collections::HashMap::new();
        let mut unit_owner: std::collections::HashMap<&UnitId, String> = units
            .iter()
            .map(|u| (&u.id, "the province".to_owned()))
            .collect();
        let mut names = std::collections::HashMap::new();
        let mut listed: Vec<ProvinceCity> = Vec::with_capacity(cities.len());
        for city in &cities {
            let id = city.id();
            if listed.iter().any(|c| c.id == id) {
                return Err(ProvinceProblem::CityTwice(id));
            }
            if let Some(other) = names.insert(city.name.as_str(), id.clone()) {
                return Err(ProvinceProblem::NameTwice {
                    city: id,
                    other,
                    name: city.name.clone(),
                });
            }
            for region in city.regions.all() {
                if let Some(other) = region_city.insert(&region.id, id.clone()) {
                    return Err(ProvinceProblem::RegionTwice {
                        city: id,
                        other,
                        region: region.id.clone(),
                    });
                }
            }
            for unit in city.units.all() {
                if let Some(other) = unit_owner.insert(&unit.id, format!("city {id}")) {
                    return Err(ProvinceProblem::UnitTwice {
                        city: id,
                        other,
                        unit: unit.id.clone(),
                    });
                }
            }
            listed.push(ProvinceCity {
                id,
                city: city.clone(),
            });
        }
        if let Some(desk) = &desk
            && !units.iter().any(|u| &u.id == desk)
        {
            return Err(ProvinceProblem::UnknownDesk(desk.clone()));
        }
        Ok(Self {
            id,
            name,
            name_en,
            calendar,
            units,
            desk,
            cities: listed,
        })
    }

    /// Every city, the home city first.
    pub fn cities(&self) -> &[ProvinceCity] {
        &self.cities
    }

    /// The first city: a province of one is that city.
    pub fn home(&self) -> &ProvinceCity {
        &self.cities[0]
    }

    /// Whether the deployment serves more than one city (then callers name the city,
    /// e.g. Open311's `jurisdiction_id`).
    pub fn has_several_cities(&self) -> bool {
        self.cities.len() > 1
    }

    pub fn city(&self, id: &CityId) -> Option<&ProvinceCity> {
        self.cities.iter().find(|c| &c.id == id)
    }

    /// The city called `name` (its name as the place reader reports another city,
    /// `B市`, or its English name).
    pub fn city_named(&self, name: &str) -> Option<&ProvinceCity> {
        self.cities
            .iter()
            .find(|c| c.city.name == name || c.city.name_en == name)
    }

    /// The city a demand's words are about: the city of the province that the home
    /// city's place reader names as another city (by its name, or a district's or
    /// county's of `places.csv`), else the home city.
    pub fn reads_as(&self, text: &str) -> &ProvinceCity {
        self.home()
            .city
            .read_place(text)
            .elsewhere
            .and_then(|place| self.city_named(&place.name))
            .unwrap_or_else(|| self.home())
    }

    /// The city a region belongs to.
    pub fn city_of_region(&self, region: &RegionId) -> Option<&ProvinceCity> {
        self.cities
            .iter()
            .find(|c| c.city.regions.get(region).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::tests::sample_city;

    #[test]
    fn a_single_city_is_a_province_of_one() {
        let city = Arc::new(sample_city());
        let province = Province::single(city.clone());
        assert_eq!(province.cities().len(), 1);
        assert!(!province.has_several_cities());
        assert_eq!(province.home().id, city.id());
        assert_eq!(province.name, city.name);
        assert!(province.city_named(&city.name).is_some());
    }

    /// Province P of `cities`, with no units of its own and `desk`.
    fn province_p(
        desk: Option<UnitId>,
        cities: Vec<Arc<City>>,
    ) -> Result<Province, ProvinceProblem> {
        let calendar = cities[0].calendar.clone();
        Province::new(
            "P".into(),
            "P省".into(),
            "Province P".into(),
            calendar,
            Vec::new(),
            desk,
            cities,
        )
    }

    #[test]
    fn a_city_listed_twice_is_refused() {
        let city = Arc::new(sample_city());
        let problem = province_p(None, vec![city.clone(), city]).unwrap_err();
        assert!(
            matches!(problem, ProvinceProblem::CityTwice(_)),
            "{problem}"
        );
    }

    #[test]
    fn the_desk_must_be_a_province_unit() {
        let city = Arc::new(sample_city());
        let problem = province_p(Some(UnitId::new("P-desk")), vec![city]).unwrap_err();
        assert_eq!(
            problem.to_string(),
            "desk: P-desk is not one of the province's [[unit]]s"
        );
    }
}
