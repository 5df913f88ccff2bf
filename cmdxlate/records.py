"""``@dataclass`` for cmdxlate's typed records, without its start-up cost.

The standard decorator compiles source for every method of every class, and
importing it pulls in ``inspect``: together a third of a single command's
start-up (issue 13). This one builds the same methods from closures, for the
subset cmdxlate uses: ``frozen``, ``slots``, ``order``, ``eq``, defaults and
``field(default_factory=..., repr=..., compare=...)``, ``replace``. Classes
keep the standard behaviour a caller sees (keyword or positional construction,
value equality, hashing of frozen records, ``FrozenInstanceError``); mypy reads
them as dataclasses (``dataclass_transform``). No record inherits another.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing costs start-up time (issue 13); mypy reads these blocks

if TYPE_CHECKING:
    from typing import Any
    from typing import Generic as Generic
    from typing import TypeVar as TypeVar

    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_kwargs: object) -> object:
        return lambda f: f

    class Generic:
        """typing.Generic for run time: ``Fact[int]`` is just ``Fact``."""

        def __class_getitem__(cls, _item: object) -> type:
            return cls

    def TypeVar(name: str, *_args: object, **_kwargs: object) -> str:  # noqa: N802
        return name

T = TypeVar("T")
_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    __slots__ = ("name", "default", "default_factory", "repr", "compare")

    def __init__(self, default: Any = _MISSING, default_factory: Any = _MISSING,
                 repr: bool = True, compare: bool = True) -> None:  # noqa: A002
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] = _MISSING,
          repr: bool = True, compare: bool = True, hash: bool | None = None) -> Any:  # noqa: A002
    """A field with a default, a factory, or left out of repr / comparison."""
    return Field(default, default_factory, repr, compare)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _fields(cls: type) -> tuple[Field, ...]:
    out = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        out.append(f)
    return tuple(out)


# A class built this many times gets a compiled __init__ (as dataclasses makes for every
# class): the compile costs more than a short command saves, a batch gains from it.
COMPILE_AFTER = 256


def _compiled_init(fields: tuple[Field, ...], post_init: bool) -> Callable[..., None]:
    """``def __init__(self, a, b=DEFAULT, ...)`` as source, compiled once."""
    scope: dict[str, Any] = {"_cmdx_set": object.__setattr__, "_cmdx_missing": _MISSING}
    params, body = [], []
    for i, f in enumerate(fields):
        if f.default is not _MISSING:
            scope[f"_cmdx_d{i}"] = f.default
            params.append(f"{f.name}=_cmdx_d{i}")
        elif f.default_factory is not _MISSING:
            scope[f"_cmdx_f{i}"] = f.default_factory
            params.append(f"{f.name}=_cmdx_missing")
            body.append(f"    if {f.name} is _cmdx_missing: {f.name} = _cmdx_f{i}()")
        else:
            params.append(f.name)
        body.append(f"    _cmdx_set(self, {f.name!r}, {f.name})")
    if post_init:
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(source, scope)  # noqa: S102 - our own field names, as dataclasses does
    init: Callable[..., None] = scope["__init__"]
    return init


def _make_init(fields: tuple[Field, ...], post_init: bool,
               owner: list[type]) -> Callable[..., None]:
    names = tuple(f.name for f in fields)
    count = len(names)
    defaults = {f.name: f.default for f in fields if f.default is not _MISSING}
    factories = {f.name: f.default_factory for f in fields
                 if f.default_factory is not _MISSING}
    setter = object.__setattr__
    built = [0]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        built[0] += 1
        if built[0] == COMPILE_AFTER and owner:
            owner[0].__init__ = _compiled_init(fields, post_init)  # type: ignore[misc]
        if len(args) == count and not kwargs:  # the common case, kept short
            for name, value in zip(names, args):  # noqa: B905 - lengths checked
                setter(self, name, value)
            if post_init:
                self.__post_init__()
            return
        if len(args) > count:
            raise TypeError(f"{type(self).__name__}() takes {count} arguments, "
                            f"{len(args)} given")
        for name, value in zip(names, args, strict=False):
            setter(self, name, value)
        for name in names[len(args):]:
            if name in kwargs:
                value = kwargs.pop(name)
            elif name in defaults:
                value = defaults[name]
            elif name in factories:
                value = factories[name]()
            else:
                raise TypeError(f"{type(self).__name__}() missing argument '{name}'")
            setter(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments "
                            f"{sorted(kwargs)}")
        if post_init:
            self.__post_init__()

    return __init__


def _install(cls: type, frozen: bool, slots: bool, order: bool, eq: bool) -> type:
    fields = _fields(cls)
    names = tuple(f.name for f in fields)
    shown = tuple(f.name for f in fields if f.repr)
    compared = tuple(f.name for f in fields if f.compare)
    if slots:
        body = {k: v for k, v in cls.__dict__.items()
                if k not in names and k not in ("__dict__", "__weakref__")}
        body["__slots__"] = names
        cls = type(cls)(cls.__name__, cls.__bases__, body)
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    setattr(cls, "__match_args__", names)  # noqa: B010 - mypy rejects the plain assignment
    owner: list[type] = []
    cls.__init__ = _make_init(fields, "__post_init__" in cls.__dict__,  # type: ignore[misc]
                              owner)
    owner.append(cls)
    for f in fields:  # defaults live in __init__; a slot must not be shadowed
        if not slots and isinstance(cls.__dict__.get(f.name), Field):
            if f.default is not _MISSING:
                setattr(cls, f.name, f.default)
            else:
                delattr(cls, f.name)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    def key(self: Any) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in compared)

    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__  # type: ignore[assignment]
    explicit_hash = "__hash__" in cls.__dict__ and not (
        cls.__dict__["__hash__"] is None and "__eq__" in cls.__dict__)
    if eq and "__eq__" not in cls.__dict__:
        def __eq__(self: Any, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return key(self) == key(other)

        cls.__eq__ = __eq__  # type: ignore[assignment]
        if frozen and not explicit_hash:
            def __hash__(self: Any) -> int:
                return hash(key(self))

            cls.__hash__ = __hash__  # type: ignore[assignment]
        elif not explicit_hash:
            cls.__hash__ = None  # type: ignore[assignment]
    if order:
        _add_order(cls, key)
    if frozen:
        def __setattr__(self: Any, name: str, value: Any) -> None:
            raise FrozenInstanceError(f"cannot assign to field '{name}'")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field '{name}'")

        cls.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
        cls.__delattr__ = __delattr__  # type: ignore[method-assign,assignment]
        if slots:  # pickle restores slots with setattr, which a frozen record refuses
            def __getstate__(self: Any) -> tuple[Any, ...]:
                return tuple(getattr(self, n) for n in names)

            def __setstate__(self: Any, state: tuple[Any, ...]) -> None:
                for name, value in zip(names, state):  # noqa: B905 - same fields
                    object.__setattr__(self, name, value)

            cls.__getstate__ = __getstate__  # type: ignore[attr-defined]
            cls.__setstate__ = __setstate__  # type: ignore[attr-defined]
    return cls


def _add_order(cls: type, key: Callable[[Any], tuple[Any, ...]]) -> None:
    def compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
        def method(self: Any, other: Any) -> Any:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return op(key(self), key(other))
        return method

    cls.__lt__ = compare(lambda a, b: a < b)  # type: ignore[operator]
    cls.__le__ = compare(lambda a, b: a <= b)  # type: ignore[operator]
    cls.__gt__ = compare(lambda a, b: a > b)  # type: ignore[operator]
    cls.__ge__ = compare(lambda a, b: a >= b)  # type: ignore[operator]


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: Any = None, /, *, frozen: bool = False, slots: bool = False,
              order: bool = False, eq: bool = True) -> Any:
    """A record class: ``__init__``, ``__repr__``, ``__eq__`` (and more) from its fields."""
    def wrap(c: type[T]) -> type[T]:
        return _install(c, frozen, slots, order, eq)

    return wrap if cls is None else wrap(cls)


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of a record with some fields changed (``dataclasses.replace``)."""
    values = {f.name: getattr(obj, f.name) for f in obj.__record_fields__}  # type: ignore[attr-defined]
    values.update(changes)
    return type(obj)(**values)
