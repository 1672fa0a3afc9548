"""A key the user fixes with key=value stays fixed in every trial of a search."""

from __future__ import annotations

from tuneforge.recipes.tune import searched_space
from tuneforge.tune import default_space


def test_keys_fixed_on_the_command_line_leave_the_search_space():
    """`tune … train.epochs=2` used to train 10, 7 and 4 epochs: sampled values overwrote the
    user's. Fixed keys are dropped from the space, and that is said once."""
    space = default_space("full")
    keys = {p.key for p in space}
    fixed = sorted(keys)[0]
    said: list[str] = []
    kept = searched_space(space, [f"{fixed}=2", "model.max_length=64"], said.append)
    assert fixed not in {p.key for p in kept}
    assert {p.key for p in kept} == keys - {fixed}
    assert len(said) == 1 and fixed in said[0]
    assert searched_space(space, [], said.append) == space and len(said) == 1
