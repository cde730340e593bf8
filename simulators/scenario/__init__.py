"""The Leiden scenario: simulated devices, their physical models and the scenario clock."""

from simulators.scenario.base import DeviceSim, Scenario, SimDevice, SimUplink
from simulators.scenario.leiden import DEFAULT_SEED, build_scenario, scenario_devices

__all__ = ["DEFAULT_SEED", "DeviceSim", "Scenario", "SimDevice", "SimUplink", "build_scenario",
           "scenario_devices"]
