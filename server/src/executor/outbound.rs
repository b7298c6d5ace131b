//! Outbound safety (SSRF). Calls may not reach loopback, private, link-local
//! (169.254.169.254 included), CGNAT, unique-local, multicast or unspecified
//! addresses, nor IPv4-mapped/compatible forms of them — checked after DNS
//! resolution, inside the client's resolver, so every connection passes it.
//! Redirects are not followed. `CALLTRAIL_OUTBOUND_ALLOW` (CIDRs or host names)
//! opens exceptions for tests and on-premises providers; it is empty by default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

#[derive(Debug, Clone, Default)]
pub struct AllowList {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl AllowList {
    /// Comma- or space-separated CIDRs, addresses and host names.
    pub fn parse(spec: &str) -> Result<AllowList, String> {
        let mut list = AllowList::default();
        for item in spec
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if let Ok(net) = item.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                list.hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "CALLTRAIL_OUTBOUND_ALLOW: {item:?} is not a CIDR or host"
                ));
            }
        }
        Ok(list)
    }

    fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Why an address may not be called, or None when it may.
    pub fn refuse(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allows_ip(ip) {
            return None;
        }
        blocked_reason(ip)
    }

    /// The host of a URL: a literal address is checked here (the resolver never sees it);
    /// a name is checked by the resolver after DNS.
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        let refuse = |ip: IpAddr| match self.refuse(ip) {
            Some(why) => Err(format!("blocked: {ip} is {why}")),
            None => Ok(()),
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) => refuse(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => refuse(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err("the URL has no host".into()),
        }
    }
}

pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return blocked_v4(v4).map(|_| "an IPv4-mapped private address");
            }
            let seg = v6.segments();
            // IPv4-compatible ::a.b.c.d (deprecated, but still routed by some stacks).
            if seg[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                return blocked_v4(v4).map(|_| "an IPv4-compatible private address");
            }
            blocked_v6(v6)
        }
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata lives here)")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("carrier-grade NAT (100.64.0.0/10)")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_multicast() || ip.is_broadcast() || o[0] >= 240 {
        Some("multicast or reserved")
    } else {
        None
    }
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local (fc00::/7)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local (fe80::/10)")
    } else {
        None
    }
}

/// DNS through the guard: names resolving only to refused addresses fail to resolve.
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if allow.allows_host(&host) {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let mut refused = None;
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match allow.refuse(a.ip()) {
                    Some(why) => {
                        refused = Some(format!("blocked: {host} resolves to {} ({why})", a.ip()));
                        false
                    }
                    None => true,
                })
                .collect();
            if ok.is_empty() {
                let msg = refused.unwrap_or_else(|| format!("{host} did not resolve"));
                return Err(msg.into());
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

/// The one HTTP client of the process: pooled, no redirects, SSRF-guarded.
pub fn client(allow: Arc<AllowList>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver { allow }))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("Calltrail/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        let none = AllowList::default();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::127.0.0.1]/",
            "http://[ff02::1]/",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert!(none.check_url(&parsed).is_err(), "{url} slipped through");
        }
        for url in [
            "http://93.184.216.34/",
            "http://[2606:2800:220:1::1]/",
            "https://api.stripe.com/",
        ] {
            assert!(
                none.check_url(&url::Url::parse(url).unwrap()).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn the_allow_list_opens_exactly_what_it_names() {
        let allow = AllowList::parse("127.0.0.0/8, ::1, provider.internal").unwrap();
        assert!(allow
            .check_url(&url::Url::parse("http://127.0.0.1:9/").unwrap())
            .is_ok());
        assert!(allow
            .check_url(&url::Url::parse("http://[::1]:9/").unwrap())
            .is_ok());
        assert!(allow
            .check_url(&url::Url::parse("http://10.0.0.1/").unwrap())
            .is_err());
        assert!(allow.allows_host("Provider.Internal"));
        assert!(AllowList::parse("not a/cidr!").is_err());
    }
}
