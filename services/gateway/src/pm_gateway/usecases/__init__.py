"""The gateway's use cases: one module per capability, called by http/ and events/ alike; they decide
with domain/ and persist with storage/."""
