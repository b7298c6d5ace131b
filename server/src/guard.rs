//! Which host names the server answers to (DNS rebinding), and whether a
//! browser request comes from our own pages (cross-site request forgery).

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::ApiError;

/// One allowed `host[:port]`; without a port, any port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostName {
    host: String,
    port: Option<u16>,
}

/// Split `host[:port]` (`[::1]:3000`, `example.com`), lowercased.
fn parse_host(text: &str) -> Option<HostName> {
    let text = text.trim().to_ascii_lowercase();
    if text.is_empty() {
        return None;
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (format!("[{inside}]"), port)
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p.parse().ok()?)),
            Some(_) => return None,
            None => (text.clone(), None),
        }
    };
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':'));
    ok.then_some(HostName { host, port })
}

/// The host names this server answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    names: Vec<HostName>,
}

impl AllowedHosts {
    /// The listen address (unless it is a wildcard), `localhost`, `127.0.0.1`
    /// and `[::1]` on its port, the public URL's host, and `extra`
    /// (`CALLTRAIL_ALLOWED_HOSTS`: `host` or `host:port`, comma separated).
    pub fn new(
        listen: SocketAddr,
        public_url: Option<&url::Url>,
        extra: &str,
    ) -> Result<AllowedHosts, String> {
        let port = Some(listen.port());
        let mut names = vec![];
        if !listen.ip().is_unspecified() {
            let host = match listen {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            };
            names.push(HostName { host, port });
        }
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            names.push(HostName {
                host: host.into(),
                port,
            });
        }
        if let Some(url) = public_url {
            let host = url
                .host_str()
                .ok_or("CALLTRAIL_PUBLIC_URL needs a host name")?;
            names.push(HostName {
                host: host.to_ascii_lowercase(),
                port: url.port_or_known_default(),
            });
        }
        for item in extra.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            names.push(parse_host(item).ok_or_else(|| {
                format!("CALLTRAIL_ALLOWED_HOSTS: {item:?} is not a host name or host:port")
            })?);
        }
        Ok(AllowedHosts { names })
    }

    /// Whether a `Host` header names us. A port left out is 80 or 443.
    pub fn allows(&self, host_header: &str) -> bool {
        let Some(asked) = parse_host(host_header) else {
            return false;
        };
        self.names.iter().any(|n| {
            n.host == asked.host
                && match (n.port, asked.port) {
                    (None, _) => true,
                    (Some(p), Some(q)) => p == q,
                    (Some(p), None) => p == 80 || p == 443,
                }
        })
    }
}

/// Refuse a request whose `Host` is not one of ours (421), on every route.
pub async fn check_host(
    State(hosts): State<std::sync::Arc<AllowedHosts>>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match host {
        Some(h) if hosts.allows(&h) => next.run(req).await,
        _ => ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "wrong_host",
            "this server does not answer to that host name; add it to CALLTRAIL_ALLOWED_HOSTS or \
             CALLTRAIL_PUBLIC_URL",
        )
        .on("Host")
        .into_response(),
    }
}

/// Whether a browser request was sent by one of our own pages: the browser says
/// so (`Sec-Fetch-Site: same-origin`), or its `Origin` is the host it asked.
/// A request that says neither is refused: every browser that can run the pages
/// sends one of them on a POST.
pub fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" {
            Ok(())
        } else {
            Err("this request came from another site")
        };
    }
    let origin = headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or("a browser request must carry Origin or Sec-Fetch-Site")?;
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = url::Url::parse(origin)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_ascii_lowercase();
            Some(match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        })
        .ok_or("this request came from another site")?;
    if origin_host == host.to_ascii_lowercase() {
        Ok(())
    } else {
        Err("this request came from another site")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(extra: &str) -> AllowedHosts {
        AllowedHosts::new("127.0.0.1:3000".parse().unwrap(), None, extra).unwrap()
    }

    #[test]
    fn the_listen_address_and_loopback_names_are_allowed_by_default() {
        let h = hosts("");
        assert!(h.allows("127.0.0.1:3000"));
        assert!(h.allows("localhost:3000"));
        assert!(h.allows("[::1]:3000"));
        assert!(!h.allows("127.0.0.1:3001"));
        assert!(!h.allows("evil.example"));
        assert!(!h.allows("evil.example:3000"));
        assert!(!h.allows(""));
    }

    #[test]
    fn extra_hosts_and_the_public_url_are_allowed() {
        let h = hosts("calltrail.internal, ops.example:8443");
        assert!(h.allows("calltrail.internal"));
        assert!(h.allows("Calltrail.Internal:9999"));
        assert!(h.allows("ops.example:8443"));
        assert!(!h.allows("ops.example:8444"));
        let url = url::Url::parse("https://log.example.com").unwrap();
        let h = AllowedHosts::new("0.0.0.0:3000".parse().unwrap(), Some(&url), "").unwrap();
        assert!(h.allows("log.example.com"));
        assert!(h.allows("log.example.com:443"));
        assert!(!h.allows("0.0.0.0:3000"));
        assert!(AllowedHosts::new("127.0.0.1:1".parse().unwrap(), None, "a b").is_err());
    }

    #[test]
    fn only_our_own_pages_pass_the_same_origin_check() {
        let mut h = HeaderMap::new();
        h.insert(HOST, "127.0.0.1:3000".parse().unwrap());
        assert!(same_origin(&h).is_err(), "neither header");
        h.insert(ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        assert!(same_origin(&h).is_ok());
        h.insert(ORIGIN, "http://evil.example".parse().unwrap());
        assert!(same_origin(&h).is_err());
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(same_origin(&h).is_err());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&h).is_ok());
    }
}
