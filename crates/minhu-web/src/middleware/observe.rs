//! What every request leaves for the people who run the server: its figures for
//! `GET /metrics` (requests by route, method and status; time taken by route and
//! method) and one line of the access log.
//!
//! Requests are labelled by their route's template (`/api/v1/tickets/{number}`), never
//! by the path they asked for: ticket numbers, phone numbers in a path or anything a
//! scanner tries must not become labels (each label value is a series kept forever)
//! nor lines of the log. A request no route matched is `unmatched`. The access log
//! line holds the method, the template, the status and the time taken: no query
//! string (a `phone=` or `q=` would put personal data in the log), no address, no
//! caller.
//!
//! Intake is a hot path (thousands of requests a second), so a request's figures
//! cost a few atomic operations: each route's handles are made once, when the route
//! is first asked for with that method and status, and found afterwards without a
//! lock (a map built with the router, read-only after; `OnceLock`s).

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Instant;

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "minhu_http_requests_total",
        "HTTP requests answered, by route template, method and status.",
        &["route", "method", "status"]
    )
    .expect("registered once")
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    prometheus::register_histogram_vec!(
        "minhu_http_request_duration_seconds",
        "Time from a request's arrival to its answer's head, by route template and method.",
        &["route", "method"],
        vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
        ]
    )
    .expect("registered once")
});

/// The route label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

/// The methods labelled by name; any other is `other` (a label per made-up method
/// would let a client grow the series).
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
];

/// The statuses whose counters are kept at hand; the rare others look theirs up.
const STATUSES: [u16; 24] = [
    200, 201, 202, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 409, 410, 413, 415,
    422, 429, 500, 502, 503,
];

/// One route's figures: its template, and per method (made at its first request) the
/// latency histogram and the counters of the statuses answered.
struct RouteFigures {
    route: String,
    methods: [OnceLock<Box<MethodFigures>>; METHODS.len() + 1],
}

struct MethodFigures {
    method: &'static str,
    duration: Histogram,
    statuses: [OnceLock<IntCounter>; STATUSES.len()],
}

impl RouteFigures {
    fn new(route: &str) -> Arc<Self> {
        Arc::new(RouteFigures {
            route: route.to_owned(),
            methods: Default::default(),
        })
    }

    fn record(&self, method: &Method, status: StatusCode, seconds: f64) {
        let slot = METHODS
            .iter()
            .position(|m| m == method)
            .unwrap_or(METHODS.len());
        let figures = self.methods[slot].get_or_init(|| {
            let method = METHODS.get(slot).map_or("other", Method::as_str);
            Box::new(MethodFigures {
                method,
                duration: DURATION.with_label_values(&[self.route.as_str(), method]),
                statuses: Default::default(),
            })
        });
        figures.duration.observe(seconds);
        let code = status.as_u16();
        match STATUSES.iter().position(|s| *s == code) {
            Some(i) => figures.statuses[i]
                .get_or_init(|| {
                    REQUESTS.with_label_values(&[
                        self.route.as_str(),
                        figures.method,
                        status.as_str(),
                    ])
                })
                .inc(),
            None => REQUESTS
                .with_label_values(&[self.route.as_str(), figures.method, status.as_str()])
                .inc(),
        }
    }
}

/// Every declared route's figures, by template; built with the router.
#[derive(Clone)]
pub struct Observer {
    routes: Arc<HashMap<String, Arc<RouteFigures>>>,
    unmatched: Arc<RouteFigures>,
}

impl Observer {
    pub fn new<'a>(templates: impl IntoIterator<Item = &'a str>) -> Self {
        let routes = templates
            .into_iter()
            .map(|t| (t.to_owned(), RouteFigures::new(t)))
            .collect();
        Observer {
            routes: Arc::new(routes),
            unmatched: RouteFigures::new(UNMATCHED),
        }
    }
}

/// Where the route layer ([`matched`]) leaves the matched route's figures for the
/// outer layer ([`observe`]), which cannot see the match itself: routing happens
/// inside it.
#[derive(Clone, Default)]
struct Matched(Arc<OnceLock<Arc<RouteFigures>>>);

/// The outermost layer: times the request, counts it under its route and logs it.
pub async fn observe(
    State(observer): State<Observer>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let matched = Matched::default();
    request.extensions_mut().insert(matched.clone());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let figures = matched.0.get().unwrap_or(&observer.unmatched);
    let status = response.status();
    figures.record(&method, status, elapsed.as_secs_f64());
    tracing::info!(
        target: "minhu::access",
        method = %method,
        route = %figures.route,
        status = status.as_u16(),
        ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// A route layer (it runs once a route matched): tells [`observe`] which route.
pub async fn matched(State(observer): State<Observer>, request: Request, next: Next) -> Response {
    let found = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| observer.routes.get(path.as_str()));
    if let (Some(figures), Some(slot)) = (found, request.extensions().get::<Matched>()) {
        let _ = slot.0.set(figures.clone());
    }
    next.run(request).await
}
