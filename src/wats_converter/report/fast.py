"""The fast path for WSJF text: msgspec decodes and checks a test report that needs no repair.

Most WSJF input (the project's own output, TestStand's, a server export) is a valid report as
it stands. `read_wsjf(text)` decodes it with msgspec (ADR 0001's runner-up, about 4x faster than
pydantic) into structs generated from the pydantic model, so the two can never disagree on a
field, a type or a limit. It returns a `FastReport`, or `None` for anything it does not take,
and the caller then uses the careful pydantic path, which explains every problem or repairs it
(NaN readings, lower-case operators, other date spellings, unknown fields, repair reports).

The fast path is stricter than the model, never looser: it refuses (falls back) where pydantic
would coerce (numbers in strings, `1` for `true`, `"gele"`), and where its output could differ
from pydantic's by one byte (numbers of 1e16 and more, which the two spell differently). A
`FastReport` keeps its step tree decoded. One pass over it (`rules.walk_steps`) reads it as the
model would (defaults, operators, times) and makes `finalize`'s check at once; a tree with a
problem is left to the careful path, which words it. `finalize` reuses that pass and completes
the tree in place (a finished one needs nothing), and `to_wsjf` encodes it once, with output
identical to the careful path's (tests/report/test_fast_path.py holds every example and
fixture, and every report the built-in converters make of them, to that).
"""

from __future__ import annotations

import sys
import types
import typing
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
from pydantic import BaseModel, PlainValidator, PrivateAttr, ValidationError, WrapSerializer
from pydantic.fields import FieldInfo

from wats_converter.report.compare import CompOp, parse_comp_op
from wats_converter.report.model import Step, UUTReport
from wats_converter.report.parts import NumericMeas, StringMeas, Timestamp
from wats_converter.report.rules import Walked, walk_steps

# pydantic and msgspec agree on every float below this; from here on pydantic writes `1e+16`
# and msgspec `1e16`, so a report with such a number takes the careful path
EXACT_FLOAT_LIMIT = 1e16
_STRUCTS: dict[type[BaseModel], str] = {}


class _Decoded:
    """A fast report's step tree as decoded, the pass made over it when it was read (for
    `finalize`, once), and the tree's WSJF while nothing can have changed it: a report without
    an id is written twice (to hash the unit, then to send it), a finished tree encoded once."""

    __slots__ = ("json", "tree", "walked")

    def __init__(self, tree: Any, walked: Walked | None) -> None:
        self.tree, self.walked, self.json = tree, walked, None

    tree: Any
    walked: Walked | None
    json: bytes | None


class FastReport(UUTReport):
    """A test report read by the fast path: the header is the pydantic model, the step tree is
    kept as decoded until someone asks for `root`, which then becomes a normal `Step` tree."""

    _decoded: _Decoded | None = PrivateAttr(default=None)

    @property
    def _state(self) -> _Decoded:
        # read from pydantic's private dict itself: its attribute lookup is slow for one file
        return self.__pydantic_private__["_decoded"]  # type: ignore[index,no-any-return]

    def step_tree(self) -> Step:
        if "root" in self.__dict__:
            return self.root
        # whoever holds the tree may change it: neither its WSJF nor the pass made when it was
        # read speaks for it any more (`finalize` walks it again)
        state = self._state
        state.json = state.walked = None
        return state.tree  # type: ignore[no-any-return]  # a decoded step: same attributes

    def walk_steps(self) -> Walked | None:
        if "root" in self.__dict__:
            return super().walk_steps()
        decoded = self._state
        walked, decoded.walked = decoded.walked, None  # the pass made when it was read, once
        if walked is None:
            walked = walk_steps(decoded.tree)
        if walked is None or not walked.complete:
            decoded.json = None  # `finalize` completes the tree it is handed
        return walked

    def __getattr__(self, name: str) -> Any:
        if name == "root":
            return self._materialise()
        return super().__getattr__(name)  # type: ignore[misc]

    def _materialise(self) -> Step:
        root = Step.model_validate_json(msgspec.json.encode(self._state.tree))
        # in the model's field order: pydantic writes the fields in the order they are held
        fields = {name: root if name == "root" else self.__dict__[name] for name in _FIELDS}
        self.__dict__.clear()
        self.__dict__.update(fields)
        self.__pydantic_fields_set__.add("root")  # it was read, as on the careful path
        self._decoded = None
        return root

    def to_wsjf(self) -> bytes:
        if "root" in self.__dict__:
            return super().to_wsjf()
        # the header through pydantic (defaults, output-only fields, exact times), the tree
        # through msgspec, joined where the model puts `root`: before `uut`, which a test
        # report always has (a quote inside a JSON string is escaped, so this is the key)
        header = super().model_dump_json(exclude=_ROOT, exclude_none=True).encode()
        at = header.find(b',"uut":')
        if at < 0:  # pragma: no cover - the model writes `uut` for every test report
            _ = self.root
            return super().to_wsjf()
        decoded = self._state
        tree = decoded.json
        if tree is None:
            tree = decoded.json = msgspec.json.encode(decoded.tree)
        return b'%s,"root":%s%s' % (header[:at], tree, header[at:])

    # everything else sees a normal report: the tree becomes a `Step` first
    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        _ = self.root
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        _ = self.root
        return super().model_dump_json(**kwargs)

    def __eq__(self, other: object) -> bool:
        _ = self.root, getattr(other, "root", None)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> FastReport:
        _ = self.root
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> FastReport:
        _ = self.root
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        _ = self.root
        return super().__getstate__()


_ROOT = {"root"}
_FIELDS = tuple(UUTReport.model_fields)


def read_wsjf(text: str | bytes) -> FastReport | None:
    """The test report in `text` if the fast path takes it, else `None` (use the careful path).

    An all-zero `id` is read as no id, as the careful path does.
    """
    try:
        decoded = _DECODER.decode(text)
    except (msgspec.DecodeError, ValueError):
        return None
    if decoded.type not in ("T", msgspec.UNSET) or decoded.root is msgspec.UNSET:
        return None
    tree, decoded.root = decoded.root, msgspec.UNSET
    header = msgspec.to_builtins(decoded)
    header["root"] = _PLACEHOLDER  # taken as it is (no default tree built), dropped below
    try:
        report = FastReport.model_validate(header)
    except ValidationError:  # not expected: the structs are stricter than the model
        return None
    del report.__dict__["root"]
    try:  # the defaults, operators and times of the tree, and finalize's check, in one pass
        walked = walk_steps(tree)
    except ValueError:
        return None
    if walked is None:  # a problem: the careful path words it
        return None
    report.__pydantic_private__["_decoded"] = _Decoded(tree, walked)  # type: ignore[index]
    if report.id is not None and report.id.int == 0:
        report.id = None
    return report


_PLACEHOLDER = Step(name="placeholder")

# --- structs generated from the pydantic model -------------------------------------------------

# the objects of every step: what pydantic fills, reads and checks beyond types (defaults,
# operators, times) is done by the walk over the tree, not by a hook per decoded object
_WALKED: dict[type[BaseModel], tuple[list[str], list[str], list[str]]] = {
    Step: (["group"], [], ["start"]),
    NumericMeas: (["compOp"], ["compOp"], []),
    StringMeas: (["compOp"], ["compOp"], []),
}


def _struct_name(model: type[BaseModel]) -> str:
    if model not in _STRUCTS:
        _STRUCTS[model] = name = f"Fast{model.__name__}"
        globals()[name] = None  # reserved: recursive models refer to it by name
        globals()[name] = _define(model, name)
    return _STRUCTS[model]


def _define(model: type[BaseModel], name: str) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any, Any]] = []
    fills: list[tuple[str, Any]] = []
    ops: list[str] = []
    times: list[str] = []
    # the declared annotations: pydantic leaves forward references of recursive parts unresolved
    hints = typing.get_type_hints(model, vars(sys.modules[model.__module__]), include_extras=True)
    for field, info in model.model_fields.items():
        kind = _type(hints[field], list(info.metadata), (field, times))
        if _is_comp_op(info.annotation):
            ops.append(field)
        if info.is_required():
            fields.append((field, kind, msgspec.NODEFAULT))
        elif info.default_factory is not None:
            # a factory default (`root`, `uut`, `series`) is written only when it was read
            fields.append((field, Union[kind, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        elif info.default is None:
            fields.append((field, kind, None))
        else:  # a fixed default pydantic writes even when absent (`group`, `compOp`, ...)
            fields.append((field, Union[kind, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
            fills.append((field, info.default))
    if model in _WALKED:  # `rules.walk_steps` does it, in the pass it makes anyway
        if ([f for f, _ in fills], ops, times) != _WALKED[model]:  # pragma: no cover
            raise TypeError(f"the step walk does not know every default and rule of {model}")
        post_init = None
    else:  # the header goes back through pydantic, which fills and checks it itself
        post_init = None if model is UUTReport else _post_init(fills, ops, times)
    return msgspec.defstruct(
        name,
        fields,
        kw_only=True,
        omit_defaults=True,
        gc=False,  # a decoded tree has no cycles: the collector need not track it
        forbid_unknown_fields=True,
        module=__name__,
        namespace={} if post_init is None else {"__post_init__": post_init},
    )


def _post_init(
    fills: list[tuple[str, Any]], ops: list[str], times: list[str]
) -> Callable[[Any], None] | None:
    """What pydantic does beyond types and limits: defaults, operators as `CompOp` (read as
    `parse_comp_op` reads them), date-time text checked as `Timestamp` does. It runs for every
    decoded object, so it is written out for each struct: no loops, no getattr."""
    lines = [f"    if self.{f} is UNSET: self.{f} = default_{f}" for f, _ in fills]
    lines += [f"    self.{f} = parse_comp_op(self.{f})" for f in ops]
    lines += [f"    if self.{f} is not None: parse_time(self.{f})" for f in times]
    if not lines:
        return None
    names: dict[str, Any] = {f"default_{f}": d for f, d in fills}
    names.update(UNSET=msgspec.UNSET, parse_comp_op=parse_comp_op, parse_time=Timestamp.parse)
    exec("def post_init(self):\n" + "\n".join(lines), names)  # ValueError: careful path
    return names["post_init"]  # type: ignore[no-any-return]


def _is_comp_op(annotation: Any) -> bool:
    return annotation is CompOp or CompOp in get_args(annotation)


def _type(tp: Any, metadata: list[Any], owner: tuple[str, list[str]]) -> Any:
    """The msgspec type for a pydantic annotation and its constraints."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *extra = get_args(tp)
        return _type(base, [*extra, *metadata], owner)
    if origin in (Union, types.UnionType):
        members = [_type(a, [] if a is type(None) else metadata, owner) for a in get_args(tp)]
        return Union[tuple(members)]  # noqa: UP007 - built at run time
    if tp is type(None) or origin is Literal or tp is uuid.UUID or tp is bool:
        return tp
    if tp is CompOp:  # read as WATS reads it (`IgnoreCase`, `gele`), see `parse_comp_op`
        return Union[str, None]  # noqa: UP007
    meta = _constraints(metadata)
    if origin is list:
        (item_type,) = get_args(tp)
        return Annotated[list[_type(item_type, [], owner)], msgspec.Meta(**meta)]  # type: ignore[misc]
    if tp is datetime:
        owner[1].append(owner[0])
        return str
    if tp is float:  # see EXACT_FLOAT_LIMIT
        meta.update(gt=-EXACT_FLOAT_LIMIT, lt=EXACT_FLOAT_LIMIT)
    if tp in (str, int, float):
        return Annotated[tp, msgspec.Meta(**meta)] if meta else tp
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _struct_name(tp)
    raise TypeError(f"the fast path does not know the type {tp!r}")


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    """msgspec `Meta` arguments for pydantic's constraints; an unknown one is an error, so a
    new rule in the model can never be missed by the fast path."""
    meta: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            meta.update(_constraints(item.metadata))
        elif isinstance(item, annotated_types.MaxLen):
            meta["max_length"] = item.max_length
        elif isinstance(item, annotated_types.MinLen):
            meta["min_length"] = item.min_length
        elif isinstance(item, annotated_types.Ge):
            meta["ge"] = item.ge
        elif isinstance(item, annotated_types.Le):
            meta["le"] = item.le
        elif isinstance(item, PlainValidator | WrapSerializer) or hasattr(item, "allow_inf_nan"):
            pass  # the date-time reader and writer; finite floats (JSON has no other)
        else:
            raise TypeError(f"the fast path does not know the constraint {item!r}")
    return meta


_DECODER = msgspec.json.Decoder(globals()[_struct_name(UUTReport)])
