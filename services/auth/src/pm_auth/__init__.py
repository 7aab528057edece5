"""Auth service: accounts, sessions, provider linking and the token vault."""
