"""The one vocabulary of observation and run statuses, shared by parsers, the pipeline, storage and metrics."""

from __future__ import annotations

from typing import Literal

# What a parser can say of one answer.
AnswerStatus = Literal["ok", "no_answer", "blocked", "error"]
OK: AnswerStatus = "ok"
NO_ANSWER: AnswerStatus = "no_answer"  # a successful call with no content: a refusal, an empty answer
BLOCKED: AnswerStatus = "blocked"  # the engine refused the prober (captcha, ban): a failure
ERROR: AnswerStatus = "error"  # no usable payload: a failure

# Never attempted because the engine's daily budget was spent; neither a success nor a failure.
SKIPPED = "skipped"

# Successful observations count in every rate; failed ones only lower coverage.
SUCCESSFUL: tuple[str, ...] = (OK, NO_ANSWER)
FAILED: tuple[str, ...] = (ERROR, BLOCKED)

# A run (one batch).
RUN_RUNNING = "running"
RUN_FINISHED = "finished"
RUN_INTERRUPTED = "interrupted"  # its process died, or the database failed under it
