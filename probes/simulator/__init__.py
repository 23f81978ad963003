"""A local server on 127.0.0.1 speaking every engine's wire format, for the offline demo and tests."""

from probes.simulator.scenario import Scenario, Segment, SimulatedAnswer, Site, demo_scenario
from probes.simulator.server import ScriptedResponse, Simulator

__all__ = ["Scenario", "ScriptedResponse", "Segment", "SimulatedAnswer", "Simulator", "Site", "demo_scenario"]
