"""The playlist service's use cases: one module per capability, called by http/, events/ and job handlers
alike; they decide with domain/ and persist with storage/."""
