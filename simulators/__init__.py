"""Simulators: device encoders (the inverse of the decoders), physical models of the Leiden
scenario, and publishers that send uplinks in the real network-server formats."""
