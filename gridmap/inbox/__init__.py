"""The inbox (待办): what waits for the logged-in user, section by section, and its count for
the top bar's badge (gridmap.inbox.service)."""
