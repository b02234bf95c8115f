//! Defences every response and every client get: security headers, and rate limits
//! per client address for what anyone may call without signing in.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Only this site's own scripts, styles and images (and the city's map tiles, when a
/// tile server elsewhere is configured); no framing, no plugins.
pub fn content_security_policy(tile_origin: Option<&str>) -> HeaderValue {
    let tiles = tile_origin.map(|o| format!(" {o}")).unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy)
        .expect("an origin checked by the configuration is a header value")
}

/// Adds the security headers to every response. HSTS only when the request came over
/// TLS (a terminating proxy says so with `X-Forwarded-Proto: https`), as browsers
/// ignore it over plain HTTP and a wrong one locks a site out.
pub async fn security_headers(
    State(policy): State<HeaderValue>,
    request: Request,
    next: Next,
) -> Response {
    let over_tls = request
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
        || request.uri().scheme_str() == Some("https");
    let personal = !request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if personal {
        // Pages and answers carry personal data: no shared or back-button caches.
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if over_tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// A token bucket: `capacity` requests at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub capacity: f64,
    pub per_second: f64,
}

/// What anonymous callers may do per address.
pub mod rates {
    use super::Rate;
    /// Citizens' reports: 20 at once, then one every 3 seconds.
    pub const INTAKE: Rate = Rate {
        capacity: 20.0,
        per_second: 1.0 / 3.0,
    };
    /// Sign-in forms and citizens' code requests: 10 at once, then one every 6 seconds.
    pub const CREDENTIALS: Rate = Rate {
        capacity: 10.0,
        per_second: 1.0 / 6.0,
    };
    /// A channel adapter's platform (WeChat's servers, an SMS gateway, a call
    /// centre), per adapter and address: 200 at once, then 50 a second.
    pub const ADAPTER: Rate = Rate {
        capacity: 200.0,
        per_second: 50.0,
    };
    /// Everything else an anonymous caller tries.
    pub const ANONYMOUS: Rate = Rate {
        capacity: 120.0,
        per_second: 20.0,
    };
    /// One device's events: 6 at once, then one every 10 seconds (its repeats within
    /// a window are one ticket anyway; a device sending more is broken or forged).
    pub const SENSOR_DEVICE: Rate = Rate {
        capacity: 6.0,
        per_second: 0.1,
    };
    /// An API token's requests per minute unless it was given its own
    /// (`minhu admin add-token --rate`): 50 a second.
    pub const TOKEN_PER_MIN: u32 = 3000;

    /// A token's bucket: its rate, and two seconds' worth (at least 10) at once.
    pub fn token(per_min: u32) -> Rate {
        let per_second = f64::from(per_min.max(1)) / 60.0;
        Rate {
            capacity: (2.0 * per_second).max(10.0),
            per_second,
        }
    }
}

/// Tokens left, and when they were counted.
type Bucket = (f64, Instant);

/// Buckets per (kind of request, client address), in memory: a restart forgets them,
/// which only ever lets more through.
#[derive(Default)]
pub struct Limits {
    buckets: Mutex<HashMap<(&'static str, String), Bucket>>,
}

/// How many buckets to keep before forgetting the full ones.
const MAX_BUCKETS: usize = 100_000;

impl Limits {
    /// Takes one request from the bucket; `Err(wait)` when it is empty.
    pub fn take(&self, kind: &'static str, client: &str, rate: Rate) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate.per_second < rate.capacity
            });
        }
        let (tokens, at) = buckets
            .entry((kind, client.to_owned()))
            .or_insert((rate.capacity, now));
        let available =
            (*tokens + now.duration_since(*at).as_secs_f64() * rate.per_second).min(rate.capacity);
        *at = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            Ok(())
        } else {
            *tokens = available;
            Err(Duration::from_secs_f64((1.0 - available) / rate.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_names_the_wait() {
        let limits = Limits::default();
        let rate = Rate {
            capacity: 3.0,
            per_second: 0.001,
        };
        for _ in 0..3 {
            assert!(limits.take("t", "10.0.0.1", rate).is_ok());
        }
        let wait = limits.take("t", "10.0.0.1", rate).unwrap_err();
        assert!(wait > Duration::from_secs(100), "{wait:?}");
        assert!(limits.take("t", "10.0.0.2", rate).is_ok(), "per client");
        assert!(limits.take("u", "10.0.0.1", rate).is_ok(), "per kind");
    }
}
