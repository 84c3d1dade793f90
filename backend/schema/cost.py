"""What a GraphQL document asks for, counted in time linear in its size: how deep its fields
nest, how many aliases and fields it selects. A fragment is measured once and its counts are
added each time it is spread (Strawberry's depth and alias limiters walk it again per spread:
fragments that each spread the previous one twice made them walk 2^n paths, 63 s at n=22)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

# Counts stop growing here: a fan-out of 2^1000 fields is refused as surely as one of 2^40.
_CAP = 1 << 40


@dataclass(frozen=True)
class Cost:
    depth: int  # nested fields with selections, as QueryDepthLimiter counts (no __ fields)
    aliases: int  # aliased fields, a fragment's counted once per spread
    fields: int  # selected fields, a fragment's counted once per spread


@dataclass
class _Shape:
    """One definition's own selections, fragments not followed: its own counts, and each
    fragment it spreads with the nesting level at which it is spread."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    spreads: list[tuple[str, int]] = field(default_factory=list)


class FragmentCycle(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _shape(selection_set: SelectionSetNode) -> _Shape:
    """One pass over a definition's own selections (iterative: nesting never meets Python's
    recursion limit)."""
    shape = _Shape()
    pending: list[tuple[SelectionSetNode, int]] = [(selection_set, 0)]
    while pending:
        current, level = pending.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                shape.fields += 1
                shape.aliases += selection.alias is not None
                if selection.selection_set is None:
                    shape.depth = max(shape.depth, level)
                elif selection.name.value.startswith("__"):
                    # introspection is not counted for depth (GraphiQL's query nests deeply),
                    # its fields and aliases are
                    _count_only(selection.selection_set, shape)
                else:
                    pending.append((selection.selection_set, level + 1))
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, level))
            elif isinstance(selection, FragmentSpreadNode):
                shape.spreads.append((selection.name.value, level))
    return shape


def _count_only(selection_set: SelectionSetNode, shape: _Shape) -> None:
    shallow = _shape(selection_set)
    shape.fields += shallow.fields
    shape.aliases += shallow.aliases
    shape.spreads.extend((name, -1) for name, _ in shallow.spreads)  # -1: no depth


def _resolve(shapes: dict[str, _Shape]) -> dict[str, Cost]:
    """Every fragment's cost, each computed once (depth-first without recursion); a fragment
    that spreads itself, directly or not, raises FragmentCycle."""
    costs: dict[str, Cost] = {}
    for root in shapes:
        if root in costs:
            continue
        path: list[tuple[str, Iterator[tuple[str, int]]]] = [(root, iter(shapes[root].spreads))]
        on_path = {root}
        while path:
            name, spreads = path[-1]
            child = next((s for s, _ in spreads if s in shapes and s not in costs), None)
            if child is None:
                path.pop()
                on_path.discard(name)
                costs[name] = _combine(shapes[name], costs)
            elif child in on_path:
                raise FragmentCycle(child)
            else:
                path.append((child, iter(shapes[child].spreads)))
                on_path.add(child)
    return costs


def _combine(shape: _Shape, costs: dict[str, Cost]) -> Cost:
    depth, aliases, fields = shape.depth, shape.aliases, shape.fields
    for name, level in shape.spreads:
        spread = costs.get(name)
        if spread is None:
            continue  # an unknown fragment: validation says so
        if level >= 0:
            depth = max(depth, level + spread.depth)
        aliases = min(_CAP, aliases + spread.aliases)
        fields = min(_CAP, fields + spread.fields)
    return Cost(depth, aliases, fields)


def document_cost(document: DocumentNode) -> Cost:
    """The deepest operation's depth, and the aliases and fields of all operations together
    (as Strawberry's limiters count them)."""
    shapes = {
        d.name.value: _shape(d.selection_set)
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    costs = _resolve(shapes)
    total = Cost(0, 0, 0)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            cost = _combine(_shape(definition.selection_set), costs)
            total = Cost(
                max(total.depth, cost.depth),
                min(_CAP, total.aliases + cost.aliases),
                min(_CAP, total.fields + cost.fields),
            )
    return total


def _level(
    selection_set: SelectionSetNode,
) -> tuple[Counter[str], list[str], list[SelectionSetNode]]:
    """One level of a selection: the response keys its fields answer under (inline fragments
    merged in), the fragments it spreads, and its fields' own selections (the next levels)."""
    keys: Counter[str] = Counter()
    spreads: list[str] = []
    nested: list[SelectionSetNode] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                keys[(selection.alias or selection.name).value] += 1
                if selection.selection_set is not None:
                    nested.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                spreads.append(selection.name.value)
    return keys, spreads, nested


def most_repeated(document: DocumentNode, cap: int) -> int:
    """The most times one response key is selected at one level of the document (fragments
    spread there included), or a number past `cap` as soon as one is found. Validation compares
    every two fields of a level that answer under one key (graphql-core's
    OverlappingFieldsCanBeMerged), so 490 `health { status }` side by side, within every other
    limit, took 2 s of the event loop. Each selection set is read once, each fragment's own
    level counted once (fragments that spread themselves must be refused before)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    shapes = {name: _shape(d.selection_set) for name, d in fragments.items()}
    tops: dict[str, Counter[str]] = {}
    pending: list[SelectionSetNode] = []

    def merged(selection_set: SelectionSetNode) -> Counter[str]:
        keys, spreads, nested = _level(selection_set)
        for name in spreads:
            keys.update(tops.get(name, ()))
        pending.extend(nested)
        return keys

    worst = 0
    for name in _resolve(shapes):  # spread fragments before those that spread them
        tops[name] = merged(fragments[name].selection_set)
        worst = max(worst, *tops[name].values(), 0)
        if worst > cap:
            return worst
    pending.extend(
        d.selection_set for d in document.definitions if isinstance(d, OperationDefinitionNode)
    )
    while pending:
        worst = max(worst, *merged(pending.pop()).values(), 0)
        if worst > cap:
            return worst
    return worst
