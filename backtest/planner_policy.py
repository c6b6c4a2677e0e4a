"""placeholder"""
from backtest.policies import Immediate


class PlannerPolicy(Immediate):
    name = "planner"
