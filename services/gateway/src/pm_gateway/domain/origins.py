"""Where an upstream service listens: its base URL, parsed once (settings check it, the proxy uses it)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Origin:
    """``http://host[:port][/prefix]``: plain HTTP, since the services are reached over the private
    network (the proxy's client speaks nothing else; TLS between pods is the mesh's job)."""

    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an http://host[:port] URL")
        return cls(parts.hostname, parts.port or 80, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 80 else f"{host}:{self.port}"
