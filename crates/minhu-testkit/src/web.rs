//! The whole web app in-process (the router answering through tower's `oneshot`) on a
//! real SQLite file and the demo city's configuration, with API tokens for any role
//! and scope. `get`, `post`, `act` and `send` act as an administrator of the whole
//! city; `send_as` picks the caller (or none, for a citizen or an attacker).

use crate::city::{copy_of_demo_city, demo_city, demo_dir, demo_province};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use minhu_core::ManualClock;
use minhu_core::access::{Permission, Role};
use minhu_core::ids::TicketNumber;
use minhu_engine::Engine;
use minhu_engine::attachments::AttachmentStore;
use minhu_store::{SqlStore, Store, User};
use minhu_web::AppState;
use minhu_web::api::follow::CodeSender;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// The password of every account made by [`TestApp::add_user`].
pub const PASSWORD: &str = "correct horse battery";

/// The WeChat official account every test app connects, in compatible mode (plain and
/// encrypted messages both taken): its AppID, token and EncodingAESKey.
pub const WECHAT_APP_ID: &str = "wx0123456789abcdef";
pub const WECHAT_TOKEN: &str = "minhuTestToken2026";
pub const WECHAT_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
/// The secret the test apps share with their SMS gateway.
pub const SMS_SECRET: &str = "sms-gateway-secret-2026";
/// The secret the test apps share with their call centre's CTI.
pub const CTI_SECRET: &str = "cti-webhook-secret-2026";

/// The channel adapters of a test app.
fn test_channels() -> minhu_web::channels::Adapters {
    use minhu_config::channels::{ChannelSettings, WechatMode, WechatSettings};
    let settings = ChannelSettings {
        public_url: Some("https://12345.example.cn".into()),
        wechat: Some(WechatSettings {
            app_id: WECHAT_APP_ID.into(),
            mode: WechatMode::Compatible,
        }),
        sms: true,
        phone: true,
        email: None,
    };
    minhu_web::channels::Adapters::connect(&settings, |name| match name {
        "MINHU_WECHAT_TOKEN" => Some(WECHAT_TOKEN.into()),
        "MINHU_WECHAT_AES_KEY" => Some(WECHAT_AES_KEY.into()),
        "MINHU_SMS_SECRET" => Some(SMS_SECRET.into()),
        "MINHU_CTI_SECRET" => Some(CTI_SECRET.into()),
        _ => None,
    })
    .unwrap()
}
/// The secret city systems sign their sensor events with (`MINHU_SENSOR_SECRET`).
pub const SENSOR_SECRET: &str = "test sensor secret";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    /// The store under the engine, for the tests that look below it.
    pub store: Arc<dyn Store>,
    /// An administrator token for the whole city.
    pub admin: String,
    /// The one-time codes "sent" to citizens.
    pub sms: Arc<Sms>,
    /// The engine's clock, for tests that wait out a lock or a window.
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

/// Keeps the codes it is asked to send: (phone, ticket number, code), and the SMS
/// adapter's answers: (phone, text).
#[derive(Default)]
pub struct Sms(
    Mutex<Vec<(String, String, String)>>,
    Mutex<Vec<(String, String)>>,
    Mutex<Vec<(String, String)>>,
);

impl CodeSender for Sms {
    fn send(&self, phone: &str, ticket: &TicketNumber, code: &str) {
        self.0
            .lock()
            .unwrap()
            .push((phone.to_owned(), ticket.to_string(), code.to_owned()));
    }

    fn send_text(&self, phone: &str, text: &str) {
        self.1
            .lock()
            .unwrap()
            .push((phone.to_owned(), text.to_owned()));
    }

    fn send_link_code(&self, _kind: &str, to: &str, code: &str) {
        self.2
            .lock()
            .unwrap()
            .push((to.to_owned(), code.to_owned()));
    }
}

impl Sms {
    pub fn sent(&self) -> Vec<(String, String, String)> {
        self.0.lock().unwrap().clone()
    }

    /// The link codes sent so far: (phone or address, code).
    pub fn link_codes(&self) -> Vec<(String, String)> {
        self.2.lock().unwrap().clone()
    }

    /// The SMS adapter's answers sent so far.
    pub fn texts(&self) -> Vec<(String, String)> {
        self.1.lock().unwrap().clone()
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_announce(Arc::new(minhu_engine::Silent)).await
    }

    /// An app whose engine tells of each change through `announce` (the outbox).
    pub async fn with_announce(announce: Arc<dyn minhu_engine::Announce>) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::connect(&format!("sqlite://{}", dir.path().join("api.db").display()))
            .await
            .unwrap();
        Self::assemble(Arc::new(store), dir, announce, None).await
    }

    /// The app on a store the test made (a [`crate::db::TestDb`]'s: SQLite or
    /// PostgreSQL), for the tests that must hold on both backends.
    pub async fn on(store: Arc<SqlStore>) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        Self::assemble(store, dir, Arc::new(minhu_engine::Silent), None).await
    }

    /// The app serving the demo province (A市 and the other cities) on a store the
    /// test made; its `admin` token sees the whole province.
    pub async fn province_on(store: Arc<SqlStore>) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let province = Some(demo_province());
        Self::assemble(store, dir, Arc::new(minhu_engine::Silent), province).await
    }

    async fn assemble(
        store: Arc<SqlStore>,
        dir: tempfile::TempDir,
        announce: Arc<dyn minhu_engine::Announce>,
        province: Option<Arc<minhu_core::Province>>,
    ) -> TestApp {
        // A fixed whole-second clock: bodies carry no sub-second digits that could
        // spell a masked phone's last four by chance.
        let clock = crate::clock("2026-11-22T02:00:00Z");
        let store: Arc<dyn Store> = store;
        let mut engine =
            Engine::builder(store.clone(), demo_city(), clock.clone()).announce(announce);
        if let Some(province) = province {
            engine = engine.province(province);
        }
        let engine = engine.build();
        let city_services = crate::city::demo_services(engine.province());
        // A province's server edits its home city's directory inside the province.
        let config_dir = if engine.province().has_several_cities() {
            crate::city::copy_of_demo_province(dir.path())
        } else {
            copy_of_demo_city(dir.path())
        };
        let sms = Arc::new(Sms::default());
        let state = AppState {
            engine: Arc::new(engine),
            attachments: AttachmentStore::new(dir.path().join("files")),
            codes: sms.clone(),
            services: Arc::new(minhu_config::load_services(&demo_dir(), &demo_city()).unwrap()),
            city_services: Arc::new(city_services),
            config_dir: Some(config_dir),
            channels: Arc::new(test_channels()),
            sensors: minhu_web::api::sensors::SensorGate::new(Some(SENSOR_SECRET.into())),
        };
        let mut app = TestApp {
            router: minhu_web::app(state.clone()),
            state,
            store,
            admin: String::new(),
            sms,
            clock,
            _dir: dir,
        };
        app.admin = app.token("admin", Role::Administrator, None, None).await;
        app
    }

    /// The SQLite URL of the test's database file (an app made by [`TestApp::new`] or
    /// [`TestApp::with_announce`]).
    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self._dir.path().join("api.db").display())
    }

    /// An official's account signing in with [`PASSWORD`].
    pub async fn add_user(&self, login: &str, role: Role, unit: Option<&str>) {
        self.add_user_in(login, role, unit, None).await;
    }

    /// [`TestApp::add_user`] working in a region (a grid worker's grid).
    pub async fn add_user_in(
        &self,
        login: &str,
        role: Role,
        unit: Option<&str>,
        region: Option<&str>,
    ) {
        self.store
            .put_user(&User {
                login: login.into(),
                display_name: login.into(),
                role: role.code().into(),
                unit: unit.map(str::to_owned),
                region: region.map(str::to_owned),
                password_hash: minhu_web::pages::login::hash_password(PASSWORD.into())
                    .await
                    .unwrap(),
                disabled: false,
                created_at: self.state.engine.now(),
                failed_logins: 0,
                locked_until: None,
            })
            .await
            .unwrap();
    }

    /// A token with `role`'s permissions, limited to a unit or a region if given.
    pub async fn token(
        &self,
        name: &str,
        role: Role,
        unit: Option<&str>,
        region: Option<&str>,
    ) -> String {
        self.token_with(name, role.permissions(), unit, region)
            .await
    }

    pub async fn token_with(
        &self,
        name: &str,
        permissions: &[Permission],
        unit: Option<&str>,
        region: Option<&str>,
    ) -> String {
        // Unlimited in rate: tests that send hundreds of requests (the fuzzers) are
        // not about the token's limit; tests about it issue their own.
        let grant = minhu_engine::accounts::TokenGrant {
            permissions,
            unit,
            region,
            rate_per_min: Some(u32::MAX),
        };
        self.state
            .engine
            .accounts()
            .issue_token(name, &grant)
            .await
            .unwrap()
    }

    /// Sends `request` as if it came over a connection from `address` (an IP), as the
    /// server's accept loop tells the router; with `token` as the caller.
    pub async fn send_from(
        &self,
        address: &str,
        token: Option<&str>,
        mut request: Request<Body>,
    ) -> (StatusCode, Value, HeaderMap) {
        let ip: std::net::IpAddr = address.parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
                ip, 40000,
            )));
        self.send_as(token, request).await
    }

    /// Sends `request` with `token` as the caller (none: anonymous).
    pub async fn send_as(
        &self,
        token: Option<&str>,
        mut request: Request<Body>,
    ) -> (StatusCode, Value, HeaderMap) {
        if let Some(token) = token {
            request.headers_mut().insert(
                header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        // An event stream never ends: its status and headers are the answer.
        if headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"))
        {
            return (status, Value::Null, headers);
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body, headers)
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value, HeaderMap) {
        self.send_as(Some(&self.admin.clone()), request).await
    }

    pub async fn post_as(
        &self,
        token: Option<&str>,
        uri: &str,
        body: &str,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::post(uri).header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let (status, body, _) = self
            .send_as(token, request.body(Body::from(body.to_owned())).unwrap())
            .await;
        (status, body)
    }

    pub async fn post(&self, uri: &str, body: &str, key: Option<&str>) -> (StatusCode, Value) {
        self.post_as(Some(&self.admin.clone()), uri, body, key)
            .await
    }

    pub async fn get_as(&self, token: Option<&str>, uri: &str) -> (StatusCode, Value) {
        let (status, body, _) = self
            .send_as(token, Request::get(uri).body(Body::empty()).unwrap())
            .await;
        (status, body)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.get_as(Some(&self.admin.clone()), uri).await
    }

    pub async fn act_as(
        &self,
        token: Option<&str>,
        number: &str,
        action: Value,
    ) -> (StatusCode, Value) {
        self.post_as(
            token,
            &format!("/api/v1/tickets/{number}/actions"),
            &action.to_string(),
            None,
        )
        .await
    }

    pub async fn act(&self, number: &str, action: Value) -> (StatusCode, Value) {
        self.act_as(Some(&self.admin.clone()), number, action).await
    }
}

/// A city system's event (JSON) as the sensor webhook takes it: signed with
/// [`SENSOR_SECRET`] at `at` (Unix seconds), `X-Minhu-Timestamp` and
/// `X-Minhu-Signature` (`minhu_engine::signing`, over `<timestamp>.<body>`).
pub fn sensor_request(body: &str, at: i64) -> Request<Body> {
    let stamp = at.to_string();
    let signature =
        minhu_engine::signing::signature(SENSOR_SECRET, &[stamp.as_bytes(), b".", body.as_bytes()]);
    Request::post("/api/v1/sensors/events")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-minhu-timestamp", stamp)
        .header("x-minhu-signature", signature)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// The smallest PNG header whose content is recognised as a PNG: a photo for uploads.
pub const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
];

/// A demand that routing places in 尖山社区 and hands to its property unit.
pub fn demand(title: &str) -> String {
    serde_json::json!({
        "channel": "web", "kind": "complaint", "title": title,
        "description": "小区电梯坏了一个月物业不修", "address": "A3区天顶街道尖山社区",
        "category": "城乡建设/住房保障与房地产/物业服务", "citizen": {"phone": "138 1234 5678"}
    })
    .to_string()
}
