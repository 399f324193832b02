"""Boundary edits, previews, versions and partition proposals (issue 7)."""
