//! Serving the router on a TCP listener, with the defences of the connection itself:
//! a time limit on reading a request's headers (slow-header attacks; a kept-alive
//! connection waiting for its next request counts too), a time limit on a connection
//! where no byte moves either way, at most so many connections per client address, and
//! the client's address for the rate limits and the audit log: the peer's, or the one
//! a trusted reverse proxy names in `X-Forwarded-For`.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// How connections are served.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The longest a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// The longest a connection may stay with no byte read or written.
    pub idle_timeout: Duration,
    /// Connections one client address may hold at once (trusted proxies: no limit).
    pub max_connections_per_address: usize,
    pub trusted_proxies: TrustedProxies,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections_per_address: 64,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (`MINHU_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Comma-separated CIDRs (`10.0.0.0/8, 2001:db8::/32`) or single addresses; an
    /// error names the variable and the entry.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let wrong = || {
                format!(
                    "MINHU_TRUSTED_PROXIES (--trusted-proxies): {entry:?} is not an address or \
                     a CIDR; write e.g. 10.0.0.0/8,192.168.1.5,2001:db8::/32"
                )
            };
            let (address, bits) = match entry.split_once('/') {
                Some((address, bits)) => (address, Some(bits)),
                None => (entry, None),
            };
            let ip: IpAddr = address.parse().map_err(|_| wrong())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(bits) => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(wrong)?,
                None => max,
            };
            nets.push((ip.to_canonical(), bits));
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(net, bits)| match (net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*net) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }

    /// The client of a request that came from `peer`: the peer itself unless it is a
    /// trusted proxy; then, reading `X-Forwarded-For` from the right (each proxy
    /// appends the address it saw), the first address that is not a trusted proxy. A
    /// client can write anything at the left of the header, so nothing left of that
    /// address is believed; an entry that is no address stops the walk.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.into_iter().rev() {
            if !self.contains(client) {
                break;
            }
            let Some(ip) = hop
                .parse::<IpAddr>()
                .ok()
                .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
            else {
                break;
            };
            client = ip.to_canonical();
        }
        client
    }
}

/// The client's address as the server worked it out (see [`TrustedProxies::client`]),
/// for the rate limits and the audit log.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// Connections open per client address.
type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One of an address's connections; gives its place back when dropped.
struct Slot {
    counts: Counts,
    ip: IpAddr,
}

impl Slot {
    fn take(counts: &Counts, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut map = counts.lock().unwrap_or_else(|e| e.into_inner());
        let open = map.entry(ip).or_default();
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(Slot {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = map.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// What a refused connection reads before it is closed.
const TOO_MANY_CONNECTIONS: &str = "{\"error\":{\"code\":\"too_many_connections\",\"field\":null,\
     \"message\":\"too many connections from your address; close some and try again\"}}";

/// Serves `router` on `listener` until `shutdown` completes, then lets the open
/// connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let options = Arc::new(options);
    let counts: Counts = Arc::default();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    // Each connection holds a sender; when all are dropped, every connection is done.
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment, go on.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = peer.ip().to_canonical();
        let trusted = options.trusted_proxies.contains(ip);
        // A proxy carries many clients on its connections: it is not counted.
        let slot = if trusted {
            None
        } else {
            match Slot::take(&counts, ip, options.max_connections_per_address) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!(%ip, "connection refused: too many from this address");
                    tokio::spawn(refuse(stream));
                    continue;
                }
            }
        };
        let connection = Connection {
            router: router.clone(),
            options: options.clone(),
            peer,
            trusted,
        };
        let (stopping, open) = (stopping.clone(), open.clone());
        tokio::spawn(async move {
            connection.run(stream, stopping).await;
            drop((slot, open));
        });
    }
    let _ = stop.send(true);
    drop(open);
    all_closed.recv().await;
    Ok(())
}

/// Answers 503 and closes, without reading the request.
async fn refuse(mut stream: TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{TOO_MANY_CONNECTIONS}",
        TOO_MANY_CONNECTIONS.len()
    );
    let write = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

struct Connection {
    router: Router,
    options: Arc<ServeOptions>,
    peer: SocketAddr,
    trusted: bool,
}

impl Connection {
    async fn run(self, stream: TcpStream, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let started = tokio::time::Instant::now();
        let last = Arc::new(AtomicU64::new(0));
        let io = Watched {
            inner: stream,
            started,
            last: last.clone(),
        };
        let Connection {
            router,
            options,
            peer,
            trusted,
        } = self;
        let proxies = options.trusted_proxies.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let client = if trusted {
                proxies.client(peer.ip(), request.headers())
            } else {
                peer.ip().to_canonical()
            };
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(ClientAddr(client));
            router.clone().oneshot(request)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_read_timeout)
            .serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let idle = options.idle_timeout;
        let mut stopped = false;
        loop {
            tokio::select! {
                _ = connection.as_mut() => return,
                () = idle_for(idle, started, &last) => {
                    tracing::debug!(%peer, "closing a connection idle for {idle:?}");
                    return;
                }
                _ = stopping.changed(), if !stopped => {
                    stopped = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Completes once no byte has moved for `idle`.
async fn idle_for(idle: Duration, started: tokio::time::Instant, last: &AtomicU64) {
    loop {
        let moved = started + Duration::from_millis(last.load(Ordering::Relaxed));
        let quiet = moved.elapsed();
        if quiet >= idle {
            return;
        }
        tokio::time::sleep(idle - quiet).await;
    }
}

/// A stream that notes when a byte last moved either way.
struct Watched {
    inner: TcpStream,
    started: tokio::time::Instant,
    /// Milliseconds after `started`.
    last: Arc<AtomicU64>,
}

impl Watched {
    fn moved(&self) {
        let now = self.started.elapsed().as_millis();
        self.last
            .store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_parse_and_name_a_bad_entry() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.5 ,2001:db8::/32,").unwrap();
        assert!(proxies.contains("10.200.3.4".parse().unwrap()));
        assert!(proxies.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(proxies.contains("192.168.1.5".parse().unwrap()));
        assert!(!proxies.contains("192.168.1.6".parse().unwrap()));
        assert!(proxies.contains("2001:db8::7".parse().unwrap()));
        assert!(!proxies.contains("11.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "proxy.example", "10.0.0.0/x", "::/129"] {
            let error = TrustedProxies::parse(&format!("10.0.0.1,{bad}")).unwrap_err();
            assert!(error.contains("MINHU_TRUSTED_PROXIES"), "{error}");
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_names_it() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.0.0.2".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        // Through two trusted proxies: the first untrusted hop from the right.
        assert_eq!(
            proxies.client(proxy, &headers),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // Not from a trusted proxy: the header is the client's own word.
        assert_eq!(proxies.client(stranger, &headers), stranger);
        assert_eq!(TrustedProxies::default().client(proxy, &headers), proxy);
        // Nothing to read: the proxy itself.
        assert_eq!(proxies.client(proxy, &HeaderMap::new()), proxy);
        headers.insert("x-forwarded-for", "junk".parse().unwrap());
        assert_eq!(proxies.client(proxy, &headers), proxy);
    }
}
