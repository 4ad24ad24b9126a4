"""Peers that tests start on loopback (reused by several test modules)."""
