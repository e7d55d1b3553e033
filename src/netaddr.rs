//! Master/client addresses as `-m`, `-c` and `-s` take them (c-programs.md
//! §6.3): `port`, `:port`, `host:port`, `[v6addr]:port`, split at the last
//! colon.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// A parsed address: optional host and the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub host: Option<String>,
    pub port: u16,
}

/// Parse an address; the error is the warning the original prints.
pub fn parse(addr: &str) -> Result<Address, String> {
    let (host, port) = match addr.rfind(':') {
        None => (None, addr),
        Some(i) => {
            let (h, p) = (&addr[..i], &addr[i + 1..]);
            if p.is_empty() {
                return Err(format!("invalid network address with empty port: {addr}"));
            }
            let h = if let Some(inner) = h.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                if inner.parse::<Ipv6Addr>().is_err() {
                    return Err(format!("getaddrinfo failed: invalid IPv6 address: {addr}"));
                }
                Some(inner)
            } else if h.contains(':') {
                return Err(format!("invalid network with colon in host name: {addr}"));
            } else if h.is_empty() {
                None
            } else {
                Some(h)
            };
            (h, p)
        }
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("getaddrinfo failed: invalid port: {addr}"))?;
    Ok(Address {
        host: host.map(str::to_string),
        port,
    })
}

impl Address {
    /// Every socket address to connect to. Without a host the original
    /// resolves "not passive": the loopback addresses.
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, String> {
        self.resolve_with(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        )
    }

    /// Every socket address to listen on. Without a host: the wildcard
    /// addresses, so `-m PORT` serves clients on other hosts, as pbulk's
    /// masters did with their IPv4 parser. (netaddr.c 1.11 resolves listen
    /// addresses "not passive" too, giving loopback only, which leaves a
    /// master with a bare port unreachable for every remote client.)
    pub fn resolve_listen(&self) -> Result<Vec<SocketAddr>, String> {
        self.resolve_with(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        )
    }

    fn resolve_with(&self, v4: IpAddr, v6: IpAddr) -> Result<Vec<SocketAddr>, String> {
        match &self.host {
            None => Ok(vec![
                SocketAddr::new(v4, self.port),
                SocketAddr::new(v6, self.port),
            ]),
            Some(h) => (h.as_str(), self.port)
                .to_socket_addrs()
                .map(Iterator::collect)
                .map_err(|e| format!("getaddrinfo failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_forms() {
        assert_eq!(
            parse("2001").unwrap(),
            Address {
                host: None,
                port: 2001
            }
        );
        assert_eq!(
            parse(":2001").unwrap(),
            Address {
                host: None,
                port: 2001
            }
        );
        assert_eq!(
            parse("10.0.0.1:2002").unwrap().host.as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(parse("[::1]:2002").unwrap().host.as_deref(), Some("::1"));
        assert_eq!(
            parse("localhost:7").unwrap().host.as_deref(),
            Some("localhost")
        );
    }

    #[test]
    fn bad_forms_give_the_reference_warnings() {
        assert_eq!(
            parse("host:").unwrap_err(),
            "invalid network address with empty port: host:"
        );
        assert_eq!(
            parse("a:b:1").unwrap_err(),
            "invalid network with colon in host name: a:b:1"
        );
        assert!(parse("host:notaport").is_err());
        assert!(parse("[zz]:1").is_err());
    }

    #[test]
    fn bare_port_connects_to_loopback_and_listens_everywhere() {
        let a = parse("2001").unwrap();
        let connect = a.resolve().unwrap();
        assert_eq!(connect.len(), 2);
        assert!(connect.iter().all(|a| a.ip().is_loopback()));
        let listen = a.resolve_listen().unwrap();
        assert_eq!(listen.len(), 2);
        assert!(listen
            .iter()
            .all(|a| a.ip().is_unspecified() && a.port() == 2001));
        assert!(listen[0].is_ipv4() && listen[1].is_ipv6());
        let named = parse("127.0.0.1:9").unwrap();
        assert_eq!(named.resolve_listen().unwrap(), named.resolve().unwrap());
        assert_eq!(named.resolve().unwrap()[0].port(), 9);
    }
}
