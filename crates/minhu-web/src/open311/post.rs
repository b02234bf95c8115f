//! Posting a request: the form (or the spec's JSON) read field by field, the `api_key`
//! checked, and the ticket taken in through the engine on the `open311` channel.

use super::format::{Answer, Format, Node, Open311Error};
use super::requests::token_key;
use crate::AppState;
use crate::api::audit::Client;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use minhu_core::event::Actor;
use minhu_core::services::{Datatype, Service};
use minhu_core::ticket::{Channel, Citizen, GeoPoint, Intake};
use minhu_engine::records::Open311Key;
use std::collections::BTreeMap;

/// The form of a new request, read field by field so each mistake is named.
pub(super) struct NewRequest<'a> {
    service: &'a Service,
    intake: Intake,
    token: String,
}

/// The request's fields: the form in the body and the query string together, since
/// clients put `api_key` and `jurisdiction_id` in the URL (PyPI's `open311` does) or
/// everything in the body. A field given twice, in either or both, is refused.
pub(super) fn parse_form(
    format: Format,
    query: Option<&str>,
    body: &[u8],
) -> Result<BTreeMap<String, String>, Open311Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        Open311Error::bad(
            format,
            format!("the body is not a form (application/x-www-form-urlencoded, UTF-8): {e}"),
        )
    })?;
    let in_url: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|e| Open311Error::bad(format, format!("the query string: {e}")))?;
    let mut form = BTreeMap::new();
    for (key, value) in pairs.into_iter().chain(in_url) {
        if form.insert(key.clone(), value).is_some() {
            return Err(Open311Error::bad(format, format!("{key}: is given twice")));
        }
    }
    Ok(form)
}

pub(super) fn read_request<'a>(
    state: &'a AppState,
    format: Format,
    form: &BTreeMap<String, String>,
    key: &Open311Key,
) -> Result<NewRequest<'a>, Open311Error> {
    const FIELDS: &[&str] = &[
        "api_key",
        "jurisdiction_id",
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "email",
        "device_id",
        "account_id",
        "first_name",
        "last_name",
        "phone",
        "description",
        "media_url",
    ];
    let bad = |message: String| Open311Error::bad(format, message);
    if let Some(unknown) = form
        .keys()
        .find(|k| !FIELDS.contains(&k.as_str()) && !k.starts_with("attribute["))
    {
        return Err(bad(format!(
            "{unknown}: is not a field of a service request"
        )));
    }
    let get = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let city = super::jurisdiction::check(state, format, get("jurisdiction_id"))?;
    let code = get("service_code").ok_or_else(|| bad("service_code: is required".into()))?;
    let service = state.services_of(&city).get(code).ok_or_else(|| {
        bad(format!(
            "service_code: {code:?} is not a service of this city"
        ))
    })?;
    let coordinate = |name: &str, limit: f64| -> Result<Option<f64>, Open311Error> {
        get(name)
            .map(|text| {
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && v.abs() <= limit)
                    .ok_or_else(|| {
                        bad(format!(
                            "{name}: {text:?} is not a WGS84 coordinate (-{limit} to {limit})"
                        ))
                    })
            })
            .transpose()
    };
    let location = match (coordinate("lat", 90.0)?, coordinate("long", 180.0)?) {
        (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
        (None, None) => None,
        (Some(_), None) => return Err(bad("long: is required with lat".into())),
        (None, Some(_)) => return Err(bad("lat: is required with long".into())),
    };
    let address = get("address_string")
        .or(get("address_id"))
        .map(str::to_owned);
    if location.is_none() && address.is_none() {
        return Err(bad(
            "lat: a location is required: lat and long, address_string or address_id".into(),
        ));
    }
    let mut lines = vec![get("description").unwrap_or(&service.name).to_owned()];
    for (field, value) in form {
        let Some(code) = field
            .strip_prefix("attribute[")
            .and_then(|rest| rest.strip_suffix(']'))
        else {
            continue;
        };
        let attribute = service.attribute(code).ok_or_else(|| {
            bad(format!(
                "{field}: the service {} has no attribute {code:?}",
                service.code
            ))
        })?;
        let value = value.trim();
        let shown = match attribute.datatype {
            Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                let mut names = Vec::new();
                for key in value.split(',').map(str::trim) {
                    let found =
                        attribute
                            .values
                            .iter()
                            .find(|v| v.key == key)
                            .ok_or_else(|| {
                                let keys: Vec<&str> =
                                    attribute.values.iter().map(|v| v.key.as_str()).collect();
                                bad(format!(
                                    "{field}: {key:?} is not one of {}",
                                    keys.join(", ")
                                ))
                            })?;
                    names.push(found.name.as_str());
                }
                if attribute.datatype == Datatype::Singlevaluelist && names.len() > 1 {
                    return Err(bad(format!("{field}: takes one value")));
                }
                names.join(", ")
            }
            Datatype::Number if value.parse::<f64>().is_err() => {
                return Err(bad(format!("{field}: {value:?} is not a number")));
            }
            Datatype::Datetime if value.parse::<Timestamp>().is_err() => {
                return Err(bad(format!(
                    "{field}: {value:?} is not an ISO 8601 moment with an offset"
                )));
            }
            _ => value.to_owned(),
        };
        lines.push(format!("{}: {shown}", attribute.description));
    }
    if let Some(missing) = service.attributes.iter().find(|a| {
        a.required
            && a.variable
            && form
                .get(&format!("attribute[{}]", a.code))
                .is_none_or(|v| v.trim().is_empty())
    }) {
        return Err(bad(format!(
            "attribute[{}]: is required by the service {}",
            missing.code, service.code
        )));
    }
    if let Some(url) = get("media_url") {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
            return Err(bad(format!("media_url: {url:?} is not an http(s) URL")));
        }
        lines.push(format!("media_url: {url}"));
    }
    let name = [get("last_name"), get("first_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("");
    let citizen = Citizen {
        phone: get("phone").map(|p| p.chars().filter(|c| !matches!(c, ' ' | '-')).collect()),
        name: Some(name).filter(|n| !n.is_empty()),
        email: get("email").map(str::to_owned),
        ..Citizen::default()
    };
    // The token: the client's key and everything it sent except the key itself.
    let mut identity = key.key_hash.clone();
    for (field, value) in form.iter().filter(|(f, _)| *f != "api_key") {
        identity.push('\n');
        identity.push_str(field);
        identity.push('=');
        identity.push_str(value);
    }
    let token = minhu_engine::accounts::digest(&identity)[..32].to_owned();
    let intake = Intake {
        channel: Channel::Open311,
        kind: service.kind,
        title: service.name.clone(),
        description: lines.join("\n"),
        address,
        location,
        citizen,
        category: Some(service.category.clone()),
        region: None,
        tier: state
            .engine
            .province()
            .city(&city)
            .map_or(&state.engine.city().default_tier, |c| &c.city.default_tier)
            .clone(),
        external_ref: Some(format!("open311:{token}")),
        city: Some(city),
    };
    Ok(NewRequest {
        service,
        intake,
        token,
    })
}

pub(super) async fn post_request(
    state: &AppState,
    format: Format,
    query: Option<&str>,
    body: &[u8],
    client: Option<String>,
) -> Answer {
    let form = parse_form(format, query, body)?;
    let forbidden = |message: &str| Open311Error::new(format, StatusCode::FORBIDDEN, message);
    let api_key = form
        .get("api_key")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| forbidden("api_key: is required to post a request"))?;
    let key = state
        .engine
        .accounts()
        .open311_key(api_key)
        .await
        .map_err(|e| Open311Error::internal(format, e))?
        .ok_or_else(|| forbidden("api_key: is not a valid key"))?;
    let request = read_request(state, format, &form, &key)?;
    let actor = Actor::token(&format!("open311:{}", key.label));
    let audit = crate::api::audit::creation(state, actor.to_string(), Channel::Open311, client);
    let created = state
        .engine
        .intake_audited(
            request.intake,
            actor,
            Some(token_key(&request.token)),
            Some(audit),
        )
        .await
        .map_err(|e| Open311Error::engine(format, e))?;
    let status = if created.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let node = Node::List(
        "request",
        vec![Node::Object(vec![
            (
                "service_request_id",
                Node::text(created.ticket.number.as_str()),
            ),
            ("token", Node::text(request.token)),
            (
                "service_notice",
                Node::text(format!(
                    "{}: {}",
                    request.service.name,
                    created.ticket.status.label_zh()
                )),
            ),
            ("account_id", Node::Null),
        ])],
    );
    Ok(format.render(status, "service_requests", &node))
}

#[utoipa::path(
    post, path = "/open311/v2/requests.json", tag = "Open311",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "the request's fields (GeoReport v2); they may also come in the query string"),
    responses((status = 201, description = "the new request: service_request_id and token", content_type = "application/json"), (status = 200, description = "the same request sent again: the first ticket", content_type = "application/json"), (status = 403, description = "no or an unknown api_key", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"))
)]
pub(super) async fn post_request_json(
    State(state): State<AppState>,
    Client(client): Client,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    post_request(&state, Format::Json, query.as_deref(), &body, client).await
}

#[utoipa::path(
    post, path = "/open311/v2/requests.xml", tag = "Open311",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "the request's fields (GeoReport v2); they may also come in the query string"),
    responses((status = 201, description = "the new request: service_request_id and token", content_type = "text/xml"), (status = 200, description = "the same request sent again: the first ticket", content_type = "text/xml"), (status = 403, description = "no or an unknown api_key", content_type = "text/xml"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "text/xml"))
)]
pub(super) async fn post_request_xml(
    State(state): State<AppState>,
    Client(client): Client,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    post_request(&state, Format::Xml, query.as_deref(), &body, client).await
}
