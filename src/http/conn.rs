//! The connection edge (SPEC 4.6). HTTP/1.1 is served with hyper directly, so that every
//! connection has a deadline for its request headers, one for its body, one for idling
//! between requests, and a slot under the connection cap. Event streams are counted per
//! client address here too.
//!
//! The cap is a semaphore taken *before* `accept`: beyond it, new connections wait in the
//! kernel's listen backlog, costing the process neither memory nor a file descriptor, and
//! are accepted as soon as a slot frees (the timeouts below guarantee that slots free).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long a client may take, and how many connections may be open (SPEC 4.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// From accepting a connection, or from the first byte of a later request, until the
    /// request's headers are complete.
    pub header_timeout: Duration,
    /// From the end of the headers until the body is complete.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this long.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 8192,
        }
    }
}

/// Event streams one client address (IPv6 per /64) may hold open at once.
pub const STREAMS_PER_CLIENT: usize = 32;

/// A request body that did not arrive within [`ServeLimits::body_timeout`].
#[derive(Debug, thiserror::Error)]
#[error("request body not received within the time limit")]
pub struct BodyTimeout;

/// Whether `e` or one of its sources is a [`BodyTimeout`].
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<BodyTimeout>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// Raises this process's open-file limit to its hard limit; returns the new soft limit.
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    // An unlimited hard limit cannot be the soft limit of open files on Linux.
    let target = now.maximum.unwrap_or(1 << 20);
    if now.current.is_some_and(|c| c >= target) {
        return now.current;
    }
    let wanted = Rlimit {
        current: Some(target),
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, wanted) {
        Ok(()) => Some(target),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            now.current
        }
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets the
/// open connections finish their requests and returns when all have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = limits.max_connections.clamp(1, 1 << 20);
    let slots = Arc::new(Semaphore::new(cap));
    let (stop_tx, stop_rx) = watch::channel(false);
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            limits.clone(),
            permit,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection returns its slot when it ends.
    let _ = slots.acquire_many(cap as u32).await;
    Ok(())
}

/// An accept error concerns one connection, except running out of descriptors or memory:
/// then pause a little instead of spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted => {
            tracing::debug!(error = %e, "accept failed");
        }
        _ => {
            tracing::warn!(error = %e, "accept failed; pausing");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Where a connection is: waiting for headers (until a deadline), handling requests, or
/// idle between requests (since an instant).
#[derive(Clone, Copy, Debug)]
enum Phase {
    Head { deadline: Instant },
    Busy { requests: usize },
    Idle { since: Instant },
}

/// One connection's phase, shared by its socket, its requests and its watchdog.
struct Watchdog {
    phase: Mutex<Phase>,
    wake: Notify,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl Watchdog {
    fn set(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        *phase = f(*phase);
    }

    /// Bytes arrived: an idle connection now has a request whose headers are due.
    fn on_read(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Head {
                deadline: Instant::now() + self.header_timeout,
            };
            drop(phase);
            self.wake.notify_one();
        }
    }

    fn request_started(&self) {
        self.set(|p| match p {
            Phase::Busy { requests } => Phase::Busy {
                requests: requests + 1,
            },
            _ => Phase::Busy { requests: 1 },
        });
    }

    fn request_finished(&self) {
        self.set(|p| match p {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        });
        self.wake.notify_one();
    }

    /// When the connection is to be closed unless its phase changes; `None` while busy.
    fn deadline(&self) -> Option<Instant> {
        match *self.phase.lock().unwrap_or_else(|p| p.into_inner()) {
            Phase::Head { deadline } => Some(deadline),
            Phase::Idle { since } => Some(since + self.idle_timeout),
            Phase::Busy { .. } => None,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Arc<ServeLimits>,
    permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let dog = Arc::new(Watchdog {
        phase: Mutex::new(Phase::Head {
            deadline: Instant::now() + limits.header_timeout,
        }),
        wake: Notify::new(),
        header_timeout: limits.header_timeout,
        idle_timeout: limits.idle_timeout,
    });
    let io = TokioIo::new(Watched {
        stream,
        dog: dog.clone(),
    });
    let body_timeout = limits.body_timeout;
    let service_dog = dog.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        let dog = service_dog.clone();
        async move {
            dog.request_started();
            let done = Finished(dog);
            let deadline = Instant::now() + body_timeout;
            let mut req = req.map(|body| {
                Body::new(DeadlineBody {
                    inner: body,
                    deadline,
                    sleep: None,
                })
            });
            req.extensions_mut().insert(ConnectInfo(peer));
            let res = match router.oneshot(req).await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(res.map(|body| Guarded {
                inner: body,
                _done: done,
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our watchdog keeps the header deadline (hyper's would also close idle keep-alive
    // connections after the header timeout).
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let deadline = dog.deadline();
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = sleep_until(deadline) => {
                if dog.deadline().is_some_and(|d| d <= Instant::now()) {
                    // Dropping the connection closes the socket.
                    tracing::debug!(%peer, "closing a slow or idle connection");
                    break;
                }
            }
            _ = dog.wake.notified() => {}
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(permit);
}

/// Marks the request finished when its response is done (or abandoned).
struct Finished(Arc<Watchdog>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The socket, telling the watchdog when bytes arrive.
struct Watched {
    stream: TcpStream,
    dog: Arc<Watchdog>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.dog.on_read();
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes. The timer is
/// made only when the body is first waited for.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that tells the watchdog when it is done.
struct Guarded {
    inner: Body,
    _done: Finished,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Event streams held per client address; a slot is returned when its stream ends.
#[derive(Debug, Default)]
pub struct StreamSlots {
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One held event stream.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    client: IpAddr,
}

impl StreamSlots {
    /// A slot for `client` (already keyed, e.g. IPv6 per /64), or `None` when it holds
    /// [`STREAMS_PER_CLIENT`] streams.
    pub fn acquire(self: &Arc<Self>, client: IpAddr) -> Option<StreamSlot> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(client).or_default();
        if *n >= STREAMS_PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            slots: self.clone(),
            client,
        })
    }

    /// Streams `client` holds now.
    pub fn held(&self, client: IpAddr) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(&client).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_slots_are_counted_per_client_and_returned() {
        let slots = Arc::new(StreamSlots::default());
        let a: IpAddr = "203.0.113.1".parse().expect("ip");
        let b: IpAddr = "203.0.113.2".parse().expect("ip");
        let held: Vec<StreamSlot> = (0..STREAMS_PER_CLIENT)
            .map(|_| slots.acquire(a).expect("under the limit"))
            .collect();
        assert!(slots.acquire(a).is_none());
        assert!(slots.acquire(b).is_some());
        drop(held);
        assert_eq!(slots.held(a), 0);
        assert!(slots.acquire(a).is_some());
    }

    #[test]
    fn finds_a_body_timeout_among_the_sources() {
        let wrapped = axum::Error::new(BodyTimeout);
        assert!(is_body_timeout(&wrapped));
        let other = axum::Error::new(std::io::Error::other("x"));
        assert!(!is_body_timeout(&other));
    }
}
