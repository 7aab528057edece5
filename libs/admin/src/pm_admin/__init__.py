"""plm-admin: the operator's commands (backup, list, restore, rotate-master-key, migrations)."""
