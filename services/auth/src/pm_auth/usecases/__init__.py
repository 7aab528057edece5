"""The auth service's use cases: one module per capability, called by http/, events/ and background
tasks alike; they decide with domain/ and persist with storage/."""
