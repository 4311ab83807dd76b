"""The lab's two chains: named test accounts, the L1 contracts and their deployment, Safe helpers."""
