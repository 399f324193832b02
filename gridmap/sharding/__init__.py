"""Sharding on paper: how gridmap's tables would spread over a Citus cluster, simulated."""
