"""Settings of one run: which rules, which targets, which limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from mar_lint.limits import Limits


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("MAR",)  # codes or code prefixes to run
    ignore: tuple[str, ...] = ()
    mms_version: str | None = None  # target MMS release; None: detect it from the manifest
    mxnet_version: str | None = None  # target MXNet; None: the installed mxnet, if any
    limits: Limits = field(default_factory=Limits)

    def selects(self, code: str) -> bool:
        """ruff's rule: the longest matching prefix wins; select wins a tie."""
        chosen = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        dropped = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        return chosen >= 0 and chosen >= dropped
