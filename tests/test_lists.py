"""How long lists are asked is declared in the registry (`lists:`), and notes on cards across
muscles (`card_notes:`) name cards that exist: both checked by the validator."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.errors import ValidationError
from builder.load import load


def problems(decks: Path, text: str) -> list[str]:
    (decks / "registry" / "extra.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load(decks)
    return [f"{p.line}:{p.col}: {p.message}" for p in caught.value.problems]


def test_a_list_must_be_one_the_deck_asks(mini: Path) -> None:
    found = problems(mini, 'lists:\n  "nerve:superior-gluteall":\n    ask: prime-movers\n')
    assert found == ["2:3: 'nerve:superior-gluteall' is not a list the deck asks (did you mean "
                     "'nerve:superior-gluteal'?)"]


def test_a_list_split_by_group_names_groups_that_exist(mini: Path) -> None:
    found = problems(mini, 'lists:\n  "nerve:superior-gluteal":\n    ask: by-group\n    groups: [glutael]\n')
    assert found == ["4:14: unknown group 'glutael' (did you mean 'gluteal'?)"]


def test_a_card_note_names_a_card_of_the_deck(mini: Path) -> None:
    found = problems(mini, 'card_notes:\n  "nerve:superior-gluteal/nerve-muscle":\n    text: A note.\n'
                           '    sources: [moore-coa-8]\n')
    assert found == ["2:3: 'nerve:superior-gluteal/nerve-muscle' is not a card of the deck (did you mean "
                     "'nerve:superior-gluteal/nerve-muscles'?)"]


def test_a_declared_list_and_a_card_note_shape_the_cards(mini: Path) -> None:
    from conftest import TEMPLATES

    from builder.build import cards

    (mini / "registry" / "extra.yaml").write_text(
        'lists:\n  "nerve:superior-gluteal":\n    ask: not-asked\n'
        'card_notes:\n  "action:hip:abduction/action-muscles":\n    text: Some books add piriformis.\n'
        '    sources: [moore-coa-8]\n', encoding="utf-8")
    every = {c.key: c for c in cards(mini, TEMPLATES).every}
    assert "nerve:superior-gluteal/nerve-muscles" not in every
    assert every["action:hip:abduction/action-muscles"].notes == ("Some books add piriformis.",)


def test_a_whole_list_names_a_card_of_the_deck_and_its_reason_is_on_the_card(mini: Path) -> None:
    from conftest import TEMPLATES

    from builder.build import cards

    found = problems(mini, 'whole_lists:\n  "gluteus-medius/innervaton": "Asked whole."\n')
    assert found == ["2:3: 'gluteus-medius/innervaton' is not a card of the deck (did you mean "
                     "'gluteus-medius/innervation'?)"]
    (mini / "registry" / "extra.yaml").write_text(
        'whole_lists:\n  "action:hip:abduction/action-muscles": "Asked whole: the abductors of the hip."\n',
        encoding="utf-8")
    every = {c.key: c for c in cards(mini, TEMPLATES).every}
    assert every["action:hip:abduction/action-muscles"].hint.endswith("Asked whole: the abductors of the hip.")
