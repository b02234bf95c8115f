//! A headless Chromium driven through chromedriver (`scripts/ensure-chromium` installs
//! Debian's) against the app of a [`TestApp`] served on a loopback port. Every page a
//! test checks with [`Browser::check_accessibility`] runs axe-core (vendored from npm
//! in `vendor/`).
//!
//! chromedriver starts in a process group of its own ([`ProcessGroup`]), and Chromium
//! in it: dropping the [`Browser`] (at a test's end or in a panic's unwinding) kills
//! the group, so no browser outlives its test. [`Browser::close`] ends the WebDriver
//! session first, as a test that passes does. Without chromedriver the tests fail,
//! never skip: set `MINHU_CHROMEDRIVER` or put `chromedriver` on the PATH.

use crate::process::{ProcessGroup, descendants};
use crate::web::{PASSWORD, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const AXE: &str = include_str!("../vendor/axe-4.11.0.min.js");
/// How long a page may take to show what a step waits for.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// chromedriver on a free port, stopped with everything it started when dropped.
struct Driver {
    group: ProcessGroup,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The wait a rate-limit refusal page asks for ("try again in 4 s"), if it is one.
fn retry_after(page: &str) -> Option<Duration> {
    let (_, rest) = page.split_once("try again in ")?;
    let seconds: u64 = rest.split(' ').next()?.parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Polls `check` until it gives a value or `PATIENCE` runs out, then fails naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start_driver() -> Driver {
    let program = std::env::var("MINHU_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = free_port();
    let group = ProcessGroup::spawn(
        Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap_or_else(|e| {
        panic!(
            "cannot start {program} ({e}): run scripts/ensure-chromium, or set MINHU_CHROMEDRIVER"
        )
    });
    let driver = Driver {
        group,
        url: format!("http://127.0.0.1:{port}"),
    };
    let address = format!("127.0.0.1:{port}");
    wait_for("chromedriver to listen", || async {
        tokio::net::TcpStream::connect(&address).await.ok()
    })
    .await;
    driver
}

/// The app of a [`TestApp`] served on a loopback port, as `minhu serve` serves it.
pub async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = minhu_web::app(app.state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{address}")
}

/// A WebDriver session on a headless Chromium, against the app at `base`.
/// The app on a real port that a test can take down and bring back on the same port
/// (the network cut and restored, as a phone in the field sees it).
pub struct Server {
    pub base: String,
    address: SocketAddr,
    app: minhu_web::AppState,
    running: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Server {
    pub async fn start(app: &TestApp) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut server = Server {
            base: format!("http://{address}"),
            address,
            app: app.state.clone(),
            running: None,
        };
        server.run(listener);
        server
    }

    fn run(&mut self, listener: tokio::net::TcpListener) {
        let router = minhu_web::app(self.app.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        self.running = Some((stop, task));
    }

    /// Stops answering: open connections are closed and the port refuses new ones.
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            tokio::time::timeout(PATIENCE, task)
                .await
                .expect("the server stops within the test's patience")
                .unwrap();
        }
    }

    /// Answers again, on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.address).await.unwrap();
        self.run(listener);
    }
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn open(base: String) -> Browser {
        let driver = start_driver().await;
        let profile = tempfile::tempdir().unwrap();
        let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let mut chrome = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        });
        if let Some(binary) = binary {
            chrome["binary"] = json!(binary);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), chrome);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("chromedriver starts a headless Chromium");
        Browser {
            client,
            base,
            _driver: driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.on_live_element(css, |field| async move {
            field.clear().await?;
            field.send_keys(text).await
        })
        .await;
    }

    pub async fn click(&self, css: &str) {
        self.on_live_element(css, |element| async move { element.click().await })
            .await;
    }

    /// Does `act` on `css` once it is on the page. A page still landing (after a form
    /// posted, say) can replace the element between finding and acting: then the new
    /// page's element is found and acted on, within [`PATIENCE`]. Other errors fail.
    async fn on_live_element<F, Fut>(&self, css: &str, act: F)
    where
        F: Fn(fantoccini::elements::Element) -> Fut,
        Fut: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        wait_for(&format!("{css} to stay on the page"), || async {
            match act(self.element(css).await).await {
                Ok(()) => Some(()),
                Err(e) if e.is_stale_element_reference() => None,
                Err(e) => panic!("{css}: {e}"),
            }
        })
        .await;
    }

    /// The text of `css` once it has some.
    pub async fn text(&self, css: &str) -> String {
        wait_for(&format!("text in {css}"), || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            let text = element.text().await.ok()?;
            (!text.trim().is_empty()).then(|| text.trim().to_owned())
        })
        .await
    }

    pub async fn script(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Runs axe-core on the page and fails on any serious or critical violation.
    pub async fn check_accessibility(&self, page: &str) {
        self.script(&format!("{AXE}\n;return true;")).await;
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(
                   r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))));",
                Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            violations,
            json!([]),
            "axe-core on {page}: serious or critical violations"
        );
    }

    /// Saves a screenshot as `NAME.png` in `MINHU_SCREENSHOTS` when that is set
    /// (the README's pictures are made so); otherwise nothing.
    pub async fn snap(&self, name: &str) {
        if let Ok(dir) = std::env::var("MINHU_SCREENSHOTS") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    /// Signs in at the login form and lands on `next`. One browser plays several
    /// officials from one address, so a test that changes hands often meets the sign-in
    /// rate limit (429, "try again in N s"): then it waits as told and signs in again,
    /// as a person would.
    pub async fn sign_in(&self, login: &str, next: &str) {
        let expected = format!("{}{next}", self.base);
        loop {
            self.goto(&format!("/login?next={next}")).await;
            self.check_accessibility("/login").await;
            self.fill("#login", login).await;
            self.fill("#password", PASSWORD).await;
            self.click("form.login button[type=submit]").await;
            let landed = wait_for(&format!("{login} to land on {next}"), || async {
                let url = self.client.current_url().await.ok()?;
                if url.as_str() == expected {
                    return Some(None);
                }
                let main = self.client.find(Locator::Css("main")).await.ok()?;
                retry_after(&main.text().await.ok()?).map(Some)
            })
            .await;
            match landed {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Signs out from the page's header, waiting out the rate limit as `sign_in` does.
    pub async fn sign_out(&self) {
        loop {
            self.click("form.logout button").await;
            let refused = wait_for("the sign-in form after signing out", || async {
                if self.client.find(Locator::Css("form.login")).await.is_ok() {
                    return Some(None);
                }
                let main = self.client.find(Locator::Css("main")).await.ok()?;
                retry_after(&main.text().await.ok()?).map(Some)
            })
            .await;
            match refused {
                None => return,
                Some(wait) => {
                    tokio::time::sleep(wait).await;
                    self.goto("/").await;
                }
            }
        }
    }

    /// Ends the WebDriver session (Chromium quits); chromedriver goes with the value.
    pub async fn close(self) {
        self.client.close().await.unwrap();
    }

    /// chromedriver and every process it started (Chromium's), running now.
    pub fn processes(&self) -> Vec<u32> {
        descendants(self._driver.group.id())
    }
}
