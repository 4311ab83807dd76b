"""Simulators of the op-stack services over real anvil chains (see README.md)."""

from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.proxy import ProxyMode, RethLoad, RpcProxy
from jeju_lab.sim.rollup import RollupConfig, Timing
from jeju_lab.sim.stack import SimStack

__all__ = ["Conditions", "ProxyMode", "RethLoad", "RollupConfig", "RpcProxy", "SimStack", "Timing"]
