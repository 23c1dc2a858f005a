"""Authentication: password hashing, JWT access tokens, role guards and the token endpoint."""
