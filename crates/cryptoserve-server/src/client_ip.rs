//! Who is the client? The TCP peer, unless the peer is a trusted proxy.
//!
//! `X-Forwarded-For` / `X-Real-IP` are believed only when the peer is inside
//! `CRYPTOSERVE_TRUSTED_PROXIES`. Then the right-most address in `X-Forwarded-For` that is not
//! itself a trusted proxy is the client (everything left of it could be forged by the client).
//! A spoofed header from an untrusted peer changes nothing.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// Resolves client addresses against a list of trusted proxy networks.
#[derive(Debug, Clone, Default)]
pub struct ClientIpResolver {
    trusted: Vec<IpNet>,
}

impl ClientIpResolver {
    /// A resolver trusting `trusted`.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request from `peer` with `headers`.
    pub fn resolve(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?.ip());
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        if !forwarded.is_empty() {
            let mut leftmost = peer;
            for hop in forwarded.iter().rev() {
                let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                    // Garbage in the chain: nothing left of here can be believed.
                    return Some(leftmost);
                };
                if !self.is_trusted(ip) {
                    return Some(ip);
                }
                leftmost = ip;
            }
            return Some(leftmost);
        }
        headers
            .get("x-real-ip")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .or(Some(peer))
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn resolver() -> ClientIpResolver {
        ClientIpResolver::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ])
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 5555))
    }

    #[test]
    fn untrusted_peers_cannot_spoof() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-real-ip", "5.6.7.8")]);
        assert_eq!(
            resolver().resolve(peer("203.0.113.9"), &h),
            "203.0.113.9".parse().ok()
        );
    }

    #[test]
    fn trusted_peers_give_the_rightmost_untrusted_hop() {
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(
            resolver().resolve(peer("127.0.0.1"), &h),
            "198.51.100.7".parse().ok()
        );
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.8"),
        ]);
        assert_eq!(
            resolver().resolve(peer("10.0.0.2"), &split),
            "198.51.100.8".parse().ok()
        );
    }

    #[test]
    fn trusted_peer_falls_back_to_x_real_ip_then_peer() {
        let h = headers(&[("x-real-ip", "198.51.100.9")]);
        assert_eq!(
            resolver().resolve(peer("127.0.0.1"), &h),
            "198.51.100.9".parse().ok()
        );
        assert_eq!(
            resolver().resolve(peer("127.0.0.1"), &HeaderMap::new()),
            "127.0.0.1".parse().ok()
        );
    }

    #[test]
    fn garbage_in_the_chain_stops_the_walk() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1, not-an-ip, 10.0.0.5")]);
        assert_eq!(
            resolver().resolve(peer("127.0.0.1"), &h),
            "10.0.0.5".parse().ok()
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_treated_as_ipv4() {
        let h = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(
            resolver().resolve(peer("::ffff:127.0.0.1"), &h),
            "198.51.100.1".parse().ok()
        );
    }
}
