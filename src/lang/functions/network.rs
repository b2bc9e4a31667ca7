//! Network functions: cidrsubnet, cidrsubnets, cidrhost and cidrnetmask.
//!
//! Addresses are held as `u128` whatever their family, so IPv6 prefixes
//! get the same exact arithmetic as IPv4 ones. Parsing and printing
//! follow Go's rules, which Terraform users see: IPv4 parts may have
//! leading zeros (`010` is ten), IPv6 addresses print in their shortest
//! form (RFC 5952), and an IPv4-mapped IPv6 address prints as IPv4.

use super::{FuncContext, FuncError, FuncSpec, Marks, Message, args};
use crate::lang::number::Number;
use crate::lang::value::{Type, Value};
use std::net::Ipv6Addr;

pub(super) static FUNCTIONS: &[&FuncSpec] = &[&CIDRHOST, &CIDRNETMASK, &CIDRSUBNET, &CIDRSUBNETS];

/// An address block: `address` is the network address (host bits zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    address: u128,
    prefix: u32,
    /// 32 for IPv4, 128 for IPv6.
    bits: u32,
}

/// The prefix of IPv4-mapped IPv6 addresses, `::ffff:0:0/96`.
const IPV4_MAPPED: u128 = 0xffff_0000_0000;

impl Cidr {
    fn parse(text: &str) -> Option<Cidr> {
        let (ip, prefix) = text.split_once('/')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u32 = prefix.parse().ok()?;
        let (address, bits) = if ip.contains(':') {
            (u128::from(ip.parse::<Ipv6Addr>().ok()?), 128)
        } else {
            (u128::from(parse_ipv4(ip)?), 32)
        };
        if prefix > bits {
            return None;
        }
        let cidr = Cidr {
            address: 0,
            prefix,
            bits,
        };
        Some(Cidr {
            address: address & cidr.mask(),
            ..cidr
        })
    }

    /// The mask of `prefix` leading ones within the address width.
    fn mask(&self) -> u128 {
        self.all_ones() & !low_ones(self.bits - self.prefix)
    }

    fn all_ones(&self) -> u128 {
        low_ones(self.bits)
    }

    /// How many addresses the block holds, if that fits a u128.
    fn size(&self) -> Option<u128> {
        1u128.checked_shl(self.bits - self.prefix)
    }

    fn address_text(&self, address: u128) -> String {
        if self.bits == 32 {
            ipv4_text(address as u32)
        } else {
            ipv6_text(address)
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.bits == 128 && self.address >> 32 == IPV4_MAPPED >> 32 {
            let prefix = self.prefix.saturating_sub(96);
            return write!(f, "{}/{prefix}", ipv4_text(self.address as u32));
        }
        write!(f, "{}/{}", self.address_text(self.address), self.prefix)
    }
}

/// A mask of the `n` lowest bits.
fn low_ones(n: u32) -> u128 {
    1u128.checked_shl(n).map_or(u128::MAX, |b| b - 1)
}

/// Four decimal parts; leading zeros are allowed and do not mean octal.
fn parse_ipv4(text: &str) -> Option<u32> {
    let mut address: u32 = 0;
    let mut parts = 0;
    for part in text.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = part.trim_start_matches('0');
        let value: u32 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        if value > 255 {
            return None;
        }
        address = address << 8 | value;
        parts += 1;
    }
    (parts == 4).then_some(address)
}

fn ipv4_text(address: u32) -> String {
    let [a, b, c, d] = address.to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

/// The shortest form: the longest run of two or more zero groups (the
/// first, on a tie) becomes "::"; an IPv4-mapped address prints as IPv4.
fn ipv6_text(address: u128) -> String {
    if address >> 32 == IPV4_MAPPED >> 32 {
        return ipv4_text(address as u32);
    }
    let groups: Vec<u16> = (0..8).map(|i| (address >> (112 - 16 * i)) as u16).collect();
    let mut best = (0, 0);
    let mut i = 0;
    while i < 8 {
        let start = i;
        while i < 8 && groups[i] == 0 {
            i += 1;
        }
        if i - start > best.1 - best.0 {
            best = (start, i);
        }
        i += 1;
    }
    let hex = |gs: &[u16]| {
        gs.iter()
            .map(|g| format!("{g:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    if best.1 - best.0 < 2 {
        return hex(&groups);
    }
    format!("{}::{}", hex(&groups[..best.0]), hex(&groups[best.1..]))
}

fn prefix_arg(a: &[Value], as_argument: bool) -> Result<(Cidr, String), FuncError> {
    let text = args::string(a, 0)?;
    match Cidr::parse(&text) {
        Some(cidr) => Ok((cidr, text)),
        None => {
            let message = Message::text("invalid CIDR expression: invalid CIDR address: ").value(
                0,
                text,
                &Type::String,
            );
            Err(if as_argument {
                FuncError::arg(0, message)
            } else {
                FuncError::new(message)
            })
        }
    }
}

/// A whole number of any size (a subnet or host number).
fn whole_number(a: &[Value], i: usize) -> Result<i128, FuncError> {
    let n: Number = args::number(a, i)?;
    n.is_integer()
        .then(|| n.to_string().parse::<i128>().ok())
        .flatten()
        .ok_or_else(|| FuncError::new("value must be a whole number"))
}

static CIDRSUBNET: FuncSpec = FuncSpec {
    name: "cidrsubnet",
    params: &["prefix", "newbits", "netnum"],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Strip,
    imp: cidrsubnet,
};
/// Subnet number `netnum` of the prefix extended by `newbits` bits.
fn cidrsubnet(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (base, _) = prefix_arg(a, false)?;
    let newbits = args::integer(a, 1)?;
    let netnum = whole_number(a, 2)?;
    let newbits = u32::try_from(newbits).map_err(|_| FuncError::arg(1, "must not be negative"))?;
    let prefix = base.prefix.saturating_add(newbits);
    if prefix > base.bits {
        return Err(FuncError::new(format!(
            "insufficient address space to extend prefix of {} by {newbits}",
            base.prefix
        )));
    }
    let netnum_fits = u128::try_from(netnum)
        .ok()
        .filter(|n| low_ones(newbits) >= *n);
    let Some(netnum) = netnum_fits else {
        return Err(FuncError::new(format!(
            "prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"
        )));
    };
    let subnet = Cidr {
        address: base.address | netnum.checked_shl(base.bits - prefix).unwrap_or(0),
        prefix,
        bits: base.bits,
    };
    Ok(Value::string(subnet.to_string()))
}

static CIDRHOST: FuncSpec = FuncSpec {
    name: "cidrhost",
    params: &["prefix", "hostnum"],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Strip,
    imp: cidrhost,
};
/// The address of host `hostnum` in the prefix, counting from the end
/// when negative (-1 is the last address).
fn cidrhost(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (base, _) = prefix_arg(a, false)?;
    let hostnum = whole_number(a, 1)?;
    let too_big = || {
        FuncError::new(format!(
            "prefix of {} does not accommodate a host numbered {hostnum}",
            base.prefix
        ))
    };
    let host_mask = low_ones(base.bits - base.prefix);
    let offset = if hostnum >= 0 {
        u128::try_from(hostnum).ok().filter(|h| *h <= host_mask)
    } else {
        // Counting back from one past the last address.
        let back = hostnum.unsigned_abs();
        base.size()
            .map_or(Some(u128::MAX - back + 1), |size| size.checked_sub(back))
    };
    let offset = offset.ok_or_else(too_big)?;
    Ok(Value::string(base.address_text(base.address | offset)))
}

static CIDRNETMASK: FuncSpec = FuncSpec {
    name: "cidrnetmask",
    params: &["prefix"],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Strip,
    imp: cidrnetmask,
};
/// The dotted netmask of an IPv4 prefix.
fn cidrnetmask(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (base, text) = prefix_arg(a, false)?;
    if base.bits != 32 {
        return Err(FuncError::new(
            Message::text("IPv6 addresses cannot have a netmask: ").value(0, text, &Type::String),
        ));
    }
    Ok(Value::string(ipv4_text(base.mask() as u32)))
}

static CIDRSUBNETS: FuncSpec = FuncSpec {
    name: "cidrsubnets",
    params: &["prefix", "newbits..."],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: cidrsubnets,
};
/// Consecutive subnets of the given sizes, each at the first address
/// after the previous one where a block of its size can start.
fn cidrsubnets(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if let Some(unknown) = args::unknown_result(a, || Type::list(Type::String)) {
        return Ok(unknown);
    }
    let (base, _) = prefix_arg(a, true)?;
    let mut prefixes = Vec::with_capacity(a.len() - 1);
    for i in 1..a.len() {
        let newbits = args::number(a, i)?
            .to_i64()
            .ok_or_else(|| FuncError::arg(i, args::NOT_AN_INTEGER))?;
        if newbits < 1 {
            return Err(FuncError::arg(i, "must extend prefix by at least one bit"));
        }
        // Terraform keeps to 32 bits at a time (for 32-bit platforms).
        if newbits > 32 {
            return Err(FuncError::arg(
                i,
                "may not extend prefix by more than 32 bits",
            ));
        }
        let prefix = base.prefix + newbits as u32;
        if prefix > base.bits {
            let family = if base.bits == 32 { "IPv4" } else { "IPv6" };
            return Err(FuncError::arg(
                i,
                format!(
                    "would extend prefix to {prefix} bits, which is too long for an {family} address"
                ),
            ));
        }
        prefixes.push(prefix);
    }
    let end = base.address | low_ones(base.bits - base.prefix);
    let mut next = Some(base.address);
    let mut previous: Option<Cidr> = None;
    let mut out = Vec::with_capacity(prefixes.len());
    for (n, prefix) in prefixes.into_iter().enumerate() {
        let block = low_ones(base.bits - prefix);
        // Round up to the block's alignment; past the base block, or past
        // the end of the address space, there is no room.
        let start = next
            .and_then(|at| at.checked_add(block))
            .map(|at| at & !block);
        let Some(start) = start.filter(|s| *s <= end) else {
            let after = previous.map(|p| p.to_string()).unwrap_or_default();
            return Err(FuncError::arg(
                n + 1,
                format!(
                    "not enough remaining address space for a subnet with a prefix of {prefix} bits after {after}"
                ),
            ));
        };
        let subnet = Cidr {
            address: start,
            prefix,
            bits: base.bits,
        };
        out.push(Value::string(subnet.to_string()));
        next = (start | block)
            .checked_add(1)
            .filter(|n| *n <= base.all_ones());
        previous = Some(subnet);
    }
    Ok(Value::list(Type::String, out))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, err, s};
    use super::*;

    fn subnet(prefix: &str, newbits: i64, netnum: i64) -> Value {
        call("cidrsubnet", &[s(prefix), newbits.into(), netnum.into()])
    }

    fn host(prefix: &str, hostnum: i64) -> Value {
        call("cidrhost", &[s(prefix), hostnum.into()])
    }

    #[test]
    fn cidrsubnet_extends_prefixes() {
        assert_eq!(subnet("10.0.0.0/8", 8, 3), s("10.3.0.0/16"));
        assert_eq!(subnet("10.0.0.0/8", 8, 3).type_of(), Type::String);
        assert_eq!(subnet("10.1.2.3/8", 8, 3), s("10.3.0.0/16"));
        assert_eq!(subnet("010.0.0.0/8", 8, 3), s("10.3.0.0/16"));
        assert_eq!(subnet("10.0.0.0/8", 0, 0), s("10.0.0.0/8"));
        assert_eq!(subnet("0.0.0.0/0", 32, 4294967295), s("255.255.255.255/32"));
        assert_eq!(subnet("fd00::/8", 8, 3), s("fd03::/16"));
        assert_eq!(subnet("2001:DB8::/32", 16, 65535), s("2001:db8:ffff::/48"));
        assert_eq!(subnet("2001:db8::/32", 96, 1), s("2001:db8::1/128"));
        assert_eq!(subnet("::ffff:10.0.0.0/104", 8, 3), s("10.3.0.0/16"));
        assert_eq!(
            err("cidrsubnet", &[s("10.0.0.0/8"), 8.into(), 300.into()]),
            FuncError::new("prefix extension of 8 does not accommodate a subnet numbered 300")
        );
        assert_eq!(
            err("cidrsubnet", &[s("fd00::/8"), 121.into(), 3.into()]),
            FuncError::new("insufficient address space to extend prefix of 8 by 121")
        );
        assert_eq!(
            err("cidrsubnet", &[s("10.0.0.0/33"), 1.into(), 1.into()]),
            FuncError::new("invalid CIDR expression: invalid CIDR address: 10.0.0.0/33")
        );
        // Terraform computes nonsense for these ("14.0.0.0/7").
        assert_eq!(
            err("cidrsubnet", &[s("10.0.0.0/8"), (-1).into(), 3.into()]),
            FuncError::arg(1, "must not be negative")
        );
        assert_eq!(
            err("cidrsubnet", &[s("10.0.0.0/8"), 8.into(), (-1).into()]),
            FuncError::new("prefix extension of 8 does not accommodate a subnet numbered -1")
        );
    }

    #[test]
    fn ipv6_prints_in_shortest_form() {
        let same = |text: &str| subnet(text, 0, 0);
        assert_eq!(same("2001:db8:0:0:1:0:0:1/128"), s("2001:db8::1:0:0:1/128"));
        assert_eq!(same("2001:0:0:1::1/128"), s("2001:0:0:1::1/128"));
        assert_eq!(same("1:0:0:2:0:0:0:3/128"), s("1:0:0:2::3/128"));
        assert_eq!(same("1:2:3:4:5:6:7:8/128"), s("1:2:3:4:5:6:7:8/128"));
        assert_eq!(same("::1/128"), s("::1/128"));
        assert_eq!(same("64:ff9b::1.2.3.4/128"), s("64:ff9b::102:304/128"));
        assert_eq!(same("0:0:0:0:0:ffff:1.2.3.4/128"), s("1.2.3.4/32"));
    }

    #[test]
    fn cidrhost_counts_from_either_end() {
        assert_eq!(host("10.1.2.0/24", 5), s("10.1.2.5"));
        assert_eq!(host("10.1.2.0/24", -1), s("10.1.2.255"));
        assert_eq!(host("10.1.2.0/24", -256), s("10.1.2.0"));
        assert_eq!(host("fd00::/64", -1), s("fd00::ffff:ffff:ffff:ffff"));
        assert_eq!(
            host("::/0", -1),
            s("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        );
        assert_eq!(host("0.0.0.0/0", -1), s("255.255.255.255"));
        assert_eq!(
            err("cidrhost", &[s("10.1.2.0/24"), 256.into()]),
            FuncError::new("prefix of 24 does not accommodate a host numbered 256")
        );
        assert_eq!(
            err("cidrhost", &[s("10.1.2.0/24"), (-257).into()]),
            FuncError::new("prefix of 24 does not accommodate a host numbered -257")
        );
        let half = Value::Number(Number::parse("1.5").unwrap());
        assert_eq!(
            err("cidrhost", &[s("10.0.0.0/8"), half]),
            FuncError::new("value must be a whole number")
        );
    }

    #[test]
    fn cidrnetmask_is_ipv4_only() {
        assert_eq!(call("cidrnetmask", &[s("10.0.0.0/12")]), s("255.240.0.0"));
        assert_eq!(call("cidrnetmask", &[s("10.0.0.0/0")]), s("0.0.0.0"));
        assert_eq!(
            call("cidrnetmask", &[s("10.0.0.0/32")]),
            s("255.255.255.255")
        );
        assert_eq!(
            err("cidrnetmask", &[s("fd00::/8")]),
            FuncError::new("IPv6 addresses cannot have a netmask: fd00::/8")
        );
    }

    #[test]
    fn cidrsubnets_allocates_consecutively() {
        let subnets = |bits: &[i64]| {
            let mut a = vec![s("10.0.0.0/8")];
            a.extend(bits.iter().map(|b| Value::from(*b)));
            call("cidrsubnets", &a)
        };
        let strings =
            |items: &[&str]| Value::list(Type::String, items.iter().map(|i| s(i)).collect());
        assert_eq!(
            subnets(&[8, 8, 16]),
            strings(&["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/24"])
        );
        assert_eq!(subnets(&[16, 8]), strings(&["10.0.0.0/24", "10.1.0.0/16"]));
        assert_eq!(subnets(&[]), strings(&[]));
        assert_eq!(
            err("cidrsubnets", &[s("x"), 8.into()]),
            FuncError::arg(0, "invalid CIDR expression: invalid CIDR address: x")
        );
        assert_eq!(
            err(
                "cidrsubnets",
                &[s("10.0.0.0/30"), 1.into(), 1.into(), 1.into()]
            ),
            FuncError::arg(
                3,
                "not enough remaining address space for a subnet with a prefix of 31 bits after 10.0.0.2/31"
            )
        );
        assert_eq!(
            err("cidrsubnets", &[s("10.0.0.0/8"), 25.into()]),
            FuncError::arg(
                1,
                "would extend prefix to 33 bits, which is too long for an IPv4 address"
            )
        );
        assert_eq!(
            err("cidrsubnets", &[s("10.0.0.0/8"), 0.into()]),
            FuncError::arg(1, "must extend prefix by at least one bit")
        );
        assert_eq!(
            err("cidrsubnets", &[s("fd00::/8"), 8.into(), 120.into()]),
            FuncError::arg(2, "may not extend prefix by more than 32 bits")
        );
        assert_eq!(
            call("cidrsubnets", &[Value::Unknown(Type::String), 8.into()]),
            Value::Unknown(Type::list(Type::String))
        );
    }
}
