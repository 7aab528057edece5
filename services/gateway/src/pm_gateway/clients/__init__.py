"""The gateway's calls to the other services over HTTP: the proxy's own upstream client, auth's JWKS,
and the upstreams' readiness."""
