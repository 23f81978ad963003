"""Daily budgets, held by the database so that every process running batches on it shares them.

Before each probe of an engine with a `daily_budget`, its expected cost is reserved in storage
(`repository.reserve_spend`); a probe whose reservation would pass the budget is not made, and stored as
`skipped`. Once the probe is stored, its reservation is replaced by what it really cost, in the same
transaction. So two runs at once spend the budget once, not once each.

The expected cost is the engine's price per call plus the mean token cost of its answers so far in this
batch; a budget can therefore be passed by at most the token cost of the probes in flight (nothing at all
for engines priced per call). A batch stopped mid-probe leaves those probes' reservations counted for the
rest of the day: the budget errs on the side of spending less.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from citewatch.errors import DatabaseUnavailable
from monitor.config import EngineConfig
from monitor.writer import RECONNECT_WAITS
from storage import repository
from storage.records import ObservationRecord


@dataclass(frozen=True)
class Reservation:
    day: date
    amount: float


class DailyBudget:
    """The daily budgets of one batch's engines, and what it has learnt of their token costs."""

    def __init__(self, db: Engine, project_id: int) -> None:
        self._db, self._project_id = db, project_id
        self._token_costs: dict[str, tuple[float, int]] = {}  # engine id -> (sum, answers)

    def expected_cost(self, engine: EngineConfig) -> float:
        total, answers = self._token_costs.get(engine.id, (0.0, 0))
        return engine.price.per_call + (total / answers if answers else 0.0)

    async def reserve(self, engine: EngineConfig, now: datetime) -> Reservation | str:
        """A reservation for one probe of `engine` (one with no budget gets an empty one), or the reason
        the probe is skipped."""
        day = now.date()
        if engine.daily_budget is None:
            return Reservation(day, 0.0)
        amount = self.expected_cost(engine)
        spent = await self._reserve(engine.id, day, amount, engine.daily_budget)
        if spent is not None:
            return f"skipped: daily budget {engine.daily_budget:g} spent ({spent:.4f} so far today)"
        return Reservation(day, amount)

    async def _reserve(self, engine_id: str, day: date, amount: float, limit: float) -> float | None:
        # a database that went away (a restart, a failover) is waited for a few seconds, as the writer does
        waits = iter(RECONNECT_WAITS)
        while True:
            try:
                return await asyncio.to_thread(repository.reserve_spend, self._db, self._project_id, engine_id, day,
                                               amount, limit)
            except DatabaseUnavailable:
                wait = next(waits, None)
                if wait is None:
                    raise
                await asyncio.sleep(wait)

    def settle(self, engine: EngineConfig, record: ObservationRecord, reservation: Reservation) -> None:
        """Tell storage what to replace the reservation by (the record's cost), and learn from the answer."""
        if engine.daily_budget is not None:
            record.reserved, record.reserved_day = reservation.amount, reservation.day
        if record.raw is not None:
            total, answers = self._token_costs.get(engine.id, (0.0, 0))
            self._token_costs[engine.id] = (total + record.cost - engine.price.per_call, answers + 1)
