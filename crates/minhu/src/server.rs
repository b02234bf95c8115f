//! Opening a city (configuration + store + engine) and serving it over HTTP.

use crate::Place;
use anyhow::Context;
use minhu_core::{Clock, SystemClock};
use minhu_engine::attachments::AttachmentStore;
use minhu_engine::{Engine, EngineBuilder, Workers};
use minhu_notify::{ChannelKind, Notifier, NotifyConfig, Outbox};
use minhu_search::{LiveIndex, SearchIndex};
use minhu_store::{SqlStore, TicketStore};
use minhu_web::AppState;
use minhu_web::api::sensors::SensorGate;
use minhu_web::serve::{ServeOptions, TrustedProxies};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A city opened for work: its store, and an engine being built over it (the router
/// already set: a classifier's when `--model` names one).
pub struct Opened {
    /// The CLI's maintenance commands (erasure, rebuilds) and `close` use the store
    /// directly; everything else goes through the engine.
    pub store: Arc<SqlStore>,
    pub engine: EngineBuilder,
}

/// Loads the configuration and connects to the database (creating the data
/// directory for SQLite), with the given clock.
pub async fn open(place: &Place, clock: Arc<dyn Clock>) -> anyhow::Result<Opened> {
    let province = Arc::new(minhu_config::load_province(&place.config)?);
    std::fs::create_dir_all(&place.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            place.data_dir.display()
        )
    })?;
    let url = place.database_url();
    let store = Arc::new(
        SqlStore::connect(&url)
            .await
            .with_context(|| format!("cannot open the database {url}"))?,
    );
    // Tickets stored before provinces are the home city's.
    let adopted = store.adopt_city(&province.home().id).await?;
    if adopted > 0 {
        tracing::info!(adopted, city = %province.home().id, "tickets given their city");
    }
    let mut engine =
        Engine::builder(store.clone(), province.home().city.clone(), clock).province(province);
    if let Some(path) = &place.model {
        let classifier = Arc::new(crate::classifier::TextClassifier::load(path)?);
        engine = engine.router(minhu_engine::router::Router::with_classifier(classifier));
    }
    Ok(Opened { store, engine })
}

/// [`open`], for commands that need nothing but the engine.
pub async fn open_engine(place: &Place, clock: Arc<dyn Clock>) -> anyhow::Result<Engine> {
    Ok(open(place, clock).await?.engine.build())
}

/// The directory of the configuration's home city: the configuration itself for a lone
/// city, `cities/<id>` of a province. Its notifications, Open311 services, channels
/// and the configuration editor are the deployment's (one set per process so far).
pub fn home_dir(place: &Place) -> std::path::PathBuf {
    if !place.config.join(minhu_config::PROVINCE_FILE).exists() {
        return place.config.clone();
    }
    match minhu_config::load_province(&place.config) {
        Ok(province) => minhu_config::city_dir(&place.config, &province, &province.home().id),
        Err(_) => place.config.clone(),
    }
}

/// The home city's `notify.toml` (none: no channels, nothing is told).
pub fn notify_config(place: &Place) -> anyhow::Result<NotifyConfig> {
    let path = home_dir(place).join("notify.toml");
    if !path.exists() {
        return Ok(NotifyConfig::default());
    }
    Ok(NotifyConfig::load(&path)?)
}

/// A serving engine and its background workers: the timers, alert and hotspot watches,
/// the search index's follower and the notifier.
pub struct Serving {
    pub engine: Arc<Engine>,
    store: Arc<SqlStore>,
    workers: Workers,
}

impl Serving {
    /// Builds the engine of `opened` to tell citizens and integrations of each step
    /// (`notify.toml`) and to search with the index in the data directory, and starts
    /// its workers. Only for serving: an import of past demands tells no one.
    pub fn start(opened: Opened, notify: &NotifyConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let Opened { store, engine } = opened;
        let config = Arc::new(notify.clone());
        let city = engine.city().clone();
        notify.check_city(&city)?;
        let dir = search_dir(data_dir);
        let index = match SearchIndex::open(&dir) {
            // An index of an older layout (an upgrade added a field) is rebuilt from the
            // store by its follower; lists scan the store until it has caught up.
            Err(minhu_search::SearchError::Layout(shown)) => {
                tracing::warn!(index = %shown, "the search index has an older layout: rebuilding it from the store");
                SearchIndex::open_for_rebuild(&dir)?
            }
            opened => opened?,
        }
        .with_privacy(city.privacy.clone());
        let (search, follower) = LiveIndex::follow(store.clone(), Arc::new(index));
        let engine = Arc::new(
            engine
                .announce(Arc::new(Outbox::new(config.clone(), city)))
                .search(search)
                .build(),
        );
        let notifier = Notifier::new(
            store.clone(),
            engine.clock().clone(),
            &config,
            engine.outbox_changed().clone(),
        )?;
        let mut workers = Workers::of(&engine);
        workers.spawn("search", follower);
        workers.spawn("notify", notifier.run());
        Ok(Self {
            engine,
            store,
            workers,
        })
    }

    /// Reads the city's mailbox (`[email]` in `channels.toml`) while serving.
    pub fn read_mailbox(&mut self, state: &AppState) {
        if state.channels.email.is_some() {
            let watch = minhu_web::channels::email::watch(state.clone());
            self.workers.spawn("email", watch);
        }
    }

    /// Stops the workers (each at its next await point; see `minhu_engine::workers`)
    /// and closes the store, so the SQLite writer finishes what it holds.
    pub async fn stop(self) {
        let aborted = self.workers.stop(WORKERS_GRACE).await;
        if aborted > 0 {
            tracing::warn!(aborted, "workers did not stop in time");
        }
        self.store.close().await;
        tracing::info!("stopped");
    }
}

/// How long the workers get to stop once asked.
const WORKERS_GRACE: Duration = Duration::from_secs(10);

/// Citizens' follow codes go out at once on the city's first SMS (or log) channel,
/// never through the outbox: a code must not be stored in clear. Link codes for an
/// e-mail address go out on its first e-mail channel.
struct NotifyCodes {
    channel: Arc<minhu_notify::Channel>,
    email: Option<Arc<minhu_notify::Channel>>,
    locale: minhu_notify::Locale,
}

impl minhu_web::api::follow::CodeSender for NotifyCodes {
    fn send(&self, phone: &str, ticket: &minhu_core::ids::TicketNumber, code: &str) {
        let rendered = minhu_notify::templates::follow_code(self.locale, ticket.as_str(), code);
        let (channel, phone) = (self.channel.clone(), phone.to_owned());
        tokio::spawn(async move {
            if let Err(error) = channel.send_to(&phone, &rendered).await {
                tracing::warn!(%error, channel = %channel.name, "a follow code was not sent");
            }
        });
    }

    fn send_link_code(&self, kind: &str, to: &str, code: &str) {
        let rendered = minhu_notify::templates::link_code(self.locale, code);
        let channel = match kind {
            "email" => match &self.email {
                Some(channel) => channel.clone(),
                None => {
                    tracing::warn!(
                        "a link code for an e-mail address: notify.toml has no e-mail channel"
                    );
                    return;
                }
            },
            _ => self.channel.clone(),
        };
        let to = to.to_owned();
        tokio::spawn(async move {
            if let Err(error) = channel.send_to(&to, &rendered).await {
                tracing::warn!(%error, channel = %channel.name, "a link code was not sent");
            }
        });
    }

    fn send_text(&self, phone: &str, text: &str) {
        let rendered = minhu_notify::templates::Rendered {
            subject: String::new(),
            text: text.to_owned(),
        };
        let (channel, phone) = (self.channel.clone(), phone.to_owned());
        tokio::spawn(async move {
            if let Err(error) = channel.send_to(&phone, &rendered).await {
                tracing::warn!(%error, channel = %channel.name, "an SMS answer was not sent");
            }
        });
    }
}

/// The web layer's state: the engine, attachments under the data directory, the
/// city's Open311 services, its channel adapters (`channels.toml`, their secrets from
/// `secret`: the environment, or the demo's own), the sensor webhook's secret
/// (`MINHU_SENSOR_SECRET`, from `secret` too) and the channel that carries follow
/// codes.
pub fn app_state(
    engine: Arc<Engine>,
    place: &Place,
    notify: &NotifyConfig,
    secret: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<AppState> {
    let home = minhu_config::city_dir(
        &place.config,
        engine.province(),
        &engine.province().home().id,
    );
    let services = minhu_config::load_services(&home, engine.city())?;
    let mut city_services = std::collections::HashMap::new();
    if engine.province().has_several_cities() {
        for entry in engine.province().cities() {
            let catalog =
                minhu_config::load_city_services(&place.config, engine.province(), &entry.id)?;
            city_services.insert(entry.id.clone(), Arc::new(catalog));
        }
    }
    let channels = minhu_config::channels::load_channels(&home)?;
    let channels = minhu_web::channels::Adapters::connect(&channels, secret)
        .map_err(|problem| anyhow::anyhow!("{problem}"))?;
    let mut state = AppState {
        services: Arc::new(services),
        city_services: Arc::new(city_services),
        config_dir: Some(home),
        channels: Arc::new(channels),
        sensors: SensorGate::new(secret(minhu_web::api::sensors::SECRET_VAR)),
        ..AppState::new(
            engine,
            AttachmentStore::new(place.data_dir.join("attachments")),
        )
    };
    let texting = notify
        .channels
        .iter()
        .find(|c| matches!(c.kind, ChannelKind::Sms { .. } | ChannelKind::Log));
    let email = notify
        .channels
        .iter()
        .find(|c| matches!(c.kind, ChannelKind::Email { .. }))
        .map(minhu_notify::Channel::new)
        .transpose()?
        .map(Arc::new);
    if let Some(config) = texting {
        state.codes = Arc::new(NotifyCodes {
            channel: Arc::new(minhu_notify::Channel::new(config)?),
            email,
            locale: config.locale.unwrap_or(notify.locale),
        });
    }
    Ok(state)
}

/// A secret from the server's environment (an adapter's token or key).
pub fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Binds `listen` and serves until Ctrl-C / SIGTERM. Prints the address once bound, so
/// scripts can wait for that line instead of sleeping.
pub async fn serve_state(
    state: AppState,
    listen: &str,
    options: ServeOptions,
    banner: impl FnOnce(&str),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    banner(&url);
    // The accept loop gives each request the client's address (for the rate limits and
    // the audit log) and holds the connection limits.
    minhu_web::serve::serve(listener, minhu_web::app(state), options, shutdown()).await?;
    Ok(())
}

/// How `minhu serve` and `minhu demo` hold their connections (README, "Hardening").
#[derive(clap::Args, Clone, Debug)]
pub struct ConnectionArgs {
    /// Seconds a client may take to send a request's headers (a kept-alive connection
    /// waiting for its next request counts too).
    #[arg(long, env = "MINHU_HEADER_READ_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
    /// Seconds a connection may stay with no byte moving either way.
    #[arg(long, env = "MINHU_IDLE_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,
    /// Connections one client address may hold at once (trusted proxies are not counted).
    #[arg(long, env = "MINHU_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_connections_per_address: u64,
    /// Reverse proxies whose X-Forwarded-For names the client: comma-separated CIDRs or
    /// addresses (10.0.0.0/8,192.168.1.5). From anyone else the peer's address counts.
    #[arg(long, env = "MINHU_TRUSTED_PROXIES", default_value = "",
          value_parser = TrustedProxies::parse)]
    pub trusted_proxies: TrustedProxies,
}

impl ConnectionArgs {
    pub fn options(&self) -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            max_connections_per_address: usize::try_from(self.max_connections_per_address)
                .unwrap_or(usize::MAX),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

/// How many tickets the store holds, from the city-wide counters.
pub async fn stored_tickets(
    store: &(impl minhu_store::TicketStore + ?Sized),
) -> anyhow::Result<u64> {
    Ok(store
        .count_by_status(&minhu_core::access::Scope::All)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum())
}

/// Where the search index lives.
pub fn search_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("search")
}

pub async fn serve(
    place: &Place,
    listen: &str,
    connections: &ConnectionArgs,
) -> anyhow::Result<()> {
    let notify = notify_config(place)?;
    let opened = open(place, Arc::new(SystemClock)).await?;
    let mut serving = Serving::start(opened, &notify, &place.data_dir)?;
    let state = app_state(serving.engine.clone(), place, &notify, &environment)?;
    serving.read_mailbox(&state);
    let webhook = if state.sensors.enabled() {
        "on"
    } else {
        "off (set MINHU_SENSOR_SECRET)"
    };
    let served = serve_state(state, listen, connections.options(), |url| {
        // The listening line comes last: scripts and tests wait for it and may stop
        // reading (closing the pipe) once they have it.
        println!("sensor webhook POST {url}/api/v1/sensors/events: {webhook}");
        println!("minhu listening on {url}");
    })
    .await;
    // The HTTP side has finished its requests (or failed to start): stop the rest.
    serving.stop().await;
    served
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
