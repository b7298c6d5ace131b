//! Where a request came from, for the audit trail and for throttling failed
//! authentications. The peer's address, unless the peer is a proxy we were told
//! to trust (`CALLTRAIL_TRUSTED_PROXIES`): then `X-Forwarded-For`, read from the
//! right, up to the first hop that is not a trusted proxy. Anyone can write that
//! header, so without trusted proxies it is ignored.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated CIDRs or addresses (`10.0.0.0/8, 127.0.0.1`); empty is none.
    pub fn parse(spec: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("CALLTRAIL_TRUSTED_PROXIES: {item:?} is not a CIDR or an IP address")
                })?;
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    /// No proxy is trusted: `X-Forwarded-For` is never read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the peer's and the `X-Forwarded-For` values in
    /// the order they came.
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Option<IpAddr> {
        let mut client = canonical(peer?);
        if !self.trusts(client) {
            return Some(client);
        }
        let hops = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty());
        for hop in hops.rev() {
            // A hop we cannot read ends what can be believed: the last one read stands.
            let Some(ip) = parse_hop(hop) else { break };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

/// `203.0.113.7`, `2001:db8::1`, or either with a port (`[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:1.2.3.4`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.0.0.5"), &["203.0.113.7"]),
            ip("10.0.0.5")
        );
        assert_eq!(none.client(None, &["203.0.113.7"]), None);
    }

    #[test]
    fn behind_a_trusted_proxy_the_first_untrusted_hop_from_the_right_is_the_client() {
        let lb = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        // The client wrote a fake first hop; the proxies appended what they saw.
        let header = ["1.1.1.1, 203.0.113.7", "192.168.1.1"];
        assert_eq!(lb.client(ip("10.0.0.5"), &header), ip("203.0.113.7"));
        // A peer that is not a trusted proxy is believed over any header.
        assert_eq!(lb.client(ip("198.51.100.2"), &header), ip("198.51.100.2"));
        // Only proxies in the chain: the leftmost is as far as it goes.
        assert_eq!(lb.client(ip("10.0.0.5"), &["10.1.1.1"]), ip("10.1.1.1"));
        // No header: the proxy itself.
        assert_eq!(lb.client(ip("10.0.0.5"), &[]), ip("10.0.0.5"));
        // An unreadable hop stops the walk at the last trusted one.
        assert_eq!(
            lb.client(ip("10.0.0.5"), &["203.0.113.7, garbage, 10.2.2.2"]),
            ip("10.2.2.2")
        );
        assert_eq!(
            lb.client(ip("10.0.0.5"), &["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn a_mapped_ipv4_address_is_read_as_ipv4() {
        let lb = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            lb.client(ip("::ffff:127.0.0.1"), &["203.0.113.7"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_bad_entry_in_the_setting_is_named() {
        let e = TrustedProxies::parse("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(e.contains("\"proxy.internal\""), "{e}");
        assert_eq!(
            TrustedProxies::parse(" ").unwrap(),
            TrustedProxies::default()
        );
    }
}
