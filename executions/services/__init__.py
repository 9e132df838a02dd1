"""Writes and remote actions. Every cancel attempt goes through here, so every one is audited."""
