//! Admission and idle time-out of TCP connections, before TLS.
//!
//! Without these, anyone who can reach the port holds connections open for ever (a TLS
//! handshake, or half a request, then silence) until the process runs out of descriptors.
//! Each accepted connection takes a place in a global count and in its address's count; a
//! connection over either cap is closed at once. A connection on which nothing is read or
//! written for `idle` is closed (hyper's header-read time-out covers slow headers on
//! HTTP/1; this also covers the TLS handshake's silence, HTTP/2 and idle keep-alive).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Counts of open connections, in all and per address.
pub struct ConnectionLimits {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_address,
            open: Mutex::new(Counts::default()),
        })
    }

    /// A place for a connection from `ip`, or `None` when a cap is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = open.by_address.get(&ip).copied().unwrap_or(0);
        if open.total >= self.max_total || from_ip >= self.max_per_address {
            return None;
        }
        open.total += 1;
        open.by_address.insert(ip, from_ip + 1);
        Some(ConnectionPermit {
            limits: self.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

/// Held for a connection's life; gives its place back when dropped.
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

/// The acceptor: admits or closes, sets `TCP_NODELAY` (a TLS answer is several records;
/// without it Nagle and the client's delayed ACK add ~40 ms), and wraps the stream with the
/// idle time-out.
#[derive(Clone)]
pub struct GuardedAcceptor {
    limits: Arc<ConnectionLimits>,
    idle: Duration,
}

impl GuardedAcceptor {
    pub fn new(limits: Arc<ConnectionLimits>, idle: Duration) -> GuardedAcceptor {
        GuardedAcceptor { limits, idle }
    }
}

impl<S> Accept<TcpStream, S> for GuardedAcceptor {
    type Stream = GuardedStream<TcpStream>;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Self::Stream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream
            .peer_addr()
            .ok()
            .and_then(|peer| self.limits.admit(peer.ip()));
        let Some(permit) = admitted else {
            // Dropping the stream closes it: the cheapest answer to a flood.
            return std::future::ready(Err(io::Error::other("connection limit reached")));
        };
        if let Err(e) = stream.set_nodelay(true) {
            return std::future::ready(Err(e));
        }
        std::future::ready(Ok((GuardedStream::new(stream, permit, self.idle), service)))
    }
}

/// A stream that fails with `TimedOut` once nothing has moved either way for `idle`.
pub struct GuardedStream<T> {
    inner: T,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    _permit: ConnectionPermit,
}

impl<T> GuardedStream<T> {
    fn new(inner: T, permit: ConnectionPermit, idle: Duration) -> Self {
        GuardedStream {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            _permit: permit,
        }
    }

    fn moved(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// On `Pending`, whether the idle deadline has passed (then the connection ends).
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle too long")
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedStream<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // A client that stops reading our answer is as idle as one that stops writing.
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_per_address_and_in_all_and_places_come_back() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = "127.0.0.2".parse().expect("ip");
        let b: IpAddr = "127.0.0.1".parse().expect("ip");
        let a1 = limits.admit(a).expect("first");
        let _a2 = limits.admit(a).expect("second");
        assert!(limits.admit(a).is_none(), "third from one address");
        let _b1 = limits.admit(b).expect("other address");
        assert!(limits.admit(b).is_none(), "total cap");
        drop(a1);
        assert_eq!(limits.open(), 2);
        assert!(limits.admit(b).is_some());
    }
}
