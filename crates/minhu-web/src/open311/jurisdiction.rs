//! What every Open311 call may carry besides its own parameters, and the query strings
//! read with it.
//!
//! `jurisdiction_id` is the city's id: its root region's (`region` in `city.toml`, `A`
//! in the demo). The spec makes it required where one endpoint serves several cities:
//! so it is when a province of several is served, and may be left out with one city;
//! a wrong one is refused by name rather than answered with another city's requests. Many clients also send their
//! `api_key` on every call: reads need none and take it without looking at it.

use super::format::{Format, Open311Error};
use crate::AppState;
use crate::middleware::extract::{Both, FromQuery, read_query};
use minhu_core::ids::{CityId, RegionId};
use minhu_engine::Reader;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Common {
    /// The city's id (its root region's, `GET /api/v1/cities`); required when the
    /// server serves several cities, optional with one.
    jurisdiction_id: Option<String>,
    /// Taken and not looked at on reads (some clients send their key on every call);
    /// a POST checks the key it carries.
    #[allow(dead_code)]
    api_key: Option<String>,
}

/// The city a call is about: the one its `jurisdiction_id` names, which must be a city
/// served here; required when several are (the spec's rule), else the one city.
pub(super) fn check(
    state: &AppState,
    format: Format,
    jurisdiction: Option<&str>,
) -> Result<CityId, Open311Error> {
    let province = state.engine.province();
    let served = || {
        province
            .cities()
            .iter()
            .map(|c| format!("{} ({}): {:?}", c.city.name, c.city.name_en, c.id.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match jurisdiction.map(str::trim).filter(|j| !j.is_empty()) {
        None if province.has_several_cities() => Err(Open311Error::bad(
            format,
            format!(
                "jurisdiction_id: is required, this endpoint serves several cities: {}",
                served()
            ),
        )),
        None => Ok(province.home().id.clone()),
        Some(given) => match province.city(&CityId::new(given)) {
            Some(entry) => Ok(entry.id.clone()),
            None => Err(Open311Error::bad(
                format,
                format!(
                    "jurisdiction_id: {given:?} is not served here; this endpoint serves {}",
                    served()
                ),
            )),
        },
    }
}

/// A query string read into `T` by [`read_query`]'s rules (unknown parameters refused,
/// blank ones absent) beside the parameters every call may carry, with the city the
/// jurisdiction names; errors told in the client's format.
pub(super) fn open311_query<T: FromQuery>(
    state: &AppState,
    format: Format,
    query: Option<&str>,
) -> Result<(CityId, T), Open311Error> {
    let Both(common, own) = read_query::<Both<Common, T>>(query.unwrap_or_default())
        .map_err(|error| Open311Error::bad(format, error.message()))?;
    let city = check(state, format, common.jurisdiction_id.as_deref())?;
    Ok((city, own))
}

/// The public as it reads one jurisdiction: that city's requests only (with one city
/// served, every request).
pub(super) fn public_in(state: &AppState, city: &CityId) -> Reader {
    let engine = &state.engine;
    if !engine.province().has_several_cities() {
        return Reader::public();
    }
    Reader::public_in(engine.scope_of(None, Some(&RegionId::new(city.as_str()))))
}

/// The query of a call that takes nothing of its own.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Nothing {}
