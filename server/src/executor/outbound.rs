//! Outbound safety (SSRF). Calls may not reach loopback, private, link-local
//! (169.254.169.254 included), CGNAT, benchmarking, documentation (TEST-NET),
//! IETF-reserved, unique-local, site-local, multicast or unspecified addresses,
//! nor the IPv6 forms that lead back into IPv4 (mapped, compatible, NAT64,
//! 6to4, Teredo) — checked after DNS resolution, inside the client's resolver,
//! so every connection passes it. Redirects are not followed, and proxies from
//! the environment (`HTTP(S)_PROXY`, `ALL_PROXY`) are ignored: a proxy resolves
//! names itself, where the guard never sees them. `CALLTRAIL_OUTBOUND_PROXY`
//! names a proxy explicitly, at that cost. `CALLTRAIL_OUTBOUND_ALLOW` (CIDRs or
//! host names) opens exceptions for tests and on-premises providers; it is
//! empty by default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why the guard will not let a call out. Every refusal is final: the same
/// address is refused again, so a refused call is never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The URL names a refused address itself.
    #[error("blocked: {ip} is {why}")]
    Address { ip: IpAddr, why: &'static str },
    /// The host's name resolves to a refused address (and to no allowed one).
    #[error("blocked: {host} resolves to {ip} ({why})")]
    Resolved {
        host: String,
        ip: IpAddr,
        why: &'static str,
    },
    #[error("the URL has no host")]
    NoHost,
}

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
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        let refuse = |ip: IpAddr| match self.refuse(ip) {
            Some(why) => Err(Refusal::Address { ip, why }),
            None => Ok(()),
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) => refuse(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => refuse(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(Refusal::NoHost),
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
                return blocked_v4(low_v4(&seg)).map(|_| "an IPv4-compatible private address");
            }
            blocked_v6(v6)
        }
    }
}

/// The IPv4 address in the last 32 bits of an IPv6 address.
fn low_v4(seg: &[u16; 8]) -> Ipv4Addr {
    Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    )
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
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("a benchmarking network (198.18.0.0/15)")
    } else if o[..3] == [192, 0, 0] {
        Some("IETF protocol assignments (192.0.0.0/24)")
    } else if o[..3] == [192, 0, 2] || o[..3] == [198, 51, 100] || o[..3] == [203, 0, 113] {
        Some("a documentation network (TEST-NET)")
    } else {
        None
    }
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    let first = seg[0];
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
    } else if first & 0xffc0 == 0xfec0 {
        Some("site-local (fec0::/10)")
    } else if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || seg[..3] == [0x64, 0xff9b, 1] {
        // NAT64 translates to any IPv4 address, internal ones included, on the
        // translator's side of the network: refused whole.
        Some("NAT64 (64:ff9b::/96, 64:ff9b:1::/48)")
    } else if first == 0x2001 && seg[1] == 0 {
        // Teredo hides its IPv4 end behind a relay and an obfuscated address.
        Some("Teredo (2001::/32)")
    } else if first == 0x2001 && seg[1] == 0x0db8 {
        Some("a documentation network (2001:db8::/32)")
    } else if first == 0x2002 {
        // 6to4 carries the IPv4 address of its end in bits 16..48; a relay
        // delivers to that address. Refused when that address would be (a
        // public one is as reachable as it is over IPv4).
        let v4 = Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        );
        blocked_v4(v4).map(|_| "6to4 (2002::/16) around a refused IPv4 address")
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
                        refused = Some(Refusal::Resolved {
                            host: host.clone(),
                            ip: a.ip(),
                            why,
                        });
                        false
                    }
                    None => true,
                })
                .collect();
            if ok.is_empty() {
                // The refusal travels typed through reqwest's error chain; the
                // sender finds it there (`deliver::SendError`).
                return Err(match refused {
                    Some(refusal) => Box::new(refusal) as Box<dyn std::error::Error + Send + Sync>,
                    None => format!("{host} did not resolve").into(),
                });
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

/// The one HTTP client of the process: pooled, no redirects, SSRF-guarded.
/// It goes direct unless `proxy` names a proxy (`CALLTRAIL_OUTBOUND_PROXY`):
/// proxies in the environment are ignored, because a proxy resolves the
/// provider's name itself and the guard would never see where it leads.
pub fn client(allow: Arc<AllowList>, proxy: Option<&url::Url>) -> reqwest::Client {
    // The proxy itself is named by the operator; it often lives on a private network.
    let allow = match proxy.and_then(|p| p.domain()) {
        Some(host) => {
            let mut with_proxy = (*allow).clone();
            with_proxy.hosts.push(host.to_ascii_lowercase());
            Arc::new(with_proxy)
        }
        None => allow,
    };
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver { allow }))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("Calltrail/", env!("CARGO_PKG_VERSION")));
    let builder = match proxy {
        Some(url) => builder.proxy(
            reqwest::Proxy::all(url.as_str()).expect("a parsed URL is a valid proxy address"),
        ),
        None => builder.no_proxy(),
    };
    builder.build().expect("the HTTP client builds")
}

/// `CALLTRAIL_OUTBOUND_PROXY`: empty for none, or an http:// or https:// URL.
pub fn parse_proxy(spec: &str) -> Result<Option<url::Url>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(None);
    }
    match url::Url::parse(spec) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https") && u.host().is_some() =>
        {
            Ok(Some(u))
        }
        _ => Err(format!(
            "CALLTRAIL_OUTBOUND_PROXY: {spec:?} is not a proxy URL such as http://proxy.internal:3128"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the guard lets the executor call `url`.
    fn callable(allow: &AllowList, url: &str) -> bool {
        allow.check_url(&url::Url::parse(url).unwrap()).is_ok()
    }

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
            assert!(!callable(&none, url), "{url} slipped through");
        }
        for url in [
            "http://93.184.216.34/",
            "http://[2606:2800:220:1::1]/",
            "https://api.stripe.com/",
        ] {
            assert!(callable(&none, url), "{url}");
        }
    }

    fn refused(ip: &str) -> Option<&'static str> {
        blocked_reason(ip.parse().unwrap())
    }

    #[test]
    fn benchmarking_ietf_and_documentation_networks_are_refused() {
        for ip in [
            "198.18.0.1",
            "198.19.255.254",
            "192.0.0.8",
            "192.0.0.170",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.200",
            "2001:db8::1",
            "2001:db8:ffff::1",
        ] {
            assert!(refused(ip).is_some(), "{ip} slipped through");
        }
        // Their neighbours are public.
        for ip in [
            "198.17.255.255",
            "198.20.0.1",
            "192.0.1.1",
            "192.0.3.1",
            "198.51.101.1",
        ] {
            assert_eq!(refused(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn nat64_teredo_and_site_local_addresses_are_refused_whatever_they_carry() {
        for ip in [
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::808:808",   // NAT64 of a public address: still refused
            "64:ff9b:1::1",
            "64:ff9b:1:ffff::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "feff::1",
        ] {
            assert!(refused(ip).is_some(), "{ip} slipped through");
        }
        // Outside those prefixes: a public IPv6 address in 2001::/16 stays callable.
        assert_eq!(refused("2001:4860:4860::8888"), None);
        assert_eq!(refused("64:ff9b:2::1"), None);
    }

    #[test]
    fn a_6to4_address_is_refused_when_the_ipv4_address_it_carries_is() {
        assert!(refused("2002:7f00:1::1").is_some(), "6to4 of 127.0.0.1");
        assert!(
            refused("2002:a9fe:a9fe::1").is_some(),
            "6to4 of 169.254.169.254"
        );
        assert!(refused("2002:c0a8:101::1").is_some(), "6to4 of 192.168.1.1");
        assert!(refused("2002:c000:210::1").is_some(), "6to4 of 192.0.2.16");
        assert_eq!(refused("2002:808:808::1"), None, "6to4 of 8.8.8.8");
    }

    #[test]
    fn literal_urls_in_the_new_ranges_are_refused_before_any_connection() {
        let none = AllowList::default();
        for url in [
            "http://198.18.0.1/",
            "http://192.0.0.1/",
            "http://192.0.2.1/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::1]/",
            "http://[2001::1]/",
            "http://[fec0::1]/",
            "http://[2001:db8::1]/",
        ] {
            assert!(!callable(&none, url), "{url} slipped through");
        }
    }

    #[test]
    fn the_proxy_setting_is_empty_or_an_http_url() {
        assert_eq!(parse_proxy("").unwrap(), None);
        assert_eq!(
            parse_proxy("http://proxy.internal:3128")
                .unwrap()
                .unwrap()
                .as_str(),
            "http://proxy.internal:3128/"
        );
        assert!(parse_proxy("proxy.internal:3128").is_err());
        assert!(parse_proxy("ftp://proxy.internal").is_err());
    }

    #[test]
    fn a_refused_address_says_what_it_is_in_words() {
        let none = AllowList::default();
        let refusal = none
            .check_url(&url::Url::parse("http://169.254.169.254/latest").unwrap())
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "blocked: 169.254.169.254 is link-local (cloud metadata lives here)"
        );
    }

    #[test]
    fn the_allow_list_opens_exactly_what_it_names() {
        let allow = AllowList::parse("127.0.0.0/8, ::1, provider.internal").unwrap();
        assert!(callable(&allow, "http://127.0.0.1:9/"));
        assert!(callable(&allow, "http://[::1]:9/"));
        assert!(!callable(&allow, "http://10.0.0.1/"));
        assert!(allow.allows_host("Provider.Internal"));
        assert!(AllowList::parse("not a/cidr!").is_err());
    }
}
