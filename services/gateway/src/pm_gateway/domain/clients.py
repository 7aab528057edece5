"""Who the client is: its address behind trusted proxies, and the rate-limit bucket it falls into.

The rule (docs/security.md, "The client's address"): the TCP peer is the client unless it is one of
TRUSTED_PROXIES (none by default). Then X-Forwarded-For (every line of it, in order) is walked from the
right only while its hops are trusted proxies too: the first hop that is not one is the client;
anything further left is the client's own claim and never believed.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
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

    def concerns(self) -> list[str]:
        """What an operator should double-check in this list (warned about in production)."""
        notes = []
        if any(network.prefixlen == 0 for network in self.networks):
            notes.append(
                "trusts every address: any client can choose the address it is rate-limited and "
                "recorded under by sending X-Forwarded-For"
            )
        if any(network.overlaps(_LOOPBACK[network.version]) for network in self.networks):
            notes.append(
                "trusts loopback: right only when the reverse proxy runs on the gateway's own host or "
                "pod (a sidecar); any other process there can choose its clients' addresses"
            )
        return notes


_LOOPBACK: dict[int, IPNetwork] = {
    4: ipaddress.IPv4Network("127.0.0.0/8"),
    6: ipaddress.IPv6Network("::1/128"),
}


@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> IPAddress | None:
    """An address as peers and proxies write it: bare, ``[v6]``, ``v4:port`` or ``[v6]:port`` (some
    load balancers add the port); an IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4
    peer) as the IPv4 address it is. None for anything else."""
    text = value.strip()
    if text.startswith("["):
        text, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
        if not port.isdigit():
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class Client:
    address: str  # the client's IP as the gateway believes it
    forwarded_for: str  # X-Forwarded-For to send upstream
    forwarded_proto: str  # X-Forwarded-Proto to send upstream


# How far left X-Forwarded-For is read: a chain of more proxies than this is not walked past (the client is
# then the farthest proxy read). Bounds the work and what is forwarded upstream, however many header lines
# of whatever length a client sends (aiohttp allows 128 lines of 8190 bytes).
MAX_FORWARDED_HOPS = 16
# The longest address as proxies write it, "[v6 address]:port", is 47 characters: a longer hop is unreadable.
_MAX_HOP_CHARS = 64
_UNREADABLE = "unknown"


def _last_hops(lines: Sequence[str]) -> list[str]:
    """The rightmost MAX_FORWARDED_HOPS hops of X-Forwarded-For's ``lines`` (in order; empty hops
    skipped, an overlong one replaced by ``unknown``). Nothing further left is even split."""
    hops: list[str] = []
    for line in reversed(lines):
        for piece in reversed(line.rsplit(",", MAX_FORWARDED_HOPS)):
            hop = piece.strip()
            if not hop:
                continue
            hops.append(hop if len(hop) <= _MAX_HOP_CHARS else _UNREADABLE)
            if len(hops) == MAX_FORWARDED_HOPS:
                return hops[::-1]
    return hops[::-1]


# Headers up to this size are remembered with the answer (a client sends the same ones request after
# request); longer ones are worked out each time, so that the memo's size does not depend on clients.
_MEMO_MAX_CHARS = 256


def identify_client(
    peer: str | None,
    forwarded_for: str | Sequence[str] | None,
    forwarded_proto: str | None,
    scheme: str,
    trusted: TrustedProxies,
) -> Client:
    """The client's address: the peer, unless the peer is a trusted proxy; then the right-most
    address of X-Forwarded-For (its lines, in order) that is not itself a trusted proxy, walking left
    only past trusted proxies (addresses further left are the client's own claims and could be forged;
    an unreadable hop stops the walk at the last proxy) and at most MAX_FORWARDED_HOPS far.
    X-Forwarded-* from an untrusted peer are discarded unread. Upstream gets the hops read and the peer."""
    peer_ip = _parse(peer or "")
    if peer_ip is None or peer_ip not in trusted:
        # Its X-Forwarded-* play no part: not in the memo's key either, or they could crowd it.
        return _identify_remembered(peer, "", None, scheme, trusted)
    line = _one_line(forwarded_for)
    if line is not None and len(line) <= _MEMO_MAX_CHARS and len(forwarded_proto or "") <= _MEMO_MAX_CHARS:
        return _identify_remembered(peer, line, forwarded_proto, scheme, trusted)
    return _identify(peer, forwarded_for, forwarded_proto, scheme, trusted)


def _one_line(forwarded_for: str | Sequence[str] | None) -> str | None:
    """X-Forwarded-For as one string when it came as one line ("" when absent), else None."""
    if forwarded_for is None or isinstance(forwarded_for, str):
        return forwarded_for or ""
    if len(forwarded_for) <= 1:
        return forwarded_for[0] if forwarded_for else ""
    return None


def _identify(
    peer: str | None,
    forwarded_for: str | Sequence[str] | None,
    forwarded_proto: str | None,
    scheme: str,
    trusted: TrustedProxies,
) -> Client:
    peer_ip = _parse(peer or "")
    if peer_ip is None:
        return Client(peer or _UNREADABLE, peer or _UNREADABLE, scheme)
    if peer_ip not in trusted or not forwarded_for:
        return Client(str(peer_ip), str(peer_ip), scheme)
    hops = _last_hops((forwarded_for,) if isinstance(forwarded_for, str) else forwarded_for)
    client = peer_ip
    for hop in reversed(hops):
        hop_ip = _parse(hop)
        if hop_ip is None:
            break
        client = hop_ip
        if hop_ip not in trusted:
            break
    proto = (forwarded_proto or "")[:8].split(",")[0].strip().lower()
    return Client(
        str(client),
        ", ".join([*hops, str(peer_ip)]),
        proto if proto in ("http", "https") else scheme,
    )


# The memo: called only with hashable, bounded arguments (a single short line, see identify_client).
_identify_remembered = functools.lru_cache(maxsize=8192)(_identify)


@functools.lru_cache(maxsize=4096)
def rate_limit_subject(address: str) -> str:
    """The per-IP bucket: the address for IPv4, its /64 for IPv6 (one host owns a whole /64)."""
    ip = _parse(address)  # an IPv4-mapped address comes back as its IPv4 address
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address) + "/64"
    if ip is not None:
        return str(ip)
    return address
