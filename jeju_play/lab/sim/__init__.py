"""Simulators of the op-stack services over real anvil chains (see README.md)."""

from jeju_play.lab.sim.conditions import Conditions
from jeju_play.lab.sim.proxy import ProxyMode, RethLoad, RpcProxy
from jeju_play.lab.sim.rollup import RollupConfig, Timing
from jeju_play.lab.sim.stack import SimStack

__all__ = ["Conditions", "ProxyMode", "RethLoad", "RollupConfig", "RpcProxy", "SimStack", "Timing"]
