"""Accounts for people: logging in and out (browser and API token), changing one's password,
deactivation and the admins' audit log page. Identity itself (users, tokens, scope, masking) is
gridmap.auth."""
