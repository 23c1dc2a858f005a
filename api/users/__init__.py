"""Users: self-registration, profile reads and updates, roles managed by admins."""
