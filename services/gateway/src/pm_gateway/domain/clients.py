"""Who the client is: its address behind trusted proxies, and the rate-limit bucket it falls into."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, spec: str) -> TrustedProxies:
        """Comma-separated addresses or CIDRs; empty trusts nobody."""
        networks = []
        for part in spec.split(","):
            part = part.strip()
            if part:
                try:
                    networks.append(ipaddress.ip_network(part, strict=False))
                except ValueError:
                    raise ValueError(f"not an IP address or network: {part!r}") from None
        return cls(tuple(networks))

    def __contains__(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Client:
    address: str  # the client's IP as the gateway believes it
    forwarded_for: str  # X-Forwarded-For to send upstream
    forwarded_proto: str  # X-Forwarded-Proto to send upstream


@functools.lru_cache(maxsize=8192)
def identify_client(
    peer: str | None,
    forwarded_for: str | None,
    forwarded_proto: str | None,
    scheme: str,
    trusted: TrustedProxies,
) -> Client:
    """The client's address: the peer, unless the peer is a trusted proxy; then the right-most
    address of X-Forwarded-For that is not itself a trusted proxy (addresses further left are the
    client's own claims and could be forged). X-Forwarded-* from an untrusted peer are discarded.
    Memoised: a client sends the same headers request after request."""
    peer_ip = _parse(peer or "")
    if peer_ip is None:
        return Client(peer or "unknown", peer or "unknown", scheme)
    if peer_ip not in trusted or not forwarded_for:
        return Client(str(peer_ip), str(peer_ip), scheme)
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    client = peer_ip
    for hop in reversed(hops):
        hop_ip = _parse(hop)
        if hop_ip is None:
            break
        client = hop_ip
        if hop_ip not in trusted:
            break
    proto = (forwarded_proto or "").split(",")[0].strip().lower()
    return Client(
        str(client),
        ", ".join([*hops, str(peer_ip)]),
        proto if proto in ("http", "https") else scheme,
    )


@functools.lru_cache(maxsize=4096)
def rate_limit_subject(address: str) -> str:
    """The per-IP bucket: the address for IPv4, its /64 for IPv6 (one host owns a whole /64)."""
    ip = _parse(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address) + "/64"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return address
