//! Address arithmetic for Neutron's IP address management: parsing
//! addresses and CIDRs the way neutron-lib's validators do (with their
//! messages), allocation pools, and picking free addresses.
//!
//! Addresses are handled as `u128` plus an IP version, so IPv4 and IPv6
//! share one code path.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The number of bits in an address of `version`.
pub fn bits(version: u8) -> u32 {
    if version == 4 { 32 } else { 128 }
}

pub fn version_of(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 6,
    }
}

pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

pub fn from_u128(value: u128, version: u8) -> IpAddr {
    if version == 4 {
        IpAddr::V4(Ipv4Addr::from(value as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(value))
    }
}

/// An address as Neutron writes it (IPv6 compressed, lower case).
pub fn format(value: u128, version: u8) -> String {
    from_u128(value, version).to_string()
}

/// Parses an address as `validate_ip_address` does: dotted quads only
/// (no `10.1` shorthand), no leading zeros, no whitespace. The error is
/// neutron-lib's reason text.
pub fn parse_ip(text: &str) -> Result<IpAddr, String> {
    let invalid = || format!("'{text}' is not a valid IP address");
    if text.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    if text.contains(':') {
        return text
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| invalid());
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return Err(invalid());
    }
    let mut octets = [0u8; 4];
    let mut zero_filled = false;
    for (slot, part) in octets.iter_mut().zip(&parts) {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        *slot = part.parse::<u8>().map_err(|_| invalid())?;
        zero_filled |= part.len() > 1 && part.starts_with('0');
    }
    let ip = Ipv4Addr::from(octets);
    if zero_filled {
        // Leading zeros could be read as octal; Neutron refuses them.
        return Err(format!(
            "'{text}' is not an accepted IP address, '{ip}' is recommended"
        ));
    }
    Ok(IpAddr::V4(ip))
}

/// A network: its first address and prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub network: u128,
    pub prefix: u8,
    pub version: u8,
}

impl Cidr {
    /// The network containing `addr` with `prefix` (host bits cleared).
    pub fn containing(addr: u128, prefix: u8, version: u8) -> Cidr {
        let host_bits = bits(version) - prefix as u32;
        let mask = if host_bits >= 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        Cidr {
            network: addr & mask & max_value(version),
            prefix,
            version,
        }
    }

    pub fn first(&self) -> u128 {
        self.network
    }

    pub fn last(&self) -> u128 {
        let host_bits = bits(self.version) - self.prefix as u32;
        if host_bits >= 128 {
            u128::MAX
        } else {
            self.network | ((1u128 << host_bits) - 1)
        }
    }

    pub fn contains(&self, addr: u128) -> bool {
        (self.first()..=self.last()).contains(&addr)
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.version == other.version
            && self.first() <= other.last()
            && other.first() <= self.last()
    }

    /// Parses a stored, canonical CIDR (`10.0.0.0/24`).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.split_once('/')?;
        let ip: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let version = version_of(ip);
        (prefix as u32 <= bits(version)).then(|| Cidr::containing(to_u128(ip), prefix, version))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", format(self.network, self.version), self.prefix)
    }
}

fn max_value(version: u8) -> u128 {
    if version == 4 {
        u32::MAX as u128
    } else {
        u128::MAX
    }
}

/// A CIDR as the client wrote it: the address (host bits possibly set)
/// and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CidrInput {
    pub addr: u128,
    pub prefix: u8,
    pub version: u8,
}

impl CidrInput {
    pub fn network(&self) -> Cidr {
        Cidr::containing(self.addr, self.prefix, self.version)
    }
}

/// Parses a CIDR as `validate_subnet` does. Host bits may be set (the
/// subnet is normalised later); a missing prefix or a prefix written
/// other than in plain decimal is refused with the canonical form
/// recommended.
pub fn parse_cidr(text: &str) -> Result<CidrInput, String> {
    let invalid = || format!("'{text}' is not a valid IP subnet");
    if text.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    // netaddr reads the address part leniently here (no zero filling):
    // leading zeros make it invalid rather than recommended.
    let ip = parse_ip(addr_text).map_err(|_| invalid())?;
    let version = version_of(ip);
    let addr = to_u128(ip);
    let Some(prefix_text) = prefix_text else {
        let full = Cidr::containing(addr, bits(version) as u8, version);
        return Err(format!(
            "'{text}' isn't a recognized IP subnet cidr, '{full}' is recommended"
        ));
    };
    let prefix = if prefix_text.contains('.') || prefix_text.contains(':') {
        netmask_prefix(prefix_text, version).ok_or_else(invalid)?
    } else if !prefix_text.is_empty() && prefix_text.bytes().all(|b| b.is_ascii_digit()) {
        let p: u32 = prefix_text.parse().map_err(|_| invalid())?;
        if p > bits(version) {
            return Err(invalid());
        }
        p as u8
    } else {
        return Err(invalid());
    };
    let canonical = prefix_text == prefix.to_string();
    if !canonical && version == 4 {
        let net = Cidr::containing(addr, prefix, version);
        return Err(format!(
            "'{text}' isn't a recognized IP subnet cidr, '{net}' is recommended"
        ));
    }
    Ok(CidrInput {
        addr,
        prefix,
        version,
    })
}

/// The prefix length of a netmask (`255.255.255.0` is 24).
fn netmask_prefix(text: &str, version: u8) -> Option<u8> {
    let ip = parse_ip(text).ok()?;
    if version_of(ip) != version {
        return None;
    }
    let value = to_u128(ip);
    let width = bits(version);
    let ones = if version == 4 {
        (value as u32).leading_ones()
    } else {
        value.leading_ones()
    };
    let rebuilt = Cidr::containing(max_value(version), ones as u8, version).network;
    (rebuilt == value && ones <= width).then_some(ones as u8)
}

/// An inclusive range of addresses, as Neutron prints allocation pools
/// (`10.0.0.2-10.0.0.254`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub first: u128,
    pub last: u128,
    pub version: u8,
}

impl Range {
    pub fn contains(&self, addr: u128) -> bool {
        (self.first..=self.last).contains(&addr)
    }

    pub fn overlaps(&self, other: &Range) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    pub fn start_text(&self) -> String {
        format(self.first, self.version)
    }

    pub fn end_text(&self) -> String {
        format(self.last, self.version)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start_text(), self.end_text())
    }
}

/// The pools Neutron makes when none are given: the whole CIDR minus the
/// network address (the subnet-router anycast address in IPv6), the
/// broadcast address (IPv4, prefixes up to /30) and the gateway.
pub fn generate_pools(cidr: &Cidr, gateway: Option<u128>) -> Vec<Range> {
    let (first, last) = (cidr.first(), cidr.last());
    if first == last {
        return vec![Range {
            first,
            last,
            version: cidr.version,
        }];
    }
    let (start, end) = if cidr.version == 4 {
        if cidr.prefix <= 30 {
            (first + 1, last - 1)
        } else {
            (first, last)
        }
    } else {
        (first + 1, last)
    };
    let mut pools = Vec::new();
    let mut push = |first: u128, last: u128| {
        if first <= last {
            pools.push(Range {
                first,
                last,
                version: cidr.version,
            });
        }
    };
    match gateway {
        Some(gw) if (start..=end).contains(&gw) => {
            if gw > start {
                push(start, gw - 1);
            }
            if gw < end {
                push(gw + 1, end);
            }
        }
        _ => push(start, end),
    }
    pools
}

/// Why a set of allocation pools was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PoolError {
    /// A pool's addresses are of the wrong version or out of order.
    Invalid(usize),
    /// A pool reaches outside the usable part of the CIDR.
    OutOfBounds(Range),
    /// Two pools share addresses.
    Overlapping(Range, Range),
}

/// Checks pools as Neutron does: each inside the CIDR (not the network
/// address, not the IPv4 broadcast), start before end, no two
/// overlapping. `pools` are (start, end) pairs already parsed.
pub fn check_pools(pools: &[(IpAddr, IpAddr)], cidr: &Cidr) -> Result<Vec<Range>, PoolError> {
    let usable_first = cidr.first() + 1;
    let usable_last = if cidr.version == 4 {
        cidr.last().saturating_sub(1)
    } else {
        cidr.last()
    };
    let mut ranges = Vec::with_capacity(pools.len());
    for (index, (start, end)) in pools.iter().enumerate() {
        if version_of(*start) != version_of(*end) || to_u128(*start) > to_u128(*end) {
            return Err(PoolError::Invalid(index));
        }
        let range = Range {
            first: to_u128(*start),
            last: to_u128(*end),
            version: version_of(*start),
        };
        if range.version != cidr.version {
            return Err(PoolError::Invalid(index));
        }
        if range.first < usable_first || range.last > usable_last {
            return Err(PoolError::OutOfBounds(range));
        }
        ranges.push(range);
    }
    for (i, left) in ranges.iter().enumerate() {
        for right in &ranges[i + 1..] {
            if left.overlaps(right) {
                return Err(PoolError::Overlapping(*left, *right));
            }
        }
    }
    Ok(ranges)
}

/// The first address of `pools` (in order) not in `taken`.
pub fn first_free(pools: &[Range], taken: &BTreeSet<u128>) -> Option<u128> {
    for pool in pools {
        let mut candidate = pool.first;
        for used in taken.range(pool.first..=pool.last) {
            if *used != candidate {
                break;
            }
            if candidate == pool.last {
                break;
            }
            candidate += 1;
        }
        if !taken.contains(&candidate) && pool.contains(candidate) {
            return Some(candidate);
        }
    }
    None
}

/// Whether `addr` may be given to a port on `cidr` (neutron's
/// `check_subnet_ip`): inside it, and in IPv4 neither the network nor the
/// broadcast address; in IPv6 the subnet-router anycast address only for
/// router ports or when the owner is unknown.
pub fn valid_for_subnet(cidr: &Cidr, addr: u128, device_owner: &str) -> bool {
    if !cidr.contains(addr) {
        return false;
    }
    if cidr.version == 4 {
        addr != cidr.first() && addr != cidr.last()
    } else {
        device_owner.is_empty()
            || device_owner.starts_with("network:router")
            || addr != cidr.first()
    }
}

/// Whether a gateway address is refused on `cidr`: inside it and the
/// network or (IPv4) broadcast address. A gateway outside the CIDR is
/// allowed, as in Neutron.
pub fn gateway_invalid(cidr: &Cidr, gateway: u128) -> bool {
    cidr.contains(gateway)
        && cidr.version == 4
        && (gateway == cidr.first() || gateway == cidr.last())
}

/// The modified EUI-64 address of `mac` in a /64 `cidr` (SLAAC).
pub fn eui64(cidr: &Cidr, mac: &str) -> Option<u128> {
    let bytes: Vec<u8> = mac
        .split(':')
        .map(|part| u8::from_str_radix(part, 16).ok())
        .collect::<Option<_>>()?;
    if bytes.len() != 6 || cidr.version != 6 {
        return None;
    }
    let interface = [
        bytes[0] ^ 0x02,
        bytes[1],
        bytes[2],
        0xff,
        0xfe,
        bytes[3],
        bytes[4],
        bytes[5],
    ];
    let low = u64::from_be_bytes(interface) as u128;
    Some((cidr.network & !(u64::MAX as u128)) | low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> u128 {
        to_u128(text.parse().unwrap())
    }

    #[test]
    fn addresses_parse_like_neutron() {
        assert!(parse_ip("10.0.0.1").is_ok());
        assert!(parse_ip("2001:db8::1").is_ok());
        assert_eq!(
            parse_ip("10.0.0").unwrap_err(),
            "'10.0.0' is not a valid IP address"
        );
        assert_eq!(
            parse_ip("010.0.0.1").unwrap_err(),
            "'010.0.0.1' is not an accepted IP address, '10.0.0.1' is recommended"
        );
        assert!(parse_ip(" 10.0.0.1").is_err());
        assert!(parse_ip("10.0.0.256").is_err());
        assert!(parse_ip("fe80::1::2").is_err());
    }

    #[test]
    fn cidrs_parse_like_neutron() {
        let c = parse_cidr("10.0.0.5/24").unwrap();
        assert_eq!(c.network().to_string(), "10.0.0.0/24");
        assert_eq!(
            parse_cidr("10.3.0.0/33").unwrap_err(),
            "'10.3.0.0/33' is not a valid IP subnet"
        );
        assert_eq!(
            parse_cidr("10.3.0.0").unwrap_err(),
            "'10.3.0.0' isn't a recognized IP subnet cidr, '10.3.0.0/32' is recommended"
        );
        assert_eq!(
            parse_cidr("10.3.0.0/255.255.0.0").unwrap_err(),
            "'10.3.0.0/255.255.0.0' isn't a recognized IP subnet cidr, '10.3.0.0/16' is recommended"
        );
        assert_eq!(
            parse_cidr("nonsense").unwrap_err(),
            "'nonsense' is not a valid IP subnet"
        );
        let v6 = parse_cidr("2001:db8::1/64").unwrap();
        assert_eq!(v6.network().to_string(), "2001:db8::/64");
        assert!(parse_cidr("2001:db8::/129").is_err());
        assert_eq!(
            parse_cidr("0.0.0.0/0").unwrap().network().to_string(),
            "0.0.0.0/0"
        );
        assert_eq!(parse_cidr("::/0").unwrap().network().last(), u128::MAX);
    }

    #[test]
    fn default_pools_skip_network_broadcast_and_gateway() {
        let c = Cidr::parse("10.0.0.0/24").unwrap();
        let pools = generate_pools(&c, Some(ip("10.0.0.1")));
        assert_eq!(pools.len(), 1);
        assert_eq!(pools[0].to_string(), "10.0.0.2-10.0.0.254");
        let pools = generate_pools(&c, Some(ip("10.0.0.100")));
        let shown: Vec<String> = pools.iter().map(Range::to_string).collect();
        assert_eq!(shown, ["10.0.0.1-10.0.0.99", "10.0.0.101-10.0.0.254"]);
        let pools = generate_pools(&c, None);
        assert_eq!(pools[0].to_string(), "10.0.0.1-10.0.0.254");
        let pools = generate_pools(&c, Some(ip("192.168.0.1")));
        assert_eq!(pools[0].to_string(), "10.0.0.1-10.0.0.254");
        let slash31 = Cidr::parse("10.0.0.0/31").unwrap();
        assert_eq!(
            generate_pools(&slash31, None)[0].to_string(),
            "10.0.0.0-10.0.0.1"
        );
        let slash32 = Cidr::parse("10.0.0.7/32").unwrap();
        assert_eq!(
            generate_pools(&slash32, None)[0].to_string(),
            "10.0.0.7-10.0.0.7"
        );
        let v6 = Cidr::parse("2001:db8::/64").unwrap();
        assert_eq!(
            generate_pools(&v6, Some(ip("2001:db8::1")))[0].to_string(),
            "2001:db8::2-2001:db8::ffff:ffff:ffff:ffff"
        );
    }

    #[test]
    fn pools_are_checked() {
        let c = Cidr::parse("10.0.0.0/24").unwrap();
        let p = |a: &str, b: &str| (a.parse().unwrap(), b.parse().unwrap());
        assert!(check_pools(&[p("10.0.0.2", "10.0.0.9")], &c).is_ok());
        assert_eq!(
            check_pools(&[p("10.0.0.9", "10.0.0.2")], &c),
            Err(PoolError::Invalid(0))
        );
        assert!(matches!(
            check_pools(&[p("10.0.0.0", "10.0.0.9")], &c),
            Err(PoolError::OutOfBounds(_))
        ));
        assert!(matches!(
            check_pools(&[p("10.0.0.2", "10.0.0.255")], &c),
            Err(PoolError::OutOfBounds(_))
        ));
        assert!(matches!(
            check_pools(&[p("10.0.0.2", "10.0.0.9"), p("10.0.0.5", "10.0.0.20")], &c),
            Err(PoolError::Overlapping(_, _))
        ));
        assert_eq!(
            check_pools(&[p("2001:db8::2", "2001:db8::9")], &c),
            Err(PoolError::Invalid(0))
        );
    }

    #[test]
    fn first_free_walks_pools_in_order() {
        let c = Cidr::parse("10.0.0.0/29").unwrap();
        let pools = generate_pools(&c, Some(ip("10.0.0.1")));
        let mut taken = BTreeSet::new();
        assert_eq!(first_free(&pools, &taken), Some(ip("10.0.0.2")));
        taken.insert(ip("10.0.0.2"));
        taken.insert(ip("10.0.0.3"));
        taken.insert(ip("10.0.0.5"));
        assert_eq!(first_free(&pools, &taken), Some(ip("10.0.0.4")));
        taken.insert(ip("10.0.0.4"));
        assert_eq!(first_free(&pools, &taken), Some(ip("10.0.0.6")));
        taken.insert(ip("10.0.0.6"));
        assert_eq!(first_free(&pools, &taken), None);
        let two = [
            Range {
                first: ip("10.0.0.10"),
                last: ip("10.0.0.10"),
                version: 4,
            },
            Range {
                first: ip("10.0.0.20"),
                last: ip("10.0.0.21"),
                version: 4,
            },
        ];
        let taken: BTreeSet<u128> = [ip("10.0.0.10"), ip("10.0.0.20")].into();
        assert_eq!(first_free(&two, &taken), Some(ip("10.0.0.21")));
    }

    #[test]
    fn subnet_validity_and_gateways() {
        let c = Cidr::parse("10.0.0.0/24").unwrap();
        assert!(valid_for_subnet(&c, ip("10.0.0.1"), "compute:nova"));
        assert!(!valid_for_subnet(&c, ip("10.0.0.0"), ""));
        assert!(!valid_for_subnet(&c, ip("10.0.0.255"), ""));
        assert!(!valid_for_subnet(&c, ip("10.0.1.1"), ""));
        assert!(gateway_invalid(&c, ip("10.0.0.0")));
        assert!(gateway_invalid(&c, ip("10.0.0.255")));
        assert!(!gateway_invalid(&c, ip("10.0.0.1")));
        assert!(!gateway_invalid(&c, ip("10.9.9.9")));
        let v6 = Cidr::parse("2001:db8::/64").unwrap();
        assert!(valid_for_subnet(&v6, ip("2001:db8::"), ""));
        assert!(!valid_for_subnet(&v6, ip("2001:db8::"), "compute:nova"));
    }

    #[test]
    fn eui64_addresses() {
        let c = Cidr::parse("2001:db8::/64").unwrap();
        let addr = eui64(&c, "fa:16:3e:12:34:56").unwrap();
        assert_eq!(format(addr, 6), "2001:db8::f816:3eff:fe12:3456");
        assert_eq!(eui64(&c, "nonsense"), None);
    }

    #[test]
    fn cidr_overlap() {
        let a = Cidr::parse("10.0.0.0/16").unwrap();
        let b = Cidr::parse("10.0.5.0/24").unwrap();
        let c = Cidr::parse("10.1.0.0/24").unwrap();
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&c));
    }
}
