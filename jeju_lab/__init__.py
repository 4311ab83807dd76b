"""The local lab: real anvil chains, a Kubernetes API double and op-stack simulators on loopback."""
