//! Opening a city (configuration + store + engine) and serving it over HTTP.

use crate::Place;
use anyhow::Context;
use minhu_core::{Clock, SystemClock};
use minhu_engine::Engine;
use minhu_engine::attachments::AttachmentStore;
use minhu_store::SqlStore;
use minhu_web::AppState;
use std::net::SocketAddr;
use std::sync::Arc;

/// Loads the configuration and connects to the database (creating the data
/// directory for SQLite), with the given clock.
pub async fn open_engine(place: &Place, clock: Arc<dyn Clock>) -> anyhow::Result<Engine> {
    let city = minhu_config::load_city(&place.config)?;
    std::fs::create_dir_all(&place.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            place.data_dir.display()
        )
    })?;
    let url = place.database_url();
    let store = SqlStore::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    let mut engine = Engine::new(Arc::new(store), Arc::new(city), clock);
    if let Some(path) = &place.model {
        let model = minhu_text::Model::load(path)
            .with_context(|| format!("cannot load the model {}", path.display()))?;
        let classifier = Arc::new(crate::classifier::TextClassifier(model));
        engine.router = minhu_engine::router::Router::with_classifier(
            classifier,
            minhu_engine::router::DEFAULT_THRESHOLD,
        );
    }
    Ok(engine)
}

/// The web layer's state: the engine, attachments under the data directory and the
/// city's Open311 services.
pub fn app_state(engine: Arc<Engine>, place: &Place) -> anyhow::Result<AppState> {
    let services = minhu_config::load_services(&place.config, &engine.city)?;
    Ok(AppState {
        services: Arc::new(services),
        ..AppState::new(
            engine,
            AttachmentStore::new(place.data_dir.join("attachments")),
        )
    })
}

/// Binds `listen` and serves until Ctrl-C / SIGTERM. Prints the address once bound, so
/// scripts can wait for that line instead of sleeping.
pub async fn serve_state(
    state: AppState,
    listen: &str,
    banner: impl FnOnce(&str),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    banner(&url);
    // The client's address keys the rate limits and goes into the audit log.
    let app = minhu_web::app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

pub async fn serve(place: &Place, listen: &str) -> anyhow::Result<()> {
    let engine = Arc::new(open_engine(place, Arc::new(SystemClock)).await?);
    tokio::spawn(minhu_engine::timers::TimerWorker::new(engine.clone()).run());
    let state = app_state(engine, place)?;
    serve_state(state, listen, |url| println!("minhu listening on {url}")).await
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
