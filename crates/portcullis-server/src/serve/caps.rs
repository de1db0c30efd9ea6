//! The connection caps: how many connections one client address, and everyone together, may
//! hold open. A connection takes a [`Slot`] at accept, before anything is read from it, and
//! gives it back when its socket closes (for a WebSocket, when the socket ends, since the
//! slot travels with the upgraded stream).
//!
//! The per-address table holds only addresses with an open connection: an entry goes when its
//! count reaches zero, so a scan from many addresses leaves nothing behind.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use crate::telemetry::connections as metrics;

/// Why a connection was refused, as the refusal metric labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address already holds `max_per_ip` connections.
    PerIp,
    /// The server already holds `max_total` connections.
    Total,
}

impl Refusal {
    /// The metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refusal::PerIp => "per_ip",
            Refusal::Total => "total",
        }
    }
}

/// The caps and the connections counted against them.
#[derive(Debug)]
pub(crate) struct Caps {
    max_per_ip: u32,
    max_total: u32,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: u32,
    by_client: HashMap<IpAddr, u32>,
}

impl Caps {
    pub(crate) fn new(max_per_ip: u32, max_total: u32) -> Arc<Self> {
        Arc::new(Self {
            max_per_ip,
            max_total,
            open: Mutex::new(Open::default()),
        })
    }

    /// Counts a new connection from `ip`, or says which cap it would exceed.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let client = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let count = open.by_client.entry(client).or_insert(0);
        if *count >= self.max_per_ip {
            return Err(Refusal::PerIp);
        }
        *count += 1;
        open.total += 1;
        metrics::opened();
        Ok(Slot {
            caps: Arc::clone(self),
            client,
        })
    }

    fn release(&self, client: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_client.get_mut(&client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.by_client.remove(&client);
            }
        }
        metrics::closed();
    }

    /// Connections open now, and how many addresses hold them.
    #[cfg(test)]
    fn counts(&self) -> (u32, usize) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        (open.total, open.by_client.len())
    }
}

/// One admitted connection; dropping it gives its place back.
#[derive(Debug)]
pub(crate) struct Slot {
    caps: Arc<Caps>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.caps.release(self.client);
    }
}

/// The key a client is counted under: an IPv4 address (also when written IPv4-mapped), or
/// the /64 network of an IPv6 address, since a single host is routinely given a whole /64
/// and could otherwise open each connection from a fresh address.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let network = v6.to_bits() & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from_bits(network))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_per_ip_cap_refuses_only_that_address() {
        let caps = Caps::new(2, 10);
        let a = [
            caps.admit(ip("10.0.0.1")).unwrap(),
            caps.admit(ip("10.0.0.1")).unwrap(),
        ];
        assert_eq!(caps.admit(ip("10.0.0.1")).unwrap_err(), Refusal::PerIp);
        let b = caps.admit(ip("10.0.0.2")).unwrap();
        drop(a);
        assert!(caps.admit(ip("10.0.0.1")).is_ok());
        drop(b);
    }

    #[test]
    fn the_total_cap_refuses_everyone() {
        let caps = Caps::new(5, 3);
        let held: Vec<_> = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
            .into_iter()
            .map(|a| caps.admit(ip(a)).unwrap())
            .collect();
        assert_eq!(caps.admit(ip("10.0.0.4")).unwrap_err(), Refusal::Total);
        drop(held);
        assert!(caps.admit(ip("10.0.0.4")).is_ok());
    }

    #[test]
    fn closed_connections_leave_no_entry_behind() {
        let caps = Caps::new(4, 100_000);
        for i in 0..5000u32 {
            let [_, _, hi, lo] = i.to_be_bytes();
            let slot = caps.admit(IpAddr::from([10, 1, hi, lo])).unwrap();
            drop(slot);
        }
        assert!(caps.admit(ip("10.0.0.9")).is_ok());
        assert_eq!(caps.counts(), (0, 0));
    }

    #[test]
    fn ipv6_counts_by_network_and_mapped_ipv4_as_ipv4() {
        let caps = Caps::new(1, 10);
        let _first = caps.admit(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            caps.admit(ip("2001:db8:1:2:ffff::7")).unwrap_err(),
            Refusal::PerIp
        );
        let _other_network = caps.admit(ip("2001:db8:1:3::1")).unwrap();
        let _v4 = caps.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(
            caps.admit(ip("::ffff:192.0.2.1")).unwrap_err(),
            Refusal::PerIp
        );
        assert_eq!(caps.counts(), (3, 3));
    }
}
