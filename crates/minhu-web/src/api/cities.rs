//! The cities a caller may see (a province on one platform): a client names a city
//! with these ids (Open311's `jurisdiction_id`, a ticket's `city`).

use crate::AppState;
use crate::middleware::auth::Principal;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CityView {
    /// The city's id (its root region's), as tickets and Open311 name it.
    id: String,
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Cities {
    /// The home city first.
    cities: Vec<CityView>,
}

/// The cities of the province this caller may see: every city for a caller over the
/// whole province, their own city for one limited to a unit or region of it.
#[utoipa::path(
    get, path = "/api/v1/cities",
    responses((status = 200, body = Cities))
)]
pub(super) async fn list_cities(
    State(state): State<AppState>,
    principal: Principal,
) -> Json<Cities> {
    let cities = state
        .engine
        .cities_in(principal.reader().scope())
        .into_iter()
        .map(|entry| CityView {
            id: entry.id.as_str().to_owned(),
            name: entry.city.name.clone(),
        })
        .collect();
    Json(Cities { cities })
}
