"""The auth service's use cases: one module per capability, called by http/, events/ and background
tasks alike; they decide with domain/ and persist with storage/.

- accounts: register, log in, refresh a session's tokens, the account, its password, its deletion
- sessions: whether a session is live, ending sessions, the purge of ended ones
- access_tokens: issuing access tokens, publishing the keys that verify them (JWKS)
- links: linking a provider account (authorize, start, callback), the links, unlinking
- provider_tokens: a provider access token for another service, refreshed once across replicas
- keys: the master-key ring and the signing keys, and rotating them

keys and sessions are what resources.py builds ``rt[AUTH]`` and the purge loop from, so they take
what they need as arguments and never read ``rt[AUTH]`` themselves (that would be an import cycle).
"""
