//! TCP to a name with several addresses, as RFC 8305 (Happy Eyeballs v2)
//! describes: the addresses interleaved by family (the resolver's order
//! first), a new attempt every 250 ms or as soon as one fails, the first
//! to connect wins and the others are closed; all within one deadline,
//! resolution included.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// RFC 8305 section 5's recommended Connection Attempt Delay.
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Why `connect` failed.
#[derive(Debug)]
pub enum Failure {
    Resolve(io::Error),
    /// The deadline passed (while resolving: `resolving` is true).
    TimedOut {
        resolving: bool,
    },
    NoAddresses,
    /// Every address refused or failed; the last error.
    Refused(io::Error),
}

/// Resolve `host`:`port` and race its addresses until `deadline`.
pub fn connect(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<(OwnedFd, SocketAddr), Failure> {
    let addrs = resolve(host, port, deadline)?;
    race(&interleave(addrs), deadline)
}

/// getaddrinfo cannot be interrupted: it runs on a thread of its own,
/// which is left to finish alone when the deadline passes.
fn resolve(host: &str, port: u16, deadline: Option<Instant>) -> Result<Vec<SocketAddr>, Failure> {
    // Literal addresses need no thread.
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("psftp-resolve".into())
        .spawn(move || {
            let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        })
        .map_err(Failure::Resolve)?;
    let got = match deadline {
        None => rx.recv().map_err(|_| Failure::NoAddresses)?,
        Some(d) => rx
            .recv_timeout(d.saturating_duration_since(Instant::now()))
            .map_err(|_| Failure::TimedOut { resolving: true })?,
    };
    got.map_err(Failure::Resolve)
}

/// RFC 8305 section 4: alternate the families, starting with the family
/// of the resolver's first answer (RFC 6724 sorted it).
pub fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return addrs;
    };
    let first_v6 = first.is_ipv6();
    let (mut a, mut b): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().partition(|x| x.is_ipv6() == first_v6);
    a.reverse();
    b.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    while !a.is_empty() || !b.is_empty() {
        out.extend(a.pop());
        out.extend(b.pop());
    }
    out
}

/// Staggered non-blocking connects; the first to finish wins.
fn race(addrs: &[SocketAddr], deadline: Option<Instant>) -> Result<(OwnedFd, SocketAddr), Failure> {
    let mut pending: Vec<(OwnedFd, SocketAddr)> = Vec::new();
    let mut next = 0;
    let mut next_at = Instant::now();
    let mut last_err = None;
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(Failure::TimedOut { resolving: false });
        }
        if next < addrs.len() && (now >= next_at || pending.is_empty()) {
            let addr = addrs[next];
            next += 1;
            next_at = now + ATTEMPT_DELAY;
            match start(&addr) {
                Ok((fd, true)) => return finish(fd, addr),
                Ok((fd, false)) => pending.push((fd, addr)),
                Err(e) => last_err = Some(e),
            }
            continue;
        }
        if pending.is_empty() {
            return Err(last_err.map_or(Failure::NoAddresses, Failure::Refused));
        }
        let mut wake = deadline;
        if next < addrs.len() {
            wake = Some(wake.map_or(next_at, |w| w.min(next_at)));
        }
        let ms = wake.map_or(-1, |w| {
            w.saturating_duration_since(now)
                .as_millis()
                .clamp(1, i32::MAX as u128) as i32
        });
        let mut fds: Vec<libc::pollfd> = pending
            .iter()
            .map(|(fd, _)| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            })
            .collect();
        // SAFETY: poll writes only the revents of the entries of `fds`,
        // whose length it is given.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if rc <= 0 {
            continue;
        }
        for i in (0..fds.len()).rev() {
            if fds[i].revents == 0 {
                continue;
            }
            let (fd, addr) = pending.swap_remove(i);
            match socket_error(&fd) {
                None => return finish(fd, addr),
                Some(e) => {
                    last_err = Some(e);
                    // A failure starts the next attempt at once.
                    next_at = Instant::now();
                }
            }
        }
    }
}

/// A non-blocking connect to `addr`: the socket, and whether it is
/// already connected.
fn start(addr: &SocketAddr) -> io::Result<(OwnedFd, bool)> {
    let domain = if addr.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    // SAFETY: plain socket creation; the descriptor is owned at once.
    let raw = unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a sockaddr of `len` bytes for the family.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            &storage as *const libc::sockaddr_storage as *const libc::sockaddr,
            len,
        )
    };
    if rc == 0 {
        return Ok((fd, true));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        Ok((fd, false))
    } else {
        Err(e)
    }
}

/// The outcome of a finished non-blocking connect (None: connected).
fn socket_error(fd: &OwnedFd) -> Option<io::Error> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes (a c_int) into `err`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut err as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Some(io::Error::last_os_error());
    }
    (err != 0).then(|| io::Error::from_raw_os_error(err))
}

/// The winner, blocking again (as a connected TcpStream would be) and
/// without Nagle's delay.
fn finish(fd: OwnedFd, addr: SocketAddr) -> Result<(OwnedFd, SocketAddr), Failure> {
    let stream = std::net::TcpStream::from(fd);
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    Ok((OwnedFd::from(stream), addr))
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large and aligned enough for
            // any sockaddr.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_alternate_by_family_starting_with_the_resolvers_first() {
        let a: Vec<SocketAddr> = [
            "[::1]:22",
            "[::2]:22",
            "[::3]:22",
            "1.1.1.1:22",
            "2.2.2.2:22",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let got: Vec<String> = interleave(a).iter().map(|x| x.to_string()).collect();
        assert_eq!(
            got,
            [
                "[::1]:22",
                "1.1.1.1:22",
                "[::2]:22",
                "2.2.2.2:22",
                "[::3]:22"
            ]
        );
        let b: Vec<SocketAddr> = ["1.1.1.1:22", "[::1]:22"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let got: Vec<String> = interleave(b).iter().map(|x| x.to_string()).collect();
        assert_eq!(got, ["1.1.1.1:22", "[::1]:22"]);
    }

    #[test]
    fn a_refused_address_hands_over_to_the_next_at_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        // A port nothing listens on (bound then closed): refused at once.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let t = Instant::now();
        let (_fd, won) = race(&[closed, good], Some(t + Duration::from_secs(5))).unwrap();
        assert_eq!(won, good);
        assert!(t.elapsed() < ATTEMPT_DELAY, "{:?}", t.elapsed());
    }
}
